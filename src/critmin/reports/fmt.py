"""Readable formatting of money, tonnes, prices and metric names for the report.

Internally critmin works in tonnes, USD and months. The report converts only at the
edge: prices of high-value products (``>= 10,000 USD/t``, e.g. NdPr oxide) are shown in
USD/kg, the market convention; cheaper products (concentrates) stay in USD/t. Every
converted figure says its unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from critmin.scenarios.headline import split_per_product

#: Prices at or above this (USD/t) are shown per kilogram.
KG_THRESHOLD_USD_PER_T = 10_000.0
DASH = "—"


class Quantity(StrEnum):
    """What a number measures, inferred from the unit or the metric-name suffix."""

    MONEY = "usd"
    PRICE = "usd_per_t"
    TONNES = "t"
    DAYS = "days"
    MONTHS = "months"
    SHARE = "share"
    NUMBER = "number"


_SUFFIXES: tuple[tuple[str, Quantity], ...] = (
    ("_usd_per_t", Quantity.PRICE),
    ("_usd_per_kg", Quantity.NUMBER),
    ("_usd", Quantity.MONEY),
    ("_t", Quantity.TONNES),
    ("_days", Quantity.DAYS),
    ("_months", Quantity.MONTHS),
    ("_share", Quantity.SHARE),
)

_UNITS: dict[str, Quantity] = {
    "usd": Quantity.MONEY,
    "usd_per_t": Quantity.PRICE,
    "t": Quantity.TONNES,
    "days": Quantity.DAYS,
    "day": Quantity.DAYS,
    "months": Quantity.MONTHS,
    "share": Quantity.SHARE,
}


def quantity_of_metric(name: str) -> Quantity:
    """The quantity a summary metric measures, from its name's unit suffix.

    >>> quantity_of_metric("avg_price_usd_per_t"), quantity_of_metric("levy_revenue_usd")
    (<Quantity.PRICE: 'usd_per_t'>, <Quantity.MONEY: 'usd'>)
    >>> quantity_of_metric("demand_reduction_by_price_t_by_product")
    <Quantity.TONNES: 't'>
    """
    # only the last "_by_<key>" names the dict's keys: demand_reduction_by_price_t_by_product
    # is tonnes (one "_by_" is part of the figure's name)
    flat = split_per_product(name)  # stock_releases_t_ndfeb_magnet: one product's tonnes
    base = re.sub(r"_by_[a-z0-9]+$", "", name if flat is None else flat[0])
    if "days_of_cover" in base:
        return Quantity.DAYS
    for suffix, quantity in _SUFFIXES:
        if base.endswith(suffix):
            return quantity
    if "_usd_per_t_" in base:  # a per-tonne figure with a qualifier after the unit
        return Quantity.PRICE
    return Quantity.NUMBER


def quantity_of_unit(unit: str) -> Quantity:
    """The quantity of a series ``unit`` string (``"usd_per_t"``, ``"t"``...)."""
    return _UNITS.get(unit.strip().lower(), Quantity.NUMBER)


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


_MINUS_ZERO = re.compile(r"^(\$?)-(\$?0(?:[.,]0*)?)(?![.,]?[0-9])")


def _no_minus_zero(text: str) -> str:
    """``"-0"``, ``"-$0"``, ``"-0.00 t"`` -> without the sign: a value that rounds to zero
    is zero, whichever side of it the float fell (``-0.0`` from a solver's dual)."""
    return _MINUS_ZERO.sub(r"\1\2", text)


def _grouped(number: float, decimals: int) -> str:
    return f"{number:,.{decimals}f}"


def _money_raw(value: object) -> str:
    """USD with a B/M/k suffix: ``money(1.234e9) == "$1.23B"``, ``money(-4500) == "-$4.5k"``."""
    number = _finite(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else ""
    size = abs(number)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= scale:
            scaled = size / scale
            decimals = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{sign}${scaled:.{decimals}f}{suffix}"
    return f"{sign}${size:,.0f}"


def money(value: object) -> str:
    """USD with a B/M/k suffix: ``money(1.234e9) == "$1.23B"``, ``money(-4500) == "-$4.5k"``."""
    return _no_minus_zero(_money_raw(value))


def _tonnes_raw(value: object) -> str:
    """Tonnes: ``"1,234 t"`` below 10 kt, ``"12.3 kt"`` below 1 Mt, else ``"1.23 Mt"``."""
    number = _finite(value)
    if number is None:
        return DASH
    size = abs(number)
    if size >= 1e6:
        return f"{number / 1e6:.2f} Mt"
    if size >= 1e4:
        return f"{number / 1e3:.1f} kt"
    if size >= 10 or size == 0:
        return f"{_grouped(number, 0)} t"
    return f"{number:.2f} t"


def tonnes(value: object) -> str:
    """Tonnes: ``"1,234 t"`` below 10 kt, ``"12.3 kt"`` below 1 Mt, else ``"1.23 Mt"``."""
    return _no_minus_zero(_tonnes_raw(value))


def price_unit(typical_usd_per_t: float) -> str:
    """``"USD/kg"`` for high-value products, ``"USD/t"`` otherwise (see module doc)."""
    return "USD/kg" if abs(typical_usd_per_t) >= KG_THRESHOLD_USD_PER_T else "USD/t"


def price_factor(unit: str) -> float:
    """Multiply a USD/t figure by this to express it in ``unit``."""
    return 1e-3 if unit == "USD/kg" else 1.0


def _price_raw(value: object, unit: str | None = None) -> str:
    """A USD/t price in its display unit: ``price(110000) == "$110.00/kg"``."""
    number = _finite(value)
    if number is None:
        return DASH
    unit = unit or price_unit(number)
    sign = "-" if number < 0 else ""  # "-$27.94/kg", as money() writes "-$4.5k"
    if unit == "USD/kg":
        return f"{sign}${abs(number) / 1e3:,.2f}/kg"
    return f"{sign}${abs(number):,.0f}/t"


def price(value: object, unit: str | None = None) -> str:
    """A USD/t price in its display unit: ``price(110000) == "$110.00/kg"``,
    ``price(-27940) == "-$27.94/kg"``."""
    return _no_minus_zero(_price_raw(value, unit))


def _days_raw(value: object) -> str:
    """Days of cover: ``"183 days"``."""
    number = _finite(value)
    if number is None:
        return DASH
    return f"{number:,.0f} days" if abs(number) >= 10 else f"{number:.1f} days"


def days(value: object) -> str:
    """Days of cover: ``"183 days"``."""
    return _no_minus_zero(_days_raw(value))


def _share_raw(value: object) -> str:
    """A 0..1 fraction as a percentage: ``share(0.153) == "15.3%"``."""
    number = _finite(value)
    return DASH if number is None else f"{number * 100:.1f}%"


def share(value: object) -> str:
    """A 0..1 fraction as a percentage: ``share(0.153) == "15.3%"``."""
    return _no_minus_zero(_share_raw(value))


def _number_raw(value: object) -> str:
    """A plain number with sensible precision."""
    num = _finite(value)
    if num is None:
        return DASH
    if num == int(num) and abs(num) < 1e15:
        return _grouped(num, 0)
    return f"{num:,.2f}" if abs(num) >= 1 else f"{num:.3g}"


def number(value: object) -> str:
    """A plain number with sensible precision."""
    return _no_minus_zero(_number_raw(value))


def by_quantity(value: object, quantity: Quantity, price_display_unit: str | None = None) -> str:
    """Format ``value`` for its quantity (a missing or non-numeric value gives the dash)."""
    if quantity is Quantity.MONEY:
        return money(value)
    if quantity is Quantity.PRICE:
        return price(value, price_display_unit)
    if quantity is Quantity.TONNES:
        return tonnes(value)
    if quantity is Quantity.DAYS:
        return days(value)
    if quantity is Quantity.SHARE:
        return share(value)
    if quantity is Quantity.MONTHS:
        num = _finite(value)
        return DASH if num is None else f"{num:,.0f} mo"
    return number(value)


@dataclass(frozen=True)
class Change:
    """A relative change against a reference value, for "vs baseline" annotations."""

    text: str
    direction: int  # -1, 0, +1


def change(value: object, reference: object) -> Change | None:
    """``+12.5%`` style change of ``value`` vs ``reference``; None when not comparable."""
    num, ref = _finite(value), _finite(reference)
    if num is None or ref is None:
        return None
    if ref == 0:
        if num == 0:
            return Change("±0", 0)
        return None
    rel = num / ref - 1.0
    if abs(rel) < 0.0005:
        return Change("±0%", 0)
    if rel >= 9.0:  # a tenfold or more rise reads better as a factor
        return Change(f"×{num / ref:,.0f}", 1)
    return Change(f"{rel * 100:+.1f}%", 1 if rel > 0 else -1)


_LABELS = {
    "avg_price_usd_per_t": "Average price",
    "peak_price_usd_per_t": "Peak price",
    # `unserved` is every bid tonne not bought at the clearing price: bids priced out plus
    # physical shortage (results.py, docs/market.md "Headline quantities"), not shortage alone
    "unserved_t": "Bids not served at the price (priced out + shortage)",
    "unserved_t_by_region": "Bids not served at the price, by region",
    "tariff_revenue_usd": "Tariff revenue",
    "shortage_months": "Months with unserved demand",
    "price": "Price",
    "unserved": "Bids not served at the price (priced out + shortage)",
    "flow": "Flows",
    "avg_price_inside_forge_usd_per_t": "Price inside FORGE",
    "avg_price_outside_forge_usd_per_t": "Price outside FORGE",
    "days_of_cover_last": "Days of cover, end of run",
    "days_of_cover_min": "Days of cover, lowest month",
    "floor_fiscal_cost_usd": "Fiscal cost of the floors",
    "levy_revenue_usd": "Levy revenue",
    "oem_security_premium_usd": "Cost to OEMs (security premium)",
    "oem_security_premium_usd_per_t": "Security premium per tonne consumed",
    "oem_security_premium_usd_by_product": "Security premium by product",
    "oem_security_premium_usd_per_t_by_product": "Security premium per tonne consumed",
    "production_change_t_by_product": "Production change by product",
    "subsidy_kept_usd_per_t": "Subsidy per tonne kept",
    "subsidy_usd_per_t_kept": "Subsidy per tonne kept",
    "unserved_critical_t": "Critical bids not served at the price",
}


def humanize(name: str) -> str:
    """A metric or variable name as a label: ``"avg_price_usd_per_t" -> "Average price"``.

    The unit suffix is dropped (the value's formatting carries the unit).
    """
    if name in _LABELS:
        return _LABELS[name]
    label = name
    by = ""
    match = re.search(r"_by_([a-z0-9_]+)$", label)
    if match:
        by = f" by {match.group(1).replace('_', ' ')}"
        label = label[: match.start()]
    for suffix, _ in _SUFFIXES:
        if suffix.startswith("_") and label.endswith(suffix):
            label = label[: -len(suffix)]
            break
    label = label.replace("_", " ").strip() + by
    for short, long in (("avg ", "average "), ("usd", "USD"), ("oem", "OEM"), ("forge", "FORGE")):
        label = label.replace(short, long)
    return label[:1].upper() + label[1:] if label else name


def unit_label(unit: str) -> str:
    """A series unit for display: ``"usd_per_t" -> "USD/t"``, ``"usd" -> "USD"``."""
    return {
        "usd": "USD",
        "usd_per_t": "USD/t",
        "usd_per_kg": "USD/kg",
        "t": "t",
        "t_per_year": "t/yr",
        "days": "days",
        "share": "0..1",
        "bool": "yes/no",
        "iso3": "ISO3",
    }.get(unit.strip().lower(), unit)
