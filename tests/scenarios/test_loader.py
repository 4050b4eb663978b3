"""Scenario YAML: every error names file, line and field; base inheritance; built-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.errors import InputError, UnknownNameError
from critmin.scenarios.loader import builtin_names, load_scenario, load_study

GOOD = """\
name: two regions
months: {start: 2026-01, end: 2026-03}
markets:
  - mineral: ndpr_oxide
    supply:
      - {region: AUS, qty_t: 100, cost_usd_per_t: 50000}
      - {region: CHN, qty_t: 300, cost_usd_per_t: 40000}
    demand: [{region: JPN, qty_t: 150, wtp_usd_per_t: 200000}]
    routes: [{from: AUS, to: JPN, cost_usd_per_t: 3000}, {from: CHN, to: JPN, cost_usd_per_t: 2000}]
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as info:
        load_scenario(write(tmp_path, text))
    return str(info.value)


def test_good_file_loads(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, GOOD))
    assert loaded.scenario.month_labels() == ["2026-01", "2026-02", "2026-03"]
    assert len(loaded.inputs) == 1


def test_typo_field_names_line_and_suggests(tmp_path: Path) -> None:
    text = GOOD.replace("{region: CHN, qty_t: 300", "{region: CHN, qty_tt: 300")
    msg = error_of(tmp_path, text)
    assert "s.yaml:7" in msg
    assert "markets[0].supply[1].qty_tt" in msg
    assert "did you mean qty_t" in msg


def test_negative_cost_names_line_field_and_value(tmp_path: Path) -> None:
    text = GOOD.replace("cost_usd_per_t: 40000", "cost_usd_per_t: -5")
    msg = error_of(tmp_path, text)
    assert "s.yaml:7 field 'markets[0].supply[1].cost_usd_per_t'" in msg
    assert "greater than or equal to 0" in msg
    assert "-5" in msg


def test_unknown_product_reference(tmp_path: Path) -> None:
    text = GOOD.replace("{region: JPN, qty_t: 150", "{region: JPN, product: ndpr_metal, qty_t: 150")
    msg = error_of(tmp_path, text)
    assert "s.yaml:8 field 'markets[0].demand[0].product'" in msg
    assert "unknown product 'ndpr_metal'" in msg


def test_bad_month(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace("end: 2026-03", "end: 2026-13"))
    assert "s.yaml:2 field 'months.end'" in msg


def test_missing_quantity(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace("{region: AUS, qty_t: 100, ", "{region: AUS, "))
    assert "s.yaml:6" in msg
    assert "qty_t" in msg


def test_yaml_syntax_error(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace("demand: [{", "demand: [{{"))
    assert "s.yaml:" in msg
    assert "not valid YAML" in msg


def test_unknown_shock_kind(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + "shocks:\n  - {kind: outtage, region: AUS}\n")
    assert "s.yaml:11 field 'shocks[0]" in msg


def test_shock_with_unknown_region(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + "shocks:\n  - {kind: outage, region: AUT}\n")
    assert "s.yaml:11 field 'shocks[0].region'" in msg
    assert "did you mean AUS" in msg


def test_unknown_instrument_kind(tmp_path: Path) -> None:
    msg = error_of(
        tmp_path, GOOD + "instruments:\n  - {kind: import_tarif, specific_usd_per_t: 1}\n"
    )
    assert "s.yaml:11 field 'instruments[0].kind'" in msg
    assert "did you mean import_tariff" in msg


def test_base_inheritance_appends_shocks(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "base.yaml")
    child = write(
        tmp_path,
        "name: ban\nbase: base.yaml\nshocks:\n"
        "  - {kind: export_ban, exporter: CHN, to: [JPN], start: 2026-02}\n",
        "child.yaml",
    )
    loaded = load_scenario(child)
    assert loaded.scenario.name == "ban"
    assert loaded.scenario.markets is not None
    assert len(loaded.scenario.shocks) == 1
    assert len(loaded.inputs) == 2


def test_builtins_load_and_unknown_builtin_suggests() -> None:
    assert {"ndpr_baseline", "ndpr_china_ban"} <= set(builtin_names())
    study = load_study([])
    assert [s.scenario.name for s in study] == [
        "baseline_free_trade",
        "china_export_ban",
        "managed_market",
    ]
    with pytest.raises(UnknownNameError, match="did you mean ndpr_baseline"):
        load_scenario("builtin:ndpr_baselin")


def test_builtin_numbers_carry_source_and_estimate() -> None:
    sc = load_scenario("ndpr_baseline").scenario
    for market in sc.markets or []:
        for block in [*market.supply, *market.demand, *market.conversions]:
            assert block.source, block
            assert block.estimate, block
