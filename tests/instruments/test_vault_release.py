"""Project Vault in the market: releases during a ban, pre-purchase rights, the ledger.

The stockpile's release column is offered every month at the account's price trigger
(``release.price_above_usd_per_t``), so the market takes it exactly when the node price
without it would exceed the trigger (docs/stockpile.md, "Market coupling"). The ban and
shortage rules read the market's own signals (``view.export_ban_active``, last month's
``result.unserved``) and release their need at 0 usd/t. The price-trigger tests below switch
the ban and shortage rules off (``_spec`` defaults) to isolate the price rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from critmin.errors import InputError
from critmin.stockpile import EntryKind, StockpileSpec
from critmin.stockpile.instrument import StockpileInstrument
from tests.instruments.helpers import node, price, solve

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")

BAN_MARKET = """
mineral: x
regions: [CHN, USA]
default_route_cost_usd_per_t: 1000
supply: [{region: CHN, qty_t: 100, cost_usd_per_t: 10000}]
demand: [{region: USA, qty_t: 60, wtp_usd_per_t: 120000}]
export_bans: [{exporter: CHN, start: 2026-02}]
"""


def _spec(
    *,
    start: str = "2026-01",
    initial_t: float = 40.0,
    trigger: float = 100_000.0,
    share: float = 0.25,
    max_price: float = 50_000.0,
    target_t: float = 40.0,
    budget: float = 1e6,
    on_ban: bool = False,
    on_shortage: bool = False,
    requires_emergency: bool = False,
    max_release_t: float | None = None,
) -> StockpileSpec:
    account: dict[str, Any] = {
        "mineral": "x",
        "protected_consumption_t_per_year": 720,  # 60 t/month
        "initial_qty_t": initial_t,
        "initial_cost_usd_per_t": 50_000,
        "acquisition": {
            "budget_usd": budget,
            "max_price_usd_per_t": max_price,
            "target_qty_t": target_t,
            "max_share_of_supply": 1.0,
        },
        "release": {
            "price_above_usd_per_t": trigger,
            "price_release_share_of_demand": share,
            "on_export_ban": on_ban,
            "on_shortage": on_shortage,
            "requires_emergency": requires_emergency,
            "max_release_t_per_month": max_release_t,
        },
    }
    return StockpileSpec.model_validate(
        {
            "name": "vault",
            "holder": {"id": "vault", "name": "Vault", "region": "USA"},
            "start": start,
            "funding": [
                {"id": "g", "kind": "appropriation", "amount_usd": 2e6, "available_from": start}
            ],
            "members": [{"id": "gm", "share": 0.6}, {"id": "boeing", "share": 0.4}],
            "accounts": [account],
        }
    )


def _series(inst: StockpileInstrument, variable: str) -> list[float]:
    return [r.value for r in inst.finalize().rows if r.variable == variable]


def test_release_in_a_ban_reduces_unserved_by_the_released_tonnes() -> None:
    """Hand-solved. CHN makes 100 t/month at 10,000 usd/t; USA bids 60 t at 120,000; route
    1,000 usd/t; CHN bans exports from 2026-02. Vault (USA): 40 t opening stock, release
    offered at the trigger 100,000 usd/t for 0.25 x 60 = 15 t/month (capped by inventory).

    2026-01: USA imports 60 t, price 11,000 < 100,000: no release, unserved 0.
    2026-02: no imports. Without the Vault unserved = 60 t. With it: the 15 t offered at
        100,000 < wtp 120,000 are taken: consumption 15, unserved 45, price = wtp 120,000.
    2026-03: 25 t left -> 15 t released, unserved 45.  2026-04: 10 t left -> 10 t, unserved 50.
    Unserved falls by exactly 0 + 15 + 15 + 10 = 40 t = the tonnes released. Each release is
    split by pre-purchase rights 0.6 / 0.4 (15 t -> 9 t + 6 t) and sold at cost 50,000 usd/t.
    """
    without = solve(BAN_MARKET, MONTHS)
    inst = StockpileInstrument(_spec())
    run = solve(BAN_MARKET, MONTHS, [inst])
    released = _series(inst, "stock_releases")
    assert released == pytest.approx([0, 15, 15, 10])
    unserved_without = [node(without, "unserved", "USA", t=t) for t in range(4)]
    unserved_with = [node(run, "unserved", "USA", t=t) for t in range(4)]
    assert unserved_without == pytest.approx([0, 60, 60, 60])
    assert unserved_with == pytest.approx([0, 45, 45, 50])
    for t in range(4):
        assert unserved_without[t] - unserved_with[t] == pytest.approx(released[t])
    assert price(run, "USA", t=0) == pytest.approx(11_000)
    assert price(run, "USA", t=1) == pytest.approx(120_000)
    sales = [
        (e.month, e.counterparty, e.qty_t, e.amount_usd)
        for e in inst.stockpile.ledger
        if e.kind is EntryKind.RELEASE_SALE
    ]
    assert sales[:2] == [
        ("2026-02", "gm", -9.0, 450_000.0),
        ("2026-02", "boeing", -6.0, 300_000.0),
    ]
    rep = inst.finalize()
    assert rep.metrics["stock_releases_t_x"] == pytest.approx(40)
    assert rep.metrics["stock_shortage_avoided_t_x"] == pytest.approx(40)
    assert rep.metrics["stock_ledger_balanced"] == 1.0
    assert inst.stockpile.check_balance().ok
    assert _series(inst, "days_of_cover")[-1] == pytest.approx(0.0)


def test_no_release_below_the_trigger() -> None:
    """Same market, trigger 130,000 > wtp 120,000: the release column is never worth taking,
    so unserved in the ban months stays 60 t and the stock stays 40 t."""
    inst = StockpileInstrument(_spec(trigger=130_000))
    run = solve(BAN_MARKET, MONTHS, [inst])
    assert _series(inst, "stock_releases") == pytest.approx([0, 0, 0, 0])
    assert node(run, "unserved", "USA", t=1) == pytest.approx(60)
    assert inst.stockpile.inventory_t("x") == pytest.approx(40)


def test_inactive_before_start() -> None:
    """A spec starting 2026-03 in a run from 2026-01: nothing offered or booked in 2026-01/02
    (60 t unserved in the ban month 2026-02). The opening stock is booked when the first
    active month settles (Stockpile.settle), so 2026-03 releases nothing and 2026-04 15 t."""
    inst = StockpileInstrument(_spec(start="2026-03"))
    run = solve(BAN_MARKET, MONTHS, [inst])
    assert node(run, "unserved", "USA", t=1) == pytest.approx(60)
    assert [r.month for r in inst.finalize().rows if r.variable == "stock_releases"] == [
        "2026-03",
        "2026-04",
    ]
    assert _series(inst, "stock_releases") == pytest.approx([0, 15])
    assert inst.stockpile.check_balance().ok


def test_purchase_price_must_be_below_the_trigger() -> None:
    with pytest.raises(InputError, match="below the release trigger"):
        StockpileInstrument(_spec(max_price=100_000))


@given(
    local_cost=st.integers(20_000, 200_000),
    local_qty=st.integers(0, 40),
    demand=st.integers(1, 80),
    wtp=st.integers(30_000, 300_000),
    initial=st.integers(0, 50),
    trigger=st.integers(60_000, 250_000),
    share=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    max_price=st.integers(5_000, 59_000),
    ban_months=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_releases_within_inventory_and_ledger_balances(
    *,
    local_cost: int,
    local_qty: int,
    demand: int,
    wtp: int,
    initial: int,
    trigger: int,
    share: float,
    max_price: int,
    ban_months: list[bool],
) -> None:
    """Random two-region markets with a ban in random months: every month the Vault releases
    at most its inventory, never buys and releases at once, releases only when the node
    price reaches the trigger, each released tonne cuts unserved demand by at most a tonne,
    and the ledger balances.

    Ties are excluded: with willingness to pay equal to the local cost the LP is indifferent
    between serving and not serving, so the two runs may differ by a tie-break, not a release."""
    assume(wtp != local_cost)
    bans = ", ".join(
        f"{{exporter: CHN, start: {m}, end: {m}}}"
        for m, on in zip(MONTHS, ban_months, strict=True)
        if on
    )
    text = f"""
mineral: x
regions: [CHN, USA]
default_route_cost_usd_per_t: 1000
supply:
  - {{region: CHN, qty_t: 100, cost_usd_per_t: 10000}}
  - {{region: USA, qty_t: {local_qty}, cost_usd_per_t: {local_cost}}}
demand: [{{region: USA, qty_t: {demand}, wtp_usd_per_t: {wtp}}}]
export_bans: [{bans}]
"""
    inst = StockpileInstrument(
        _spec(initial_t=initial, trigger=trigger, share=share, max_price=max_price, target_t=60)
    )
    run = solve(text, MONTHS, [inst])
    without = solve(text, MONTHS)
    inventory = [float(initial), *_series(inst, "stock_inventory")]
    released = _series(inst, "stock_releases")
    bought = _series(inst, "stock_purchases")
    for t in range(4):
        assert released[t] <= inventory[t] + 1e-9
        assert inventory[t + 1] >= -1e-9
        assert not (released[t] > 1e-9 and bought[t] > 1e-9)
        if released[t] > 1e-6:
            assert price(run, "USA", t=t) >= trigger - 1e-6
        cut = node(without, "unserved", "USA", t=t) - node(run, "unserved", "USA", t=t)
        assert cut <= released[t] + 1e-6
    assert inst.stockpile.check_balance().ok
    assert inst.finalize().metrics["stock_ledger_balanced"] == 1.0
