"""The reference price series a contract settles on, read from a CSV.

Format (header required, extra columns ignored)::

    month,price_usd_per_kg,source
    2026-04,62.0,Argus NdPr oxide FOB China monthly average
    2026-05-06,64.5,daily observation

``month`` is ``YYYY-MM`` or a day ``YYYY-MM-DD`` (the day is kept only to place it in
its month); ``source`` is optional. The settlement price of a month is the arithmetic mean
of that month's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from critmin.errors import InputError
from critmin.fileio import csv_number, csv_rows
from critmin.policy.parameters import parse_month

#: the largest price read (USD/kg): a million dollars a kilogram, above any traded mineral
#: (critmin.bounds allows 1e9 USD/t, the same); 1e308 overflowed the settlement sums to inf
MAX_PRICE_USD_PER_KG = 1e6

__all__ = ["MonthlyPrice", "PriceSeries", "read_forward_curve", "read_prices"]


@dataclass(frozen=True)
class MonthlyPrice:
    """Settlement price of a month: the mean of ``n_obs`` observations."""

    month: str
    price_usd_per_kg: float
    n_obs: int
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceSeries:
    """Monthly settlement prices, keyed by ``'YYYY-MM'``, in month order."""

    by_month: Mapping[str, MonthlyPrice]
    origin: str = "prices"
    lines: Mapping[str, int] = field(default_factory=dict)  # month -> first CSV line

    @classmethod
    def from_mapping(cls, prices: Mapping[str, float], origin: str = "prices") -> PriceSeries:
        """Build a series from ``{month: price_usd_per_kg}`` (one observation each)."""
        by_month = {
            parse_month(m): MonthlyPrice(parse_month(m), float(p), 1)
            for m, p in sorted(prices.items())
        }
        return cls(by_month, origin)

    @property
    def months(self) -> list[str]:
        return list(self.by_month)

    def price(self, month: str) -> float:
        return self.by_month[month].price_usd_per_kg


def read_forward_curve(path: Path) -> dict[str, float]:
    """Read a forward curve CSV ``month,forward_usd_per_kg`` (monthly means if repeated)."""
    series = read_prices(path, value_column="forward_usd_per_kg")
    return {m: mp.price_usd_per_kg for m, mp in series.by_month.items()}


def read_prices(path: Path, value_column: str = "price_usd_per_kg") -> PriceSeries:
    """Read ``PRICES.csv`` (see module doc); errors give file, line and column."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    sources: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    raw_header, rows = csv_rows(path, "prices file")
    header = [h.strip() for h in raw_header]
    missing = [c for c in ("month", value_column) if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; expected header month,{value_column}[,source]"
            f" (got {header})",
            where=f"{path}:1",
        )
    for line, raw_row in rows:
        row = {h: raw_row.get(r) for h, r in zip(header, raw_header, strict=True)}
        raw_month = (row.get("month") or "").strip()
        if not raw_month:
            raise InputError("empty month", where=f"{path}:{line} column 'month'")
        month_text = raw_month
        if len(raw_month) == 10:  # a day: a real one (2026-07-32 is refused)
            try:
                dt.date.fromisoformat(raw_month)
            except ValueError:
                raise InputError(
                    f"expected a real date YYYY-MM-DD or a month YYYY-MM, got {raw_month!r}",
                    where=f"{path}:{line} column 'month'",
                ) from None
            month_text = raw_month[:7]
        month = parse_month(month_text, where=f"{path}:{line} column 'month'")
        raw_price = row.get(value_column) or ""
        price = csv_number(raw_price, where=f"{path}:{line} column '{value_column}'")
        if not 0 <= price <= MAX_PRICE_USD_PER_KG:
            raise InputError(
                f"price must be a finite number 0 <= price <= {MAX_PRICE_USD_PER_KG:,.0f} USD/kg,"
                f" got {raw_price}",
                where=f"{path}:{line} column '{value_column}'",
            )
        sums[month] = sums.get(month, 0.0) + price
        counts[month] = counts.get(month, 0) + 1
        first_line.setdefault(month, line)
        src = (row.get("source") or "").strip()
        if src and src not in sources.setdefault(month, []):
            sources[month].append(src)
    if not sums:
        raise InputError("no price rows", where=str(path))
    by_month = {
        m: MonthlyPrice(m, sums[m] / counts[m], counts[m], tuple(sources.get(m, ())))
        for m in sorted(sums)
    }
    return PriceSeries(by_month, str(path), first_line)
