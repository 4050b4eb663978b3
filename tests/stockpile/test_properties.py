"""Ledger invariants on random specs and random signal paths (hypothesis).

Each property is checked from the entries themselves, independently of the state machine:
inventory never negative, every release matched by earlier acquisitions, money in = money
out + stock at cost + cash (exact, in cents), emergency-only accounts release nothing
without an emergency, releases split by pre-purchase rights, budgets respected.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from critmin.stockpile import EntryKind, StockpileSpec, simulate
from critmin.stockpile.signals import next_month

MINERALS = ["m0", "m1", "m2"]


@st.composite
def specs(draw: st.DrawFn) -> StockpileSpec:
    n_acc = draw(st.integers(1, 3))
    accounts = []
    for i in range(n_acc):
        floor = draw(st.none() | st.floats(1_000, 200_000))
        accounts.append(
            {
                "mineral": MINERALS[i],
                "protected_consumption_t_per_year": draw(st.floats(1, 5_000)),
                "storage_usd_per_t_year": draw(st.floats(0, 5_000)),
                "initial_qty_t": draw(st.sampled_from([0.0, 0.0, 3.5, 120.0])),
                "initial_cost_usd_per_t": draw(st.floats(0, 100_000)),
                "acquisition": {
                    "budget_usd": draw(st.floats(0, 50_000_000)),
                    "max_price_usd_per_t": draw(st.none() | st.floats(1_000, 200_000)),
                    "target_days_of_cover": draw(st.none() | st.floats(0, 400)),
                    "target_qty_t": draw(st.none() | st.floats(0, 2_000)),
                    "max_share_of_supply": draw(st.floats(0.01, 1.0)),
                    "floor_price_usd_per_t": floor,
                },
                "release": {
                    "requires_emergency": draw(st.booleans()),
                    "on_export_ban": draw(st.booleans()),
                    "on_shortage": draw(st.booleans()),
                    "price_above_usd_per_t": draw(st.none() | st.floats(1_000, 200_000)),
                    "ban_release_share_of_demand": draw(st.floats(0, 1)),
                    "sale_price": draw(st.sampled_from(["cost", "market"])),
                },
            }
        )
    funding = [
        {
            "id": "eq",
            "kind": "equity",
            "amount_usd": draw(st.floats(1, 20_000_000)),
            "available_from": "2026-01",
        }
    ]
    if draw(st.booleans()):
        funding.append(
            {
                "id": "loan",
                "kind": "loan",
                "amount_usd": draw(st.floats(1, 30_000_000)),
                "available_from": draw(st.sampled_from(["2026-01", "2026-03"])),
                "rate_per_year": draw(st.floats(0, 0.2)),
                "draw": draw(st.sampled_from(["on_demand", "upfront"])),
                "repay_month": draw(st.none() | st.just("2026-06")),
            }
        )
    weights = draw(st.lists(st.integers(1, 9), min_size=0, max_size=4))
    members = [
        {"id": f"mem{i}", "share": w / sum(weights), "fee_usd_per_month": draw(st.floats(0, 1e5))}
        for i, w in enumerate(weights)
    ]
    if members:  # make the shares sum to exactly 1 in floating point
        rest = 1.0 - sum(m["share"] for m in members[1:])  # type: ignore[misc]
        members[0]["share"] = rest
    return StockpileSpec.model_validate(
        {
            "name": "prop",
            "holder": {"id": "h", "name": "H", "region": "USA"},
            "start": "2026-01",
            "funding": funding,
            "members": members,
            "accounts": accounts,
        }
    )


@st.composite
def signal_paths(draw: st.DrawFn, minerals: list[str]) -> pd.DataFrame:
    n = draw(st.integers(1, 14))
    rows = []
    month = "2026-01"
    for _ in range(n):
        emergency = draw(st.booleans())
        for m in minerals:
            rows.append(
                {
                    "month": month,
                    "mineral": m,
                    "price_usd_per_t": draw(st.floats(0, 250_000)),
                    "available_supply_t": draw(st.floats(0, 500)),
                    "protected_demand_t": draw(st.floats(0, 400)),
                    "shortage_t": draw(st.sampled_from([0.0, 0.0, 1.0, 37.25, 300.0])),
                    "export_ban": draw(st.booleans()),
                    "emergency": emergency,
                }
            )
        month = next_month(month)
    return pd.DataFrame(rows)


@st.composite
def cases(draw: st.DrawFn) -> tuple[StockpileSpec, pd.DataFrame]:
    spec = draw(specs())
    return spec, draw(signal_paths(spec.minerals))


@given(cases())
def test_ledger_invariants_hold_on_random_paths(case: tuple[StockpileSpec, pd.DataFrame]) -> None:
    spec, signals = case
    r = simulate(spec, signals)
    assert r.balance.ok, r.balance.problems
    entries = r.ledger.entries
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))

    # inventory never negative; every release matched by prior acquisitions
    inv: dict[str, int] = defaultdict(int)
    acquired: dict[str, int] = defaultdict(int)
    released: dict[str, int] = defaultdict(int)
    cash = 0
    for e in entries:
        if e.kind in (EntryKind.PURCHASE, EntryKind.OPENING_STOCK):
            acquired[e.account] += e.qty_kg
        if e.kind is EntryKind.RELEASE_SALE:
            released[e.account] += -e.qty_kg
            assert released[e.account] <= acquired[e.account]
        inv[e.account] += e.qty_kg
        assert inv[e.account] >= 0
        cash += e.cash_cents
        assert cash >= 0
    for m in spec.minerals:
        assert inv[m] == r.stockpile.inventory_kg(m)

    # money in = money out + stock at cost + cash, exactly in cents
    money_in = sum(e.cash_cents for e in entries if e.cash_cents > 0)
    money_in += sum(e.cost_cents for e in entries if e.kind is EntryKind.OPENING_STOCK)
    money_out = sum(
        -e.cash_cents for e in entries if e.cash_cents < 0 and e.kind is not EntryKind.PURCHASE
    )
    money_out += sum(-e.cost_cents for e in entries if e.kind is EntryKind.RELEASE_SALE)
    stock = sum(r.stockpile._lots[m].cost_cents for m in spec.minerals)
    assert money_in == money_out + stock + r.stockpile.cash_cents

    # budgets respected; no purchase above the max price unless it is a floor purchase
    for acc in spec.accounts:
        spent = sum(
            e.cost_cents
            for e in entries
            if e.kind is EntryKind.PURCHASE and e.account == acc.mineral
        )
        assert spent <= round(acc.acquisition.budget_usd * 100) + 1
        cap = acc.acquisition.max_price_usd_per_t
        for e in entries:
            if e.kind is EntryKind.PURCHASE and e.account == acc.mineral and cap is not None:
                assert e.reason.startswith("purchase floor") or (e.price_usd_per_t or 0) <= cap

    # emergency-only accounts release nothing without an emergency
    emergency = dict(zip(signals["month"], signals["emergency"], strict=False))
    for acc in spec.accounts:
        if acc.release.requires_emergency:
            for e in entries:
                if e.kind is EntryKind.RELEASE_SALE and e.account == acc.mineral:
                    assert emergency[e.month]

    # releases split by pre-purchase rights: each member within 1 kg of its exact share
    if spec.members:
        shares = {m.id: m.share for m in spec.members}
        groups: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for e in entries:
            if e.kind is EntryKind.RELEASE_SALE:
                groups[(e.month, e.account)][e.counterparty] = -e.qty_kg
        for parts in groups.values():
            total = sum(parts.values())
            for mid, share in shares.items():
                assert abs(parts.get(mid, 0) - total * share) < 1.0 + 1e-6


@given(cases())
def test_series_inventory_matches_ledger_running_sum(
    case: tuple[StockpileSpec, pd.DataFrame],
) -> None:
    spec, signals = case
    r = simulate(spec, signals)
    s = r.series
    assert list(s.columns) == [
        "scenario",
        "month",
        "chain",
        "product",
        "stage",
        "region",
        "variable",
        "value",
        "unit",
    ]
    inv = s[s["variable"] == "stock_inventory"]
    led = r.ledger.to_frame()
    for m in spec.minerals:
        running = led[led["account"] == m].groupby("month")["qty_kg"].sum().cumsum()
        got = inv[inv["product"] == m].set_index("month")["value"]
        for month, value in got.items():
            upto = running[running.index <= month]
            expected = int(upto.iloc[-1]) if len(upto) else 0
            assert round(value * 1000) == expected
