"""The table does not depend on the workers: 1 or 2 worker processes, shuffled submission,
a worker SIGKILLed halfway, a sample that kills its worker every time, an interrupted
driver finished with ``--resume``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from critmin.scenarios.sweep import load_study_file, run_sweep
from critmin.scenarios.sweep.evaluate import FAULT_ENV

from .conftest import SMALL, critmin


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The undisturbed run, one worker process, batches in order: its folder and table."""
    out = tmp_path_factory.mktemp("ref") / "out"
    return out, run_sweep(load_study_file(SMALL), out, workers=1).table


@pytest.fixture
def reference(reference_run: tuple[Path, pd.DataFrame]) -> pd.DataFrame:
    return reference_run[1]


def test_two_workers_and_shuffled_order_give_the_same_table(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    loaded = load_study_file(SMALL)
    run = run_sweep(loaded, tmp_path / "two", workers=2, order=[3, 0, 2, 1])
    assert run.workers == 2
    assert run.batches_computed == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(run.table, reference, check_exact=True)


def test_worker_killed_halfway(
    tmp_path: Path, reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sample 6 (batch 2 of 4) SIGKILLs its worker once: the scheduler re-runs the batch on
    the other (or restarted) worker; the table has exactly N samples, none twice, and equals
    the undisturbed one."""
    flag = tmp_path / "killed"
    monkeypatch.setenv(FAULT_ENV, f"kill-once:6:{flag}")
    run = run_sweep(load_study_file(SMALL), tmp_path / "killed_run", workers=2)
    assert flag.exists()  # the kill did happen
    assert len(run.table) == 12
    assert run.table["sample_id"].is_unique
    pd.testing.assert_frame_equal(run.table, reference, check_exact=True)


@pytest.mark.slow
def test_sample_that_always_kills_its_worker_is_reported(
    tmp_path: Path, reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sample 4 kills every worker that runs it: after 3 crashes of its batch and 3 of the
    sample alone it is reported failed with its id; the 11 others are as undisturbed."""
    monkeypatch.setenv(FAULT_ENV, "kill:4")
    start = time.monotonic()
    run = run_sweep(load_study_file(SMALL), tmp_path / "poison", workers=2)
    assert time.monotonic() - start < 180
    assert [f["sample_id"] for f in run.failed] == [4]
    assert "KilledWorker" in run.failed[0]["error"]
    ok = run.table[run.table["sample_id"] != 4].reset_index(drop=True)
    ref = reference[reference["sample_id"] != 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(ok, ref, check_exact=True)


@pytest.mark.parametrize("workers", ["2", "0"])
def test_interrupted_driver_resumes_missing_batches_only(
    tmp_path: Path, reference: pd.DataFrame, workers: str
) -> None:
    """Sample 9 (batch 3) is made slow; the driver is interrupted (SIGINT) once batches 0-2
    are written; ``--resume`` computes batch 3 only and the table is the undisturbed one. The
    same with the samples in the command's own process (``--workers 0``)."""
    out = tmp_path / "out"
    env = {**os.environ, FAULT_ENV: "sleep:9:60"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from critmin.cli import main; main()",
            "sweep",
            str(SMALL),
            "--out",
            str(out),
            "--workers",
            workers,
            "--no-report",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    batches = out / "batches"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if batches.exists() and len(list(batches.glob("batch-*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    before = {p.name: p.stat().st_mtime_ns for p in batches.glob("batch-*.parquet")}
    assert sorted(before) == [f"batch-{b:06d}.parquet" for b in range(3)]
    assert not (out / "samples.parquet").exists()

    res = critmin(
        "sweep", str(SMALL), "--out", str(out), "--workers", workers, "--resume", "--no-report",
        "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["batches"] == {"total": 4, "computed": 1, "reused": 3}
    after = {p.name: p.stat().st_mtime_ns for p in batches.glob("batch-*.parquet")}
    assert {k: after[k] for k in before} == before  # the finished batches were not rewritten
    table = pd.read_parquet(out / "samples.parquet")
    pd.testing.assert_frame_equal(table, reference, check_exact=True)


def test_rerun_without_resume_refuses_a_used_folder(
    reference_run: tuple[Path, pd.DataFrame],
) -> None:
    out = reference_run[0]
    res = critmin("sweep", str(SMALL), "--out", str(out))
    assert res.returncode == 2
    assert "pass --resume" in res.stderr
    res = critmin("sweep", str(SMALL), "--out", str(out), "--samples", "2", "--resume")
    assert res.returncode == 2
    assert "samples differ" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("workers", [2, 0])
def test_stop_rule_keeps_the_smallest_prefix_that_meets_the_target(
    tmp_path: Path, workers: int
) -> None:
    """With a 25 % relative-standard-error target on unserved_magnet_t, the sweep stops at the first
    batches 0..k-1 whose samples meet it (at least 4 samples); batches after k are dropped,
    and the prefix without its last batch did not meet it. The same on 2 worker processes
    and in this process (``workers=0``), batches submitted last first."""
    import numpy as np

    from critmin.scenarios.sweep.stats import relative_standard_error

    text = SMALL.read_text("utf-8").replace("samples: 6}", "samples: 30}")
    text += "stop: {outcomes: [unserved_magnet_t], rse: 0.25, min_samples: 4}\n"
    study = tmp_path / "study.yaml"
    study.write_text(text, encoding="utf-8")
    run = run_sweep(
        load_study_file(study), tmp_path / "o", workers=workers, order=list(range(19, -1, -1))
    )
    assert run.stopped_early
    n = len(run.table)
    assert n % 3 == 0
    assert 4 <= n < 60
    x = run.table["unserved_magnet_t"].to_numpy(dtype=np.float64)
    assert relative_standard_error(x) < 0.25
    shorter = x[: n - 3]
    assert len(shorter) < 4 or relative_standard_error(shorter) >= 0.25
    assert sorted(run.table["sample_id"]) == list(range(n))


def test_running_scheduler_by_address(tmp_path: Path, reference: pd.DataFrame) -> None:
    """``--scheduler tcp://HOST:PORT``: the CLI drives an already running cluster (here one
    in this process, its worker started with the one-task slot) and gets the same table."""
    from distributed import LocalCluster

    from critmin.scenarios.sweep.driver import SLOT

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address="127.0.0.1:0",  # None means 8787 to Dask: taken by a parallel test
        resources={SLOT: 1},
    ) as cluster:
        out = tmp_path / "remote"
        res = critmin(
            "sweep",
            str(SMALL),
            "--out",
            str(out),
            "--scheduler",
            cluster.scheduler_address,
            "--no-report",
        )
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "samples.parquet"), reference)


def test_public_sweep_in_process_gives_the_same_table(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    """``critmin.sweep`` (docs/api.md) on a Dask client of threads in this process, as the
    docs' example runs it: the table of a worker process, and the command's output set."""
    from distributed import Client

    import critmin

    local = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": "127.0.0.1:0"}
    with Client(processes=False, **local) as client:
        result = critmin.sweep(critmin.load_sweep(SMALL), tmp_path / "py", client=client)
    pd.testing.assert_frame_equal(result.table, reference, check_exact=True)
    assert [p.name for p in result.written] == ["samples.parquet", "summary.json", "report.html"]
    summary = json.loads((tmp_path / "py" / "summary.json").read_text("utf-8"))
    assert summary["policies"] == result.summary["policies"]
    assert pd.read_parquet(tmp_path / "py" / "samples.parquet").equals(result.table)


def test_public_sweep_without_a_cluster_gives_the_worker_process_table(tmp_path: Path) -> None:
    """``critmin.sweep(..., workers=0)`` (docs/api.md) runs the samples in the calling process
    and gives, bit for bit, the table of ``workers=1`` (one worker process of a
    LocalCluster), same study, same seed: the same ``samples.parquet`` bytes. Progress is
    reported after each batch of 3 (``batch_size``), in design order; the summary says no
    worker and no cluster start-up. ``scheduler=None`` (``critmin.run``'s spelling) is the
    same mode."""
    import critmin

    study = critmin.load_sweep(SMALL)
    progress: list[tuple[int, int]] = []
    inline = critmin.sweep(
        study, tmp_path / "inline", workers=0, on_batch=lambda d, n: progress.append((d, n))
    )
    worker = critmin.sweep(study, tmp_path / "worker", workers=1, report=False)
    pd.testing.assert_frame_equal(inline.table, worker.table, check_exact=True)
    table = "samples.parquet"
    assert (tmp_path / "inline" / table).read_bytes() == (tmp_path / "worker" / table).read_bytes()
    assert set(inline.table["status"]) == {"ok"}
    assert progress == [(0, 12), (3, 12), (6, 12), (9, 12), (12, 12)]
    assert inline.summary["timing"]["workers"] == 0
    assert inline.summary["timing"]["cluster_startup_s"] == 0.0
    assert worker.summary["timing"]["workers"] == 1
    assert [p.name for p in inline.written] == ["samples.parquet", "summary.json", "report.html"]
    assert "in the calling process" in (tmp_path / "inline" / "report.html").read_text("utf-8")
    assert inline.summary["policies"] == worker.summary["policies"]
    again = critmin.sweep(study, tmp_path / "none", scheduler=None, report=False)
    pd.testing.assert_frame_equal(again.table, inline.table, check_exact=True)


def test_public_sweep_without_a_cluster_starts_no_dask(tmp_path: Path) -> None:
    """In a fresh interpreter, ``critmin.sweep(..., workers=0)`` never imports Dask's
    ``distributed``: no cluster, no client, no scheduler (what makes it fast to call)."""
    code = (
        "import sys, critmin\n"
        f"r = critmin.sweep(critmin.load_sweep({str(SMALL)!r}), {str(tmp_path / 'o')!r}, "
        "workers=0, samples=2, report=False)\n"
        "assert len(r.table) == 4, r.table\n"
        "print('distributed' in sys.modules)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_public_sweep_without_a_cluster_keeps_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``time_limit_s`` in the calling process is the per-sample budget of docs/sweeps.md, as
    on a worker: sample 1 is made to spend 2.5 s as it starts (the fault injection's sleep,
    as a slow build would); with a 2 s budget its scenario check refuses it, naming the
    sample and the stage, and the other samples (~50 ms each) are solved."""
    import critmin

    monkeypatch.setenv(FAULT_ENV, "sleep:1:2.5")
    result = critmin.sweep(
        critmin.load_sweep(SMALL), tmp_path / "o", workers=0, samples=2, time_limit_s=2,
        report=False,
    )  # fmt: skip
    table = result.table.set_index("sample_id")
    assert table.loc[1, "status"] == "failed"
    assert re.search(
        r"sample 1: time limit of 2 s reached \(--time-limit-s\) while checking the scenario",
        table.loc[1, "error"],
    ), table.loc[1, "error"]
    assert set(table.drop(index=1)["status"]) == {"ok"}
    assert result.run.failed == [{"sample_id": 1, "error": table.loc[1, "error"]}]


def test_public_sweep_without_a_cluster_isolates_an_escaping_error(
    tmp_path: Path, reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that escapes the evaluator (a bug outside any sample's own checks, made here
    by an evaluator that raises whenever sample 4 is among its plans) is met as a given-up
    batch on a cluster: the batch runs again one sample at a time, sample 4 alone is reported
    failed with the error, and the 11 others equal the undisturbed table."""
    import critmin
    from critmin.scenarios.sweep import driver

    real = driver.evaluate_plans

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if any(plan.sample_id == 4 for plan in args[2]):
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "evaluate_plans", faulty)
    result = critmin.sweep(SMALL, tmp_path / "o", workers=0, report=False)
    assert result.run.failed == [
        {"sample_id": 4, "error": "RuntimeError: boom (raised outside the sample's own checks)"}
    ]
    ok = result.table[result.table["sample_id"] != 4].reset_index(drop=True)
    ref = reference[reference["sample_id"] != 4].reset_index(drop=True)
    pd.testing.assert_frame_equal(ok, ref, check_exact=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": -1}, "--workers -1: expected 0 (in this process) or more"),
        (
            {"workers": 0, "scheduler": "tcp://127.0.0.1:8786"},
            "--workers 0 runs the samples in this process: give it without --scheduler",
        ),
        ({"scheduler": None, "client": object()}, "client= runs the samples on that client"),
    ],
)
def test_public_sweep_refuses_contradictory_choices(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    """Where the samples run is one choice: a contradictory one fails at once, writing
    nothing."""
    import critmin
    from critmin.errors import InputError

    with pytest.raises(InputError, match=re.escape(message)):
        critmin.sweep(SMALL, tmp_path / "o", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "o").exists()


def test_cli_workers_0_runs_in_this_process(tmp_path: Path, reference: pd.DataFrame) -> None:
    """``critmin sweep --workers 0``: the command's table is the worker process's; its
    ``--help`` says what 0 means."""
    out = tmp_path / "o"
    res = critmin("sweep", str(SMALL), "--out", str(out), "--workers", "0", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["timing"]["workers"] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "samples.parquet"), reference)
    assert (out / "report.html").exists()
    helped = critmin("sweep", "--help", env={"COLUMNS": "200"})
    assert "0: no cluster, the samples run one after the other in this process" in " ".join(
        helped.stdout.split()
    )


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    res = critmin(
        "sweep",
        str(SMALL),
        "--out",
        str(tmp_path / "o"),
        "--scheduler",
        "tcp://127.0.0.1:9",
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("critmin: error: --scheduler")
    assert "Traceback" not in res.stderr
    res = critmin("sweep", str(SMALL), "--out", str(tmp_path / "o"), "--scheduler", "nowhere")
    assert res.returncode == 2
    assert "expected 'local' or an address like tcp://HOST:8786" in res.stderr


def test_time_limit_fails_the_samples_over_it_and_finishes(tmp_path: Path) -> None:
    """``--time-limit-s`` bounds each sample, counted from when it started to be built
    (untrusted studies cannot hold the cluster): sample 1 is made to spend 3 s as it starts
    (the fault injection's sleep, as a slow build would), so with a 2 s budget its scenario
    check refuses it, naming the sample and the stage; the other samples (~50 ms each) are
    solved, the table is complete and the command ends normally. A budget too small to read
    the study stops the command in one line; a non-finite budget is refused in one line.
    (A sample over its budget in the solver: ``test_time_limit_stages.py``.)"""
    out = tmp_path / "limited"
    res = critmin(
        "sweep", str(SMALL), "--out", str(out), "--samples", "3", "--workers", "1",
        "--no-report", "--time-limit-s", "2", env={FAULT_ENV: "sleep:1:3"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(out / "samples.parquet").set_index("sample_id")
    assert len(table) >= 3
    assert table.loc[1, "status"] == "failed"
    assert re.search(
        r"sample 1: time limit of 2 s reached \(--time-limit-s\) while checking the scenario",
        table.loc[1, "error"],
    ), table.loc[1, "error"]
    assert set(table.drop(index=1)["status"]) == {"ok"}
    tiny = critmin(
        "sweep", str(SMALL), "--out", str(tmp_path / "t"), "--time-limit-s", "1e-9"
    )  # fmt: skip
    assert tiny.returncode == 2
    assert re.fullmatch(
        r"critmin: error: \S+: time limit of 1e-09 s reached \(--time-limit-s\) while "
        r"reading (and checking )?the (study|scenario|scenario file); raise the limit "
        r"\(0: none\) or .*",
        tiny.stderr.strip(),
    ), tiny.stderr
    assert not (tmp_path / "t").exists()
    bad = critmin("sweep", str(SMALL), "--out", str(tmp_path / "x"), "--time-limit-s", "nan")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "critmin: error: --time-limit-s: expected 0 (no limit) or seconds up to 1e+07, got nan"
    )
