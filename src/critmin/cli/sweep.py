"""CLI: ``critmin sweep`` (uncertainty studies on a Dask cluster)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.bounds import (
    MEMORY_LIMIT_HELP,
    check_time_limit,
    format_bytes,
    memory_backstop,
    memory_limit,
    stage,
    time_limit,
)
from critmin.cli import app
from critmin.cli.limits import DEFAULT_TIME_LIMIT_S
from critmin.cli.progress import counting
from critmin.errors import InputError

#: ``critmin sweep --time-limit-s``: a chain of the shipped studies solves in well under a
#: second; an hour is the same bound ``critmin run`` puts on a whole study by default
DEFAULT_SAMPLE_TIME_LIMIT_S = DEFAULT_TIME_LIMIT_S
#: ``--samples``: a million draws take ~8 s and ~0.6 GB to design; 1e8 would not finish
MAX_SAMPLES = 1_000_000
#: ``--workers``: as ``critmin run`` (each worker is a process with its own solver)
MAX_WORKERS = 64


@app.command("sweep")
# long: ten typer options (their help is the --help text) are half of its lines
def sweep(  # noqa: PLR0917 - typer maps each option to a parameter
    study_file: Annotated[Path, typer.Argument(help="study YAML (docs/sweeps.md)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("out/sweep"),
    samples: Annotated[
        int | None,
        typer.Option("--samples", help="samples, 1 .. 1,000,000 (default: the study's sampler)"),
    ] = None,
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler", help="'local' (a LocalCluster) or tcp://HOST:PORT (port 1..65535)"
        ),
    ] = "local",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="LocalCluster worker processes, 1..64; 0: no cluster, the samples run one "
            "after the other in this process (same table; a crash in the solver ends the "
            "command instead of one worker)",
        ),
    ] = 2,
    resume: Annotated[
        bool, typer.Option("--resume", help="finish an interrupted sweep: missing batches only")
    ] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="write report.html")] = True,
    export_sample: Annotated[
        int | None,
        typer.Option(
            "--export-sample",
            help="print sample N's scenario YAML and exit (0 .. samples - 1)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json on stdout")] = False,
    time_limit_s: Annotated[
        float,
        typer.Option(
            "--time-limit-s",
            help="seconds for reading and checking the study, and for each chain of each "
            "sample (building and checking its scenario, compiling and solving the chain), "
            "0 (no limit) .. 1e7; a sample over it is reported failed with the time-limit "
            "message, the others go on",
        ),
    ] = DEFAULT_SAMPLE_TIME_LIMIT_S,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="validate the study (its base, paths, outcomes, its size against the memory "
            "limit, and the scenarios of every lever value and of the lowest and highest "
            "sampled values) and exit without running or writing anything",
        ),
    ] = False,
    memory_limit_gib: Annotated[
        float | None, typer.Option("--memory-limit-gib", help=MEMORY_LIMIT_HELP)
    ] = None,
) -> None:
    """Run a study's samples on a Dask cluster (or in this process: --workers 0); write
    OUT/samples.parquet, summary.json, report.html."""
    # the estimates refuse a too-large input up front; the OS backstop catches what they miss
    with memory_limit(memory_limit_gib) as limit_gib, memory_backstop(limit_gib):
        _sweep(
            study_file,
            out,
            samples=samples,
            scheduler=scheduler,
            workers=workers,
            resume=resume,
            report=report,
            export_sample=export_sample,
            as_json=as_json,
            time_limit_s=time_limit_s,
            check=check,
        )


def _sweep(
    study_file: Path,
    out: Path,
    *,
    samples: int | None,
    scheduler: str,
    workers: int,
    resume: bool,
    report: bool,
    export_sample: int | None,
    as_json: bool,
    time_limit_s: float,
    check: bool,
) -> None:
    from critmin.fileio import check_output_dir
    from critmin.scenarios.cluster import check_scheduler
    from critmin.scenarios.sweep import sample_scenario_yaml
    from critmin.scenarios.sweep.driver import in_process

    # every option is checked before the study is read or a cluster started (issue 13)
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"--samples {samples}: expected a whole number from 1 to {MAX_SAMPLES:,}")
    if not 0 <= workers <= MAX_WORKERS:
        raise InputError(
            f"--workers {workers}: expected a whole number from 0 (in this process) to "
            f"{MAX_WORKERS}"
        )
    check_scheduler(scheduler)
    in_process(scheduler, workers)  # --workers 0 with a scheduler's address is refused
    check_time_limit(time_limit_s)
    if check and export_sample is not None:
        raise InputError("give --check or --export-sample, not both")
    if export_sample is None and not check:
        check_output_dir(out)  # a bad --out fails now, not after the samples are solved
    loaded, size, checked = _read_study(
        study_file, samples, workers if scheduler == "local" else 1, check, time_limit_s, as_json
    )
    if check:
        typer.echo(
            f"{study_file}: ok - study {loaded.study.name!r}, {size.scenarios:,} scenario(s) x "
            f"{size.policies:,} polic{'y' if size.policies == 1 else 'ies'} = "
            f"{size.samples:,} sample(s), {size.months:,} months, "
            f"{len(loaded.study.outcomes)} outcome(s); {checked} bounding scenarios valid, "
            "sample 0 solved over its first month; "
            f"about {format_bytes(size.bytes)} of memory"
        )
        return
    if export_sample is not None:
        try:
            typer.echo(sample_scenario_yaml(loaded, export_sample, samples), nl=False)
        except ValueError as exc:
            raise InputError(f"--export-sample: {exc}") from None
        return
    from critmin.facade import sweep as run_and_write

    with counting("sweep", "samples", quiet=as_json) as on_batch:
        done = run_and_write(
            loaded,
            out,
            samples=samples,
            scheduler=scheduler,
            workers=workers,
            resume=resume,
            report=report,
            on_batch=on_batch,
            time_limit_s=time_limit_s,
        )
    summary, written = done.summary, done.written
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    # piped output gets a fixed width that holds outcome names and their intervals (rich would
    # otherwise cut names and wrap every figure at 80 columns), as `critmin run` does
    console = Console() if sys.stdout.isatty() else Console(width=120)
    _print(summary, console)
    console.print("wrote " + ", ".join(str(p) for p in written))


def _read_study(  # noqa: PLR0917 - the options it reads
    study_file: Path,
    samples: int | None,
    workers: int,
    check: bool,
    time_limit_s: float,
    quiet: bool,
) -> tuple[Any, Any, int]:
    """Read and check the study: ``(loaded, size, scenarios --check built)``, with a
    ``stockpile_rules`` policy solved. This gets one --time-limit-s budget, as a sample does:
    a huge valid study or base scenario is refused in time, in one line
    (docs/robustness.md)."""
    from critmin.scenarios.sweep import load_study_file
    from critmin.scenarios.sweep.driver import check_sweep_size

    with (
        stage(
            "reading and checking the study",
            where=str(study_file),
            hint="make the study or its base scenario smaller",
        ),
        time_limit(time_limit_s, interrupt=True),
    ):
        loaded = load_study_file(study_file)
        # an enormous valid study (a grid of 1e20 policies, a million samples of monthly
        # outcomes) is refused here, before its design is built (issue 13)
        size = check_sweep_size(loaded, samples, workers)
        loaded = _prepared(loaded, quiet=quiet)
        if not check:
            return loaded, size, 0
        from critmin.scenarios.sweep.evaluate import check_samples

        return loaded, size, check_samples(loaded, samples)


def _prepared(loaded: Any, *, quiet: bool) -> Any:
    """The study with its stockpile policy solved (``stockpile_rules``: the DP's market
    runs, a progress bar on a terminal); other studies as they are."""
    from critmin.scenarios.sweep import prepare_study

    if loaded.study.stockpile_rules is None:
        return loaded
    with counting("stockpile policy: market runs", quiet=quiet) as on_run:
        return prepare_study(loaded, on_run=on_run)


def _fmt(x: float) -> str:
    """4 significant digits with a k/M/G/T suffix: 16,580 -> 16.58k."""
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


def _print(summary: dict[str, Any], console: Console) -> None:
    b = summary["batches"]
    console.print(
        f"{summary['study']}: {summary['samples']} samples ({summary['samples_failed']} failed), "
        f"{b['computed']} batches computed, {b['reused']} reused"
        + (", stopped early (standard-error target met)" if summary["stopped_early"] else "")
    )
    for fail in summary["failed"][:10]:
        console.print(f"  failed sample {fail['sample_id']}: {fail['error']}")
    for entry in summary["policies"]:
        levers = ", ".join(
            f"{k} = {v if isinstance(v, str) else _fmt(v)}"
            for k, v in (entry["levers"] or {}).items()
        )
        title = "outcomes" + (f" - policy {levers}" if levers else "")
        table = Table(
            title=title,
            caption="under each percentile: its 95% bootstrap interval; rse: relative standard "
            "error of the mean",
        )
        table.add_column("outcome", no_wrap=True)
        for col in ("P5", "P50", "P95", "mean", "rse"):
            table.add_column(col, justify="right")
        for name, st in entry["outcomes"].items():
            if not st.get("n"):
                table.add_row(name, "-", "-", "-", "-", "-")
                continue
            cells = []
            for q in ("p5", "p50", "p95"):
                ci = st.get(q + "_ci95")
                cells.append(_fmt(st[q]) + (f"\n[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""))
            rse = st.get("rse")
            table.add_row(name, *cells, _fmt(st["mean"]), "-" if rse is None else f"{rse:.2%}")
        console.print(table)
        imp = entry.get("disruptions")
        if imp and "events" in imp:
            _print_impacts(imp, console)
    if summary.get("stockpile_rules"):
        _print_rules(summary["stockpile_rules"], console)


def _print_rules(cmp: dict[str, Any], console: Console) -> None:
    """The stockpile rules on the same scenarios (docs/sweeps.md)."""
    st = cmp["stock"]
    table = Table(
        title=f"stockpile rules on the same samples - {st['region']} {st['product']} "
        f"({cmp['policy_file']})",
        caption="cost: discounted usd over the path (buyers' loss + stock trade + storage); "
        "vs: mean paired difference [95% bootstrap interval], negative = cheaper; "
        "DP: the policy file's own expected cost",
    )
    for col in ("rule", "mean cost", "vs optimal", "vs no stock", "< optimal", "DP cost"):
        table.add_column(col, justify="left" if col == "rule" else "right")

    def diff(d: dict[str, Any] | None) -> str:
        if not d or not d.get("n"):
            return "-"
        return f"{_fmt(d['mean_usd'])}\n[{_fmt(d['ci95_low_usd'])}, {_fmt(d['ci95_high_usd'])}]"

    for e in cmp["rules"]:
        share = e.get("share_cheaper_than_optimal")
        table.add_row(
            e["rule"],
            _fmt(e["mean_cost_usd"]),
            diff(e.get("vs_optimal")),
            diff(e.get("vs_no_stockpile")),
            "-" if share is None else f"{share:.0%}",
            "-" if e.get("dp_expected_cost_usd") is None else _fmt(e["dp_expected_cost_usd"]),
        )
    console.print(table)


def _print_impacts(imp: dict[str, Any], console: Console) -> None:
    names = list(imp["expected_impact"])
    table = Table(title="disruptions: probability x impact (impact = outcome - no disruption)")
    table.add_column("event")
    table.add_column("p/yr", justify="right")
    for n in names:
        table.add_column(n, justify="right")
    for ev in sorted(imp["events"], key=lambda e: -abs(e[names[0]]["p_x_impact"] or 0)):
        table.add_row(
            ev["event"],
            f"{ev['probability']:.3f}",
            *[
                f"{_fmt(ev[n]['impact'] or 0)}\n(p x {_fmt(ev[n]['p_x_impact'] or 0)})"
                for n in names
            ],
        )
    table.add_row(
        "expected impact", "", *[_fmt(imp["expected_impact"][n]) for n in names], style="bold"
    )
    console.print(table)
