"""The seeded mutation fuzz over every shipped example and command (issue 13).

Each case must exit 0 or 2 (1 only for ``trace check``'s rule failure), never reach the
catch-all (70), print at most one line on stderr, refuse a NaN/inf put into a number, and stay
within its time budget (a worker subprocess under a 3 GiB address-space limit; a hang is killed).
See :mod:`tests.hostile.harness` for the mutations.

The study files of ``critmin sweep`` and the policy file of ``critmin stockpile policy`` get
their own systematic table (every field deleted, an unknown field in every mapping, every
field of a wrong type, every number -1/0/NaN/inf/1e308/1e30, duplicated keys, deep nesting,
alias bombs, non-UTF-8 bytes...: ~1,340 cases), each checked with the commands' ``--check``
mode; the fast suite runs a seeded 240 of them, ``make slow`` all.

The fast suite runs ~580 cases (seed 20261203) in a few chunks, and apart from them a sample
of ~170 cases of the trace commands (``trace import|check|origin|impact``: EPCIS JSON-LD,
RMI spreadsheets, rules YAML, ``--tol``/``--on``); ``make slow`` runs ~3,000 more over other
seeds, ``critmin run`` included, and ~2,400 more trace cases over five seeds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.hostile.harness import Case, build_cases, run_cases, sweep_file_cases

SEED = 20261203
N_FILE = 520
CHUNKS = 4


def _is_trace(case: Case) -> bool:
    return case.argv[0] == "trace"


@functools.lru_cache(maxsize=4)  # built once per session, not once per chunk (~2 s)
def _cases(seed: int, n: int, include_run: bool) -> list[Case]:
    return build_cases(seed, n, include_run=include_run)


def _check(cases: list[Case], tmp_path: Path) -> None:
    outcomes = run_cases(cases, tmp_path)
    bad = [o.describe() for o in outcomes if o.problems()]
    assert not bad, f"{len(bad)} of {len(outcomes)} cases broke the contract:\n" + "\n".join(bad)


def test_the_fast_suite_has_at_least_500_non_trace_cases() -> None:
    cases = [c for c in _cases(SEED, N_FILE, True) if not _is_trace(c)]
    assert len(cases) >= 500
    commands = {
        " ".join(c.argv[:2]) if c.argv[0] in ("contract", "stockpile", "data") else c.argv[0]
        for c in cases
    }
    assert {"validate", "run", "exposure", "contract settle", "contract value"} <= commands
    assert {"stockpile simulate", "risk", "data production"} <= commands


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutated_inputs_give_one_line_and_exit_0_or_2(chunk: int, tmp_path: Path) -> None:
    cases = [c for c in _cases(SEED, N_FILE, True) if not _is_trace(c)]
    _check(cases[chunk::CHUNKS], tmp_path)


def test_trace_commands_keep_the_contract_sample(tmp_path: Path) -> None:
    """The trace commands' share of the fast suite's seed (~170 cases, a few seconds)."""
    cases = [c for c in _cases(SEED, N_FILE, False) if _is_trace(c)]
    assert len(cases) >= 150
    assert {c.argv[1] for c in cases} == {"import", "check", "origin", "impact"}
    _check(cases, tmp_path)


#: file mutations per slow trace seed: a third of the targets are trace commands (~470 cases)
N_TRACE = 1500


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_trace_commands_keep_the_contract(seed: int, tmp_path: Path) -> None:
    _check([c for c in _cases(seed, N_TRACE, False) if _is_trace(c)], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_mutated_inputs_many_seeds(seed: int, tmp_path: Path) -> None:
    _check([c for c in _cases(seed, 600, True) if not _is_trace(c)], tmp_path)


#: the fast suite's share of the study/policy file table (~0.1 s a case)
N_SWEEP_FILES = 240


def test_the_study_and_policy_file_table_is_systematic() -> None:
    cases = sweep_file_cases()
    assert len(cases) >= 1200
    kinds = {c.id.split("-", 3)[3].split(":")[0] for c in cases}
    assert {"delete", "unknown", "type", "number", "dupkey", "deep", "raw"} <= kinds
    assert {c.argv[0] for c in cases} == {"sweep", "stockpile"}
    raw = {c.id.split("raw:")[1].split(":")[0] for c in cases if "raw:" in c.id}
    assert {"latin1", "binary", "alias_bomb", "deep_block", "dupkey", "dir", "loop"} <= raw
    assert sum(c.must_refuse for c in cases) >= 100  # NaN/inf put into numbers


def test_study_and_policy_files_keep_the_contract_sample(tmp_path: Path) -> None:
    """A seeded sample of the table: exit 0 or 2, one line, NaN/inf refused, within 10 s."""
    cases = sweep_file_cases(SEED, N_SWEEP_FILES)
    assert {c.argv[0] for c in cases} == {"sweep", "stockpile"}
    _check(cases, tmp_path)


@pytest.mark.slow
def test_study_and_policy_files_keep_the_contract(tmp_path: Path) -> None:
    """Every case of the table (~1,340, ~2.5 min)."""
    _check(sweep_file_cases(), tmp_path)
