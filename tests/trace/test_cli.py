"""``critmin trace import | check | origin | impact`` on the shipped examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli import _register, app
from critmin.trace.epcis import read_epcis
from critmin.trace.examples import lot_urn, magnet_chain

EX = Path(__file__).parents[2] / "examples" / "trace"
BLEND = str(EX / "magnet_chain_blend.jsonld")
RULES = str(EX / "rules.yaml")
runner = CliRunner()
_register()


def _json(args: list[str], code: int = 0) -> dict:  # type: ignore[type-arg]
    res = runner.invoke(app, args)
    assert res.exit_code == code, res.output
    return json.loads(res.stdout)


def test_import_epcis_and_reexport(tmp_path: Path) -> None:
    out = tmp_path / "copy.jsonld"
    d = _json(["trace", "import", BLEND, "--out", str(out), "--json"])
    assert d["lots"] == 7
    assert d["events"] == {"extraction": 2, "shipment": 1, "transformation": 5}
    assert d["events_not_used_for_origin"] == {}
    assert read_epcis(out) == magnet_chain(9.0)


def test_import_template() -> None:
    d = _json(["trace", "import", str(EX / "cmrt_6.4_example.xlsx"), "--json"])
    assert (d["template"], d["version"]) == ("CMRT", "6.4")
    assert [s["cid"] for s in d["smelters"]] == ["CID001234", "CID002345"]


def test_check_exit_codes_and_verdicts() -> None:
    d = _json(
        [
            "trace",
            "check",
            str(EX / "magnet_chain.jsonld"),
            "--rules",
            RULES,
            "--on",
            "2027-06-01",
            "--json",
        ]
    )
    assert d["ok"] is True
    d = _json(["trace", "check", BLEND, "--rules", RULES, "--on", "2027-06-01", "--json"], code=1)
    motor = next(
        r for r in d["results"] if r["lot"] == lot_urn("motor.JPN1") and r["rule"] == "no-feoc"
    )
    assert motor["status"] == "fail"
    assert motor["share"] == pytest.approx(0.3)
    assert d["treatment"][lot_urn("motor.JPN1")] == "non_member"
    table = runner.invoke(app, ["trace", "check", BLEND, "--rules", RULES, "--on", "2027-06-01"])
    assert "E2 -> T1b -> T2 -> T3 -> T4" in table.stdout


def test_origin_and_impact_json() -> None:
    d = _json(["trace", "origin", BLEND, "--lot", lot_urn("motor.JPN1"), "--json"])
    ref = {(r["stage"], r["country_iso3"]): r["share_mass"] for r in d["shares"]}
    assert ref[("refining", "CHN")] == pytest.approx(0.3)
    names = {r["name"] for r in d["upstream_facilities"][lot_urn("motor.JPN1")]}
    assert names == {"Mt Weld", "Bayan Obo", "Kuantan", "Baotou separation"}
    d = _json(["trace", "impact", BLEND, "--country", "China", "--json"])
    assert d["buyers"][0]["affected_t"] == pytest.approx(6.48)


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_text('{"type": "EPCISDocument", "epcisBody": {}}')
    exe = Path(sys.executable).parent / "critmin"
    res = subprocess.run(
        [str(exe), "trace", "origin", str(bad)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "eventList" in res.stderr
    assert res.stdout == ""
