"""CLI behaviour of `critmin risk` and `critmin exposure`: JSON shape, one-line errors, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmin.catalog import risk as risk_mod
from critmin.catalog.risk import RECORD_FIELDS_REQUIRED, risk_record

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_malformed_bom_one_line_exit_2(tmp_path: Path) -> None:
    """A negative kg_per_unit on line 6: one line naming file, line and field; exit code 2."""
    bom = tmp_path / "bad.yaml"
    bom.write_text(
        "name: x\nunit: pack\nitems:\n  - product: lithium_carbonate\n"
        "    source: s\n    kg_per_unit: -1\n"
    )
    proc = run_cli("exposure", str(bom))
    assert proc.returncode == 2
    assert proc.stdout == ""
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1
    assert f"{bom}:6 field 'items[0].kg_per_unit'" in err[0]
    assert "Traceback" not in proc.stderr


def test_risk_json_shape(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`critmin risk --json` prints only a JSON array of records with the required fields."""
    from typer.testing import CliRunner

    from critmin.cli import app
    from critmin.cli import risk as _cli_risk  # noqa: F401  (registers the command)

    prod = pd.DataFrame(
        {
            "country_iso3": ["CHN", "AUS"],
            "qty": [3.0, 1.0],
            "unit": ["t", "t"],
            "is_estimate": [False, False],
            "source": ["s", "s"],
        }
    )
    rec = risk_record(
        "graphite", "mine", 2024, prod, political_stability=None, bloc="forge", bloc_members={"AUS"}
    )

    def fake(minerals: list[str] | None, **kw: object) -> list[risk_mod.RiskRecord]:
        return [rec]

    monkeypatch.setattr(risk_mod, "risk_records", fake)
    result = CliRunner().invoke(app, ["risk", "graphite", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert set(RECORD_FIELDS_REQUIRED) <= set(data[0])
    # CHN 0.75, AUS 0.25: HHI = (0.5625 + 0.0625) * 1e4 = 6250; bloc {AUS} 0.25
    assert data[0]["hhi"] == 6250.0
    assert data[0]["bloc_share"] == 0.25
    assert data[0]["us_net_import_reliance"] is None


def test_risk_table_fits_80_columns_without_cutting_numbers() -> None:
    """`critmin risk` on an 80-column terminal: no line wider than 80, no ellipsis, and every
    HHI and SR figure of the JSON output printed in full, with the legend."""
    env_run = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", "risk"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**__import__("os").environ, "COLUMNS": "80", "NO_COLOR": "1"},
    )
    assert env_run.returncode == 0, env_run.stderr
    lines = env_run.stdout.splitlines()
    assert max(len(x) for x in lines) <= 80
    assert "…" not in env_run.stdout
    records = json.loads(run_cli("risk", "--json").stdout)
    for r in records:
        if r["hhi"] is not None:
            assert f"{r['hhi']:,.0f}" in env_run.stdout
        if r["supply_risk_eu"] is not None:
            assert f"{r['supply_risk_eu']:,.2f}" in env_run.stdout
    for word in ("HHI:", "SR (EU):", "import risk:", "US NIR:", "estimate", "[1] USGS"):
        assert word in env_run.stdout


def test_risk_table_on_a_narrow_terminal_never_cuts_numbers() -> None:
    """At 50 columns the tables keep their minimum width (the terminal wraps the lines):
    every HHI and import-risk figure of the JSON output is printed whole, no ellipsis."""
    import os

    proc = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", "risk", "cobalt", "lithium"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "COLUMNS": "50", "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    for r in json.loads(run_cli("risk", "cobalt", "lithium", "--json").stdout):
        assert f"{r['hhi']:,.0f}" in proc.stdout
        if r["import_risk"] is not None:
            assert f"{r['import_risk']:,.4f}" in proc.stdout
