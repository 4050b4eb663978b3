"""``critmin risk``: concentration and dependency per mineral and stage.

The terminal view is two narrow tables (concentration; dependency and risk) and a legend, so
that it reads at 80 columns without cutting a number: every column is sized to its longest
cell and only the mineral name may wrap. JSON and CSV carry every field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from critmin.bounds import YEAR_MAX, YEAR_MIN
from critmin.cli import app
from critmin.cli.limits import timed
from critmin.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from critmin.catalog.risk import RiskRecord

LEGEND = (
    "Shares are of the USGS world total, as USGS table T5 prints them (sum of the rows where "
    "no world total is published).",
    "HHI: Herfindahl-Hirschman index 0-10,000 of the named countries' shares; 'unalloc.' is the "
    "rest of the world total (USGS 'Other countries', withheld 'W' countries, rounding), "
    "counted as many small producers; JSON hhi_upper counts it as one.",
    "top-1 / top-3: largest named producer(s); China: CHN's share; bloc: the share of the "
    "importer seen from (--bloc, --importer or --members).",
    "US NIR: U.S. net import reliance, USGS MCS 2025 (0-100 %).",
    "SR (EU): EU-style supply risk 0-10 = sum of share^2 x WGI political instability (0-10); "
    "global supply only, the other EU terms neutral: docs/risk.md.",
    "import risk: GeoPolRisk score 0-1 = HHI/10,000 x import term (imports weighted by the "
    "exporters' WGI instability over domestic production + imports; CEPII BACI trade): "
    "docs/risk.md.",
    "unalloc. < 0: the named rows add up to more than the rounded USGS world total.",
    "* the figure rests on a catalog estimate (JSON field 'estimates' says which; it also "
    "lists USGS's own preliminary estimates of the latest year, not starred here). "
    "'-': no data (null in JSON), never a made-up value.",
)


def _pct(value: float | None, estimate: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" + ("*" if estimate else "")


def _num(value: float | None, digits: int, estimate: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" + ("*" if estimate else "")


def _make_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], wrap_first: bool = True
) -> object:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for i, col in enumerate(columns):
        width = max([len(col), *(len(r[i]) for r in rows)])
        if i == 0 and wrap_first:
            # names may wrap (fold) on a narrow terminal; numbers never do
            table.add_column(col, overflow="fold", min_width=min(width, 10))
        else:
            table.add_column(
                col,
                justify="left" if i < 2 else "right",
                no_wrap=True,
                min_width=width,
                overflow="ignore",
            )
    for r in rows:
        table.add_row(*r)
    # every column at its widest cell plus one space each side, names folded to 10 characters
    widths = [max([len(col), *(len(r[i]) for r in rows)]) for i, col in enumerate(columns)]
    if wrap_first and widths:
        widths[0] = min(widths[0], 10)
    table.critmin_min_width = sum(widths) + 3 * len(widths) + 2  # type: ignore[attr-defined]
    return table


def _print_table(con: Console, table: object) -> None:
    """Print without cutting: on a terminal narrower than the table's minimum width the table
    is laid out at that minimum (the terminal wraps the lines) instead of rich truncating
    cells."""
    from rich.console import Console as _Console

    need = int(getattr(table, "critmin_min_width", 0))
    if need > con.width:
        con = _Console(width=need, file=con.file, no_color=con.no_color)
    con.print(table)


# long: one column per field of the 80-column table, with its legend beside it
def print_risk_table(
    records: Sequence[RiskRecord],
    *,
    year: int,
    bloc: str,
    intra_bloc: str = "as-domestic",
    console: Console | None = None,
) -> None:
    """The terminal view of ``critmin risk``: two tables, the sources and a legend."""
    from rich.console import Console

    con = console or Console()
    sources: list[str] = []

    def src_keys(parts: Sequence[str]) -> str:
        keys = []
        for part in parts:
            if part not in sources:
                sources.append(part)
            keys.append(str(sources.index(part) + 1))
        return ",".join(keys) or "-"

    conc, dep = [], []
    for r in records:
        est = "production rows" in r.estimates or "world total" in r.estimates
        top1 = f"{r.top1_iso3} {_pct(r.top1_share)}" if r.top1_iso3 else "-"
        if est and r.top1_iso3:
            top1 += "*"
        conc.append(
            [
                r.mineral,
                r.stage,
                _num(r.hhi, 0, est),
                top1,
                _pct(r.top3_share, est),
                _pct(r.china_share, est),
                _pct(r.unallocated_share, est),
            ]
        )
        dep.append(
            [
                r.mineral,
                r.stage,
                _pct(r.bloc_share, est),
                _pct(r.us_net_import_reliance),
                _num(r.supply_risk_eu, 2, est),
                _num(r.import_risk, 4, any(e.startswith("import_risk") for e in r.estimates)),
                src_keys(r.sources),
            ]
        )
    basis = "USGS world total"
    _print_table(
        con,
        _make_table(
            f"Concentration {year} (shares of the {basis})",
            ("mineral", "stage", "HHI", "top-1", "top-3", "China", "unalloc."),
            conc,
        ),
    )
    _print_table(
        con,
        _make_table(
            f"Dependency and risk {year} (seen from {bloc}; intra-bloc {intra_bloc})",
            ("mineral", "stage", "bloc", "US NIR", "SR (EU)", "import risk", "src"),
            dep,
        ),
    )
    for i, s in enumerate(sources, 1):
        con.print(f"[{i}] {s}", highlight=False, markup=False)
    for line in LEGEND:
        con.print(line, highlight=False, markup=False)
    unlisted = False
    for r in records:
        # a note that explains a null is printed; the routine "members not listed by USGS
        # count as 0" of a large bloc stays in the JSON and is summarised in one line
        shown = r.import_risk_note if r.import_risk is None else ""
        unlisted |= bool(r.import_risk_note) and r.import_risk is not None
        for note in (r.note, shown):
            if note:
                con.print(f"{r.mineral} ({r.stage}): {note}", highlight=False, markup=False)
    if unlisted:
        con.print(
            "import risk: members USGS does not list as producers count as 0 domestic "
            "production (at most USGS 'Other countries'; JSON import_risk_note).",
            highlight=False,
            markup=False,
        )


# long: typer option declarations (one per flag) are most of it
@app.command("risk")
@timed("computing the risk indicators", "params", "wmd_file")
def risk_cmd(  # noqa: PLR0917
    minerals: list[str] | None = typer.Argument(  # noqa: B008
        None, help="Minerals or products (default: the core minerals)."
    ),
    all_: bool = typer.Option(
        False, "--all", help="Every mineral of the catalog and every product with data."
    ),
    stage: str | None = typer.Option(None, "--stage", help="mine, refining, metal, component."),
    bloc: str | None = typer.Option(
        None, "--bloc", help="Bloc seen from (default forge; a country code means one importer)."
    ),
    importer: str | None = typer.Option(
        None, "--importer", help="One importing country (ISO3), instead of a bloc."
    ),
    members: str | None = typer.Option(
        None, "--members", help="An ad-hoc group of importers: A,B,C (ISO3)."
    ),
    intra_bloc: str = typer.Option(
        "as-domestic",
        "--intra-bloc",
        help="Imports between members: as-domestic (dropped) or as-imports (zero risk, "
        "geopolrisk-py's convention).",
    ),
    year: int = typer.Option(2024, "--year", min=YEAR_MIN, max=YEAR_MAX, help="Production year."),
    source: str = typer.Option(
        "usgs", "--source", help="Production source: usgs (shipped) or wmd (World Mining Data)."
    ),
    wmd_file: Path | None = typer.Option(  # noqa: B008
        None, "--wmd-file", help="World Mining Data SQLite file (or $CRITMIN_WMD_FILE)."
    ),
    method: str = typer.Option(
        "concentration",
        "--method",
        help="concentration (HHI, shares, GeoPolRisk) or eu-crm (the EU supply-risk method).",
    ),
    params: Path | None = typer.Option(  # noqa: B008
        None, "--params", help="YAML file overriding EU-method parameters (with --method eu-crm)."
    ),
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
    if all_ and minerals:
        raise InputError(
            "--all and a list of minerals are exclusive; pick one", where="critmin risk"
        )
    if method not in ("concentration", "eu-crm"):
        raise InputError(
            f"--method {method!r}; expected concentration or eu-crm", where="critmin risk"
        )
    if method == "eu-crm":
        extra = [
            flag
            for flag, given in (
                ("--stage", stage),
                ("--bloc", bloc),
                ("--importer", importer),
                ("--members", members),
                ("--intra-bloc", intra_bloc != "as-domestic"),
                ("--source", source != "usgs"),
                ("--wmd-file", wmd_file),
            )
            if given
        ]
        if extra:
            raise InputError(
                f"--method eu-crm does not take {', '.join(extra)}: it covers both stages, "
                "the EU as importer, USGS production",
                where="critmin risk",
            )
        _eu_crm(minerals, all_, year, params, as_json, as_csv, out)
        return
    if params is not None:
        raise InputError("--params needs --method eu-crm", where="critmin risk")
    if intra_bloc not in ("as-domestic", "as-imports"):
        raise InputError(
            f"--intra-bloc {intra_bloc!r}; expected as-domestic or as-imports",
            where="critmin risk",
        )
    records = risk_records(
        minerals or None,
        stage=stage,
        bloc=bloc,
        year=year,
        all_minerals=all_,
        importer=importer,
        members=members,
        intra_bloc="as-imports" if intra_bloc == "as-imports" else "as-domestic",
        source=source,
        wmd_file=wmd_file,
    )
    if out is not None:
        write_records(records, out)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in records], indent=2, allow_nan=False))
        return
    if as_csv:
        records_table(records).to_csv(sys.stdout, index=False)
        return
    label = records[0].bloc if records else (bloc or "forge")
    print_risk_table(records, year=year, bloc=label, intra_bloc=intra_bloc)


EU_LEGEND = (
    "EU supply risk (European Commission 2017 methodology, 2023 study), per stage st "
    "(E extraction = critmin's mine rows, P processing = refining, else metal):",
    "SR = [GS x IR/2 + EU x (1 - IR/2)] x (1 - EoL) x SI; GS / EU = sum share^2 x WGI(0-10) x t "
    "over global supply / the EU sourcing mix.",
    "IR: EU import reliance (the 2023 study's, per stage; else the non-EU share of EU "
    "sourcing, *); EoL: end-of-life recycling input rate; SI: substitution index (2023 study).",
    "bottleneck: the material's SR, the higher stage. WGI: mean of the six World Bank WGI "
    "dimensions (JSON wgi_basis, wgi_year). * = rests on an estimate (JSON 'estimates').",
)


def _eu_crm(  # noqa: PLR0917  (the eu-crm branch of one command)
    minerals: list[str] | None,
    all_: bool,
    year: int,
    params: Path | None,
    as_json: bool,
    as_csv: bool,
    out: Path | None,
) -> None:
    from rich.console import Console

    from critmin.catalog.eu_crm import eu_crm_records, load_overrides, records_table, write_records

    if as_json and as_csv:
        raise InputError("--json and --csv are exclusive; pick one", where="critmin risk")
    overrides = load_overrides(params) if params is not None else None
    records = eu_crm_records(None if all_ else (minerals or None), year=year, overrides=overrides)
    if out is not None:
        write_records(records, out)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in records], indent=2, allow_nan=False))
        return
    if as_csv:
        records_table(records).to_csv(sys.stdout, index=False)
        return
    rows = []
    for r in records:
        est = "*" if r.estimates else ""
        rows.append(
            [
                r.mineral,
                r.stage,
                _num(r.hhi_wgi_t_gs, 2),
                _num(r.hhi_wgi_t_eu, 2),
                _pct(r.import_reliance),
                f"{r.eol_rir:.2f}",
                f"{r.si_sr:.2f}",
                _num(r.sr, 2, bool(est)),
                f"{_num(r.sr_bottleneck, 2)} {r.bottleneck_stage or ''}".strip(),
            ]
        )
    con = Console()
    _print_table(
        con,
        _make_table(
            f"EU-method supply risk, {year} production",
            ("mineral", "st", "GS", "EU", "IR", "EoL", "SI", "SR", "bottleneck"),
            rows,
        ),
    )
    for line in EU_LEGEND:
        con.print(line, highlight=False, markup=False)
