"""Settlement cases computed by hand, stored as data (tests/contracts/cases/*.yaml).

Each case file holds a contract, prices (a mapping or a CSV text), the expected statement
lines and totals; the arithmetic is in the comment at the top of the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from critmin.contracts import (
    OfftakeContract,
    PriceSeries,
    UpsideShare,
    load_contract,
    price_terms,
    read_prices,
    settle,
)

CASES = Path(__file__).parent / "cases"
EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"


def _case_files() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


def _run_case(case: dict[str, Any], tmp_path: Path) -> Any:
    contract = OfftakeContract.model_validate(case["contract"])
    if "prices_csv" in case:
        csv_path = tmp_path / "prices.csv"
        csv_path.write_text(case["prices_csv"])
        prices = read_prices(csv_path)
    else:
        prices = PriceSeries.from_mapping(case["prices"])
    return settle(contract, prices, last_month=case.get("last_month"))


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: p.stem)
def test_hand_computed_settlement_case(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    statement = _run_case(case, tmp_path)
    assert len(statement.lines) == len(case["expected"])
    for line, expected in zip(statement.lines, case["expected"], strict=True):
        for key, value in expected.items():
            got = getattr(line, key)
            if isinstance(value, str):
                assert got == value, (line.month, key)
            else:
                assert math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-6), (line.month, key)
    totals = statement.totals()
    for key, value in case["totals"].items():
        assert math.isclose(totals[key], value, rel_tol=1e-12, abs_tol=1e-6), key


def test_schedule_default_volume_applies_outside_overrides() -> None:
    """'2026': 2400 t/yr covers 2026; 2027-01 falls back to 1200/12 = 100 t; outside: 0."""
    case = yaml.safe_load((CASES / "schedule_and_monthly_average.yaml").read_text())
    c = OfftakeContract.model_validate(case["contract"])
    assert c.volume_t("2026-07") == pytest.approx(200.0)
    assert c.volume_t("2026-03") == pytest.approx(50.0)
    assert c.volume_t("2027-01") == pytest.approx(100.0)
    assert c.volume_t("2027-02") == 0.0
    assert c.volume_t("2025-12") == 0.0


def test_settlement_explains_each_component() -> None:
    case = yaml.safe_load((CASES / "cap_with_sharing.yaml").read_text())
    c = OfftakeContract.model_validate(case["contract"])
    st_ = settle(c, PriceSeries.from_mapping(case["prices"]))
    text = st_.lines[0].explanation
    assert "market value 10,000,000 USD" in text
    assert "buyer keeps 0.25 x 60.00 = 15.00 $/kg" in text
    assert "capped at 160.00" in text
    assert "seller gets 160.00 $/kg = 8,000,000 USD" in text
    assert "tops up 10.00 $/kg = 500,000 USD" in st_.lines[2].explanation


def test_shipped_examples_settle_on_shipped_prices() -> None:
    """The two shipped contracts settle on the example prices and balance every month.

    DoD-MP 2025-10: price 69 (USGS 2025 estimate), floor 110: DoD pays 41 $/kg x
    1,300/12 t x 1,000 = 4,441,666.67 USD.
    """
    prices = read_prices(EXAMPLES / "ndpr_prices_example.csv")
    dod = settle(load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml"), prices)
    first = dod.lines[0]
    assert first.month == "2025-10"
    assert first.floor_payer == "US-DoD"
    assert first.floor_payer_pays_usd == pytest.approx(41 * 1300 / 12 * 1000)
    assert first.buyer_pays_usd == pytest.approx(69 * 1300 / 12 * 1000)
    lynas = settle(load_contract(EXAMPLES / "lynas_japan_ndpr.yaml"), prices)
    assert lynas.lines[0].month == "2026-04"
    assert any(line.upside_share_usd > 0 for line in lynas.lines)
    assert any(line.floor_topup_usd > 0 for line in lynas.lines)


prices_st = st.floats(min_value=0, max_value=1000, allow_nan=False)


@given(
    p=prices_st,
    floor=st.floats(min_value=1, max_value=300),
    gap=st.floats(min_value=0, max_value=300),
    share=st.floats(min_value=0, max_value=1),
    cap_gap=st.one_of(st.none(), st.floats(min_value=0, max_value=300)),
)
def test_effective_price_matches_the_written_rule(
    p: float, floor: float, gap: float, share: float, cap_gap: float | None
) -> None:
    """effective = max(F, P) up to T; T + (1-s)(P-T) above; never above the cap; >= floor."""
    threshold = floor + gap
    cap = None if cap_gap is None else threshold + cap_gap
    c = OfftakeContract(
        name="x",
        buyer="b",
        seller="s",
        mineral="m",
        volume_t_per_year=12,
        start="2026-01",
        end="2026-12",
        floor_usd_per_kg=floor,
        cap_usd_per_kg=cap,
        upside_share=UpsideShare(above_usd_per_kg=threshold, buyer_share=share),
    )
    eff = float(price_terms(c, p).effective_usd_per_kg)
    rule = max(floor, p) if p <= threshold else threshold + (1 - share) * (p - threshold)
    if cap is not None:
        rule = min(rule, cap)
    assert eff == pytest.approx(rule, rel=1e-12, abs=1e-9)
    assert eff >= floor - 1e-9
