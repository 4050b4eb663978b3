"""Bad input names file, line and field; the ledger is append-only and checks itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from critmin.errors import InputError
from critmin.stockpile import EntryKind, Ledger, LedgerError, load_signals, load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "stockpile"

GOOD = """\
name: toy
holder: {id: h, name: H, region: USA}
start: 2026-01
funding:
  - id: grant
    kind: appropriation
    amount_usd: 1000
    available_from: 2026-01
accounts:
  - mineral: x
    protected_consumption_t_per_year: 12
    acquisition:
      budget_usd: 1000
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_spec_loads(tmp_path: Path) -> None:
    assert load_spec(_write(tmp_path, "s.yaml", GOOD)).accounts[0].mineral == "x"


def test_negative_budget_names_line_and_field(tmp_path: Path) -> None:
    p = _write(tmp_path, "s.yaml", GOOD.replace("budget_usd: 1000", "budget_usd: -5"))
    with pytest.raises(InputError) as exc:
        load_spec(p)
    msg = str(exc.value)
    assert f"{p}:13 field 'accounts[0].acquisition.budget_usd'" in msg
    assert "greater than or equal to 0" in msg
    assert "-5" in msg


def test_unknown_key_and_bad_month(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "s.yaml",
        GOOD.replace("    amount_usd: 1000", "    amount_usd: 1000\n    amout: 3"),
    )
    with pytest.raises(InputError, match=r"s\.yaml:8 field 'funding\[0\]\.amout'"):
        load_spec(p)
    p = _write(tmp_path, "m.yaml", GOOD.replace("start: 2026-01", "start: 2026-13"))
    with pytest.raises(InputError, match=r"m\.yaml:3 field 'start'"):
        load_spec(p)


def test_member_shares_must_sum_to_one(tmp_path: Path) -> None:
    text = GOOD + "members:\n  - {id: a, share: 0.5}\n  - {id: b, share: 0.4}\n"
    with pytest.raises(InputError, match=r":14 field 'members'.*sum to 1, got 0\.9"):
        load_spec(_write(tmp_path, "s.yaml", text))


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"s\.yaml:3: not valid YAML"):
        load_spec(_write(tmp_path, "s.yaml", "name: a\nholder: {id: h\nstart: [\n"))


def test_signals_bad_cell_names_line_and_field(tmp_path: Path) -> None:
    head = "month,mineral,price_usd_per_t,available_supply_t,protected_demand_t\n"
    p = _write(tmp_path, "sig.csv", head + "2026-01,x,100,5,1\n2026-02,x,abc,5,1\n")
    with pytest.raises(InputError, match=r"sig\.csv:3 column 'price_usd_per_t': expected a number"):
        load_signals(p)
    p = _write(tmp_path, "sig2.csv", "month,mineral,price_usd_per_t\n2026-01,x,1\n")
    with pytest.raises(InputError, match=r"sig2\.csv:1: missing column\(s\) available_supply_t"):
        load_signals(p)


def test_cli_bad_input_exits_2_one_line_and_writes_nothing(tmp_path: Path) -> None:
    spec = _write(tmp_path, "s.yaml", GOOD.replace("budget_usd: 1000", "budget_usd: lots"))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from critmin.cli import main; main()",
            "stockpile",
            "simulate",
            str(spec),
            "--signals",
            str(EXAMPLES / "signals_ban_2027.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "s.yaml:13 field 'accounts[0].acquisition.budget_usd'" in lines[0]
    assert not out.exists()


def test_cli_simulate_json_and_outputs(tmp_path: Path) -> None:
    import json

    import pandas as pd

    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from critmin.cli import main; main()",
            "stockpile",
            "simulate",
            str(EXAMPLES / "project_vault.yaml"),
            "--signals",
            str(EXAMPLES / "signals_ban_2027.csv"),
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["balance"]["ok"] is True
    # the ban episode's NdPr shortage is partly met from the stock
    nd = data["accounts"]["ndpr_oxide"]
    assert 0 < nd["shortage_avoided_t"] <= nd["shortage_t"]
    series = pd.read_parquet(out / "series.parquet")
    assert {"stock_inventory", "days_of_cover", "stock_cash"} <= set(series["variable"])
    assert sorted(p.name for p in out.iterdir()) == ["ledger.parquet", "series.parquet"]


def test_ledger_is_append_only_and_corrections_are_entries() -> None:
    led = Ledger()
    fee = led.append(
        month="2026-01", holder="h", account="cash", kind=EntryKind.FEE_IN, cash_cents=500
    )
    assert not hasattr(led, "update")
    assert not hasattr(led, "delete")
    fix = led.reverse(fee.seq, "2026-01", "fee booked twice")
    assert (fix.kind, fix.cash_cents, fix.corrects) == (EntryKind.CORRECTION, -500, 1)
    assert len(led) == 2
    assert led.check_balance().ok
    with pytest.raises(LedgerError, match="already corrected"):
        led.reverse(fee.seq, "2026-01", "again")
    with pytest.raises(LedgerError, match="append-only in time"):
        led.append(month="2025-12", holder="h", account="cash", kind=EntryKind.FEE_IN, cash_cents=1)
    with pytest.raises(LedgerError, match="expected qty > 0, cost >= 0, cash = -cost"):
        led.append(
            month="2026-01",
            holder="h",
            account="x",
            kind=EntryKind.PURCHASE,
            qty_kg=1,
            cash_cents=-5,
        )


def test_check_balance_catches_release_without_acquisition_and_wrong_basis() -> None:
    """Buy 2 t for 300 then 2 t for 500 (cents): FIFO basis of a 3 t release is 300 + 250."""
    led = Ledger()
    led.append(month="2026-01", holder="h", account="cash", kind=EntryKind.FUND_IN, cash_cents=800)
    for cost in (300, 500):
        led.append(
            month="2026-01",
            holder="h",
            account="x",
            kind=EntryKind.PURCHASE,
            qty_kg=2000,
            cash_cents=-cost,
            cost_cents=cost,
        )
    led.append(
        month="2026-02",
        holder="h",
        account="x",
        kind=EntryKind.RELEASE_SALE,
        qty_kg=-3000,
        cash_cents=550,
        cost_cents=-550,
    )
    assert led.check_balance().ok
    led.append(
        month="2026-02",
        holder="h",
        account="x",
        kind=EntryKind.RELEASE_SALE,
        qty_kg=-1000,
        cash_cents=10,
        cost_cents=-10,
    )
    problems = " ".join(led.check_balance().problems)
    assert "recorded cost basis 10 cents, FIFO replay gives 250" in problems
    led.append(
        month="2026-03",
        holder="h",
        account="x",
        kind=EntryKind.RELEASE_SALE,
        qty_kg=-1,
        cash_cents=0,
        cost_cents=0,
    )
    assert "without prior acquisition" in " ".join(led.check_balance().problems)


def test_series_has_the_run_contract_columns_and_old_files_still_read(tmp_path: Path) -> None:
    """The simulation's table has the run-results columns (``product``, not ``mineral``);
    a file of the earlier format (``mineral``, no ``chain``) reads back as the same table."""
    import pandas as pd

    import critmin
    from critmin.market.results import SERIES_COLUMNS
    from critmin.stockpile import simulate

    result = simulate(
        load_spec(EXAMPLES / "project_vault.yaml"),
        load_signals(EXAMPLES / "signals_ban_2027.csv"),
    )
    assert list(result.series.columns) == SERIES_COLUMNS
    assert set(result.series["chain"]) == {""}
    accounts = {a for a in result.series["product"] if a != "all"}
    assert accounts == set(load_spec(EXAMPLES / "project_vault.yaml").minerals)
    result.write(tmp_path / "new")
    old = result.series.drop(columns="chain").rename(columns={"product": "mineral"})
    old.to_parquet(tmp_path / "old.parquet", index=False)
    new_read = critmin.read_series(tmp_path / "new" / "series.parquet")
    old_read = critmin.read_series(tmp_path / "old.parquet")
    pd.testing.assert_frame_equal(old_read, new_read, check_dtype=False)
