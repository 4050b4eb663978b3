"""The clearing LP's constraint matrix is the one the module docstring of
:mod:`critmin.market.lp` defines, in valid CSC form.

The reference below writes the matrix densely, entry by entry, from that definition (node
rows: +1 supply, -1 demand, -1 exporter / +1 importer of a route, +1 conversion output /
-a input, +/-1 instrument column; quota rows: +1 per covered route; origin rows when
``reexport: false``: +1 route out, -1 supply, -1 conversion output, -1 supply-side instrument
column), and HiGHS receives exactly the CSC arrays checked here.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.market.compile import CompiledMarket, compile_market
from critmin.market.lp import ClearingLP, ColumnLayout, ExtraColumn, constraint_matrix
from critmin.market.spec import Market
from tests.market.test_properties import markets


def _layout(cm: CompiledMarket, extras: list[ExtraColumn]) -> ColumnLayout:
    return ColumnLayout(
        len(cm.s_node), len(cm.d_node), len(cm.r_from_node), len(cm.k_in_node), len(extras)
    )


def _dense_reference(
    cm: CompiledMarket, extras: list[ExtraColumn], lay: ColumnLayout
) -> np.ndarray:
    n_nodes, n_q = cm.n_nodes, len(cm.q_routes)
    n_o = 0 if cm.reexport else n_nodes
    a = np.zeros((n_nodes + n_q + n_o, lay.n_cols))
    o0 = n_nodes + n_q
    for j, n in enumerate(cm.s_node):
        a[n, j] += 1.0
        if n_o:
            a[o0 + n, j] -= 1.0
    for j, n in enumerate(cm.d_node):
        a[n, lay.d0 + j] -= 1.0
    for j, (src, dst) in enumerate(zip(cm.r_from_node, cm.r_to_node, strict=True)):
        a[src, lay.r0 + j] -= 1.0
        a[dst, lay.r0 + j] += 1.0
        if n_o:
            a[o0 + src, lay.r0 + j] += 1.0
    for j, (n_in, n_out) in enumerate(zip(cm.k_in_node, cm.k_out_node, strict=True)):
        a[n_out, lay.k0 + j] += 1.0
        a[n_in, lay.k0 + j] -= cm.k_input_t_per_t[j]
        if n_o:
            a[o0 + n_out, lay.k0 + j] -= 1.0
    for j, e in enumerate(extras):
        a[e.node, lay.e0 + j] += e.sign
        if n_o and e.sign > 0:
            a[o0 + e.node, lay.e0 + j] -= 1.0
    for q, routes in enumerate(cm.q_routes):
        a[n_nodes + q, lay.r0 + routes] += 1.0
    return a


def _check(cm: CompiledMarket, extras: list[ExtraColumn]) -> None:
    lay = _layout(cm, extras)
    start, index, value = constraint_matrix(cm, extras, lay)
    assert (start.dtype, index.dtype, value.dtype) == (np.int32, np.int32, np.float64)
    assert (len(start), start[0], start[-1]) == (lay.n_cols + 1, 0, len(index))
    assert np.all(np.diff(start) >= 0)
    dense = np.zeros_like(_dense_reference(cm, extras, lay))
    for j in range(lay.n_cols):
        rows = index[start[j] : start[j + 1]]
        assert np.all(np.diff(rows) > 0), "rows ascending, no repeats, within a column"
        dense[rows, j] = value[start[j] : start[j + 1]]
    assert np.array_equal(dense, _dense_reference(cm, extras, lay))


@given(
    markets(),
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from([1.0, -1.0])), max_size=4),
    st.booleans(),
)
def test_matrix_is_the_documented_lp(
    market: Market, extra_spec: list[tuple[int, float]], reexport: bool
) -> None:
    market = market.model_copy(update={"reexport": reexport})
    cm = compile_market(market, ["2026-01"])
    extras = [ExtraColumn(n % cm.n_nodes, sign, f"e{i}") for i, (n, sign) in enumerate(extra_spec)]
    _check(cm, extras)


def test_quota_and_origin_rows() -> None:
    """With a quota row and origin rows (``reexport: false``) a route column has four
    entries; the LP solves the hand-checkable case: B buys 5 t from A (cost 10, transport 1)
    under a 5 t quota although it bids for 8 t at 100."""
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
    _check(cm, [])
    lp = ClearingLP(cm)
    lay = lp.layout
    start, _index, _value = constraint_matrix(cm, [], lay)
    route = lay.r0 + cm.route_index("A", "B", cm.products[0])
    # the route column: exporter node, importer node, quota row, origin row
    assert start[route + 1] - start[route] == 4
    upper = np.concatenate([cm.s_cap[0], cm.d_qty[0], cm.r_upper[0], cm.k_cap[0]])
    cost = np.concatenate([cm.s_cost, -cm.d_wtp, cm.r_transport + cm.r_specific[0], cm.k_cost])
    col, _price = lp.solve(cost, upper, cm.q_upper[0])
    assert col[route] == pytest.approx(5.0)
