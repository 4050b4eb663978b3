"""Property tests on random small markets: balance, price gaps, non-negative prices.

Every supply block and conversion has a strictly positive cost, so nothing is produced to be
thrown away and the node balance holds with equality.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from critmin.market.compile import compile_market
from critmin.market.engine import run_market
from critmin.market.results import node_table
from critmin.market.spec import Market

REGIONS = ["A", "B", "C", "D"]


@st.composite
def markets(draw: st.DrawFn) -> Market:
    n_reg = draw(st.integers(2, 4))
    regions = REGIONS[:n_reg]
    chain = draw(st.booleans())
    products = ["ore", "metal"] if chain else ["x"]
    money = st.integers(1, 200).map(float)
    qty = st.integers(0, 100).map(float)
    supply = [
        {"region": r, "product": products[0], "qty_t": draw(qty), "cost_usd_per_t": draw(money)}
        for r in regions
        for _ in range(draw(st.integers(1, 2)))
    ]
    final = products[-1]
    demand = [
        {"region": r, "product": final, "qty_t": draw(qty), "wtp_usd_per_t": draw(money) * 3}
        for r in regions
        for _ in range(draw(st.integers(1, 2)))
    ]
    conversions = (
        [
            {
                "region": r,
                "input": "ore",
                "output": "metal",
                "input_t_per_t": draw(st.sampled_from([1.0, 1.5, 2.0, 4.0])),
                "qty_t": draw(qty),
                "cost_usd_per_t": draw(money),
            }
            for r in regions
            if draw(st.booleans())
        ]
        if chain
        else []
    )
    routes = [
        {"from": a, "to": b, "cost_usd_per_t": draw(st.integers(0, 50).map(float))}
        for a in regions
        for b in regions
        if a != b and draw(st.booleans())
    ]
    tariffs = [
        {
            "importer": b,
            "exporter": a,
            "specific_usd_per_t": draw(st.integers(0, 60).map(float)),
            "ad_valorem": draw(st.sampled_from([0.0, 0.0, 0.1, 0.25])),
        }
        for a in regions
        for b in regions
        if a != b and draw(st.integers(0, 3)) == 0
    ]
    bans = [{"exporter": regions[0], "to": [regions[1]]}] if draw(st.booleans()) else []
    return Market.model_validate(
        {
            "mineral": "m",
            "products": [{"id": p, "stage": f"s{i}"} for i, p in enumerate(products)],
            "regions": regions,
            "supply": supply,
            "demand": demand,
            "conversions": conversions,
            "routes": routes,
            "tariffs": tariffs,
            "export_bans": bans,
        }
    )


@given(markets())
def test_equilibrium_conditions_hold(market: Market) -> None:
    cm = compile_market(market, ["2026-01"])
    run = run_market(cm)
    tab = node_table(run)
    p = run.price[0]
    scale = 1e-6 * (1.0 + float(np.abs(p).max()))
    # prices are non-negative
    assert (p >= -scale).all()
    # balance: production + imports - exports = consumption + conversion input
    inflow = np.zeros(cm.n_nodes)
    np.add.at(inflow, cm.r_to_node, run.flow[0])
    np.add.at(inflow, cm.r_from_node, -run.flow[0])
    lhs = tab["production"][0] + inflow
    rhs = tab["consumption"][0] + tab["conversion_input"][0]
    np.testing.assert_allclose(lhs, rhs, atol=1e-6)
    # every bid is consumed or unserved
    np.testing.assert_allclose(
        tab["consumption"][0] + tab["unserved"][0],
        np.bincount(cm.d_node, weights=cm.d_qty[0], minlength=cm.n_nodes),
        atol=1e-6,
    )
    # routes: gap <= transport + tariff everywhere (or banned), = where flow > 0
    gap = p[cm.r_to_node] - p[cm.r_from_node]
    wedge = cm.r_transport + run.tariff_wedge[0]
    open_ = cm.r_upper[0] > 0
    assert (gap[open_] <= wedge[open_] + scale).all()
    flowing = run.flow[0] > 1e-7
    np.testing.assert_allclose(gap[flowing], wedge[flowing], atol=scale)
    # ad-valorem wedges converged to rate x exporter price (1e-6 relative)
    assert bool(run.converged[0])
    expected = cm.r_specific[0] + cm.r_ad_valorem[0] * np.maximum(p[cm.r_from_node], 0.0)
    np.testing.assert_allclose(run.tariff_wedge[0], expected, rtol=1e-6, atol=1e-6)
    # conversions: p_out <= a p_in + cost when idle with capacity, = when partly used
    k_gap = p[cm.k_out_node] - cm.k_input_t_per_t * p[cm.k_in_node] - cm.k_cost
    partly = (run.conversion[0] > 1e-7) & (run.conversion[0] < cm.k_cap[0] - 1e-7)
    np.testing.assert_allclose(k_gap[partly], 0.0, atol=scale * 10)
    idle = (run.conversion[0] <= 1e-7) & (cm.k_cap[0] > 1e-7)
    assert (k_gap[idle] <= scale * 10).all()
