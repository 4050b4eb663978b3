"""Dated policy parameters: baseline completeness, seed figures, resolution, reforms, diff."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from critmin.contracts import load_contract
from critmin.errors import InputError, UnknownNameError
from critmin.policy.parameters import ParameterSet, baseline, diff

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"
DATA = Path(__file__).parents[2] / "src" / "critmin" / "policy" / "data"


def test_every_baseline_value_has_unit_and_reference() -> None:
    """Read the raw YAML (not the model) so a missing field cannot be defaulted away."""
    files = sorted(DATA.glob("*.yaml"))
    assert files
    for f in files:
        for name, spec in yaml.safe_load(f.read_text()).items():
            assert str(spec.get("unit") or "").strip(), f"{f.name}: {name} has no unit"
            assert str(spec.get("description") or "").strip(), f"{name} has no description"
            for day, entry in spec["values"].items():
                assert isinstance(entry, dict), f"{name} {day}: bare value without reference"
                assert str(entry.get("reference") or "").strip(), f"{name} {day}: no reference"
                if entry.get("estimate"):
                    text = f"{entry.get('reference', '')} {entry.get('note', '')}".lower()
                    assert any(w in text for w in ("assum", "estimat", "'by", "about", "seed")), (
                        f"{name} {day}: an estimate must say why"
                    )


def test_baseline_loads_and_holds_the_published_figures() -> None:
    """Published figures: floor 110 (MP Materials/DoD release, 2025-07-10), threshold 150 and
    5,000 t/yr (Lynas-Japan revision, 2026-03), DLA ceilings 500M/245M/100M/~45M of 1B
    (Reuters, 2025-10), Vault 10B EXIM + 1.67B private (State Dept. and Bloomberg, 2026-02)."""
    b = baseline()
    assert b.value("policy.price_floor.ndpr_oxide", "2026-01") == 110
    assert b.value("contract.lynas_japan.upside_threshold", "2026-06") == 150
    assert b.value("contract.lynas_japan.volume", "2030-01") == 5000
    assert b.value("stockpile.dla.purchase_ceiling.cobalt", "2026-01") == 5e8
    assert b.value("stockpile.dla.purchase_ceiling.antimony", "2026-01") == 2.45e8
    assert b.value("stockpile.dla.purchase_ceiling.tantalum", "2026-01") == 1e8
    assert b.value("stockpile.dla.purchase_ceiling.scandium", "2026-01") == 4.5e7
    assert b.value("stockpile.dla.purchase_ceiling.total", "2026-01") == 1e9
    assert b.value("stockpile.vault.exim_loan", "2026-02") == 1e10
    assert b.value("stockpile.vault.private_funding", "2026-02") == 1.67e9
    assert b.value("forge.in_force", "2026-02") is True
    assert b.float_value("forge.reference_price.ndpr_oxide", "2026-03") == 110.0
    for stage in ("ndpr_oxide", "ndpr_metal", "ndfeb_magnet"):
        assert b.float_value(f"forge.reference_price.{stage}", "2026-03") > 0
    assert 0 < b.float_value("forge.levy_bound.ad_valorem_share", "2026-03") < 1


def test_shipped_lynas_contract_matches_the_parameters() -> None:
    b = baseline()
    c = load_contract(EXAMPLES / "lynas_japan_ndpr.yaml")
    assert c.floor_usd_per_kg == b.value("contract.lynas_japan.floor_usd_per_kg", c.start)
    assert c.upside_share is not None
    assert c.upside_share.above_usd_per_kg == b.value(
        "contract.lynas_japan.upside_threshold", c.start
    )
    assert c.upside_share.buyer_share == b.value("contract.lynas_japan.buyer_share", c.start)
    assert c.volume_t_per_year == b.value("contract.lynas_japan.volume", c.start)
    dod = load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml")
    assert dod.floor_usd_per_kg == b.value("policy.price_floor.ndpr_oxide", dod.start)


def test_month_resolution_uses_the_value_in_force_on_the_last_day() -> None:
    """FORGE launched 2026-02-04: in force for 2026-02, not for 2026-01 (no value yet);
    the chair (KOR) lapses from 2026-07-01; the DoD floor ends 2035-07."""
    b = baseline()
    assert b.value("forge.in_force", "2026-02") is True
    with pytest.raises(InputError, match="no value on 2026-01-31"):
        b.value("forge.in_force", "2026-01")
    assert b.value("forge.chair", "2026-06") == "KOR"
    assert b.value("forge.chair", "2026-07") is None
    assert b.value("policy.price_floor.ndpr_oxide", "2035-06") == 110
    assert b.value("policy.price_floor.ndpr_oxide", "2035-07") is None
    assert b.value_on("forge.in_force", dt.date(2026, 2, 4)) is True


def test_reform_leaves_baseline_untouched_and_diff_lists_changes() -> None:
    b = baseline()
    before = {name: b[name] for name in b}
    r = b.with_reform(
        {
            "policy.price_floor.ndpr_oxide": {
                "values": {"2027-01": {"value": 130, "reference": "scenario: floor up"}}
            },
            "contract.lynas_japan.buyer_share": {"2026-03-10": 0.3},
            "policy.price_floor.dysprosium_oxide": {
                "description": "a new floor",
                "unit": "usd_per_kg",
                "values": {"2027-01": {"value": 300, "reference": "scenario"}},
            },
        },
        label="floor-up",
    )
    assert {name: b[name] for name in b} == before
    assert b.value("policy.price_floor.ndpr_oxide", "2027-06") == 110
    assert r.value("policy.price_floor.ndpr_oxide", "2027-06") == 130
    assert r.value("policy.price_floor.ndpr_oxide", "2026-06") == 110
    assert r.value("contract.lynas_japan.buyer_share", "2026-06") == 0.3
    changes = diff(b, r)
    described = [c.describe() for c in changes]
    assert described == [
        "contract.lynas_japan.buyer_share from 2026-03-10: 0.5 -> 0.3 share (reform floor-up)",
        "policy.price_floor.dysprosium_oxide from 2027-01-01: (none) -> 300 usd_per_kg (scenario)",
        "policy.price_floor.ndpr_oxide from 2027-01-01: 110 -> 130 usd_per_kg (scenario: floor up)",
    ]
    assert diff(b, b) == []


def test_reform_typo_is_an_error_with_suggestion() -> None:
    with pytest.raises(InputError, match=r"did you mean policy.price_floor.ndpr_oxide"):
        baseline().with_reform({"policy.price_flor.ndpr_oxide": {"2027-01": 1}})
    with pytest.raises(UnknownNameError, match="did you mean"):
        baseline()["forge.in_forc"]


def test_reform_cannot_change_the_unit() -> None:
    with pytest.raises(InputError, match="differs from the baseline unit"):
        baseline().with_reform(
            {"policy.price_floor.ndpr_oxide": {"unit": "usd_per_t", "values": {"2027-01": 1}}}
        )


def test_file_without_reference_names_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "x.floor:\n"
        "  description: a floor\n"
        "  unit: usd_per_kg\n"
        "  values:\n"
        "    2026-01-01: {value: 5, reference: ok}\n"
        "    2027-01-01: {value: 6}\n"
    )
    with pytest.raises(InputError, match=r"p.yaml:6 date 2027-01-01 field 'reference'"):
        ParameterSet.load(f)
    f.write_text("x.floor:\n  description: a floor\n  values:\n    2026-01: {value: 5}\n")
    with pytest.raises(InputError, match=r"p.yaml:1 parameter 'x.floor': missing field 'unit'"):
        ParameterSet.load(f)


@given(
    dates=st.lists(st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)), min_size=1, unique=True),
    probe=st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)),
)
def test_value_in_force_is_the_latest_dated_value(dates: list[dt.date], probe: dt.date) -> None:
    values = {d: {"value": i, "reference": "t"} for i, d in enumerate(dates)}
    ps = ParameterSet([]).with_reform({"p": {"description": "d", "unit": "u", "values": values}})
    earlier = [d for d in dates if d <= probe]
    if not earlier:
        with pytest.raises(InputError):
            ps.value_on("p", probe)
    else:
        assert ps.value_on("p", probe) == dates.index(max(earlier))
