"""The direct CSC construction of the clearing LP equals the sorted one.

:func:`critmin.market.lp.constraint_matrix` writes the matrix of a chain without quotas or
origin rows directly (one entry per supply/demand/instrument column, two per route and
conversion, smaller row first); :func:`critmin.market.lp._matrix_sorted` lists every entry
and sorts by (column, row). HiGHS receives the arrays as they are, so the two must agree
element for element, or the solves (and their degenerate duals) could differ.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.market.compile import CompiledMarket, compile_market
from critmin.market.lp import ClearingLP, ColumnLayout, ExtraColumn, _matrix_sorted
from critmin.market.lp import constraint_matrix as matrix
from critmin.market.spec import Market
from critmin.scenarios.loader import load_study
from tests.market.test_properties import markets


def _layout(cm: CompiledMarket, extras: list[ExtraColumn]) -> ColumnLayout:
    return ColumnLayout(
        len(cm.s_node), len(cm.d_node), len(cm.r_from_node), len(cm.k_in_node), len(extras)
    )


def _same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        assert np.array_equal(x, y)


@given(markets(), st.lists(st.tuples(st.integers(0, 50), st.sampled_from([1.0, -1.0]))))
def test_direct_matrix_equals_sorted(market: Market, extra_spec: list[tuple[int, float]]) -> None:
    cm = compile_market(market, ["2026-01"])
    extras = [ExtraColumn(n % cm.n_nodes, sign, f"e{i}") for i, (n, sign) in enumerate(extra_spec)]
    lay = _layout(cm, extras)
    fast = matrix(cm, extras, lay)
    _same(fast, _matrix_sorted(cm, extras, lay))
    # shape: one start per column + 1, ending at the number of entries
    assert len(fast[0]) == lay.n_cols + 1
    assert fast[0][-1] == len(fast[1])


@pytest.mark.parametrize("name", ["ndpr_baseline", "ndpr_china_ban", "ndpr_managed_market"])
def test_direct_matrix_on_the_seed_chains(name: str) -> None:
    """The built-in chains (NdPr: 489 columns, 44 nodes; with the managed market's
    instrument columns) take the direct path and give the sorted arrays."""
    (loaded,) = load_study([name])
    sc = loaded.scenario
    for m in sc.markets or []:
        cm = compile_market(m, sc.month_labels(), sc.shocks)
        extras = [ExtraColumn(0, 1.0, "a"), ExtraColumn(cm.n_nodes - 1, -1.0, "b")]
        for ex in ([], extras):
            lay = _layout(cm, ex)
            _same(matrix(cm, ex, lay), _matrix_sorted(cm, ex, lay))


def test_quota_and_origin_rows_take_the_sorted_path() -> None:
    """With a quota row or origin rows (``reexport: false``) the matrix has more than two
    entries in some columns; the LP still solves the hand-checkable case: B buys 5 t from
    A (cost 10, transport 1) under a 5 t quota although it bids for 8 t at 100."""
    market = Market.model_validate(
        {
            "mineral": "m",
            "regions": ["A", "B"],
            "reexport": False,
            "supply": [{"region": "A", "qty_t": 10, "cost_usd_per_t": 10}],
            "demand": [{"region": "B", "qty_t": 8, "wtp_usd_per_t": 100}],
            "routes": [{"from": "A", "to": "B", "cost_usd_per_t": 1}],
            "export_quotas": [{"exporter": "A", "to": ["B"], "qty_t": 5}],
        }
    )
    cm = compile_market(market, ["2026-01"])
    lp = ClearingLP(cm)
    lay = lp.layout
    start, index, value = matrix(cm, [], lay)
    _same((start, index, value), _matrix_sorted(cm, [], lay))
    route = lay.r0 + cm.route_index("A", "B", cm.products[0])
    # the route column: exporter node, importer node, quota row, origin row
    assert start[route + 1] - start[route] == 4
    upper = np.concatenate([cm.s_cap[0], cm.d_qty[0], cm.r_upper[0], cm.k_cap[0]])
    cost = np.concatenate([cm.s_cost, -cm.d_wtp, cm.r_transport + cm.r_specific[0], cm.k_cost])
    col, _price = lp.solve(cost, upper, cm.q_upper[0])
    assert col[route] == pytest.approx(5.0)
