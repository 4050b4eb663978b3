"""``--time-limit-s`` covers a command's whole work on its input, not only the solves (issue 13).

Before, the budget started at the first solve: a valid scenario whose reading, checking or
compiling was slow (tens of thousands of supply blocks, a huge but valid YAML) held the
machine for as long as that took. Now the clock starts when the command starts reading; each
step is a *stage* that names itself in the one-line error, a SIGALRM timer interrupts
pure-Python work in the main thread, and the solve stage keeps the solver's message (chain,
month, instrument iteration; ``tests/hostile/test_time_limit.py``).
"""

from __future__ import annotations

import json
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from critmin.bounds import TimeLimit, TimeLimitError, checkpoint, stage, time_limit
from critmin.errors import SolverError
from tests.hostile.harness import run_in_process

REGIONS = ("AUS", "CHN", "JPN", "USA", "CAN")


def many_blocks(path: Path, n_blocks: int) -> Path:
    """A valid scenario of ``n_blocks`` supply blocks over 10 years in five regions: well
    under the memory estimate (~0.5 GiB at 80,000 blocks), but reading and checking it takes
    ~0.17 ms a block (~14 s at 80,000). Written as text: PyYAML's dumper would take longer
    than the test."""
    supply = "".join(
        f"  - {{region: {REGIONS[i % 5]}, qty_t: {1 + i % 7}, cost_usd_per_t: {1000 + i}}}\n"
        for i in range(n_blocks)
    )
    demand = "".join(f"  - {{region: {r}, qty_t: 100, wtp_usd_per_t: 90000}}\n" for r in REGIONS)
    path.write_text(
        "name: many blocks\nmonths: {start: 2026-01, end: 2035-12}\nmarkets:\n"
        "- mineral: ndpr_oxide\n  supply:\n" + supply.replace("  - ", "    - ") + "  demand:\n"
        "" + demand.replace("  - ", "    - "),
        encoding="utf-8",
    )
    return path


def _old_set(folder: Path) -> None:
    folder.mkdir()
    (folder / "summary.json").write_text('{"old": true}', encoding="utf-8")


def _assert_old_set_and_no_litter(tmp_path: Path, folder: Path, *inputs: str) -> None:
    """``folder`` holds the previous set only; beside it no staging folder, lock or temp."""
    assert sorted(p.name for p in folder.iterdir()) == ["summary.json"]
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*inputs, folder.name])


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_a_huge_valid_scenario_is_refused_within_the_budget_as_a_user_runs_it(
    tmp_path: Path,
) -> None:
    """80,000 supply blocks (a 4 MB file, within the memory estimate) take ~14 s to read and
    check; ``critmin run --time-limit-s 1`` (a process, as a user runs it) stops after about
    a second of it (the timer interrupts the YAML parser), with one line naming the file and
    the stage, exit 2, the previous output set untouched and nothing left beside it."""
    scenario = many_blocks(tmp_path / "huge.yaml", 80_000)
    folder = tmp_path / "out"
    _old_set(folder)
    t0, cpu0 = time.monotonic(), _children_cpu_s()
    res = subprocess.run(
        [
            *(sys.executable, "-c", "from critmin.cli import main; main()"),
            *("run", str(scenario), "--out", str(folder), "--time-limit-s", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds, cpu_s = time.monotonic() - t0, _children_cpu_s() - cpu0
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert res.stderr == (
        f"critmin: error: {scenario}: time limit of 1 s reached (--time-limit-s) while reading "
        "and checking the scenario; raise the limit (0: none) or make the scenario smaller "
        "(fewer months, regions or supply blocks)\n"
    )
    # the work done: start-up (imports, ~1 s of CPU) + at most the 1 s budget, against 11-14 s
    # unbounded. Counted in the process's CPU seconds, which a loaded machine does not
    # stretch (its wall clock went from ~2 s to 7 s on 2 cores at load 6); the wall bound
    # only catches a hang
    assert cpu_s < 5, cpu_s
    assert seconds < 60, seconds
    _assert_old_set_and_no_litter(tmp_path, folder, "huge.yaml")


def test_a_scenario_read_in_time_runs_as_before(tmp_path: Path) -> None:
    """The same kind of file, small (200 blocks): read, solved and written well within the
    default budget (the limit changes when a run stops, never what it computes)."""
    scenario = many_blocks(tmp_path / "small.yaml", 200)
    code, _out, err = run_in_process(["run", str(scenario), "--out", str(tmp_path / "o")])
    assert code == 0, err
    assert (tmp_path / "o" / "summary.json").exists()


def test_a_slow_compile_is_interrupted_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiling a chain is made to take 30 s (a stand-in for a huge valid market); with a
    2 s budget the timer stops it after ~2 s, naming the file, the chain and the stage;
    the output set (already locked and staged) is left as it was, the staging folder and
    the lock removed."""
    from critmin.scenarios import runner

    compile_market = runner.compile_market

    def slow(*args: Any) -> Any:
        time.sleep(30)
        return compile_market(*args)

    monkeypatch.setattr(runner, "compile_market", slow)
    folder = tmp_path / "out"
    _old_set(folder)
    t0 = time.monotonic()
    code, _out, err = run_in_process(
        ["run", "ndpr_baseline", "--out", str(folder), "--time-limit-s", "2"]
    )
    seconds = time.monotonic() - t0
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert re.fullmatch(
        r"critmin: error: (builtin:)?ndpr_baseline: time limit of 2 s reached \(--time-limit-s\) "
        r"while compiling chain '\w+' \(\d+ months\); raise the limit \(0: none\) or make the "
        r"scenario smaller \(fewer months, regions or supply blocks\)",
        err.strip(),
    ), err
    assert seconds < 10, seconds
    _assert_old_set_and_no_litter(tmp_path, folder)


def test_writing_the_outputs_is_in_the_budget_and_leaves_no_half_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs are written into the staging folder, then writing is made to hang for
    30 s: the timer stops it at the 3 s budget, naming the folder and the stage; the
    staged files never reach ``out`` and the staging folder and lock are removed."""
    import critmin.facade

    write = critmin.facade.write

    def hanging(result: Any, outs: Any, **kw: Any) -> Any:
        written = write(result, outs, **kw)
        time.sleep(30)
        return written

    monkeypatch.setattr(critmin.facade, "write", hanging)
    folder = tmp_path / "out"
    _old_set(folder)
    code, _out, err = run_in_process(
        ["run", "ndpr_baseline", "--out", str(folder), "--time-limit-s", "3"]
    )
    assert code == 2, err
    assert err == (
        f"critmin: error: {folder}: time limit of 3 s reached (--time-limit-s) while writing "
        "the outputs; raise the limit (0: none) or make the study smaller\n"
    )
    _assert_old_set_and_no_litter(tmp_path, folder)


def test_the_timer_interrupts_a_pure_python_loop_and_is_put_back() -> None:
    """In the main thread, a loop with no checkpoint is stopped by the timer, with the
    stage's message; afterwards the SIGALRM handler and the (idle) timer are as before."""
    before = signal.getsignal(signal.SIGALRM)
    t0 = time.monotonic()

    def spin() -> None:
        with time_limit(0.2, interrupt=True), stage("looping", where="x.yaml"):
            while True:
                pass

    with pytest.raises(TimeLimitError, match=r"^x\.yaml: time limit of 0\.2 s .* while looping;"):
        spin()
    assert time.monotonic() - t0 < 2
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_off_the_main_thread_the_checkpoints_stop_the_work() -> None:
    """A thread gets no signal: there the budget holds at the checkpoints (a loop of them
    stops within the budget), and work without one is not interrupted."""
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            with time_limit(0.2, interrupt=True), stage("looping", where="t.yaml"):
                while True:
                    checkpoint()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert isinstance(outcome[0], TimeLimitError), outcome
    assert "t.yaml: time limit of 0.2 s reached (--time-limit-s) while looping" in str(outcome[0])


def test_a_spent_budget_is_not_rewrapped_by_a_handler_on_its_way() -> None:
    """A spent budget travels as a BaseException: an ``except InputError`` that adds a
    location (as a study's ``field 'base':`` does) or returns a default does not catch it,
    and the caller gets the stage's own error."""
    from critmin.errors import InputError

    def reads_a_base() -> None:
        try:
            with stage("reading and checking the scenario", where="base.yaml"):
                time.sleep(0.01)
        except InputError as exc:  # pragma: no cover - the point: never reached
            raise InputError(str(exc), where="study.yaml:4 field 'base'") from None

    with (
        pytest.raises(TimeLimitError) as exc,
        time_limit(TimeLimit(0.005)),
    ):
        reads_a_base()
    assert str(exc.value).startswith("base.yaml: time limit of 0.005 s reached")


def test_a_sample_over_its_budget_while_built_fails_alone() -> None:
    """``critmin sweep``: a sample's budget starts when its scenario starts to be built. With
    a budget of 1e-9 s every sample of the batch fails while its scenario is checked, each
    with the time-limit message naming the sample; the batch itself completes."""
    from critmin.scenarios.sweep import load_study_file
    from critmin.scenarios.sweep.design import make_design
    from critmin.scenarios.sweep.evaluate import base_data, evaluate_plans

    loaded = load_study_file(Path(__file__).parents[2] / "examples/studies/ndpr_ban_small.yaml")
    design = make_design(loaded.study, 2)
    plans = [design.plan(0), design.plan(1)]
    rows = evaluate_plans(loaded, base_data(loaded), plans, time_limit_s=1e-9)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    for row in rows:
        assert re.search(
            rf"sample {row['sample_id']}: time limit of 1e-09 s reached \(--time-limit-s\) "
            r"while checking the scenario",
            row["error"],
        ), row["error"]


def test_an_inner_block_without_a_limit_lets_the_outer_timer_through() -> None:
    """``critmin sweep --check`` solves sample 0's first month under the study's budget, in
    code that sets no limit of its own (``time_limit(0)``) and reports any ``Exception`` as
    the sample's failure: the outer timer's stop passes both and is the outer stage's."""
    caught: list[Exception] = []

    def check() -> None:
        with time_limit(0.2, interrupt=True), stage("checking the study", where="s.yaml"):
            try:
                with time_limit(0):
                    while True:
                        pass
            except Exception as exc:  # what a sample's handler does
                caught.append(exc)

    with pytest.raises(TimeLimitError, match=r"^s\.yaml: .* while checking the study;"):
        check()
    assert caught == []


def test_a_sample_built_slowly_has_less_left_to_solve() -> None:
    """A sample's chains get the budget less what its build took: built in 5 s of a 1 s
    budget, its chain is refused before its first solve with the solver's message (chain,
    month, iteration); the same sample with no build time is solved."""
    from critmin.scenarios.sweep import load_study_file
    from critmin.scenarios.sweep.design import make_design
    from critmin.scenarios.sweep.evaluate import (
        Evaluation,
        base_data,
        build_scenario,
        run_samples,
        scenario_data,
    )

    loaded = load_study_file(Path(__file__).parents[2] / "examples/studies/ndpr_ban_small.yaml")
    scenario = build_scenario(
        scenario_data(loaded, base_data(loaded), make_design(loaded.study, 1).plan(0)), "s"
    )
    (late,) = run_samples(loaded.study, [scenario], time_limit_s=1.0, built_s=[5.0])
    assert isinstance(late, SolverError), late
    assert re.match(
        r"chain '\w+', month \d{4}-\d\d, instrument iteration 1: solver time limit of 1 s",
        str(late),
    ), late
    (fresh,) = run_samples(loaded.study, [scenario], time_limit_s=60.0, built_s=[0.0])
    assert isinstance(fresh, Evaluation), fresh
