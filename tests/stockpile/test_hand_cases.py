"""Hand-solved stockpile months; each derivation is in the docstring."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.stockpile import EntryKind, StockpileSpec, simulate
from critmin.stockpile.state import allocate_kg

COLS = [
    "month",
    "mineral",
    "price_usd_per_t",
    "available_supply_t",
    "protected_demand_t",
    "shortage_t",
    "export_ban",
    "emergency",
]


def _spec(**over: object) -> StockpileSpec:
    base: dict[str, object] = {
        "name": "toy",
        "holder": {"id": "h", "name": "H", "region": "USA"},
        "start": "2026-01",
        "funding": [
            {
                "id": "grant",
                "kind": "appropriation",
                "amount_usd": 1_000_000,
                "available_from": "2026-01",
            }
        ],
        "members": [{"id": "a", "share": 0.6}, {"id": "b", "share": 0.4}],
        "accounts": [
            {
                "mineral": "x",
                "protected_consumption_t_per_year": 120,
                "storage_usd_per_t_year": 1200,
                "acquisition": {
                    "budget_usd": 1_000_000,
                    "max_price_usd_per_t": 150_000,
                    "target_qty_t": 10,
                    "max_share_of_supply": 1.0,
                },
            }
        ],
    }
    base.update(over)
    return StockpileSpec.model_validate(base)


def test_budget_buy_store_release_by_rights() -> None:
    """Budget 1,000,000 USD, price 100,000 USD/t, target 10 t, storage 1,200 USD/t-yr.

    2026-01: the 1,000,000 grant arrives; buy min(target 10 t, supply 50 t, budget/price =
    10 t) = 10 t for 1,000,000. Storage 10 t x 1,200 / 12 = 1,000 USD, but cash is 0 and
    there is no loan: booked as owed (debt 1,000).
    2026-02: storage again 1,000 owed (debt 2,000); no purchase (target reached).
    2026-03: export ban and a 5 t shortage: need = max(5, 0.25 x 10 t demand) = 5 t,
    released at cost 100,000/t to the members by rights 0.6 / 0.4 -> 3 t (300,000) to a,
    2 t (200,000) to b. Storage on 5 t = 500 paid; then the 2,000 owed is repaid.
    Cash = 500,000 - 500 - 2,000 = 497,500; stock at cost 500,000; debt 0.
    Money in 1,000,000 + 500,000 = out (1,000 + 1,000 + 500 storage + 500,000 cost of
    released) + stock 500,000 + cash 497,500 -- with storage counted when paid: 2,500.
    Days of cover = 5 t / (10 t x 12 / 365 per day) = 15.2083 days.
    """
    rows = [
        ("2026-01", "x", 100_000, 50, 10, 0, 0, 0),
        ("2026-02", "x", 100_000, 50, 10, 0, 0, 0),
        ("2026-03", "x", 120_000, 50, 10, 5, 1, 0),
    ]
    r = simulate(_spec(), pd.DataFrame(rows, columns=COLS))
    sp = r.stockpile
    assert sp.inventory_t("x") == 5.0
    assert sp.stock_at_cost_usd("x") == 500_000.0
    assert sp.cash_usd == 497_500.0
    assert sp.debt_usd == 0.0
    assert sp.days_of_cover("x") == pytest.approx(5 / (10 * 12 / 365))
    releases = [e for e in r.ledger if e.kind is EntryKind.RELEASE_SALE]
    assert [(e.counterparty, e.qty_t, e.amount_usd) for e in releases] == [
        ("a", -3.0, 300_000.0),
        ("b", -2.0, 200_000.0),
    ]
    assert r.balance.ok
    assert r.balance.money_in_cents == 150_000_000
    assert r.balance.money_out_cents == 50_250_000
    acc = r.metrics["accounts"]
    assert isinstance(acc, dict)
    assert acc["x"]["shortage_avoided_t"] == 5.0


def test_loan_interest_and_partial_repayment() -> None:
    """Loan 1,200,000 USD at 12 %/yr drawn upfront in 2026-01, due 2026-03, nothing bought.

    Interest runs on the balance at the start of each month: 2026-01 none (nothing drawn
    yet), 2026-02 1,200,000 x 0.12 / 12 = 12,000, 2026-03 12,000 -> cash 1,176,000, all of
    which repays the loan in 2026-03: debt left 1,200,000 - 1,176,000 = 24,000, cash 0.
    """
    spec = _spec(
        funding=[
            {
                "id": "loan",
                "kind": "loan",
                "amount_usd": 1_200_000,
                "available_from": "2026-01",
                "rate_per_year": 0.12,
                "draw": "upfront",
                "repay_month": "2026-03",
            }
        ],
        members=[],
        accounts=[
            {
                "mineral": "x",
                "protected_consumption_t_per_year": 120,
                "acquisition": {"budget_usd": 0},
            }
        ],
    )
    rows = [(m, "x", 100_000, 50, 10, 0, 0, 0) for m in ("2026-01", "2026-02", "2026-03")]
    r = simulate(spec, pd.DataFrame(rows, columns=COLS))
    assert r.metrics["interest_usd"] == 24_000.0
    assert r.stockpile.cash_usd == 0.0
    assert r.stockpile.debt_usd == 24_000.0
    assert r.balance.ok


def test_purchase_floor_holds_while_budget_lasts_then_stops() -> None:
    """Purchase floor 110,000 USD/t, market 60,000, supply 50 t, protected demand 30 t.

    2026-01: market < floor: buy the excess 50 - 30 = 20 t at the floor, but the budget
    1,650,000 buys only 15 t (1,650,000 / 110,000): 15 t. 2026-02: budget spent: no
    purchase although the market is still below the floor -- the floor can now break.
    """
    spec = _spec(
        funding=[
            {
                "id": "grant",
                "kind": "appropriation",
                "amount_usd": 5_000_000,
                "available_from": "2026-01",
            }
        ],
        accounts=[
            {
                "mineral": "x",
                "protected_consumption_t_per_year": 360,
                "acquisition": {"budget_usd": 1_650_000, "floor_price_usd_per_t": 110_000},
            }
        ],
    )
    rows = [(m, "x", 60_000, 50, 30, 0, 0, 0) for m in ("2026-01", "2026-02")]
    r = simulate(spec, pd.DataFrame(rows, columns=COLS))
    buys = [e for e in r.ledger if e.kind is EntryKind.PURCHASE]
    assert [(e.month, e.qty_t, e.price_usd_per_t) for e in buys] == [("2026-01", 15.0, 110_000)]


def test_nds_releases_only_in_an_emergency() -> None:
    """An emergency-only account holding 10 t sees a ban and a 4 t shortage in 2026-01 (no
    emergency: nothing released) and again in 2026-02 with an emergency: 4 t released."""
    spec = _spec(
        members=[],
        accounts=[
            {
                "mineral": "x",
                "protected_consumption_t_per_year": 120,
                "initial_qty_t": 10,
                "initial_cost_usd_per_t": 50_000,
                "acquisition": {"budget_usd": 0},
                "release": {"requires_emergency": True, "ban_release_share_of_demand": 0.0},
            }
        ],
    )
    rows = [("2026-01", "x", 90_000, 6, 10, 4, 1, 0), ("2026-02", "x", 90_000, 6, 10, 4, 1, 1)]
    r = simulate(spec, pd.DataFrame(rows, columns=COLS))
    rel = [(e.month, e.qty_t, e.counterparty) for e in r.ledger if e.kind is EntryKind.RELEASE_SALE]
    assert rel == [("2026-02", -4.0, "government")]


def test_largest_remainder_allocation() -> None:
    """10 kg by 1/3 each: floors 3,3,3, one kg left to the first (ties by order): 4,3,3.
    7 kg by 0.5/0.3/0.2: exact 3.5/2.1/1.4 -> floors 3,2,1, left 1 to the largest
    remainder (0.5, member a): 4,2,1."""
    third = 1 / 3
    assert allocate_kg(10, [("a", third), ("b", third), ("c", third)]) == [
        ("a", 4),
        ("b", 3),
        ("c", 3),
    ]
    assert allocate_kg(7, [("a", 0.5), ("b", 0.3), ("c", 0.2)]) == [("a", 4), ("b", 2), ("c", 1)]


def test_dla_antimony_target_is_an_eighth_of_2024_consumption() -> None:
    """DLA plan as reported (Reuters, 2025-10): ~3,000 t antimony = 1/8 of 2024 US
    consumption; USGS MCS 2025 gives 24,000 t apparent consumption -> 3,000 t = 45.6 days of
    cover (3,000 / (24,000/365))."""
    from pathlib import Path

    from critmin.stockpile import load_spec

    root = Path(__file__).resolve().parents[2]
    spec = load_spec(root / "examples" / "stockpile" / "dla_nds_2025.yaml")
    sb = spec.account("antimony")
    assert sb.acquisition.target_qty_t == pytest.approx(sb.protected_consumption_t_per_year / 8)
    assert sb.acquisition.budget_usd == 245e6
    assert {a.mineral: a.acquisition.budget_usd for a in spec.accounts} == {
        "cobalt": 500e6,
        "antimony": 245e6,
        "tantalum": 100e6,
        "scandium": 45e6,
    }
