"""examples/scenarios/magnet_chain_tariff.yaml clears at the seed study's sourced prices.

Derived from its YAML by hand, for 2026-01. China's oxide block (55,000 $/t, 5,000 t a month)
is not used up: China's magnets take 0.36 x (10,000 t a month of Chinese demand + the 1,250 t
a month the USA buys) = 4,050 t, plus at most the 200 t export quota: 4,250 t, so the block is
marginal and p_oxide(CHN) = 55,000 (USGS 2024, $55/kg). China's converters are far from
their 200,000 t a year, so p_magnet(CHN) = 0.36 x 55,000 + 29,200 = 49,000 (China's 2024
magnet export unit value, 49 $/kg). The USA buys Chinese magnets through its 25 % ad valorem
tariff and the 1,500 $/t route: 1.25 x 49,000 + 1,500 = 62,750; making them at home (0.36 t
of US oxide + 49,200) would cost more. Before (making cost 15,000, oxide 50,000) China's
magnets cleared at 33 $/kg, under the sourced price.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmin.scenarios.loader import load_scenario
from critmin.scenarios.runner import run_study

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "magnet_chain_tariff.yaml"
)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    series, _ = run_study([load_scenario(str(EXAMPLE))])
    rows = series[(series["variable"] == "price") & (series["month"] == "2026-01")]
    return rows.set_index(["product", "region"])["value"]


def test_china_clears_at_the_sourced_oxide_and_magnet_prices(prices: pd.Series) -> None:
    assert prices[("ndpr_oxide", "CHN")] == pytest.approx(55_000)
    assert prices[("ndfeb_magnet", "CHN")] == pytest.approx(49_000)


def test_the_usa_imports_chinese_magnets_through_its_tariff(prices: pd.Series) -> None:
    assert prices[("ndfeb_magnet", "USA")] == pytest.approx(1.25 * 49_000 + 1_500)
    # home-made magnets would cost more than the imported ones
    assert 0.36 * prices[("ndpr_oxide", "USA")] + 49_200 > prices[("ndfeb_magnet", "USA")]
