"""The ten-year lithium study (examples/scenarios/lithium_2035*.yaml), checked by hand.

The chain: ``lithium_concentrate`` (t Li, mine) -> ``lithium_carbonate`` (t LCE, refining) at
0.188 t Li per t LCE; mine capacity from the catalog (``from_dataset``), refining capacity the
catalog's curated 2024 rows / 0.188, Thacker Pass (40 000 t LCE/yr from 2027-10) and Rhyolite
Ridge (22 000 t LCE/yr from 2028-07) as US supply blocks of LCE at 7 000 $/t.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from critmin.catalog import production
from critmin.market.spec import Market
from critmin.periods import month_index
from critmin.scenarios.loader import LoadedScenario, load_scenario
from critmin.scenarios.runner import run_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
WITH = "lithium_2035"
WITHOUT = "lithium_2035_no_projects"
LCE = "lithium_carbonate"
LI = "lithium_concentrate"
LI_PER_LCE = 0.188


@pytest.fixture(scope="module")
def loaded() -> list[LoadedScenario]:
    return [load_scenario(str(EXAMPLES / f"{name}.yaml")) for name in (WITH, WITHOUT)]


@pytest.fixture(scope="module")
def series(loaded: list[LoadedScenario]) -> pd.DataFrame:
    out, _ = run_study(loaded)
    return out


def market(loaded: list[LoadedScenario]) -> Market:
    markets = loaded[0].scenario.markets
    assert markets is not None
    (m,) = markets
    return m


def block(m: Market, name: str) -> Any:
    (b,) = [b for b in m.supply if b.name == name]
    return b


def node(series: pd.DataFrame, scenario: str, product: str, region: str, var: str) -> pd.Series:
    """Monthly values of one node variable, indexed by month (every month of the run)."""
    sel = series[
        (series["scenario"] == scenario)
        & (series["product"] == product)
        & (series["region"] == region)
        & (series["variable"] == var)
    ]
    return sel.set_index("month")["value"].sort_index()


def test_both_files_validate_over_120_months(loaded: list[LoadedScenario]) -> None:
    """2026-01..2035-12 is 120 months; the child inherits the markets and adds two outages."""
    for ls in loaded:
        months = ls.scenario.months
        assert months is not None
        assert month_index(months.end) - month_index(months.start) + 1 == 120
    base, child = (ls.scenario for ls in loaded)
    assert child.markets == base.markets
    assert [s.kind for s in child.shocks] == ["export_ban", "outage", "outage"]
    m = market(loaded)
    assert m.from_dataset
    assert all(ds.mineral == "lithium" for ds in m.from_dataset)
    assert all(c.input_t_per_t == LI_PER_LCE for c in m.conversions)


def test_dataset_capacities_and_no_us_row(series: pd.DataFrame) -> None:
    """Mine capacity in 2026-01 (before any scheduled block) is exactly the catalog's 2024
    mine production summed over the countries with a figure, / 12 (the three from_dataset
    entries partition the countries, so nothing is counted twice or dropped). The USA has no
    figure: USGS withholds US mine output and the curated refining table has no US row, so
    the dataset gives the USA zero capacity at both stages. China's refining capacity is its
    curated row (t Li) / 0.188 / 12 per month."""
    mine = production.production("lithium", "mine", 2024)
    refining = production.production("lithium", "refining", 2024)
    us_mine = mine[mine["country_iso3"] == "USA"]
    assert len(us_mine) == 1
    assert math.isnan(float(us_mine["qty"].iloc[0]))
    assert "USA" not in set(refining["country_iso3"])

    cap = series[
        (series["scenario"] == WITH)
        & (series["month"] == "2026-01")
        & (series["product"] == LI)
        & (series["variable"] == "supply_capacity")
    ]
    assert cap["value"].sum() == pytest.approx(float(mine["qty"].sum()) / 12)
    assert "USA" not in set(cap["region"])

    chn = float(refining.loc[refining["country_iso3"] == "CHN", "qty"].iloc[0])
    chn_cap = node(series, WITH, LCE, "CHN", "supply_capacity")["2026-01"]
    assert chn_cap == pytest.approx(chn / LI_PER_LCE / 12, rel=1e-5)


def test_us_refining_jumps_by_thacker_pass_then_rhyolite_ridge(
    loaded: list[LoadedScenario], series: pd.DataFrame
) -> None:
    """US LCE production is 0 before 2027-10 (the dataset's US capacity, above), then jumps by
    40 000 / 12 = 3 333.3 t in 2027-10 and by a further 22 000 / 12 = 1 833.3 t in 2028-07.

    Why both projects clear (cost 7 000 $/t LCE each): suppose one is not at capacity in
    such a month. Its reduced cost is then >= 0, so the US price p_US <= 7 000. The US demand
    curve asks Q0 = 80 000 t/yr (x growth) at 15 000 $/t and more at any lower price (e < 0);
    its steps bid the geometric middle of grid intervals of ratio <= 1.05^2, so at p_US <=
    7 000 every step down to a grid price <= 7 000 x 1.05 < 15 000 is served: at least
    80 000 x 1.12^(21/12) / 12 = 8 127 t in 2027-10 (8 850 t in 2028-07), more than the
    3 333 (5 167) t the projects can make, so the USA imports and p_US = p_exporter + 300
    (route cost). LCE outside the USA comes only from conversions, so the exporter's price is
    >= the cheapest conversion cost 2 500 + 0.188 x p_Li, and Li fed to a conversion comes from
    a mine block (prices only rise along a route), so p_Li >= the cheapest mine cost 25 000.
    Hence p_US >= 2 500 + 0.188 x 25 000 + 300 = 7 500 > 7 000, a contradiction."""
    m = market(loaded)
    tp, rr = block(m, "Thacker Pass"), block(m, "Rhyolite Ridge")
    assert (tp.qty_t_per_year, tp.start, tp.cost_usd_per_t) == (40000, "2027-10", 7000)
    assert (rr.qty_t_per_year, rr.start, rr.cost_usd_per_t) == (22000, "2028-07", 7000)
    (us_curve,) = [c for c in m.demand_curves if c.region == "USA"]
    assert (us_curve.qty_t_per_year, us_curve.ref_price_usd_per_t) == (80000, 15000)
    assert us_curve.elasticity < 0
    assert us_curve.tolerance <= 0.05
    assert min(c.cost_usd_per_t for c in m.conversions) == 2500
    assert min(ds.cost_usd_per_t for ds in m.from_dataset) == 25000
    assert min(s.cost_usd_per_t for s in m.supply if s.product == LI) > 25000

    us = node(series, WITH, LCE, "USA", "production")
    assert len(us) == 120
    before = us[us.index < "2027-10"]
    assert before.abs().max() == pytest.approx(0, abs=1e-6)
    assert us["2027-10"] - us["2027-09"] == pytest.approx(40000 / 12)
    assert us["2028-07"] - us["2028-06"] == pytest.approx(22000 / 12)
    # both stay fully used to the end (the argument holds in every month: US bids only grow)
    assert us[us.index >= "2028-07"].to_numpy() == pytest.approx(62000 / 12)


def test_counterfactual_has_no_us_production(series: pd.DataFrame) -> None:
    """The outages (share 1.0) remove both blocks over the whole run."""
    us = node(series, WITHOUT, LCE, "USA", "production")
    assert len(us) == 120
    assert us.abs().max() == pytest.approx(0, abs=1e-6)


def test_china_ships_no_lce_during_the_2029_ban(series: pd.DataFrame) -> None:
    """The export ban shock closes every CHN -> * route for LCE in 2029-01..2029-06 (the
    concentrate trade stays open)."""
    for scenario in (WITH, WITHOUT):
        flows = series[
            (series["scenario"] == scenario)
            & (series["variable"] == "flow")
            & (series["product"] == LCE)
            & series["region"].str.startswith("CHN->")
            & (series["month"] >= "2029-01")
            & (series["month"] <= "2029-06")
        ]
        assert len(flows) > 0  # the routes carry flow in other months, so rows exist
        assert flows["value"].abs().max() == pytest.approx(0, abs=1e-6)
