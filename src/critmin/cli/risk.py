"""``critmin risk``: concentration and dependency per mineral and stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from critmin.cli import app
from critmin.errors import InputError


def _fmt(value: object, pct: bool = False, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}%" if pct else f"{value:,.{digits}f}"
    return str(value)


@app.command("risk")
def risk_cmd(  # noqa: PLR0917
    minerals: list[str] | None = typer.Argument(  # noqa: B008
        None, help="Minerals or products (default: the core minerals)."
    ),
    stage: str | None = typer.Option(None, "--stage", help="mine, refining, metal, component."),
    bloc: str = typer.Option("forge", "--bloc", help="Bloc for bloc share and import risk."),
    year: int = typer.Option(2024, "--year", help="Production year."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    out: Path | None = typer.Option(  # noqa: B008
        None, "--out", help="Also write risk.json + risk.csv here."
    ),
) -> None:
    """HHI, top producers, China's and the bloc's shares, U.S. import reliance, supply risk."""
    from critmin.catalog.risk import records_table, risk_records, write_records

    if as_json and as_csv:
        raise InputError("--json and --csv are exclusive; pick one", where="critmin risk")
    records = risk_records(minerals or None, stage=stage, bloc=bloc, year=year)
    if out is not None:
        write_records(records, out)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in records], indent=2, allow_nan=False))
        return
    if as_csv:
        records_table(records).to_csv(sys.stdout, index=False)
        return
    table = Table(title=f"Concentration and dependency, {year} (bloc: {bloc})")
    for col in (
        "mineral",
        "stage",
        "HHI",
        "top-1",
        "top-3",
        "China",
        "bloc",
        "US NIR",
        "SR (EU)",
        "import risk",
    ):
        table.add_column(col, justify="left" if col in ("mineral", "stage") else "right")
    for r in records:
        top1 = f"{r.top1_iso3} {_fmt(r.top1_share, pct=True)}" if r.top1_iso3 else "-"
        table.add_row(
            r.mineral,
            r.stage,
            _fmt(r.hhi),
            top1,
            _fmt(r.top3_share, pct=True),
            _fmt(r.china_share, pct=True),
            _fmt(r.bloc_share, pct=True),
            _fmt(r.us_net_import_reliance, pct=True),
            _fmt(r.supply_risk_eu, digits=2),
            _fmt(r.import_risk, digits=4),
        )
    Console().print(table)
    notes = [f"{r.mineral}: {r.note}" for r in records if r.note]
    for note in notes:
        typer.echo(note)
