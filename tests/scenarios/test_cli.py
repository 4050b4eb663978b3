"""``critmin run`` and ``critmin validate`` end to end (exit codes, files, JSON)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmin.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "scenarios" / "two_regions.yaml"


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def critmin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the real entry point in-process; returns exit code, stdout, stderr."""

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["critmin", *args])
        with pytest.raises(SystemExit) as info:
            main()
        out = capsys.readouterr()
        return Result(int(info.value.code or 0), out.out, out.err)

    return run


def test_validate_ok_and_error(tmp_path: Path, critmin) -> None:  # type: ignore[no-untyped-def]
    ok = critmin("validate", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("wtp_usd_per_t", "wtp_usd"))
    res = critmin("validate", str(bad))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "bad.yaml:9" in lines[0]
    assert "unknown field 'wtp_usd'" in lines[0]
    assert "did you mean wtp_usd_per_t" in lines[0]
    assert "Traceback" not in res.stderr


def test_run_writes_contract_files(tmp_path: Path, critmin) -> None:  # type: ignore[no-untyped-def]
    """The example: JPN buys from CHN (40000 + 2000 = 42000 landed) until the ban in March,
    then from AUS (100 t at 50000 + 3000) with 50 t unserved at WTP 200000."""
    out = tmp_path / "out"
    res = critmin("run", str(EXAMPLE), "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    assert set(summary) >= {
        "critmin_version",
        "created",
        "seed",
        "inputs",
        "scenarios",
        "assumptions",
    }
    (sc,) = summary["scenarios"]
    assert sc["months"] == {"start": "2026-01", "end": "2026-06"}
    m = sc["metrics"]
    (jpn,) = [
        k for k in m["peak_price_usd_per_t"] if k.startswith("ndpr_oxide/") and k.endswith("/JPN")
    ]
    assert m["peak_price_usd_per_t"][jpn] == 200000
    # the 50 t/month bid is rationed at its own price: physical shortage, in t of oxide
    assert m["physical_shortage_t_by_product"]["ndpr_oxide"] == 4 * 50
    assert m["physical_shortage_months"] == 4
    assert not {"unserved_t", "shortage_months"} & set(m)
    series = pd.read_parquet(out / "series.parquet")
    assert list(series.columns) == [
        "scenario",
        "month",
        "chain",
        "product",
        "stage",
        "region",
        "variable",
        "value",
        "unit",
    ]
    jan = series[(series["month"] == "2026-01") & (series["variable"] == "price")]
    assert float(jan.loc[jan["region"] == "JPN", "value"].iloc[0]) == 42000
    flows = series[series["variable"] == "flow"]
    assert set(flows["region"]) == {"AUS->JPN", "CHN->JPN"}


def test_run_bad_scenario_writes_nothing(tmp_path: Path, critmin) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    res = critmin("run", str(tmp_path / "missing.yaml"), "--out", str(out))
    assert res.returncode == 2
    assert not out.exists()


def test_an_instrument_for_a_market_the_scenario_lacks_is_refused(tmp_path: Path, critmin) -> None:  # type: ignore[no-untyped-def]
    """The runner hands an instrument only the markets of its ``mineral``: an offtake naming a
    market the scenario does not have would do nothing, silently. ``validate`` and ``run``
    refuse it at the instrument's line, and ``run`` writes nothing."""
    text = EXAMPLE.read_text("utf-8") + (
        "instruments:\n"
        "  - kind: offtake\n"
        "    name: typo\n"
        "    mineral: ndpr_oxyde\n"
        "    contracts:\n"
        "      - region: JPN\n"
        "        contract: {name: x, buyer: JPN, seller: AUS, mineral: ndpr_oxide,\n"
        "                   volume_t_per_year: 60, start: 2026-04, end: 2027-12,\n"
        "                   floor_usd_per_kg: 10}\n"
    )
    path = tmp_path / "typo.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    mineral: ndpr_oxyde") + 1
    for args in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        res = critmin(*args)
        assert res.returncode == 2, res.stderr
        assert f"typo.yaml:{line} field 'instruments[0].mineral': unknown market 'ndpr_oxyde'" in (
            res.stderr
        )
        assert "ndpr_oxide" in res.stderr  # the nearest market is suggested
    assert not (tmp_path / "out").exists()


def test_an_instrument_naming_a_product_its_market_lacks_is_refused_by_validate(
    tmp_path: Path,
    critmin,  # type: ignore[no-untyped-def]
) -> None:
    """An offtake contract on a product the market does not have: ``run`` refused it
    mid-run without saying where; ``validate`` accepted it. Both now refuse it at the
    instrument (its items are initialised against the compiled market, no month solved)."""
    text = EXAMPLE.read_text("utf-8") + (
        "instruments:\n"
        "  - kind: offtake\n"
        "    name: wrong product\n"
        "    mineral: ndpr_oxide\n"
        "    contracts:\n"
        "      - region: JPN\n"
        "        contract: {name: x, buyer: JPN, seller: AUS, mineral: lithium_carbonate,\n"
        "                   volume_t_per_year: 60, start: 2026-04, end: 2027-12,\n"
        "                   floor_usd_per_kg: 10}\n"
    )
    path = tmp_path / "product.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  - kind: offtake") + 1
    for args in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        res = critmin(*args)
        assert res.returncode == 2, res.stderr
        assert f"product.yaml:{line} field 'instruments[0]'" in res.stderr
        assert "unknown product (offtake) 'lithium_carbonate'" in res.stderr
    assert not (tmp_path / "out").exists()
