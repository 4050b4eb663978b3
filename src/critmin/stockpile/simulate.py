"""Standalone stockpile simulation over a table of monthly market signals.

``simulate(spec, signals)`` steps a :class:`~critmin.stockpile.state.Stockpile` through
every month of ``signals`` from ``spec.start`` and returns the ledger, a tidy series in
the run-results shape (``scenario, month, chain, product, stage, region, variable, value,
unit``; ``product`` is the account's product id, ``chain`` is empty: a standalone simulation
clears no market) and the headline metrics. Files written before ``product`` had a
``mineral`` column in its place; :func:`critmin.read_series` reads both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.stockpile.ledger import BalanceReport, Ledger, write_atomic
from critmin.stockpile.signals import signals_by_month
from critmin.stockpile.spec import StockpileSpec
from critmin.stockpile.state import Stockpile

#: the run-results contract's columns (critmin.market.results.SERIES_COLUMNS; an engine does
#: not import another, tests/stockpile check that the two agree)
SERIES_COLUMNS = [
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
#: ``chain`` of every row: no market is cleared, so no chain
NO_CHAIN = ""
HOLDER_PRODUCT = "all"
HOLDER_STAGE = "all"


@dataclass(frozen=True)
class StockpileResult:
    """Ledger, tidy series, metrics and the final balance check of one run."""

    scenario: str
    ledger: Ledger
    series: pd.DataFrame
    metrics: dict[str, object]
    balance: BalanceReport
    stockpile: Stockpile

    def write(self, out_dir: Path) -> dict[str, Path]:
        """Write ``ledger.parquet`` and ``series.parquet`` (each atomically)."""
        out = Path(out_dir)
        frames = {"ledger.parquet": self.ledger.to_frame(), "series.parquet": self.series}
        return {name: write_atomic(df, out / name, "parquet") for name, df in frames.items()}


# long: each month's 16 series variables and the run's figures are written out as tables
def simulate(
    spec: StockpileSpec, signals: pd.DataFrame, scenario: str | None = None
) -> StockpileResult:
    """Run the stockpile month by month over ``signals`` (see :mod:`.signals`)."""
    name = scenario or spec.name
    months = signals_by_month(signals, spec.minerals, spec.start)
    sp = Stockpile(spec)
    region = spec.holder.region
    rows: list[tuple[str, str, str, str, str, str, str, float, str]] = []
    totals: dict[str, dict[str, float]] = {
        a.mineral: {
            "purchased_t": 0.0,
            "purchase_cost_usd": 0.0,
            "released_t": 0.0,
            "release_proceeds_usd": 0.0,
            "shortage_t": 0.0,
            "shortage_avoided_t": 0.0,
            "max_days_of_cover": 0.0,
            "release_months": 0.0,
        }
        for a in spec.accounts
    }
    interest = fees = funded = repaid = 0
    for market in months:
        sp.step(market.month, market)
        rec = sp.last
        m = market.month
        for acc in spec.accounts:
            mi, st = acc.mineral, acc.stage
            am = rec.accounts[mi]
            sig = market.minerals[mi]
            days = sp.days_of_cover(mi, sig)
            cpd = sp.cost_per_day_of_cover_usd(mi, sig)
            vals = [
                ("stock_inventory", sp.inventory_t(mi), "t"),
                ("days_of_cover", days, "days"),
                ("stock_purchases", am.bought_kg / 1000, "t"),
                ("stock_purchase_cost", am.bought_cents / 100, "usd"),
                ("stock_releases", am.released_kg / 1000, "t"),
                ("stock_release_proceeds", am.proceeds_cents / 100, "usd"),
                ("stock_at_cost", sp.stock_at_cost_usd(mi), "usd"),
                ("stock_storage_cost", am.storage_cents / 100, "usd"),
                ("shortage_avoided", am.shortage_avoided_kg / 1000, "t"),
                ("cost_per_day_of_cover", cpd, "usd_per_day"),
            ]
            rows.extend((name, m, NO_CHAIN, mi, st, region, v, float(x), u) for v, x, u in vals)
            t = totals[mi]
            t["purchased_t"] += am.bought_kg / 1000
            t["purchase_cost_usd"] += am.bought_cents / 100
            t["released_t"] += am.released_kg / 1000
            t["release_proceeds_usd"] += am.proceeds_cents / 100
            t["shortage_t"] += sig.shortage_t
            t["shortage_avoided_t"] += am.shortage_avoided_kg / 1000
            t["max_days_of_cover"] = max(t["max_days_of_cover"], days)
            t["release_months"] += 1.0 if am.released_kg > 0 else 0.0
        holder_vals = [
            ("stock_cash", sp.cash_usd, "usd"),
            ("stock_debt", sp.debt_usd, "usd"),
            ("stock_fund_in", rec.fund_in_cents / 100, "usd"),
            ("stock_fee_in", rec.fee_in_cents / 100, "usd"),
            ("stock_interest", rec.interest_cents / 100, "usd"),
            ("stock_repayment", rec.repaid_cents / 100, "usd"),
        ]
        rows.extend(
            (name, m, NO_CHAIN, HOLDER_PRODUCT, HOLDER_STAGE, region, v, float(x), u)
            for v, x, u in holder_vals
        )
        interest += rec.interest_cents
        fees += rec.fee_in_cents
        funded += rec.fund_in_cents
        repaid += rec.repaid_cents
    series = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    series["value"] = series["value"].astype("float64")
    balance = sp.check_balance()
    last = months[-1]
    per_mineral: dict[str, dict[str, float | None]] = {}
    for acc in spec.accounts:
        mi = acc.mineral
        sig = last.minerals[mi]
        cpd = sp.cost_per_day_of_cover_usd(mi, sig)
        per_mineral[mi] = {
            "inventory_t": sp.inventory_t(mi),
            "days_of_cover": sp.days_of_cover(mi, sig),
            "stock_at_cost_usd": sp.stock_at_cost_usd(mi),
            "storage_cost_usd": sp.storage_cost_total_usd(mi),
            "cost_per_day_of_cover_usd": None if math.isnan(cpd) else cpd,
            "budget_usd": acc.acquisition.budget_usd,
            "budget_spent_usd": sp.budget_spent_usd(mi),
            **totals[mi],
        }
    metrics: dict[str, object] = {
        "scenario": name,
        "holder": spec.holder.id,
        "months": {"start": months[0].month, "end": last.month},
        "accounts": per_mineral,
        "shortage_avoided_t": math.fsum(
            float(v["shortage_avoided_t"] or 0.0) for v in per_mineral.values()
        ),
        "cash_usd": sp.cash_usd,
        "debt_usd": sp.debt_usd,
        "funding_received_usd": funded / 100,
        "fees_received_usd": fees / 100,
        "interest_usd": interest / 100,
        "repaid_usd": repaid / 100,
        "ledger_entries": len(sp.ledger),
        "balance": balance.summary(),
    }
    return StockpileResult(
        scenario=name,
        ledger=sp.ledger,
        series=series,
        metrics=metrics,
        balance=balance,
        stockpile=sp,
    )
