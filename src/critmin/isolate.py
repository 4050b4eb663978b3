"""A parse that holds the GIL, run where the time limit can stop it: in a forked child.

The time limit (:func:`critmin.bounds.time_limit`) stops pure-Python work with a ``SIGALRM``
timer, but a signal handler runs only between Python bytecodes, so one long call into C that
holds the GIL ends first. Reading a user's file has two such calls: libyaml scanning one
scalar (measured 90-190 MB/s by kind of scalar, 2026-12-05, this 2-core machine: 256 MiB is
~2-3 s) and ``json.loads`` with no Python hook (an EPCIS document) over many small values
(~10 MB/s for ``[[],[],...]``: 60 MB is ~6 s). Everything else in the parse calls Python
(PyYAML's node classes, the resolver, the builder; the regular-expression engine checks for
signals itself) and is stopped in time.

:func:`run_bounded` runs such a parse in a child forked from this process (the text is shared,
copy-on-write) when the parse might outlast what is left of the budget, and waits for the
child's answer: the result (``marshal``, else ``pickle``), or the ``CritminError`` it raised,
rebuilt as the same class with the same message and attributes. When the budget is spent
first, the child is killed (``SIGKILL``, then reaped) and the current stage's time-limit error
is raised, as the timer would have: one line naming the file and the stage, exit 2.

The child is used only when all of these hold, so ordinary runs never fork:

* the text is over :data:`FORK_ABOVE_CHARS` (2 Mi characters): below it the slowest single
  call measured takes ~0.2 s (JSON of empty lists; one YAML scalar ~0.02 s), so the stop
  comes at most that late, and the fork and the copy back of the result are not worth it.
  Every shipped input is under 30 KB;
* a time limit is in force and what is left of it is under the parse's worst case, the
  length over :data:`SLOWEST_CHARS_PER_S` (1 M characters a second, ten times under the
  slowest call measured): under the default hour a file of 256 MiB is parsed in process,
  with no copy back (a 63 MB EPCIS document: 7.5 s in process, 8.9 s through the child);
  under ``--time-limit-s 1`` every file over the threshold is parsed in the child;
* the process can fork (Linux, macOS: ``os.fork``; only Linux is tested) and this is the
  main thread (where the timer runs; a thread of a program calling the API, or of a Dask
  worker, keeps today's behaviour: the stop comes after the call). Windows keeps it too.

If the child cannot be started (``fork`` fails) or ends without an answer for a reason other
than a signal (an exception that is not a ``CritminError``), the parse runs in process, as
before, so any such error is the one it always was. A ``MemoryError`` in the child (the memory
backstop's limit is inherited) is raised as one in the parent; a child killed by a signal (the
kernel's out-of-memory killer) is one ``CritminError`` naming the file.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import selectors
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from critmin.bounds import TimeLimit, checkpoint, current_time_limit
from critmin.errors import CritminError
from critmin.fileio import uninterrupted

__all__ = ["FORK_ABOVE_CHARS", "SLOWEST_CHARS_PER_S", "run_bounded"]

#: texts longer than this may be parsed in a child (:func:`run_bounded`)
FORK_ABOVE_CHARS = 2 * 2**20
#: the pace assumed for the slowest single call of a parse (characters a second)
SLOWEST_CHARS_PER_S = 1e6

_CAN_FORK = hasattr(os, "fork") and sys.platform.startswith(("linux", "darwin"))
_HEADER = 9  # one byte of kind, eight of length

T = TypeVar("T")


def _limit_to_hold(size: int) -> TimeLimit | None:
    """The budget a child is needed for (:func:`run_bounded`'s conditions), or None."""
    if size <= FORK_ABOVE_CHARS or not _CAN_FORK:
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    limit = current_time_limit()
    if limit is None or limit.remaining() > size / SLOWEST_CHARS_PER_S:
        return None
    return limit


def run_bounded(fn: Callable[..., T], *args: Any, size: int, where: str) -> T:
    """``fn(*args)``, in a forked child when the time limit may need to stop it (see the
    module's text); ``size`` is the input's length in characters, ``where`` the file name
    for a message. ``fn``'s result must be plain data (what a parser builds)."""
    limit = _limit_to_hold(size)
    if limit is None:
        return fn(*args)
    reader, writer = os.pipe()
    pid = -1
    answer: tuple[bytes, bytearray] | None = None
    status = 0
    try:
        # the fork is never cut by the timer (critmin.fileio's uninterrupted stretch): its
        # error raised after os.fork returned in the parent would leave the child running,
        # unreaped. Blocking SIGALRM would not do: the kernel gives it to any thread that does
        # not block it (a progress bar's, a test runner's) and Python runs the handler in the
        # main thread all the same. A budget spent meanwhile is raised by _read_answer's
        # checkpoint, or by the stage's end when the parse runs in process.
        with uninterrupted():
            with contextlib.suppress(OSError):  # no room for a child: in process, as before
                pid = os.fork()
            if pid == 0:  # the child
                os.close(reader)
                _child(writer, fn, args)
        os.close(writer)
        writer = -1
        if pid < 0:
            return fn(*args)
        answer = _read_answer(reader, limit)
    finally:  # the budget spent (or Ctrl-C): the child is stopped; in every case reaped
        os.close(reader)
        if writer >= 0:
            os.close(writer)
        if pid > 0:
            status = _reap(pid, kill=answer is None)
    return _result(answer, status, fn, args, where)


def _child(writer: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> NoReturn:
    """Run ``fn(*args)`` and write its answer to ``writer``; never returns (``os._exit``:
    no clean-up of the parent's, no flush of its buffers, no test runner going on)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child at once
        kind, body = _answer_of(fn, args)
        with os.fdopen(writer, "wb") as out:
            out.write(kind + len(body).to_bytes(8, "little"))
            out.write(body)
        code = 0
    finally:
        os._exit(code)


def _answer_of(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bytes, bytes]:
    """(kind, body): ``R`` a marshalled result, ``P`` a pickled one (dates), ``E`` a
    ``CritminError`` (class, args, attributes), ``M`` out of memory, ``U`` anything else."""
    try:
        result = fn(*args)
        try:
            return b"R", marshal.dumps(result)
        except ValueError:  # a type marshal does not know (a date)
            return b"P", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except CritminError as exc:
        try:
            return b"E", pickle.dumps((type(exc), exc.args, vars(exc)))
        except Exception:  # an attribute that does not pickle: the parent parses again
            return b"U", b""
    except MemoryError:
        return b"M", b""
    except Exception:
        return b"U", b""


def _read_answer(reader: int, limit: TimeLimit) -> tuple[bytes, bytearray] | None:
    """The child's answer, read as it comes; when the budget is spent first, the current
    stage's time-limit error (:func:`critmin.bounds.checkpoint`; the timer, in the main
    thread, may raise it first, in the middle of the wait). None: the child ended without
    a whole answer."""
    with selectors.DefaultSelector() as sel:
        sel.register(reader, selectors.EVENT_READ)

        def read(n: int) -> bytearray | None:
            buf = bytearray(n)
            view = memoryview(buf)
            got = 0
            while got < n:
                left = limit.remaining()
                if left <= 0:
                    checkpoint()
                if not sel.select(max(left, 0.0)):
                    continue  # the budget's end: checkpoint raises on the next turn
                k = os.readv(reader, [view[got:]])
                if k == 0:
                    return None
                got += k
            return buf

        header = read(_HEADER)
        if header is None:
            return None
        body = read(int.from_bytes(header[1:], "little"))
        return None if body is None else (bytes(header[:1]), body)


def _reap(pid: int, *, kill: bool) -> int:
    """Wait for the child (killed first when ``kill``); its wait status."""
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        return os.waitpid(pid, 0)[1]
    except BaseException:  # the timer fired during the wait: kill, reap, then go on
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


def _result(
    answer: tuple[bytes, bytearray] | None,
    status: int,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    where: str,
) -> T:
    """The child's result, or its error raised again here."""
    if answer is None:
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            raise CritminError(
                f"{where}: the process reading the file was ended by {name} (out of memory?); "
                "make the file smaller"
            )
        return fn(*args)
    kind, body = answer
    if kind == b"R":
        return marshal.loads(body)
    if kind == b"P":
        return pickle.loads(body)
    if kind == b"E":
        cls, exc_args, attrs = pickle.loads(body)
        exc = cls.__new__(cls)
        exc.args = exc_args
        vars(exc).update(attrs)
        raise exc
    if kind == b"M":
        raise MemoryError
    return fn(*args)  # "U": the error it raises is the one it always was
