"""Regression on the built-in NdPr seed study; expected numbers derived from its YAML by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.scenarios.loader import load_study
from critmin.scenarios.runner import run_study


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, dict]:  # type: ignore[type-arg]
    return run_study(load_study([]))


def value(series: pd.DataFrame, *key: str) -> float:
    """The row (scenario, month, product, region, variable) of the tidy series."""
    scenario, month, product, region, var = key
    sel = series[
        (series["scenario"] == scenario)
        & (series["month"] == month)
        & (series["product"] == product)
        & (series["region"] == region)
        & (series["variable"] == var)
    ]
    assert len(sel) == 1, (scenario, month, product, region, var)
    return float(sel["value"].iloc[0])


def test_baseline_china_prices_follow_the_cost_chain(study: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    """2026-01 baseline: magnet bids 190 kt/yr need 190 x 0.3 x 1.2 x 1.05 = 71.8 kt/yr NdPr in
    concentrate; mines other than China's high-cost block give 79.39 - 10.8 = 68.59 kt, so
    that block (45 000 $/t) is marginal: p_conc(CHN) = 45 000. China's converters are partly
    used, so p_oxide = 1.05 x 45 000 + 8 000 = 55 250 ($55/kg, the USGS 2024 price),
    p_metal = 1.2 x 55 250 + 6 000 = 72 300, p_magnet = 0.3 x 72 300 + 15 000 = 36 690, and
    Japan imports magnets at 36 690 + 1 500 = 38 190 (its own route costs 46 990)."""
    series, _ = study
    b, m = "baseline_free_trade", "2026-01"
    assert value(series, b, m, "ndpr_concentrate", "CHN", "price") == pytest.approx(45000)
    assert value(series, b, m, "ndpr_oxide", "CHN", "price") == pytest.approx(55250)
    assert value(series, b, m, "ndpr_metal", "CHN", "price") == pytest.approx(72300)
    assert value(series, b, m, "ndfeb_magnet", "CHN", "price") == pytest.approx(36690)
    assert value(series, b, m, "ndfeb_magnet", "JPN", "price") == pytest.approx(38190)


def test_baseline_serves_all_magnet_demand_in_2026(study: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    series, _ = study
    sel = series[
        (series["scenario"] == "baseline_free_trade")
        & series["month"].str.startswith("2026")
        & (series["product"] == "ndfeb_magnet")
        & (series["variable"] == "unserved")
    ]
    assert sel["value"].abs().max() == pytest.approx(0, abs=1e-6)


NON_CHINA_MAGNET_BIDS_T_PER_YEAR = (
    18000 + 20000 + 15000 + 8000 + 5000 + 10000
)  # JPN EU USA KOR VNM ROW


def test_ban_unserved_magnets_equal_bids_minus_non_china_metal(
    study: tuple[pd.DataFrame, dict],
) -> None:  # type: ignore[type-arg]
    """2026-08 under the ban: outside China magnets are limited by NdPr metal capacity
    (VNM 2 500 + JPN 3 000 + USA 1 000 + EU 300 = 6 800 t/yr -> 6 800 / 0.3 = 22 667 t/yr of
    magnets, below the 30 000 t/yr of magnet plants; the 8 160 t/yr of oxide it needs is
    below the 13 100 t/yr non-China separation). Non-China bids are 76 000 t/yr x 1.06^(7/12).
    Unserved per month = (bids - 22 667) / 12; critical bids (8 000 t/yr) are all served and
    the marginal (contracted, 120 000 $/t) bid sets the price in Japan."""
    series, _ = study
    s, m = "china_export_ban", "2026-08"
    regions = ["JPN", "EU", "USA", "KOR", "VNM", "ROW"]
    unserved = sum(value(series, s, m, "ndfeb_magnet", r, "unserved") for r in regions)
    bids = NON_CHINA_MAGNET_BIDS_T_PER_YEAR * 1.06 ** (7 / 12)
    assert unserved == pytest.approx((bids - 6800 / 0.3) / 12, rel=1e-6)
    crit = sum(value(series, s, m, "ndfeb_magnet", r, "unserved_critical") for r in regions)
    assert crit == pytest.approx(0, abs=1e-6)
    assert value(series, s, m, "ndfeb_magnet", "JPN", "price") == pytest.approx(120000)
    assert value(series, s, m, "ndfeb_magnet", "CHN", "unserved") == pytest.approx(0, abs=1e-6)


def test_ban_dysprosium_outside_china_only_gets_lynas(study: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    """Non-China Dy bids 700 t/yr (100 t critical) x 1.05^(7/12); only Lynas (MYS, 60 t/yr)
    supplies them: unserved = (700 g - 60)/12 per month, critical unserved (100 g - 60)/12."""
    series, _ = study
    s, m = "china_export_ban", "2026-08"
    regions = ["MYS", "JPN", "EU", "USA", "KOR", "VNM", "ROW"]
    g = 1.05 ** (7 / 12)
    uns = sum(value(series, s, m, "dysprosium_oxide", r, "unserved") for r in regions if r != "MYS")
    crit = sum(
        value(series, s, m, "dysprosium_oxide", r, "unserved_critical")
        for r in regions
        if r != "MYS"
    )
    assert uns == pytest.approx((700 * g - 60) / 12, rel=1e-6)
    assert crit == pytest.approx((100 * g - 60) / 12, rel=1e-6)


def test_summary_headlines(study: tuple[pd.DataFrame, dict]) -> None:  # type: ignore[type-arg]
    """Baseline capacity covers every bid in all 24 months (2027-12 magnet bids
    190 kt x 1.06^(23/12) = 212 kt need 80 kt of NdPr in concentrate of 83.4 kt; Dy 1 800 x
    1.05^(23/12) = 1 976 t of 2 060 t; Tb 480 x 1.05^(23/12) = 527 t of 530 t): no shortage.
    The ban makes exactly its 12 months (2026-07..2027-06) short."""
    _, summary = study
    base, ban, managed = summary["scenarios"]
    assert base["metrics"]["shortage_months"] == 0
    assert base["metrics"]["unserved_t"] == pytest.approx(0, abs=1e-6)
    assert ban["metrics"]["shortage_months"] == 12
    assert all(isinstance(a["estimate"], bool) and a["source"] for a in summary["assumptions"])
    # the ban's 12 months, and 2027-12: there a USA magnet bid and Project Vault's purchase
    # bid tie in price, and the optimum reported leaves 6.2 t of the bid unserved (serving it
    # instead is equally optimal; which one HiGHS reports depends on the basis it starts from)
    assert managed["metrics"]["shortage_months"] == 13
    assert set(summary["inputs"]) == {
        "builtin:ndpr_baseline",
        "builtin:ndpr_china_ban",
        "builtin:ndpr_managed_market",
    }
