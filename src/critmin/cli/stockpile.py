"""CLI group ``stockpile``: simulate a stockpile over monthly signals; print its ledger."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from critmin.cli import app
from critmin.cli.limits import timed

if TYPE_CHECKING:
    from critmin.stockpile import StockpileResult

sub = typer.Typer(no_args_is_help=True, help="Strategic stockpiles: accounts, rules, ledger.")
app.add_typer(sub, name="stockpile")

SPEC_ARG = typer.Argument(..., help="Stockpile spec YAML (see docs/stockpile.md).")
SIGNALS_OPT = typer.Option(..., "--signals", help="Monthly market signals CSV.")
OUT_OPT = typer.Option(None, "--out", help="Write ledger.parquet and series.parquet here.")
SCENARIO_OPT = typer.Option(None, "--scenario", help="Scenario name in the series.")
JSON_OPT = typer.Option(False, "--json", help="Print metrics as JSON on stdout.")
CSV_OPT = typer.Option(False, "--csv", help="Print the whole ledger as CSV on stdout.")
LIMIT_OPT = typer.Option(40, "--limit", min=0, max=10**9, help="Rows shown in the table (0 = all).")


def _run(spec_path: Path, signals_path: Path, scenario: str | None) -> StockpileResult:
    from critmin.stockpile import load_signals, load_spec, simulate

    spec = load_spec(spec_path)
    signals = load_signals(signals_path)
    return simulate(spec, signals, scenario=scenario)


def _clean(obj: object) -> object:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


@sub.command("simulate")
@timed("simulating the stockpile", "spec", "signals")
def simulate_cmd(
    spec: Path = SPEC_ARG,
    signals: Path = SIGNALS_OPT,
    out: Path | None = OUT_OPT,
    scenario: str | None = SCENARIO_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Run SPEC month by month over SIGNALS: days of cover, cost, shortage avoided."""
    from critmin.fileio import OutputSet, check_output_dir

    if out is not None:
        check_output_dir(out)  # a bad --out fails before the run
    result = _run(spec, signals, scenario)
    written: dict[str, str] = {}
    if out is not None:
        # one output set: ledger and series appear together or not at all
        with OutputSet(out, names=("ledger.parquet", "series.parquet")) as outs:
            assert outs.staging is not None
            result.write(outs.staging)
        written = {p.name: str(p) for p in outs.written}
    if as_json:
        payload = dict(result.metrics)
        payload["written"] = written
        sys.stdout.write(json.dumps(_clean(payload), indent=2) + "\n")
        return
    console = Console()
    m = result.metrics
    months = m["months"]
    assert isinstance(months, dict)
    table = Table(title=f"stockpile {result.scenario} ({months['start']}..{months['end']})")
    for col in (
        "account",
        "inventory t",
        "days of cover",
        "bought t",
        "spent usd",
        "released t",
        "shortage avoided t",
        "usd per day of cover",
    ):
        table.add_column(col, justify="left" if col == "account" else "right")
    accounts = m["accounts"]
    assert isinstance(accounts, dict)
    for mineral, a in accounts.items():
        cpd = a["cost_per_day_of_cover_usd"]
        table.add_row(
            mineral,
            f"{a['inventory_t']:,.1f}",
            f"{a['days_of_cover']:,.1f}",
            f"{a['purchased_t']:,.1f}",
            f"{a['purchase_cost_usd']:,.0f}",
            f"{a['released_t']:,.1f}",
            f"{a['shortage_avoided_t']:,.1f} of {a['shortage_t']:,.1f}",
            "-" if cpd is None else f"{cpd:,.0f}",
        )
    console.print(table)
    bal = result.balance
    console.print(
        f"cash {m['cash_usd']:,.2f} usd, debt {m['debt_usd']:,.2f} usd, interest "
        f"{m['interest_usd']:,.2f} usd, fees {m['fees_received_usd']:,.2f} usd; "
        f"{m['ledger_entries']} ledger entries"
    )
    verdict = "balanced" if bal.ok else "NOT BALANCED: " + "; ".join(bal.problems)
    console.print(
        f"ledger check: {verdict} (money in {bal.money_in_cents / 100:,.2f} = out "
        f"{bal.money_out_cents / 100:,.2f} + stock at cost "
        f"{bal.stock_at_cost_total_cents / 100:,.2f} + cash {bal.cash_cents / 100:,.2f})"
    )
    for name, where in written.items():
        console.print(f"wrote {name}: {where}")
    if not bal.ok:
        raise typer.Exit(1)


@sub.command("ledger")
@timed("simulating the stockpile", "spec", "signals")
def ledger_cmd(
    spec: Path = SPEC_ARG,
    signals: Path = SIGNALS_OPT,
    as_csv: bool = CSV_OPT,
    limit: int = LIMIT_OPT,
) -> None:
    """Print the append-only ledger of SPEC run over SIGNALS."""
    result = _run(spec, signals, None)
    df = result.ledger.to_frame()
    if as_csv:
        from critmin.fileio import safe_frame_csv

        sys.stdout.write(safe_frame_csv(df, index=False))
        return
    shown = df if limit <= 0 else df.head(limit)
    table = Table(title=f"ledger {result.scenario}: {len(df)} entries")
    for col in ("seq", "month", "account", "kind", "qty t", "cash usd", "counterparty", "reason"):
        table.add_column(col)
    for r in shown.itertuples(index=False):
        table.add_row(
            str(r.seq),
            str(r.month),
            str(r.account),
            str(r.kind),
            f"{r.qty_t:,.3f}",
            f"{r.amount_usd:,.2f}",
            str(r.counterparty),
            str(r.reason),
        )
    console = Console()
    console.print(table)
    if limit > 0 and len(df) > limit:
        console.print(f"... {len(df) - limit} more (use --limit 0 or --csv)")
    bal = result.balance
    console.print("ledger check: " + ("balanced" if bal.ok else "; ".join(bal.problems)))
