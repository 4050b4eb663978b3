"""Where independent pieces of work run: in this process, or on a Dask cluster.

A study's chains (each market of each scenario) are independent of each other, and so are a
sweep's batches of samples. Both commands take the same option, ``--scheduler``:

* none (``critmin run``'s default; ``critmin sweep --workers 0``): in this process, one piece
  after the other;
* ``local``: a Dask ``LocalCluster`` of ``--workers`` worker processes on this machine;
* ``tcp://HOST:PORT`` (or ``tls://``, ``ucx://``): a running Dask scheduler, e.g. started with
  ``dask scheduler`` and ``dask worker tcp://HOST:8786`` on other machines (each with critmin
  installed: tasks carry the data they need and read no file).

:func:`connect` opens a client; :func:`ordered_map` runs a function over items on it and
gives the results back in the items' order, with a bounded number in flight, so that the
driver holds only a few results at a time (a 60-chain study streams its chains' tables).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from critmin.errors import InputError

__all__ = ["ALLOWED_FAILURES", "check_scheduler", "connect", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

#: what a local cluster's workers run without. Dask's statistical profiler samples every
#: worker thread's stack each 10 ms, and its nanny starts workers with glibc's
#: MALLOC_TRIM_THRESHOLD_=64 KiB, so each freed block over it goes back to the OS and the next
#: HiGHS solve faults its pages in again (None unsets it: ``distributed.nanny``). critmin's
#: tasks are short solves on small numpy arrays that allocate and free all the time: without
#: the two, a 2,000-sample benchmark sweep on 2 workers took 7 % less wall time on a quiet
#: machine and 26 % less with other work on it (docs/benchmarks.md, "Eighth round"), with
#: identical tables. A remote cluster's workers keep their own configuration.
LEAN_WORKERS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}

#: a task that has taken this many workers down with it is reported failed, not retried
ALLOWED_FAILURES = 2


def connect(
    scheduler: str, workers: int, *, resources: dict[str, float] | None = None
) -> tuple[Any, Any]:
    """``(client, cluster or None)`` for ``scheduler``: ``local`` starts a LocalCluster of
    ``workers`` single-threaded processes (closed by the caller), an address connects to a
    running scheduler. ``resources``: what each local worker offers (see the sweep)."""
    import dask
    from distributed import Client, LocalCluster

    if workers < 1:
        raise InputError(f"--workers {workers}: expected a whole number >= 1")
    # read by the scheduler of a LocalCluster (a remote scheduler reads its own config)
    dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
    if scheduler == "local":
        dask.config.set(LEAN_WORKERS)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,  # HiGHS and numpy in one thread each: one task per core
            processes=True,
            # a free loopback port: None still means 8787 to Dask, which a second cluster on
            # the machine finds taken (a warning on the user's terminal)
            dashboard_address="127.0.0.1:0",
            silence_logs=50,
            resources=resources,
        )
        return Client(cluster), cluster
    check_scheduler(scheduler)
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler {scheduler}: cannot reach the scheduler ({exc})") from None


#: a scheduler address: scheme, host (a name, IPv4 or [IPv6]) and port
_ADDRESS = re.compile(r"^(tcp|tls|ucx)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


def check_scheduler(scheduler: str) -> None:
    """Refuse a ``--scheduler`` that is neither ``local`` nor a scheduler address
    ``tcp|tls|ucx://HOST:PORT`` (port 1..65535): a malformed one fails here in one line, not
    after a connection attempt."""
    m = _ADDRESS.match(scheduler)
    if scheduler != "local" and (m is None or not 1 <= int(m.group(3)) <= 65535):
        shown = scheduler if len(scheduler) <= 60 else scheduler[:57] + "..."
        raise InputError(
            f"--scheduler {shown!r}: expected 'local' or an address like tcp://HOST:8786 "
            "(tcp, tls or ucx; port 1..65535)"
        )


def ordered_map(
    client: Any,
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    window: int,
    on_done: Callable[[T], None] | None = None,
) -> Iterator[R]:
    """``fn(item)`` for each item, run on ``client``'s workers, yielded in the items' order.
    At most ``window`` tasks are submitted ahead of the one being read. An exception raised
    by ``fn`` is raised here (the remaining tasks are cancelled).

    ``on_done(item)`` is called in this thread as each task finishes, in the order they
    finish: a later item's task that finishes while an earlier one still runs is announced
    at once, although its result waits for the earlier one (progress as work completes)."""
    from distributed import wait

    # [item, future, announced]
    pending: deque[list[Any]] = deque()
    source = iter(items)

    def submit_next() -> None:
        for item in source:
            pending.append([item, client.submit(fn, item, pure=False), False])
            return

    def announce_finished() -> None:
        assert on_done is not None
        for entry in pending:
            if not entry[2] and entry[1].status == "finished":
                entry[2] = True
                on_done(entry[0])

    for _ in range(max(1, window)):
        submit_next()
    try:
        while pending:
            future = pending[0][1]
            while on_done is not None:
                announce_finished()
                if future.done():
                    break
                running = [e[1] for e in pending if not e[1].done()]
                wait(running, return_when="FIRST_COMPLETED")
            head = pending.popleft()
            if on_done is not None and not head[2]:
                # it finished between announce_finished's look and future.done(): a progress
                # bar would otherwise stop one short (seen under load)
                on_done(head[0])
            result = future.result()
            future.release()
            submit_next()
            yield result
    finally:
        for _, future, _ in pending:
            future.cancel()
