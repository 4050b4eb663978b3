"""The runner's fast path of ``compare_to_baseline`` (string columns passed as the codes the
tidy table was built from) gives exactly what the public path gives on the table alone.

The public path factorizes every string column of the DataFrame; the fast path renumbers the
builder's codes in order of first appearance (:func:`critmin.scenarios.compare._recode`). The
two must agree exactly (``==`` on the whole nested dict, floats bit for bit) on the default
study, on the seed study over the ten-year default horizon, and on hand-made codes whose
label lists hold unused, repeated-in-a-different-order labels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.market.results import merge, series_columns
from critmin.scenarios.compare import _factorize, _recode, compare_to_baseline
from critmin.scenarios.loader import LoadedScenario, load_study
from critmin.scenarios.runner import BASELINE_SCENARIO, run_scenario
from critmin.scenarios.spec import Months


def _both(loaded: list[LoadedScenario]) -> tuple[dict[str, Any], dict[str, Any]]:
    results = [run_scenario(ls) for ls in loaded]
    whole = merge([series_columns(r.loaded.scenario.name, run) for r in results for run in r.runs])
    coded = whole.coded()
    series = whole.frame(coded)
    slow = compare_to_baseline(series, BASELINE_SCENARIO)
    fast = compare_to_baseline(series, BASELINE_SCENARIO, coded=coded)
    return slow, fast


def test_fast_path_identical_on_default_study() -> None:
    slow, fast = _both(load_study([]))
    assert len(slow) == 3
    assert BASELINE_SCENARIO in slow
    assert fast == slow


@pytest.mark.slow
def test_fast_path_identical_on_seed_study_ten_years() -> None:
    months = Months(start="2026-01", end="2035-12")
    loaded = [
        dataclasses.replace(ls, scenario=ls.scenario.model_copy(update={"months": months}))
        for ls in load_study(["ndpr_baseline", "ndpr_china_ban"])
    ]
    slow, fast = _both(loaded)
    assert fast == slow


@given(
    st.lists(st.integers(0, 5), max_size=40),
    st.permutations(["a", "b", "c", "d", "e", "f", "g", "h"]),
)
def test_recode_equals_factorize(codes: list[int], labels: list[str]) -> None:
    """Labels 6-7 are never used; codes repeat in runs and out of label order."""
    arr = np.array(codes, dtype=np.int32)
    column = pd.Series([labels[c] for c in codes], dtype="str")
    got_codes, got_names = _recode(arr, labels)
    want_codes, want_names = _factorize(column)
    assert got_names == want_names
    assert got_codes.tolist() == want_codes.tolist()
