"""The batched month loop (:meth:`ClearingLP.solve_months`, used by ``run_market`` when no
instrument or ad-valorem tariff iterates) gives the same solutions, bit for bit, as calling
:meth:`ClearingLP.solve` month after month: it must push the same changes in the same order.
"""

# ruff: noqa: E501 - the market table reads best one block per line

from __future__ import annotations

import numpy as np
import pytest
import yaml

from critmin.market.compile import CompiledMarket, compile_market
from critmin.market.engine import run_market
from critmin.market.lp import ClearingLP
from critmin.market.spec import Market
from critmin.scenarios.loader import load_study
from tests.market.helpers import flow, price


def _per_month(cm: CompiledMarket) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Reference: one ``solve`` call per month on the rows assembled by hand."""
    lp = ClearingLP(cm)
    lp.objectives = []
    cols, prices = [], []
    for t in range(len(cm.months)):
        cost = np.concatenate([cm.s_cost, -cm.d_wtp, cm.r_transport + cm.r_specific[t], cm.k_cost])
        upper = np.concatenate([cm.s_cap[t], cm.d_qty[t], cm.r_upper[t], cm.k_cap[t]])
        col, p = lp.solve(cost, upper, cm.q_upper[t])
        cols.append(col)
        prices.append(p)
    return np.array(cols), np.array(prices), lp.objectives


def _batched(cm: CompiledMarket) -> tuple[np.ndarray, np.ndarray, list[float]]:
    lps: list[ClearingLP] = []

    def make(cm: CompiledMarket, extras: list) -> ClearingLP:  # type: ignore[type-arg]
        lps.append(ClearingLP(cm, extras))
        lps[-1].objectives = []
        return lps[-1]

    run = run_market(cm, lp_factory=make)
    assert lps[0].solves == len(cm.months)
    col = np.concatenate([run.supply, run.demand, run.flow, run.conversion], axis=1)
    assert lps[0].objectives is not None
    return col, run.price, lps[0].objectives


@pytest.mark.parametrize("scenario", ["ndpr_baseline", "ndpr_china_ban"])
def test_seed_study_batched_equals_per_month(scenario: str) -> None:
    """Every chain of the seed study over its 24 months (the China ban closes and reopens
    routes, so bounds change both ways): columns, prices and objectives identical."""
    sc = load_study([scenario])[0].scenario
    for market in sc.markets or []:
        cm = compile_market(market, sc.month_labels(), sc.shocks)
        col_a, price_a, obj_a = _batched(cm)
        col_b, price_b, obj_b = _per_month(cm)
        assert np.array_equal(col_a, col_b)
        assert np.array_equal(price_a, price_b)
        assert obj_a == obj_b


QUOTA_MARKET = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}, {region: IMP, qty_t: 100, cost_usd_per_t: 40}]
demand: [{region: IMP, qty_t: 150, wtp_usd_per_t: 100}, {region: EXP, qty_t: 10, wtp_usd_per_t: 100}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
export_quotas: [{exporter: EXP, to: [IMP], qty_t: 60, start: 2026-02, end: 2026-02}]
"""


def test_quota_in_force_for_one_month() -> None:
    """EXP 200 t @ 10 (+10 t local bid), IMP 100 t @ 40 with a 150 t bid @ 100, route cost 5;
    an export quota of 60 t in 2026-02 only.

    2026-01 and 2026-03: IMP imports all 150 t (landed 15 < 40), p_IMP = 10 + 5 = 15.
    2026-02: 60 t cross, IMP produces 90 t of its own 100 t (partly used) so p_IMP = 40 and
    p_EXP = 10. The quota row's limit must be pushed and lifted again month by month; the
    batched loop gives exactly the per-month result.
    """
    market = Market.model_validate(yaml.safe_load(QUOTA_MARKET))
    cm = compile_market(market, ["2026-01", "2026-02", "2026-03"])
    run = run_market(cm)
    for t, (f, p_imp) in enumerate([(150, 15), (60, 40), (150, 15)]):
        assert flow(run, "EXP", "IMP", t=t) == pytest.approx(f)
        assert price(run, "IMP", t=t) == pytest.approx(p_imp)
        assert price(run, "EXP", t=t) == pytest.approx(10)
    col_a, price_a, obj_a = _batched(cm)
    col_b, price_b, obj_b = _per_month(cm)
    assert np.array_equal(col_a, col_b)
    assert np.array_equal(price_a, price_b)
    assert obj_a == obj_b
