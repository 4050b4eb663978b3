"""CLI group ``critmin trace``: import | check | origin | impact (tables, or ``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.cli import app
from critmin.cli.limits import timed

if TYPE_CHECKING:  # pandas and yaml are imported by the commands that use them
    import pandas as pd
from critmin.errors import InputError

trace_app = typer.Typer(
    no_args_is_help=True,
    help="Traceability and origin compliance: EPCIS networks, RMI templates, rules, impact.",
)
app.add_typer(trace_app, name="trace")


def _console() -> Console:
    return Console(width=160)


def _print_json(obj: Any) -> None:
    from critmin.trace.service import json_ready

    typer.echo(json.dumps(json_ready(obj), indent=2, default=str))


def _table(title: str, df: pd.DataFrame, floats: str = "{:.4g}") -> Table:
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c))
    for row in df.itertuples(index=False):
        t.add_row(
            *[
                (
                    floats.format(v)
                    if isinstance(v, float) and not math.isnan(v)
                    else ""
                    if v is None or (isinstance(v, float))
                    else str(v)
                )
                for v in row
            ]
        )
    return t


def _rows_table(title: str, rows: list[dict[str, Any]], cols: list[str] | None = None) -> Table:
    import pandas as pd

    df = pd.DataFrame(rows)
    if cols is not None and not df.empty:
        df = df[cols]
    return _table(title, df)


_STRICT = typer.Option(
    "--strict", help="refuse events that carry no material movement instead of counting them"
)


def _print_template_evidence(con: Any, summary: dict[str, Any]) -> None:
    """Three levels of evidence per template field: checked against RMI's blank of this
    revision (silent), confirmed only by a third-party cell map (note), confirmed by nothing
    (warning). Both lines name the fields; --json also gives the third party's files."""
    tpl = f"{summary['template']} {summary['version']}"
    if summary["third_party_checked"]:
        con.print(
            f"note: the cells of {tpl} were not checked against RMI's blank of that "
            "revision; a third-party cell map of it (github.com/cirscn/cm-reporting, "
            "--json: third_party_evidence) confirms: " + ", ".join(summary["third_party_checked"])
        )
    if summary["unverified"]:
        con.print(
            f"warning: the cells of {tpl} were not checked against RMI's blank of that "
            "revision and no third-party map confirms them; read with the layout of its "
            "nearest checked revision: " + ", ".join(summary["unverified"])
        )


@trace_app.command("import")
@timed("importing the file", "file")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="EPCIS 2.0 JSON/JSON-LD, or an RMI CMRT/EMRT/AMRT .xlsx")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="write the network as EPCIS 2.0 JSON-LD")
    ] = None,
    strict: Annotated[bool, _STRICT] = False,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Import a supply network or a supplier template; summarise it; optionally re-export."""
    from critmin.trace.service import import_file

    summary, _ = import_file(file, out=out, strict=strict)
    if as_json:
        _print_json(summary)
        return
    con = _console()
    if "template" in summary:
        company = summary["declaration"]["company_name"]
        con.print(f"{summary['template']} {summary['version']} from {company}")
        if summary["smelters"]:
            con.print(
                _rows_table(
                    "Smelters and refiners",
                    summary["smelters"],
                    ["cid", "metal", "name", "country"],
                )
            )
        if summary["mines"]:
            con.print(
                _rows_table(
                    "Mines",
                    summary["mines"],
                    ["mine_id", "metal", "name", "country", "smelter_cid"],
                )
            )
        for w in summary["warnings"]:
            con.print(f"warning: {w}")
        _print_template_evidence(con, summary)
    else:
        t = Table(title=f"Network {file.name}")
        t.add_column("item")
        t.add_column("count")
        t.add_row("facilities", str(summary["facilities"]))
        t.add_row("lots", str(summary["lots"]))
        t.add_row("events in the document", str(summary["events_total"]))
        for k, v in summary["events"].items():
            t.add_row(f"{k} events (used for origin)", str(v))
        for k, v in summary["events_not_used_for_origin"].items():
            t.add_row(f"not used for origin: {k}", str(v))
        if summary["duplicate_events_ignored"]:
            t.add_row("duplicate events ignored", str(summary["duplicate_events_ignored"]))
        if summary["events_declared_erroneous"]:
            t.add_row("events declared erroneous", str(summary["events_declared_erroneous"]))
        con.print(t)
        if summary["locations_without_master_data"]:
            locs = summary["locations_without_master_data"]
            con.print(
                f"{len(locs)} location(s) used by events have no master data (origin needs "
                "their cbvmda:countryCode and site type): " + ", ".join(locs[:5])
            )
        for w in summary["weights_without_unit"][:10]:
            con.print(f"warning: {w}")
        if summary["lots_counted_without_mass"]:
            con.print(
                "counted in instances with no mass per instance (origin by mass refuses them): "
                + ", ".join(summary["lots_counted_without_mass"][:10])
            )
    if out is not None:
        con.print(f"written: {out}")


@trace_app.command("check")
@timed("checking the network against the rules", "network", "rules")
def check_cmd(  # noqa: PLR0917
    network: Annotated[Path, typer.Argument(help="EPCIS 2.0 JSON-LD network")],
    rules: Annotated[Path, typer.Option("--rules", help="rules YAML")],
    on: Annotated[
        str | None, typer.Option("--on", help="check date YYYY-MM-DD (default: today)")
    ] = None,
    tol: Annotated[
        float, typer.Option("--tol", help="relative mass-balance tolerance, finite, 0..1")
    ] = 1e-6,
    strict: Annotated[bool, _STRICT] = False,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Mass balance + origin rules per lot, with failure chains and tariff treatment.

    Exit code 1 when a violation or a rule failure is found.
    """
    from critmin.trace.service import check

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        raise InputError(f"--on {on!r} is not a date; expected YYYY-MM-DD") from None
    rep = check(network, rules, on=day, tol=tol, strict=strict)
    if as_json:
        _print_json({k: v for k, v in rep.items() if k != "table"})
    else:
        con = _console()
        if rep["violations"]:
            rows = [
                {k: str(v[k]) for k in ("kind", "events", "lots", "message")}
                for v in rep["violations"]
            ]
            con.print(_rows_table("Mass-balance violations", rows))
        else:
            con.print("mass balance: no violations")
        if rep["table"]:
            con.print(_rows_table(f"Rules on {rep['on']}", rep["table"]))
        else:
            con.print(f"rules on {rep['on']}: no lot to check")
        for r in rep["results"]:
            if r["status"] == "fail":
                for ch in r["chains"]:
                    con.print(f"  {r['lot']} fails {r['rule']}: chain {' -> '.join(ch)}")
    if not rep["ok"]:
        raise typer.Exit(1)


@trace_app.command("origin")
@timed("computing the origin of the lots", "network", "prices")
def origin_cmd(
    network: Annotated[Path, typer.Argument(help="EPCIS 2.0 JSON-LD network")],
    lot: Annotated[list[str] | None, typer.Option("--lot", help="lot id(s); default: all")] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices", help="YAML product -> USD/t (or a rules file) for lots without value"
        ),
    ] = None,
    strict: Annotated[bool, _STRICT] = False,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Composition of lots by (stage, country), by mass and by value; mines and refineries."""
    from critmin.trace.service import origin

    res = origin(network, lots=lot, prices=prices, strict=strict)
    if as_json:
        _print_json(res)
        return
    con = _console()
    con.print(
        _rows_table(
            "Origin shares (by stage; share_value blank when values are missing)", res["shares"]
        )
    )
    if res["value_basis_missing_for"]:
        con.print(
            "value basis unavailable; no value or reference price for: "
            + ", ".join(res["value_basis_missing_for"])
        )
    for x, rows in res["upstream_facilities"].items():
        con.print(_rows_table(f"Mines and refineries of {x}", rows))


@trace_app.command("impact")
@timed("computing the impact", "network")
def impact_cmd(  # noqa: PLR0917
    network: Annotated[Path, typer.Argument(help="EPCIS 2.0 JSON-LD network")],
    facility: Annotated[
        str | None, typer.Option("--facility", help="facility id that stops")
    ] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="country that stops (ISO2/ISO3/name)")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="only that stage of the country/facility")
    ] = None,
    strict: Annotated[bool, _STRICT] = False,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Who is hit if a facility or a country stops: lots, products, buyers, with shares."""
    from critmin.trace.service import impact

    rep = impact(network, facility=facility, country=country, stage=stage, strict=strict)
    if as_json:
        _print_json(rep)
        return
    con = _console()
    con.print(f"If {rep['target']} stops:")
    con.print(_rows_table("Affected lots", rep["lots"]))
    con.print(_rows_table("Affected products", rep["products"]))
    con.print(_rows_table("Affected buyers", rep["buyers"]))
