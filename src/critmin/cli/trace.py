"""CLI group ``critmin trace``: import | check | origin | impact (tables, or ``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.cli import app

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


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(_clean(obj), indent=2, default=str))


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


def _load_network(path: Path) -> Any:
    from critmin.trace.epcis import read_epcis

    return read_epcis(path)


def _load_prices(path: Path | None) -> dict[str, float] | None:
    if path is None:
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read prices: {exc}", where=str(path)) from None
    if isinstance(data, dict) and "reference_prices_usd_per_t" in data:
        data = data["reference_prices_usd_per_t"]
    if not isinstance(data, dict):
        raise InputError("expected a mapping product -> USD/t", where=str(path))
    try:
        return {str(k): float(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise InputError("prices must be numbers (USD per tonne)", where=str(path)) from None


@trace_app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="EPCIS 2.0 JSON/JSON-LD, or an RMI CMRT/EMRT/AMRT .xlsx")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="write the network as EPCIS 2.0 JSON-LD")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Import a supply network or a supplier template; summarise it; optionally re-export."""
    from critmin.trace.epcis import write_epcis

    summary: dict[str, Any]
    if file.suffix.lower() in (".xlsx", ".xlsm"):
        from critmin.trace.templates import read_template

        tpl = read_template(file)
        net = tpl.to_network()
        summary = {
            "file": str(file),
            "template": tpl.kind,
            "version": tpl.version,
            "declaration": tpl.declaration,
            "minerals": list(tpl.minerals),
            "smelters": [s.model_dump() for s in tpl.smelters],
            "mines": [m.model_dump() for m in tpl.mines],
            "sourcing": [s.model_dump() for s in tpl.sourcing],
        }
    else:
        net = _load_network(file)
        kinds = Counter(e.kind for e in net.events)
        summary = {
            "file": str(file),
            "facilities": len(net.facilities),
            "lots": len(net.lots),
            "events": dict(sorted(kinds.items())),
            "countries": sorted({f.country for f in net.facilities}),
        }
    if out is not None:
        write_epcis(net, out)
        summary["written"] = str(out)
    if as_json:
        _print_json(summary)
        return
    con = _console()
    if "template" in summary:
        company = summary["declaration"]["company_name"]
        con.print(f"{summary['template']} {summary['version']} from {company}")
        import pandas as pd

        df = pd.DataFrame(summary["smelters"])
        if not df.empty:
            con.print(_table("Smelters and refiners", df[["cid", "metal", "name", "country"]]))
        dm = pd.DataFrame(summary["mines"])
        if not dm.empty:
            con.print(_table("Mines", dm[["mine_id", "metal", "name", "country", "smelter_cid"]]))
    else:
        t = Table(title=f"Network {file.name}")
        t.add_column("item")
        t.add_column("count")
        t.add_row("facilities", str(summary["facilities"]))
        t.add_row("lots", str(summary["lots"]))
        for k, v in summary["events"].items():
            t.add_row(f"{k} events", str(v))
        con.print(t)
    if out is not None:
        con.print(f"written: {out}")


@trace_app.command("check")
def check_cmd(
    network: Annotated[Path, typer.Argument(help="EPCIS 2.0 JSON-LD network")],
    rules: Annotated[Path, typer.Option("--rules", help="rules YAML")],
    on: Annotated[
        str | None, typer.Option("--on", help="check date YYYY-MM-DD (default: today)")
    ] = None,
    tol: Annotated[float, typer.Option("--tol", help="relative mass-balance tolerance")] = 1e-6,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Mass balance + origin rules per lot, with failure chains and tariff treatment.

    Exit code 1 when a violation or a rule failure is found.
    """
    from critmin.trace.rules import evaluate, load_rules

    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        raise InputError(f"--on {on!r} is not a date; expected YYYY-MM-DD") from None
    rs = load_rules(rules)
    report = evaluate(_load_network(network), rs, on=day, tol=tol)
    if as_json:
        _print_json(
            {
                "on": day.isoformat(),
                "ok": report.ok,
                "violations": [v.model_dump() for v in report.violations],
                "results": [r.model_dump() for r in report.results],
                "treatment": report.treatment,
            }
        )
    else:
        con = _console()
        if report.violations:
            import pandas as pd

            dv = pd.DataFrame([v.model_dump() for v in report.violations])
            con.print(
                _table(
                    "Mass-balance violations", dv[["kind", "events", "lots", "message"]].astype(str)
                )
            )
        else:
            con.print("mass balance: no violations")
        df = report.table()
        df = df[df["status"].isin(["pass", "fail"])]
        con.print(_table(f"Rules on {day.isoformat()}", df))
        for r in report.results:
            if r.status == "fail":
                for ch in r.chains:
                    con.print(f"  {r.lot} fails {r.rule}: chain {' -> '.join(ch)}")
    if not report.ok:
        raise typer.Exit(1)


@trace_app.command("origin")
def origin_cmd(
    network: Annotated[Path, typer.Argument(help="EPCIS 2.0 JSON-LD network")],
    lot: Annotated[list[str] | None, typer.Option("--lot", help="lot id(s); default: all")] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices", help="YAML product -> USD/t (or a rules file) for lots without value"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Composition of lots by (stage, country), by mass and by value; mines and refineries."""
    net = _load_network(network)
    res = net.origin(prices_usd_per_t=_load_prices(prices))
    lots = lot or None
    df = res.table(lots)
    facs = {x: res.upstream_facilities(x).to_dict(orient="records") for x in lots or []}
    if as_json:
        _print_json(
            {
                "value_basis_missing_for": res.value_missing,
                "shares": df.to_dict(orient="records"),
                "upstream_facilities": facs,
            }
        )
        return
    con = _console()
    con.print(_table("Origin shares (by stage; share_value blank when values are missing)", df))
    if res.value_missing:
        con.print(
            "value basis unavailable; no value or reference price for: "
            + ", ".join(res.value_missing)
        )
    for x, rows in facs.items():
        import pandas as pd

        con.print(_table(f"Mines and refineries of {x}", pd.DataFrame(rows)))


@trace_app.command("impact")
def impact_cmd(
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
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Who is hit if a facility or a country stops: lots, products, buyers, with shares."""
    rep = _load_network(network).impact(facility=facility, country=country, stage=stage)
    if as_json:
        _print_json(rep.to_dict())
        return
    con = _console()
    con.print(f"If {rep.target} stops:")
    con.print(_table("Affected lots", rep.lots))
    con.print(_table("Affected products", rep.products))
    con.print(_table("Affected buyers", rep.buyers))
