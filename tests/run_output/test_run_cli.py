"""What `critmin run` prints: policy figures against a chosen baseline, prices on request;
`critmin scenarios list`; a folder named as a scenario."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from critmin.cli import main


def _cli(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_run_prints_policy_figures_against_the_free_trade_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default study: one table of policy figures with the managed market's levy revenue
    and floor cost as in summary.json, changes against baseline_free_trade, no node prices."""
    code, out, err = _cli(["run", "--out", str(tmp_path)], monkeypatch, capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["baseline_scenario"] == "baseline_free_trade"
    managed = summary["scenarios"][2]["metrics"]
    assert "change against baseline_free_trade" in out
    for label in ("physical shortage, t sintered NdFeB magnet", "months of physical shortage",
                  "levy revenue", "floor fiscal cost", "subsidy per tonne kept",
                  "cost to OEMs vs baseline", "days of cover at end"):  # fmt: skip
        assert label in out, label
    levy_m = managed["levy_revenue_usd"] / 1e6
    assert f"${levy_m:.0f}M (+${levy_m:.0f}M)" in out
    assert "curve ceiling" in out  # the ban's magnet prices come from the curves' ceiling
    assert "node prices" not in out
    # No negative zeros in the table ("-0", "$-0M"); the output paths and month labels are
    # taken out first because pytest's temp directory is named pytest-0, pytest-1, ...
    table = out.replace(str(tmp_path), "").replace("2026-0", "").replace("2027-0", "")
    assert "-0" not in table


def test_run_baseline_option_and_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--baseline names the comparison run (summary.json says so); --prices adds node prices
    in their market unit ($/kg for oxide, metal and magnets)."""
    args = ["run", "--out", str(tmp_path), "--baseline", "china_export_ban", "--prices"]
    code, out, err = _cli(args, monkeypatch, capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["baseline_scenario"] == "china_export_ban"
    assert "change against china_export_ban" in out
    assert "baseline_free_trade: node prices" in out
    assert "$48.69/kg" in out  # China's magnet price, 48,690 usd/t (cost chain, see seed study)


def test_unknown_baseline_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    code, _, err = _cli(
        ["run", "--out", str(out_dir), "--baseline", "baseline_free"], monkeypatch, capsys
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "baseline_free_trade" in err
    assert not out_dir.exists()


def test_run_on_a_folder_says_it_is_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(["run", str(tmp_path), "--out", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 2
    assert "is a folder, not a scenario file" in err
    assert err.count("\n") == 1


def test_scenarios_list_shows_the_names_run_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _cli(["scenarios", "list"], monkeypatch, capsys)
    assert code == 0
    for run_name, name in (("ndpr_baseline", "baseline_free_trade"),
                           ("ndpr_china_ban", "china_export_ban"),
                           ("ndpr_managed_market", "managed_market")):  # fmt: skip
        assert run_name in out
        assert name in out
