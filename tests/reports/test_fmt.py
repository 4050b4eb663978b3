"""Formatting at the edge: money, tonnes, prices (USD/kg convention), changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.reports import fmt
from critmin.reports.testing import parse_display


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.234e9, "$1.23B"),
        (45.6e6, "$45.6M"),
        (-4500, "-$4.50k"),
        (950, "$950"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_money(value: object, text: str) -> None:
    assert fmt.money(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.4, "1,234 t"), (52_200.0, "52.2 kt"), (1_210_000.0, "1.21 Mt"), (0.0, "0 t")],
)
def test_tonnes(value: float, text: str) -> None:
    assert fmt.tonnes(value) == text


def test_ndpr_floor_reads_in_market_convention() -> None:
    """The DoD-MP floor of USD 110/kg is 110,000 USD/t internally (MP Materials/DoD
    release, 2025-07-10)."""
    assert fmt.price(110_000.0) == "$110.00/kg"
    assert fmt.price(5_200.0) == "$5,200/t"
    assert fmt.price(5_200.0, "USD/kg") == "$5.20/kg"


def test_metric_quantities_from_suffix() -> None:
    q = fmt.quantity_of_metric
    assert q("avg_price_usd_per_t") is fmt.Quantity.PRICE
    assert q("unserved_t_by_region") is fmt.Quantity.TONNES
    assert q("fiscal_cost_of_floors_usd") is fmt.Quantity.MONEY
    assert q("days_of_cover_min") is fmt.Quantity.DAYS
    assert q("shortage_months") is fmt.Quantity.MONTHS
    assert q("mystery") is fmt.Quantity.NUMBER
    # "_by_price" is part of the figure's name; only the last "_by_product" names the keys
    assert q("demand_reduction_by_price_t_by_product") is fmt.Quantity.TONNES
    assert q("physical_shortage_months_by_product") is fmt.Quantity.MONTHS
    assert fmt.humanize("unserved_t_by_region") == "Bids not served at the price, by region"
    assert fmt.humanize("levy_revenue_usd") == "Levy revenue"


def test_change_against_reference() -> None:
    change = fmt.change(170.0, 100.0)
    assert change is not None
    assert (change.text, change.direction) == ("+70.0%", 1)
    assert fmt.change(5.0, 0.0) is None
    big = fmt.change(58_600.0, 1.28)  # 1.28 t -> 58.6 kt: a factor, not +4,578,025%
    assert big is not None
    assert big.text == "×45,781"
    assert fmt.change(None, 3.0) is None


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_money_reads_back_within_rounding(value: float) -> None:
    """Displayed money keeps 3 significant digits (4 below $1k): relative error <= 0.5%."""
    shown = parse_display(fmt.money(value))
    assert shown == pytest.approx(value, rel=5e-3, abs=0.5)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_tonnes_read_back_within_rounding(value: float) -> None:
    shown = parse_display(fmt.tonnes(value))
    assert shown == pytest.approx(value, rel=5e-3, abs=0.5)


@given(st.floats(min_value=1, max_value=1e7, allow_nan=False) | st.floats(-1e7, -1))
def test_prices_read_back_in_usd_per_t(value: float) -> None:
    shown = parse_display(fmt.price(value))
    assert shown == pytest.approx(value, rel=1e-3, abs=5.0)


def test_a_negative_price_puts_its_sign_before_the_dollar() -> None:
    """A negative security premium (-27,940 USD/t: buyers paid less than free trade) reads
    "-$27.94/kg", as money() writes "-$4.5k", not "$-27.94/kg"."""
    assert fmt.price(-27940) == "-$27.94/kg"
    assert fmt.price(-300) == "-$300/t"
    assert fmt.price(-0.0) == "$0/t"


def test_unserved_is_not_labelled_as_shortage_alone() -> None:
    """``unserved`` counts bids priced out as well as shortage: its label says both."""
    for name in ("unserved", "unserved_t"):
        assert "priced out" in fmt.humanize(name)
        assert "Unserved demand" not in fmt.humanize(name)
