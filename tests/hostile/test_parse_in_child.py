"""A long YAML or JSON parse under a time limit runs in a forked child the limit can kill.

A signal handler runs between Python bytecodes, so the timer of ``--time-limit-s`` could not
stop one long call into C that holds the GIL: ``json.loads`` of an EPCIS document of 20
million empty lists (60 MB) took ~6 s in one call and ``trace import --time-limit-s 1``
stopped after 8.9 s (measured on this 2-core machine, 2026-12-05). Such a parse now runs in
a child process (:mod:`critmin.isolate`) which is killed when the budget is spent; the
parent gives the same one-line message. The child's answer must be the in-process one: the
same data and lines, the same error class, message and ``where``.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import critmin.isolate
import critmin.yamlio
from critmin.bounds import TimeLimitError, stage, time_limit
from critmin.errors import InputError
from critmin.isolate import FORK_ABOVE_CHARS
from critmin.yamlio import load_json, parse_yaml

BIG = FORK_ABOVE_CHARS + 1000


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The children forked by :mod:`critmin.isolate` (their pids) during the test."""
    seen: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            seen.append(pid)
        return pid

    monkeypatch.setattr(critmin.isolate.os, "fork", fork)
    return seen


def _yaml_text() -> str:
    """A valid YAML of over FORK_ABOVE_CHARS, most of it one scalar (parsed in ~0.02 s, well
    within the tests' budgets), with what the builder makes: dates (pickled, not
    marshalled), YAML 1.2 floats, anchors and merges, nested lists, booleans, nulls."""
    rows = "".join(
        f"  - {{id: r{i}, qty_t: {i}.5, day: 2026-{1 + i % 12:02d}-01}}\n" for i in range(200)
    )
    return (
        "x-base: &base {a: 1, when: 2026-01-31}\n"
        "name: big\n"
        "at: 2026-12-05T08:00:00Z\n"
        "values: [1e6, .nan, -0.0, true, null, '1e6', !!str 2]\n"
        "merged: {<<: *base, b: [1, [2, [3]]]}\n"
        f"rows:\n{rows}"
        f"blob: {'x' * BIG}\n"
    )


def test_a_big_yaml_parsed_in_the_child_is_the_document_parsed_in_process(
    forks: list[int],
) -> None:
    text = _yaml_text()
    here = parse_yaml(text, "big.yaml")
    assert forks == []  # no limit: in process
    with time_limit(0.5):  # under the text's worst case (BIG / 1e6 s): the child
        there = parse_yaml(text, "big.yaml")
    assert len(forks) == 1
    assert there.name == here.name
    assert there.lines == here.lines
    assert repr(there.data) == repr(here.data)  # NaN included, and -0.0 vs 0.0
    assert type(there.data["rows"][0]["day"]) is dt.date
    assert type(there.data["at"]) is dt.datetime


def test_a_big_json_parsed_in_the_child_is_the_data_parsed_in_process(
    tmp_path: Path, forks: list[int]
) -> None:
    text = '{"a": [1, 2.5, -0.0, "\\u00e9", null, true, {"b": []}], "rows": ['
    text += ",".join(f'{{"id": "r{i}", "v": {i}e-3}}' for i in range(1000))
    text += f'], "blob": "{"x" * BIG}"}}'
    path = tmp_path / "big.json"
    path.write_text(text, encoding="utf-8")
    here = load_json(path)
    with time_limit(0.5):
        there = load_json(path)
    assert len(forks) == 1
    assert repr(there) == repr(here)


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("x: [1\n", r"big\.yaml:\d+: not valid YAML: "),
        ("name: again\n", r"big\.yaml:\d+: duplicate key 'name' \(first at line 2\)"),
        ("d: 2026-02-30\n", r"big\.yaml:\d+: not valid YAML: '2026-02-30' is not a real date"),
    ],
    ids=["syntax", "duplicate", "date"],
)
def test_an_error_in_the_child_is_the_error_in_process(
    tail: str, message: str, forks: list[int]
) -> None:
    """The same class, message and ``where`` (file:line) as the parse in this process."""
    text = _yaml_text() + tail
    with pytest.raises(InputError, match=message) as here:
        parse_yaml(text, "big.yaml")
    with time_limit(0.5), pytest.raises(InputError) as there:
        parse_yaml(text, "big.yaml")
    assert len(forks) == 1
    assert type(there.value) is InputError
    assert str(there.value) == str(here.value)
    assert there.value.where == here.value.where


def test_a_json_error_in_the_child_is_the_error_in_process(
    tmp_path: Path, forks: list[int]
) -> None:
    path = tmp_path / "big.json"
    path.write_text(f'["{"x" * BIG}", NaN]', encoding="utf-8")
    with pytest.raises(InputError, match=r"big\.json: not valid JSON: NaN is not") as here:
        load_json(path)
    with time_limit(0.5), pytest.raises(InputError) as there:
        load_json(path)
    assert len(forks) == 1
    assert (str(there.value), there.value.where) == (str(here.value), here.value.where)


def _hold_the_gil(*_args: Any) -> Any:
    """Several seconds in one C call that holds the GIL and runs no bytecode (as libyaml's
    scan of one scalar does): the timer's handler cannot run until it returns."""
    return sum(range(400_000_000))


def test_a_parse_holding_the_gil_is_stopped_at_the_budget(
    monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """In process the stop would come after the call (several seconds); in the child it
    comes at the budget, with the stage's message, and the child is killed and reaped."""
    monkeypatch.setattr(critmin.yamlio, "_parse_yaml", _hold_the_gil)
    t0 = time.monotonic()
    with (
        pytest.raises(TimeLimitError, match=r"^big\.yaml: time limit of 0\.5 s reached .* while "
                      r"reading the file; raise the limit"),
        time_limit(0.5, interrupt=True),
        stage("reading the file", where="big.yaml"),
    ):  # fmt: skip
        parse_yaml(_yaml_text(), "big.yaml")
    assert time.monotonic() - t0 < 1.5
    (pid,) = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already


def test_a_budget_spent_during_the_fork_still_stops_and_reaps_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timer comes due while the parent is still in ``os.fork`` (made to take 0.6 s of a
    0.3 s budget): the stop is the stage's message and the child is killed and reaped. The
    timer does not cut the fork (an uninterrupted stretch); without that, its error left
    ``os.fork`` before the child's pid was known, and the child was never reaped. (Blocking
    SIGALRM in the main thread was tried first: under pytest-xdist, whose threads do not block
    it, the signal still came, the error left the fork, and the main thread kept SIGALRM
    blocked, so every later critmin the worker started inherited a timer that never fired.)"""
    pids: list[int] = []
    real = os.fork

    def slow_fork() -> int:
        pid = real()
        if pid:
            pids.append(pid)
            time.sleep(0.6)
        return pid

    monkeypatch.setattr(critmin.isolate.os, "fork", slow_fork)
    with (
        pytest.raises(TimeLimitError, match=r"^big\.yaml: time limit of 0\.3 s reached"),
        time_limit(0.3, interrupt=True),
        stage("reading the file", where="big.yaml"),
    ):
        parse_yaml(_yaml_text(), "big.yaml")
    (pid,) = pids
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_a_timer_due_during_the_fork_in_a_process_with_threads_is_handled_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same as above with a thread running that does not block SIGALRM (as
    pytest-xdist's and a progress bar's do), so the signal may go to it: the child is still
    reaped, and no signal is left blocked in the main thread for later commands."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        test_a_budget_spent_during_the_fork_still_stops_and_reaps_the_child(monkeypatch)
    finally:
        stop.set()
        other.join()
    assert signal.SIGALRM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_small_texts_no_limit_and_other_threads_stay_in_process(forks: list[int]) -> None:
    small = "".join(f"a{i}: 1\n" for i in range(1000))
    with time_limit(0.5):
        parse_yaml(small, "small.yaml")  # under FORK_ABOVE_CHARS
    with time_limit(3600):
        parse_yaml(_yaml_text(), "big.yaml")  # the budget outlasts any parse of it
    done: list[object] = []

    def in_thread() -> None:
        with time_limit(0.5):
            done.append(parse_yaml(_yaml_text(), "big.yaml"))

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert done
    assert forks == []


def test_an_unexpected_error_in_the_child_is_raised_again_in_process(
    monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """Not a CritminError (a bug): the parse runs again here, so its error is the one it
    always was (the CLI's "internal error" with its traceback under CRITMIN_DEBUG)."""
    calls: list[int] = []

    def broken(*_args: Any) -> Any:
        calls.append(os.getpid())
        raise KeyError("bug")

    monkeypatch.setattr(critmin.yamlio, "_parse_yaml", broken)
    with time_limit(0.5), pytest.raises(KeyError, match="bug"):
        parse_yaml(_yaml_text(), "big.yaml")
    assert len(forks) == 1
    assert calls == [os.getpid()]  # (the child's call appended in the child's memory)


def test_out_of_memory_in_the_child_is_a_memory_error_here(
    monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    def too_big(*_args: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(critmin.yamlio, "_parse_yaml", too_big)
    with time_limit(0.5), pytest.raises(MemoryError):
        parse_yaml(_yaml_text(), "big.yaml")
    assert len(forks) == 1


# ------------------------------------------------------------------ as a user runs it


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_trace_import_of_20_million_empty_lists_stops_at_the_budget(tmp_path: Path) -> None:
    """``json.loads`` of 20 million ``[]`` (60 MB, under the 64 MiB read whole) is one call
    of ~6 s here. Before: ``--time-limit-s 1`` stopped after 8.9 s wall, 8.8 s CPU; now the
    child is killed at the budget: ~1.4 s wall. Counted in CPU seconds of the process and
    its reaped child (start-up ~0.6-1 s + the 1 s budget), which a loaded machine does not
    stretch."""
    doc = tmp_path / "lists.jsonld"
    doc.write_text(
        '{"type": "EPCISDocument", "epcisBody": {"eventList": ['
        + ",".join(["[]"] * 20_000_000)
        + "]}}",
        encoding="utf-8",
    )
    cpu0 = _children_cpu_s()
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", "trace", "import",
         str(doc), "--time-limit-s", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    wall, cpu = time.monotonic() - t0, _children_cpu_s() - cpu0
    assert res.returncode == 2, res.stderr
    assert res.stderr == (
        f"critmin: error: {doc}: time limit of 1 s reached (--time-limit-s) while importing "
        "the file; raise the limit (0: none) or make the input smaller\n"
    )
    assert cpu < 4.0, (cpu, wall)
