"""Price floors: hand-solved top-up (CfD) and purchase-floor cases, and the purchase-floor
invariant as a hypothesis property on small explicit markets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from critmin.errors import UnknownNameError
from critmin.policy.instrument import parse_instrument
from critmin.policy.instruments.floors import PurchaseFloor, TopUpFloor
from tests.instruments.helpers import node, price, solve

TOPUP_MARKET = """
mineral: x
regions: [USA]
supply: [{region: USA, qty_t: 120, cost_usd_per_t: 40}]
demand:
  - {region: USA, qty_t: 100, wtp_usd_per_t: 1000}
  - {region: USA, qty_t: 100, wtp_usd_per_t: 50}
"""


def _rows(inst: TopUpFloor | PurchaseFloor, variable: str) -> list[float]:
    return [r.value for r in inst.finalize().rows if r.variable == variable]


def test_topup_floor_keeps_a_covered_producer_running() -> None:
    """Market: 120 t @ 40; bids 100 t @ 1000 and 100 t @ 50. Covered: 50 t @ 80 and 10 t @ 120;
    floor 100 usd/t.

    Without the floor the covered blocks (80, 120 > price) do not run: 120 t serve the 1000 bid
    and 20 t of the 50 bid, which is partly served, so p = 50.
    With the floor: the 80 block's cost <= 100, so it bids 0 and sells all 50 t; the 120 block
    (cost > floor) still bids 120 and stays off. The 50 bid gets 20 + 50 = 70 t, p = 50.
    Payment = (100 - 50) x 50 = 2,500 usd; kept = 50 t (p = 50 < cost 80).
    """
    spec = {
        "kind": "topup_floor",
        "region": "USA",
        "product": "x",
        "floor_usd_per_t": 100,
        "covered": [{"qty_t": 50, "cost_usd_per_t": 80}, {"qty_t": 10, "cost_usd_per_t": 120}],
    }
    without = solve(TOPUP_MARKET)
    assert price(without, "USA") == pytest.approx(50)
    inst = parse_instrument(spec).build()
    assert isinstance(inst, TopUpFloor)
    run = solve(TOPUP_MARKET, instruments=[inst])
    assert price(run, "USA") == pytest.approx(50)
    assert node(run, "consumption", "USA") == pytest.approx(170)
    assert _rows(inst, "floor_covered_output") == [pytest.approx(50)]
    assert _rows(inst, "floor_payment") == [pytest.approx(2500)]
    assert _rows(inst, "floor_kept") == [pytest.approx(50)]
    assert inst.finalize().metrics["floor_fiscal_cost_usd"] == pytest.approx(2500)


def test_topup_floor_pays_nothing_above_the_floor() -> None:
    """Bids at 1000 for 300 t: 120 @ 40 + covered 50 @ 80 all sold, the bid is partly served,
    p = 1000 > floor 100: payment 0, kept 0 (the producer covers its cost at market)."""
    market = """
mineral: x
supply: [{region: USA, qty_t: 120, cost_usd_per_t: 40}]
demand: [{region: USA, qty_t: 300, wtp_usd_per_t: 1000}]
"""
    inst = parse_instrument(
        {
            "kind": "topup_floor",
            "region": "USA",
            "product": "x",
            "floor_usd_per_t": 100,
            "covered": [{"qty_t": 50, "cost_usd_per_t": 80}],
        }
    ).build()
    assert isinstance(inst, TopUpFloor)
    run = solve(market, instruments=[inst])
    assert price(run, "USA") == pytest.approx(1000)
    assert _rows(inst, "floor_payment") == [0.0]
    assert _rows(inst, "floor_kept") == [0.0]
    assert _rows(inst, "floor_covered_output") == [pytest.approx(50)]


def test_topup_floor_reads_the_dated_parameter() -> None:
    """policy.price_floor.ndpr_oxide = 110 usd/kg = 110,000 usd/t from 2025-07 (MP
    Materials/DoD release, 2025-07-10)."""
    inst = parse_instrument(
        {
            "kind": "topup_floor",
            "region": "USA",
            "product": "ndpr_oxide",
            "floor_parameter": "policy.price_floor.ndpr_oxide",
            "covered": [{"qty_t_per_year": 1300, "cost_usd_per_t": 56750}],
        }
    ).build()
    assert isinstance(inst, TopUpFloor)
    assert inst.floor("2026-07") == 110_000
    assert inst.floor("2035-07") is None  # the 10-year term ended


PF_MARKET = """
mineral: x
supply: [{region: USA, qty_t: 100, cost_usd_per_t: 10}]
demand: [{region: USA, qty_t: 10, wtp_usd_per_t: 1000}]
"""


def test_purchase_floor_holds_until_the_budget_is_spent() -> None:
    """Supply 100 t @ 10, demand 10 t @ 1000, floor 50, budget 10,000 usd (200 t at the floor).

    Month 1: bid 200 t @ 50, only 90 t are left after the 1000 bid -> bid partly taken, p = 50;
    spend 90 x 50 = 4,500, left 5,500 (110 t). Month 2: same, left 1,000 (20 t).
    Month 3: bid 20 t, fully taken (the budget runs out): p = cost 10 < floor.
    Month 4: no budget, no bid: p = 10.
    """
    inst = parse_instrument(
        {
            "kind": "purchase_floor",
            "region": "USA",
            "product": "x",
            "floor_usd_per_t": 50,
            "budget_usd": 10_000,
            "protected_consumption_t_per_year": 365,
        }
    ).build()
    assert isinstance(inst, PurchaseFloor)
    months = ("2026-01", "2026-02", "2026-03", "2026-04")
    run = solve(PF_MARKET, months, [inst])
    assert [price(run, "USA", t=t) for t in range(4)] == pytest.approx([50, 50, 10, 10])
    assert _rows(inst, "floor_purchase") == pytest.approx([90, 90, 20, 0])
    assert _rows(inst, "floor_payment") == pytest.approx([4500, 4500, 1000, 0])
    assert _rows(inst, "floor_budget_left") == pytest.approx([5500, 1000, 0, 0])
    assert _rows(inst, "days_of_cover") == pytest.approx([90, 180, 200, 200])  # stock / (1 t/day)


@st.composite
def small_markets(draw: st.DrawFn) -> tuple[str, float, float, float | None]:
    n_s = draw(st.integers(1, 3))
    n_d = draw(st.integers(0, 2))
    supply = [
        f"{{region: R, qty_t: {q}, cost_usd_per_t: {c}}}"
        for q, c in draw(
            st.lists(
                st.tuples(st.integers(1, 100), st.integers(0, 100)), min_size=n_s, max_size=n_s
            )
        )
    ]
    demand = [
        f"{{region: R, qty_t: {q}, wtp_usd_per_t: {w}}}"
        for q, w in draw(
            st.lists(
                st.tuples(st.integers(1, 100), st.integers(1, 200)), min_size=n_d, max_size=n_d
            )
        )
    ]
    text = (
        f"mineral: x\nregions: [R]\nsupply: [{', '.join(supply)}]\ndemand: [{', '.join(demand)}]\n"
    )
    floor = float(draw(st.integers(1, 150)))
    budget = float(draw(st.integers(0, 20_000)))
    cap = draw(st.none() | st.integers(1, 100).map(float))
    return text, floor, budget, cap


@given(small_markets())
def test_purchase_floor_never_lets_the_price_below_the_floor_while_budget_lasts(
    case: tuple[str, float, float, float | None],
) -> None:
    """While the month's bid (budget left / floor, capped by max_buy_t_per_month) is not
    exhausted, the price is >= the floor; spending never exceeds the budget."""
    text, floor, budget, cap = case
    spec: dict[str, object] = {
        "kind": "purchase_floor",
        "region": "R",
        "product": "x",
        "floor_usd_per_t": floor,
        "budget_usd": budget,
    }
    if cap is not None:
        spec["max_buy_t_per_month"] = cap
    inst = parse_instrument(spec).build()
    assert isinstance(inst, PurchaseFloor)
    months = ("2026-01", "2026-02", "2026-03")
    run = solve(text, months, [inst])
    bought = _rows(inst, "floor_purchase")
    left = [budget, *_rows(inst, "floor_budget_left")]
    for t in range(len(months)):
        offered = left[t] / floor if cap is None else min(left[t] / floor, cap)
        if bought[t] < offered - 1e-6:
            assert price(run, "R", t=t) >= floor - 1e-6
        assert left[t + 1] <= left[t] + 1e-9
    assert sum(_rows(inst, "floor_payment")) <= budget * (1 + 1e-9) + 1e-6


def test_floor_bad_input_names_the_field() -> None:
    with pytest.raises(ValidationError, match="exactly one of floor_usd_per_t or floor_parameter"):
        parse_instrument(
            {
                "kind": "topup_floor",
                "region": "USA",
                "product": "x",
                "covered": [{"qty_t": 1, "cost_usd_per_t": 1}],
            }
        )
    with pytest.raises(ValidationError, match=r"covered\.0\.cost_usd_per_t"):
        parse_instrument(
            {
                "kind": "topup_floor",
                "region": "USA",
                "product": "x",
                "floor_usd_per_t": 1,
                "covered": [{"qty_t": 1, "cost_usd_per_t": -5}],
            }
        )
    with pytest.raises(ValidationError, match="budget_usd or budget_parameter"):
        parse_instrument(
            {"kind": "purchase_floor", "region": "USA", "product": "x", "floor_usd_per_t": 1}
        )
    with pytest.raises(UnknownNameError, match=r"did you mean policy\.price_floor\.ndpr_oxide"):
        parse_instrument(
            {
                "kind": "purchase_floor",
                "region": "USA",
                "product": "x",
                "budget_usd": 1,
                "floor_parameter": "policy.price_flor.ndpr_oxide",
            }
        ).build()
    inst = parse_instrument(
        {
            "kind": "purchase_floor",
            "region": "USS",
            "product": "x",
            "budget_usd": 1,
            "floor_usd_per_t": 1,
        }
    ).build()
    with pytest.raises(UnknownNameError, match="unknown region 'USS'; did you mean USA"):
        solve(PF_MARKET, instruments=[inst])
