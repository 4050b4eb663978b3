"""Rule verdicts on the hand-built chains (rules: examples/trace/rules.yaml)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from critmin.errors import InputError
from critmin.trace.examples import lot_urn, magnet_chain
from critmin.trace.rules import evaluate, load_rules

RULES = Path(__file__).parents[2] / "examples" / "trace" / "rules.yaml"
ON = dt.date(2027, 6, 1)


def _verdict(report, lot: str, rule: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.results if r.lot == lot_urn(lot) and r.rule == rule)


def test_pure_chain_passes_everything_and_is_member_origin() -> None:
    """AUS mine (US FTA partner) -> MYS (FORGE) -> JPN: na-fta share 1 (every unit was mined
    in AUS), no FEOC anywhere, refining 100 % in FORGE -> member origin."""
    rep = evaluate(magnet_chain(0.0), load_rules(RULES), on=ON)
    assert rep.ok
    assert _verdict(rep, "motor.JPN1", "na-fta-80").share == pytest.approx(1.0)
    assert rep.treatment[lot_urn("motor.JPN1")] == "member"


def test_blend_fails_with_the_chinese_chain_as_cause() -> None:
    """30 % of the motor's material was mined at Bayan Obo and separated at Baotou (CHN).

    no-feoc: touched share 0.3 > 0 -> fail, first chain T1b -> T2 -> T3 -> T4 (Baotou).
    refining-in-forge: MYS 0.7 < 1.0 -> fail.
    na-fta-80 (value, mine values equal): AUS-mined units qualify, 0.7 < 0.8 -> fail; the
    non-qualifying material's chain starts at the Bayan Obo extraction E2.
    Treatment: non_member (member_if = no-feoc + refining-in-forge).
    """
    rep = evaluate(magnet_chain(9.0), load_rules(RULES), on=ON)
    feoc = _verdict(rep, "motor.JPN1", "no-feoc")
    assert feoc.status == "fail"
    assert feoc.share == pytest.approx(0.3)
    assert ("T1b", "T2", "T3", "T4") in feoc.chains
    forge = _verdict(rep, "motor.JPN1", "refining-in-forge")
    assert (forge.status, forge.share) == ("fail", pytest.approx(0.7))
    fta = _verdict(rep, "motor.JPN1", "na-fta-80")
    assert (fta.status, fta.share) == ("fail", pytest.approx(0.7))
    assert fta.chains[0] == ("E2", "T1b", "T2", "T3", "T4")
    assert rep.treatment[lot_urn("motor.JPN1")] == "non_member"
    # the MYS oxide lot itself is clean
    assert rep.treatment[lot_urn("oxide.MYS1")] == "member"


def test_cause_is_the_event_at_the_rules_stage_not_the_chain_start() -> None:
    """The blend's offending chain for the refining rule is E2 (Bayan Obo, mine) -> T1b
    (Baotou, refining) -> ... The refining rule fails because of the separation step, so its
    cause is T1b at Baotou; the 80 % rule covers mine and refining, so its first offending
    event is the extraction E2 itself."""
    rep = evaluate(magnet_chain(9.0), load_rules(RULES), on=ON)
    forge = _verdict(rep, "motor.JPN1", "refining-in-forge")
    assert forge.cause.startswith("event T1b at ")
    assert "(CHN, refining)" in forge.cause
    fta = _verdict(rep, "motor.JPN1", "na-fta-80")
    assert fta.cause.startswith("event E2 at ")
    assert "(CHN, mine)" in fta.cause


def test_value_basis_weights_by_mined_value() -> None:
    """With CHN concentrate at 30 000 USD/t and AUS at 10 000 USD/t, the qualifying value share
    of the motor is 0.7 x 10 000 / (0.7 x 10 000 + 0.3 x 30 000) = 7 000 / 16 000 = 0.4375."""
    net = magnet_chain(9.0)
    lots = tuple(
        lot.model_copy(update={"value_usd": 30_000 * lot.qty})
        if lot.id == lot_urn("conc.CHN1")
        else lot
        for lot in net.lots
    )
    rep = evaluate(net.model_copy(update={"lots": lots}), load_rules(RULES), on=ON)
    assert _verdict(rep, "motor.JPN1", "na-fta-80").share == pytest.approx(0.4375)


def test_effective_dates() -> None:
    """Before 2027 the 80 % test is not in force; before 2026-02-04 FORGE does not exist."""
    rs = load_rules(RULES)
    rep = evaluate(magnet_chain(9.0), rs, on=dt.date(2026, 6, 1))
    assert _verdict(rep, "motor.JPN1", "na-fta-80").status == "not_in_force"
    assert _verdict(rep, "motor.JPN1", "refining-in-forge").status == "fail"
    rep = evaluate(magnet_chain(0.0), rs, on=dt.date(2025, 6, 1))
    assert _verdict(rep, "motor.JPN1", "refining-in-forge").status == "not_in_force"


def test_feoc_flagged_facility_fails_even_in_a_clean_country(tmp_path: Path) -> None:
    """A facility flagged feoc (operator owned by a covered nation) fails no-feoc by itself."""
    net = magnet_chain(0.0)
    facs = tuple(f.model_copy(update={"feoc": f.name == "Metal plant"}) for f in net.facilities)
    rep = evaluate(net.model_copy(update={"facilities": facs}), load_rules(RULES), on=ON)
    v = _verdict(rep, "motor.JPN1", "no-feoc")
    assert (v.status, v.share) == ("fail", pytest.approx(1.0))
    assert v.chains[0][0] == "T2"


def test_rules_yaml_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "rules:\n"
        "  - id: a\n"
        "    kind: min_share\n"
        "    allowed: {blocs: [usmca]}\n"
        "    min_share: 1.5\n"
    )
    with pytest.raises(InputError, match=r"r\.yaml:5 field 'rules\[0\]\.min_share'"):
        load_rules(bad)
    bad.write_text("rules:\n  - id: a\n    kind: forbid\n    countries: {blocs: [nato]}\n")
    with pytest.raises(InputError, match="unknown bloc 'nato'"):
        load_rules(bad)
    bad.write_text(
        "rules:\n  - id: a\n    kind: forbid\n    stages: [smeltr]\n"
        "    countries: {countries: [CN]}\n"
    )
    with pytest.raises(InputError, match="did you mean smelter"):
        load_rules(bad)
