"""FORGE variable levy: hand-computed cases stored as data files, plus error handling.

Each ``cases/levy_*.yaml`` holds a small market, the instrument and the expected output, with
the arithmetic in its header comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from critmin.errors import InputError, UnknownNameError
from critmin.market.results import node_table
from critmin.policy.instrument import parse_instrument
from critmin.policy.instruments.forge_levy import ForgeLevy, member_regions, variable_levy
from tests.instruments.helpers import flow, price, solve

CASES = sorted((Path(__file__).parent / "cases").glob("levy_*.yaml"))


def _metric_for_month(report_rows: list[Any], month: str, variable: str) -> float:
    return sum(r.value for r in report_rows if r.month == month and r.variable == variable)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_levy_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text("utf-8"))
    months = [str(m) for m in case.get("months", ["2026-03"])]
    inst = parse_instrument(case["instrument"]).build()
    assert isinstance(inst, ForgeLevy)
    run = solve(case["market"], months, [inst])
    assert run.converged.all()
    ((_, report),) = run.reports
    expected = case["expected"]
    by_month = expected if set(map(str, expected)) <= set(months) else {months[0]: expected}
    for month, exp in by_month.items():
        t = months.index(str(month))
        for region, value in exp.get("price", {}).items():
            assert price(run, region, t=t) == pytest.approx(value, abs=1e-6), (month, region)
        for key, value in exp.get("flow", {}).items():
            a, b = key.split("->")
            assert flow(run, a, b, t=t) == pytest.approx(value, abs=1e-6), (month, key)
        for region, value in exp.get("levy_rate", {}).items():
            got = [
                r.value
                for r in report.rows
                if r.month == str(month) and r.variable == "levy_rate" and r.region == region
            ]
            assert sum(got) == pytest.approx(value, abs=1e-6), (month, region)
        for var in ("levy_revenue", "imports_from_members", "imports_from_nonmembers"):
            key = f"{var}_{'usd' if var == 'levy_revenue' else 't'}"
            if key in exp:
                got = _metric_for_month(report.rows, str(month), var)
                assert got == pytest.approx(exp[key], abs=1e-6), (month, key)
        for region, value in exp.get("consumption", {}).items():
            n = run.cm.node_index(region, run.cm.products[0])
            assert node_table(run)["consumption"][t, n] == pytest.approx(value, abs=1e-6)
        if "min_iterations" in exp:
            assert run.iterations[t] >= exp["min_iterations"]


def test_variable_levy_formula_edges() -> None:
    """min(max(ref - landed, 0), bound): below, at and above the reference, and the bound."""
    assert variable_levy(100, 60, 1000) == 40
    assert variable_levy(100, 100, 1000) == 0
    assert variable_levy(100, 130, 1000) == 0
    assert variable_levy(100, 60, 15) == 15
    assert variable_levy(100, 60, 0) == 0


def test_forge_membership_mapping_of_market_regions() -> None:
    """State Dept. media note 2026-02-04: JPN, KOR, AUS, MYS, THA are delegations, USA is
    host, EC a delegation
    (so region EU is inside); CHN, MMR, VNM are not; ROW is treated as a non-member."""
    regions = ["CHN", "AUS", "USA", "MMR", "MYS", "THA", "VNM", "JPN", "KOR", "EU", "ROW"]
    inside = member_regions("forge", regions, "2026-03")
    assert inside == {"AUS", "USA", "MYS", "THA", "JPN", "KOR", "EU"}
    assert member_regions("forge", regions, "2026-01") == frozenset()  # before 2026-02-04
    assert "ROW" in member_regions("forge", regions, "2026-03", overrides={"ROW": True})
    assert "EU" not in member_regions("forge", regions, "2026-03", overrides={"EU": False})


MARKET = """
mineral: x
regions: [NON, MEM]
supply: [{region: NON, qty_t: 200, cost_usd_per_t: 50}]
demand: [{region: MEM, qty_t: 100, wtp_usd_per_t: 1000}]
routes: [{from: NON, to: MEM, cost_usd_per_t: 5}]
"""


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="damping"):
        parse_instrument({"kind": "forge_levy", "damping": 1.5})
    with pytest.raises(ValueError, match=r"unknown instrument kind 'forge_lvy'.*forge_levy"):
        parse_instrument({"kind": "forge_lvy"})
    inst = parse_instrument({"kind": "forge_levy", "products": ["y"], "members": ["MEM"]}).build()
    with pytest.raises(UnknownNameError, match="unknown product 'y'"):
        solve(MARKET, instruments=[inst])
    inst = parse_instrument(
        {"kind": "forge_levy", "members": ["MEM"], "region_membership": {"MEMM": True}}
    ).build()
    with pytest.raises(UnknownNameError, match="did you mean MEM"):
        solve(MARKET, instruments=[inst])
    inst = parse_instrument(
        {
            "kind": "forge_levy",
            "bloc": "nobloc",
            "members": ["MEM"],
            "reference_prices_usd_per_t": {"x": 90},
        }
    ).build()
    with pytest.raises(InputError, match="bound_share"):
        solve(MARKET, months=("2026-03", "2026-04"), instruments=[inst])


def test_reform_leaves_the_baseline_untouched() -> None:
    reformed = parse_instrument(
        {
            "kind": "forge_levy",
            "parameters": {"forge.reference_price.ndpr_oxide": {"2026-03": 200}},
        }
    ).build()
    plain = parse_instrument({"kind": "forge_levy"}).build()
    assert isinstance(reformed, ForgeLevy)
    assert isinstance(plain, ForgeLevy)
    assert reformed.reference("ndpr_oxide", "2026-03") == 200_000
    assert plain.reference("ndpr_oxide", "2026-03") == 110_000
