"""What the stockpile sees of the market each month.

A :class:`MarketSignal` carries, per mineral, the member-market price, the available
supply, the protected demand, the shortage, and the export-ban and emergency flags. A
standalone run reads them from a CSV (one row per month and mineral)::

    month,mineral,price_usd_per_t,available_supply_t,protected_demand_t,shortage_t,export_ban,emergency
    2026-01,cobalt,37479,900,667,0,0,0

``available_supply_t``, ``protected_demand_t`` and ``shortage_t`` are tonnes in the month;
``export_ban`` and ``emergency`` are 0/1 (or true/false). ``shortage_t`` and the two
flags may be omitted (0 / false).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from critmin.bounds import check
from critmin.errors import InputError
from critmin.fileio import csv_number, csv_rows
from critmin.periods import MONTH_RE

REQUIRED = ("month", "mineral", "price_usd_per_t", "available_supply_t", "protected_demand_t")
OPTIONAL = ("shortage_t", "export_ban", "emergency")
NUMERIC = ("price_usd_per_t", "available_supply_t", "protected_demand_t", "shortage_t")
FLAGS = ("export_ban", "emergency")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass(frozen=True, slots=True)
class MineralSignal:
    """One mineral's market in one month, as the stockpile sees it."""

    price_usd_per_t: float
    available_supply_t: float
    protected_demand_t: float
    shortage_t: float = 0.0
    export_ban: bool = False
    emergency: bool = False


@dataclass(frozen=True, slots=True)
class MarketSignal:
    """All minerals' signals for one month."""

    month: str
    minerals: dict[str, MineralSignal] = field(default_factory=dict)

    def __getitem__(self, mineral: str) -> MineralSignal:
        return self.minerals[mineral]


def load_signals(path: Path | str) -> pd.DataFrame:
    """Read a signals CSV; every bad cell is reported as ``file:line column 'x'``."""
    p = Path(path)
    header, reader = csv_rows(p, "signals file")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED + OPTIONAL)}",
            where=f"{p}:1",
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; expected {', '.join(REQUIRED + OPTIONAL)}",
            where=f"{p}:1",
        )
    rows = [_parse_row(row, p, line) for line, row in reader]
    if not rows:
        raise InputError("no data rows", where=str(p))
    df = pd.DataFrame(rows, columns=list(REQUIRED + OPTIONAL))
    seen: dict[tuple[str, str], int] = {}
    for i, (m, mi) in enumerate(zip(df["month"], df["mineral"], strict=True)):
        if (m, mi) in seen:
            raise InputError(
                f"duplicate row for month {m} mineral {mi} (first on line {seen[(m, mi)]})",
                where=f"{p}:{i + 2}",
            )
        seen[(m, mi)] = i + 2
    return df


def _parse_row(row: dict[str, str | None], p: Path, line: int) -> dict[str, object]:
    out: dict[str, object] = {}
    month = (row.get("month") or "").strip()
    if not MONTH_RE.match(month):
        raise InputError(
            f"expected a month YYYY-MM, got {month!r}", where=f"{p}:{line} column 'month'"
        )
    out["month"] = month
    mineral = (row.get("mineral") or "").strip()
    if not mineral:
        raise InputError("expected a mineral id, got ''", where=f"{p}:{line} column 'mineral'")
    out["mineral"] = mineral
    for col in NUMERIC:
        raw = row.get(col) or ""
        if raw == "" and col == "shortage_t":
            out[col] = 0.0
            continue
        val = csv_number(raw, where=f"{p}:{line} column '{col}'")
        if val < 0:
            raise InputError(
                f"expected a number >= 0, got {raw!r}", where=f"{p}:{line} column '{col}'"
            )
        problem = check(col, val, lp_price=False)  # 1e308 t overflowed the ledger sums
        if problem:
            raise InputError(problem, where=f"{p}:{line} column '{col}'")
        out[col] = val
    for col in FLAGS:
        raw = (row.get(col) or "").strip().lower()
        if raw in _TRUE:
            out[col] = True
        elif raw in _FALSE:
            out[col] = False
        else:
            raise InputError(
                f"expected 0/1 or true/false, got {raw!r}", where=f"{p}:{line} column '{col}'"
            )
    return out


def signals_by_month(df: pd.DataFrame, minerals: list[str], start: str) -> list[MarketSignal]:
    """Group a signals table into one :class:`MarketSignal` per month from ``start``.

    Every month in the table's range from ``start`` must carry every one of ``minerals``
    (other minerals are ignored).
    """
    missing_cols = [c for c in REQUIRED if c not in df.columns]
    if missing_cols:
        raise InputError(f"signals table lacks column(s) {', '.join(missing_cols)}")
    frame = df[df["month"] >= start]
    frame = frame[frame["mineral"].isin(minerals)]
    if frame.empty:
        raise InputError(
            f"no signals for minerals {', '.join(minerals)} from {start}; the signals cover "
            f"{', '.join(sorted(set(df['mineral'])))} in {df['month'].min()}..{df['month'].max()}"
        )
    out: list[MarketSignal] = []
    prev: str | None = None
    for month, g in frame.groupby("month", sort=True):
        if prev is not None and str(month) != next_month(prev):
            raise InputError(
                f"signals jump from {prev} to {month}; expected one row per mineral for every "
                f"month (next was {next_month(prev)})"
            )
        prev = str(month)
        sig: dict[str, MineralSignal] = {}
        for r in g.itertuples(index=False):
            sig[str(r.mineral)] = MineralSignal(
                price_usd_per_t=float(r.price_usd_per_t),  # type: ignore[arg-type]
                available_supply_t=float(r.available_supply_t),  # type: ignore[arg-type]
                protected_demand_t=float(r.protected_demand_t),  # type: ignore[arg-type]
                shortage_t=_num(getattr(r, "shortage_t", 0.0)),
                export_ban=bool(getattr(r, "export_ban", False)),
                emergency=bool(getattr(r, "emergency", False)),
            )
        lacking = [m for m in minerals if m not in sig]
        if lacking:
            raise InputError(
                f"month {month} has no signal row for mineral(s) {', '.join(lacking)}; "
                "every month needs a row per stockpile account"
            )
        out.append(MarketSignal(month=str(month), minerals=sig))
    return out


def next_month(month: str) -> str:
    """``"2026-12"`` -> ``"2027-01"``."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def _num(v: object) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f
