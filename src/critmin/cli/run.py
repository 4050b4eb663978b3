"""CLI: ``critmin run`` (market equilibrium over months) and ``critmin validate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from critmin.bounds import MEMORY_LIMIT_HELP
from critmin.cli import app
from critmin.cli.limits import DEFAULT_TIME_LIMIT_S, timed
from critmin.errors import InputError

# ``critmin run --time-limit-s`` (DEFAULT_TIME_LIMIT_S, an hour): the shipped studies solve in
# about a second; a valid scenario of 100 years over many chains in minutes


@app.command("run")
# long: eight typer options (their help is the --help text) are 45 of its lines
def run(  # noqa: PLR0917 - typer maps each option to a parameter
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="scenario YAML files or built-in names; none = the NdPr seed study"),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out"),
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json on stdout")] = False,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="scenario the others are compared with (default: the free-trade run if "
            "present, else the first)",
        ),
    ] = None,
    prices: Annotated[
        bool, typer.Option("--prices", help="also print average and peak price per node")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="solve the chains on a Dask cluster: 'local' (a LocalCluster of --workers "
            "processes) or tcp://HOST:PORT; default: in this process",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="LocalCluster worker processes, 1..64")
    ] = 2,
    time_limit_s: Annotated[
        float,
        typer.Option(
            "--time-limit-s",
            help="wall-clock seconds for the whole run (reading and checking the scenarios, "
            "compiling, solving, building and writing the tables), 0 (no limit) .. 1e7; when "
            "spent, the run stops with one line naming the file and the stage (the chain and "
            "month when solving), exit 2, and writes nothing",
        ),
    ] = DEFAULT_TIME_LIMIT_S,
    memory_limit_gib: Annotated[
        float | None, typer.Option("--memory-limit-gib", help=MEMORY_LIMIT_HELP)
    ] = None,
) -> None:
    """Run scenarios; write OUT/summary.json, OUT/series.parquet, OUT/report.html and
    OUT/solves.parquet (how each chain's months were solved)."""
    from critmin.bounds import (
        TimeLimit,
        check_time_limit,
        memory_backstop,
        memory_limit,
        stage,
        time_limit,
    )
    from critmin.facade import load, write
    from critmin.fileio import OutputSet, check_output_dir
    from critmin.scenarios.cluster import check_scheduler
    from critmin.scenarios.loader import DEFAULT_STUDY
    from critmin.scenarios.outcome import RUN_FILES
    from critmin.scenarios.runner import AUTO, sources_line

    check_output_dir(out)  # a bad --out fails now, not after the run
    if not 1 <= workers <= 64:
        raise InputError(f"--workers {workers}: expected a whole number from 1 to 64")
    if scheduler is not None:
        check_scheduler(scheduler)
    check_time_limit(time_limit_s)  # likewise the option's range
    # the budget starts now, as the input is read: reading and checking the files, compiling,
    # solving, building the tables and writing them share it (docs/robustness.md); the timer
    # is off while the lock is taken and while the output set is committed
    budget = TimeLimit(time_limit_s) if time_limit_s > 0 else None
    # an enormous valid study fails at its estimate, before the lock; the OS backstop behind
    # the estimate turns an allocation it missed into one line (docs/robustness.md)
    with memory_limit(memory_limit_gib) as limit_gib, memory_backstop(limit_gib):
        # (each file's reading is a stage of its own; this one names the rest: the estimate)
        with (
            stage("reading and checking the study", where=", ".join(scenarios or DEFAULT_STUDY)),
            time_limit(budget, interrupt=True),
        ):
            study = load(*(scenarios or []))
            study.check_memory()
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
            with (
                stage("running the study", where=sources_line(study.scenarios)),
                time_limit(budget, interrupt=True),
            ):
                with memory_limit(0):  # (checked above)
                    result = study.run(
                        baseline=AUTO if baseline is None else baseline,
                        on_month=lambda _m: progress.advance(task),
                        scheduler=scheduler,
                        workers=workers,
                    )
                with stage("writing the outputs", where=str(out), hint="make the study smaller"):
                    write(result, outs)
        written = outs.written
        summary = result.summary
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        # piped output gets a fixed width wide enough for three scenarios side by side (rich
        # would otherwise wrap every label at 80 columns)
        console = Console() if sys.stdout.isatty() else Console(width=160)
        _print_policy(console, summary)
        if prices:
            _print_prices(console, summary)
        console.print("wrote " + ", ".join(str(p) for p in written))


def _print_policy(console: Console, summary: dict[str, Any]) -> None:
    """The policy figures per scenario and their change against the baseline."""
    from critmin.reports.headline import ceiling_lines, policy_rows

    names, rows = policy_rows(summary)
    first = summary["scenarios"][0]["months"]
    base = summary.get("baseline_scenario")
    title = f"policy figures, {first['start']}..{first['end']}"
    if base is not None:
        title += f" (change against {base})"
    table = Table(title=title)
    table.add_column("figure", no_wrap=True)
    for name in names:
        table.add_column(name + (" (baseline)" if name == base else ""), justify="right")
    for row in rows:
        table.add_row(row.label, *row.cells)
    console.print(table)
    for line in ceiling_lines(summary):
        console.print(line, soft_wrap=True)


def _print_prices(console: Console, summary: dict[str, Any]) -> None:
    from critmin.reports import fmt

    for sc in summary["scenarios"]:
        m = sc["metrics"]
        table = Table(
            title=f"{sc['name']}: node prices ({sc['months']['start']}..{sc['months']['end']})"
        )
        table.add_column("product/stage/region")
        table.add_column("average", justify="right")
        table.add_column("peak", justify="right")
        for key, avg in m["avg_price_usd_per_t"].items():
            peak = m["peak_price_usd_per_t"][key]
            unit = fmt.price_unit(max(abs(avg), abs(peak)))
            table.add_row(key, fmt.price(avg, unit), fmt.price(peak, unit))
        console.print(table)


@app.command("validate")
@timed("checking the scenarios", "files", hint="make the scenario smaller")
def validate(
    files: Annotated[list[str], typer.Argument(help="scenario YAML files (or built-in names)")],
) -> None:
    """Check scenario files without running them (one error line naming file, line, field)."""
    from critmin.facade import validate as check

    for ref in files:
        typer.echo(check(ref).line())
