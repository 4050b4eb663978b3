"""CLI: ``critmin run`` (market equilibrium over months) and ``critmin validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.cli import app


@app.command("run")
def run(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="scenario YAML files or built-in names; none = the NdPr seed study"),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json on stdout")] = False,
) -> None:
    """Run scenarios; write OUT/summary.json, OUT/series.parquet and OUT/report.html."""
    from critmin.facade import load, write
    from critmin.fileio import OutputSet, check_output_dir
    from critmin.scenarios.outcome import RUN_FILES

    check_output_dir(out)  # a bad --out fails now, not after the run
    study = load(*(scenarios or []))
    err = Console(stderr=True)
    # the output folder is locked for the whole run: a second run into it is refused at once
    with (
        OutputSet(out, names=RUN_FILES) as outs,
        Progress(
            TextColumn("solving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("market-months"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("run", total=study.market_months)
        result = study.run(on_month=lambda _m: progress.advance(task))
        write(result, outs)
    written = outs.written
    summary = result.summary
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console()
    for sc in summary["scenarios"]:
        m = sc["metrics"]
        table = Table(title=f"{sc['name']} ({sc['months']['start']}..{sc['months']['end']})")
        table.add_column("product/stage/region")
        table.add_column("avg price $/kg", justify="right")
        table.add_column("peak price $/kg", justify="right")
        for key, avg in m["avg_price_usd_per_t"].items():
            table.add_row(
                key, f"{avg / 1000:,.1f}", f"{m['peak_price_usd_per_t'][key] / 1000:,.1f}"
            )
        console.print(table)
        console.print(
            f"unserved {m['unserved_t']:,.0f} t (critical {m['unserved_critical_t']:,.0f} t), "
            f"shortage months {m['shortage_months']}, "
            f"tariff revenue ${m['tariff_revenue_usd']:,.0f}"
        )
    console.print("wrote " + ", ".join(str(p) for p in written))


@app.command("validate")
def validate(
    files: Annotated[list[str], typer.Argument(help="scenario YAML files (or built-in names)")],
) -> None:
    """Check scenario files without running them (one error line naming file, line, field)."""
    from critmin.facade import validate as check

    for ref in files:
        typer.echo(check(ref).line())
