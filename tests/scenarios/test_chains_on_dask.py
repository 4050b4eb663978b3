"""A study's chains solved on a Dask cluster give what solving them in process gives.

Each chain (market of a scenario) is compiled, its instruments built and its months solved by
``solve_chain``, a pure function of its task; ``critmin run --scheduler`` sends the tasks to
Dask workers (other processes) and reads the results back in market order. The seed study
has three scenarios, nine chains and instruments (levy, floors, offtakes, stockpile), so
parameter reads, instrument rows and assumptions all travel back from the workers.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import critmin
from critmin.errors import SolverError


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _summary(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text("utf-8"))
    data.pop("created")  # the wall-clock time of the run
    return data


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("in_process")
    res = _cli("run", "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_cli_local_cluster_gives_the_in_process_outputs(in_process: Path, tmp_path: Path) -> None:
    res = _cli("run", "--out", str(tmp_path), "--scheduler", "local", "--workers", "2")
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "series.parquet"),
        pd.read_parquet(in_process / "series.parquet"),
    )
    assert _summary(tmp_path / "summary.json") == _summary(in_process / "summary.json")


def test_api_on_a_running_scheduler_by_address(in_process: Path) -> None:
    """``scheduler="tcp://..."``: a cluster already running (here started by the test, with
    worker processes) solves the chains; the typed result equals the in-process files."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        protocol="tcp",
        dashboard_address="127.0.0.1:0",
        silence_logs=50,
    ) as cluster:
        months: list[str] = []
        result = critmin.run(scheduler=cluster.scheduler_address, on_month=months.append)
    # progress came chain by chain: each chain's months whole, every chain once
    study = critmin.load()
    labels = study.scenarios[0].scenario.month_labels()
    assert len(months) == study.market_months
    assert months == labels * (len(months) // len(labels))
    pd.testing.assert_frame_equal(
        result.series.reset_index(drop=True),
        pd.read_parquet(in_process / "series.parquet"),
    )
    summary = dict(result.summary)
    summary.pop("created")
    assert json.loads(json.dumps(summary)) == _summary(in_process / "summary.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "dask://x"], "expected 'local' or an address like tcp://HOST:8786"),
        (["--workers", "0"], "--workers 0: expected a whole number from 1 to 64"),
        (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the scheduler"),
    ],
)
def test_bad_scheduler_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    res = _cli("run", "--out", str(tmp_path / "o"), *args)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "summary.json").exists()


def test_solver_error_keeps_where_it_happened_across_processes() -> None:
    """A worker's SolverError reaches the driver pickled: chain, month and iteration stay."""
    err = SolverError("HiGHS: Infeasible", chain="ndpr", month="2027-03", iteration=2)
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.chain, back.month, back.iteration) == (
        "HiGHS: Infeasible",
        "ndpr",
        "2027-03",
        2,
    )


def test_time_limit_reaches_the_workers() -> None:
    """``--time-limit-s`` holds on a cluster too: each chain is sent with what is left of the
    budget (seconds, already spent) and its worker stops when it is spent. The driver's
    clock is a stand-in that moves 100 s at every reading: the budget of 150 s has 50 s left
    when the driver starts solving, and is 50 s over when the first chain is sent, so the
    worker refuses to compile it, naming the file, the chain and the stage."""
    from critmin.bounds import TimeLimit, TimeLimitError, time_limit
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.runner import execute

    loaded = load_study(["ndpr_baseline"])
    readings = iter(range(0, 10**6, 100))
    with (
        time_limit(TimeLimit(150.0, clock=lambda: float(next(readings)))),
        pytest.raises(TimeLimitError) as exc,
    ):
        execute(loaded, scheduler="local", workers=1)
    assert str(exc.value).startswith(
        "builtin:ndpr_baseline: time limit of 150 s reached (--time-limit-s) while compiling "
        "chain 'ndpr'"
    ), exc.value


def test_a_spent_budget_stops_the_run_before_a_cluster_starts(tmp_path: Path) -> None:
    """A budget of 1e-9 s is spent while the scenarios are read, before any cluster is
    started: one line naming the file and the stage, exit 2, nothing written."""
    out = tmp_path / "o"
    res = _cli(
        "run", "--out", str(out), "--scheduler", "local", "--workers", "1",
        "--time-limit-s", "1e-9",
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(
        "critmin: error: ndpr_baseline: time limit of 1e-09 s reached (--time-limit-s) "
        "while reading the scenario file; raise the limit (0: none) or"
    ), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def _held_first(item: int) -> int:
    """Task of :func:`test_progress_comes_as_chains_finish`: item 0 waits (up to 60 s) until
    the driver has announced every other item; returns -1 if it waited in vain."""
    from distributed import Event

    if item == 0 and not Event("others-announced").wait(timeout=60):
        return -1
    return item


def test_progress_comes_as_chains_finish() -> None:
    """On a cluster, progress is reported as each chain finishes, not in market order: the
    first task is held until the driver has announced the three after it, so a driver that
    announced only in order would wait for it in vain (the task would return -1). The
    results still come back in the items' order."""
    from distributed import Client, Event, LocalCluster

    from critmin.scenarios.cluster import ordered_map

    # one worker with four threads: the held task cannot keep the others from running
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=4,
            processes=False,
            dashboard_address="127.0.0.1:0",
            silence_logs=50,
        ) as cluster,
        Client(cluster) as client,
    ):
        announced: list[int] = []
        others = Event("others-announced", client=client)

        def done(item: int) -> None:
            announced.append(item)
            if set(announced) >= {1, 2, 3}:
                others.set()

        results = list(ordered_map(client, _held_first, range(4), window=4, on_done=done))
    assert results == [0, 1, 2, 3]
    assert sorted(announced[:3]) == [1, 2, 3]
    assert announced[3] == 0


class _LateFuture:
    """A future that reads as still running when progress is looked at and as done right
    after: the race a loaded machine produced (the last chain was never announced)."""

    def __init__(self, value: int) -> None:
        self.value = value

    @property
    def status(self) -> str:
        return "pending"

    def done(self) -> bool:
        return True

    def result(self) -> int:
        return self.value

    def release(self) -> None:
        pass

    def cancel(self) -> None:
        pass


class _LateClient:
    def submit(self, fn: Any, item: int, **_: Any) -> _LateFuture:
        return _LateFuture(fn(item))


def test_a_task_finishing_between_look_and_read_is_announced() -> None:
    """Every item is announced exactly once, even when its task finishes between the progress
    look and the read (before the fix, none of these four was announced)."""
    from critmin.scenarios.cluster import ordered_map

    announced: list[int] = []
    results = list(
        ordered_map(_LateClient(), lambda i: i * 10, range(4), window=2, on_done=announced.append)
    )
    assert results == [0, 10, 20, 30]
    assert announced == [0, 1, 2, 3]


def test_local_workers_run_without_profiler_or_malloc_trim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A local cluster's workers start without Dask's 10 ms stack sampler and without its
    nanny's MALLOC_TRIM_THRESHOLD_ (both cost a sweep 7-26 % of its wall time:
    ``critmin.scenarios.cluster.LEAN_WORKERS``). Checked inside the worker processes, where
    it matters: Dask's defaults would give ``("65536", True)``."""
    import os

    import dask

    from critmin.scenarios.cluster import connect

    # a nanny started earlier in this process with Dask's defaults (another test's cluster)
    # wrote the variable into this process's environment, which every later worker inherits;
    # `critmin sweep` starts in a fresh process
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    client, cluster = connect("local", 1)
    try:
        trim = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        profile = client.run(dask.config.get, "distributed.worker.profile.enabled")
        assert list(trim.values()) == [None]
        assert list(profile.values()) == [False]
    finally:
        client.close()
        cluster.close()
