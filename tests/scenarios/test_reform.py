"""A scenario-level ``reform:`` overrides dated policy parameters for every instrument that
reads them, inherited ones included, and leaves the shipped baseline untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.errors import InputError
from critmin.policy.parameters import baseline
from critmin.scenarios.loader import load_scenario, scenario_from_data
from critmin.scenarios.runner import run_study

EXAMPLE = Path(__file__).parents[2] / "examples" / "scenarios" / "managed_floor_130.yaml"


def test_reform_reaches_inherited_parameter_readers_only() -> None:
    """managed_floor_130 extends the managed market (forge_levy, topup_floor, offtakes,
    stockpile). The reform lands in the levy's and the floor's ``parameters`` (they read dated
    parameters) and nowhere else (offtake and stockpile take no ``parameters`` field)."""
    sc = load_scenario(str(EXAMPLE)).scenario
    with_params = [i for i in sc.instruments if "parameters" in i]
    assert sorted(i["kind"] for i in with_params) == ["forge_levy", "topup_floor"]
    for item in with_params:
        assert set(item["parameters"]) == {
            "policy.price_floor.ndpr_oxide",
            "forge.reference_price.ndpr_oxide",
        }
    assert baseline().value("policy.price_floor.ndpr_oxide", "2027-06") == 110  # untouched


def test_reform_typo_and_reform_without_reader_are_errors(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "name: t\nbase: builtin:ndpr_managed_market\n"
        "reform: {policy.price_flor.ndpr_oxide: {2027-01: 130}}\n"
    )
    with pytest.raises(InputError, match=r"field 'reform'.*did you mean policy.price_floor"):
        load_scenario(str(typo))
    idle = tmp_path / "idle.yaml"
    idle.write_text(
        "name: i\nbase: builtin:ndpr_baseline\n"
        "reform: {policy.price_floor.ndpr_oxide: {2027-01: 130}}\n"
    )
    with pytest.raises(InputError, match="needs an instrument that reads dated parameters"):
        load_scenario(str(idle))


def test_raising_the_floor_costs_the_difference_on_covered_output() -> None:
    """The top-up pays max(floor - price, 0) per tonne of covered output. NdPr oxide trades below
    110 USD/kg at the US node throughout 2027 in both runs and the covered producers (cost
    56,750 USD/t) produce at either floor, so raising the floor by 20 USD/kg from 2027-01 adds
    exactly 20,000 USD/t x the covered tonnes of 2027 to the fiscal cost, and summary.json
    lists the two changed parameters with before 110 and after 130."""
    series, summary = run_study([load_scenario("ndpr_managed_market"), load_scenario(str(EXAMPLE))])
    metrics = {s["name"]: s["metrics"] for s in summary["scenarios"]}
    covered = series[
        (series["scenario"] == "managed_floor_130")
        & (series["variable"] == "floor_covered_output")
        & (series["month"] >= "2027-01")
    ]["value"].sum()
    assert covered > 0
    extra = (
        metrics["managed_floor_130"]["floor_fiscal_cost_usd"]
        - metrics["managed_market"]["floor_fiscal_cost_usd"]
    )
    assert extra == pytest.approx(20_000 * covered, rel=1e-9)
    changes = summary["scenarios"][1]["reform_changes"]
    assert {(c["parameter"], c["before"], c["after"]) for c in changes} == {
        ("policy.price_floor.ndpr_oxide", 110, 130),
        ("forge.reference_price.ndpr_oxide", 110, 130),
    }


def test_unfolded_reform_folds_once_from_data() -> None:
    """``load_scenario(fold_reform=False)`` keeps the reform as data; the scenario dumped,
    changed (the reform's floor raised) and checked with ``scenario_from_data`` folds the
    changed reform: the same instruments as a file that states the changed value."""
    raw = load_scenario(str(EXAMPLE), fold_reform=False).scenario
    assert not any("parameters" in i for i in raw.instruments)
    data = raw.model_dump(by_alias=True, exclude_none=True, mode="python")
    data["reform"]["policy.price_floor.ndpr_oxide"] = {"2026-01": 150}
    folded = scenario_from_data(data, "changed").scenario
    floor = next(i for i in folded.instruments if i["kind"] == "topup_floor")
    assert floor["parameters"]["policy.price_floor.ndpr_oxide"] == {"2026-01": 150}
    # unchanged, it folds to what load_scenario gives
    same = raw.model_dump(by_alias=True, exclude_none=True, mode="python")
    assert scenario_from_data(same, "same").scenario == load_scenario(str(EXAMPLE)).scenario


def test_scenario_from_data_names_source_and_field() -> None:
    data = load_scenario(str(EXAMPLE), fold_reform=False).scenario.model_dump(
        by_alias=True, exclude_none=True, mode="python"
    )
    data["markets"][0]["supply"][0]["cost_usd_per_t"] = "cheap"
    with pytest.raises(InputError) as err:
        scenario_from_data(data, "sample 3")
    assert str(err.value).startswith("sample 3 field 'markets[0].supply[0].cost_usd_per_t': ")
