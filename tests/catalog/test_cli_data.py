"""`critmin data` through the real entry point (critmin.cli.main): output and exit codes.

One test runs a real subprocess (no traceback, exit 2); the others call ``main()`` in-process
with ``sys.argv`` set, which is the same code path without the interpreter start-up cost.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from critmin.cli import main


def _main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[object, str, str]:
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


LITHUM = ("data", "production", "lithum")


def test_unknown_mineral_one_line_did_you_mean_exit_2_subprocess() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *LITHUM],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "did you mean lithium" in lines[0]
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_unknown_country_and_stage_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _main(monkeypatch, capsys, "data", "country", "Germny")
    assert code == 2
    assert "did you mean Germany" in err
    code, _, err = _main(monkeypatch, capsys, "data", "production", "cobalt", "--stage", "smelt")
    assert code == 2
    assert "did you mean metal" in err
    code, _, err = _main(monkeypatch, capsys, "data", "production", "lithium", "--year", "2019")
    assert code == 2
    assert "available: mine 2023, mine 2024, refining 2024" in err


def test_production_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _main(monkeypatch, capsys, "data", "production", "rare earths", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["mineral"] == "rare_earths"
    assert doc["world_total"] == 390_000
    top = doc["rows"][0]
    assert top["country_iso3"] == "CHN"
    assert top["qty"] == 270_000
    assert "10.5066/P13XCP3R" in top["source"]


def test_minerals_and_blocs_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _main(monkeypatch, capsys, "data", "minerals", "--json")
    assert code == 0
    minerals = json.loads(out)
    assert len(minerals) == 60
    assert sum(not m["in_2022_list"] for m in minerals) == 10
    code, out, _ = _main(
        monkeypatch, capsys, "data", "blocs", "forge", "--on", "2026-03-01", "--json"
    )
    assert code == 0
    (forge,) = json.loads(out)
    assert len(forge["members"]) == 55  # 54 countries + the U.S. host


def test_table_output_names_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _main(monkeypatch, capsys, "data", "production", "cobalt")
    assert code == 0
    assert "Congo" in out
    assert "USGS MCS 2025" in out
    code, out, _ = _main(monkeypatch, capsys, "data", "blocs")
    assert code == 0
    for name in ("FORGE", "USMCA", "EU-27", "FEOC"):
        assert name in out
