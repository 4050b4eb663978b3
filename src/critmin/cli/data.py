"""CLI group ``critmin data``: the embedded, cited dataset (minerals, production, blocs)."""

from __future__ import annotations

import json
import math
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.bounds import YEAR_MAX, YEAR_MIN
from critmin.cli import app
from critmin.cli.limits import timed

data_app = typer.Typer(no_args_is_help=True, help="The embedded, cited critical-minerals dataset.")
app.add_typer(data_app, name="data")


def _console() -> Console:
    return Console(width=160)


def _json_out(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=1, ensure_ascii=False, default=str))


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


@data_app.command("minerals")
def minerals_cmd(
    all_: bool = typer.Option(
        False, "--all", help="Also list aggregates (rare_earths, platinum_group_metals)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Plain JSON on stdout."),
) -> None:
    """The 60 minerals of the 2025 U.S. critical minerals list (and which were on the 2022 list)."""
    from critmin.catalog.minerals import list_minerals

    ms = list_minerals(listed_only=not all_)
    if as_json:
        _json_out([m.model_dump(mode="json") for m in ms])
        return
    table = Table(title=f"{len(ms)} minerals (source: {ms[0].source})")
    for col in ("id", "name", "group", "HS codes", "unit", "2022", "2025"):
        table.add_column(col)
    for m in ms:
        table.add_row(
            m.id,
            m.name,
            m.group,
            " ".join(m.hs_codes),
            m.unit,
            "yes" if m.in_2022_list else "new" if m.in_2025_list else "-",
            "yes" if m.in_2025_list else "-",
        )
    _console().print(table)


def _factor(value: float | None, estimate: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" + (" (est.)" if estimate else "")


@data_app.command("products")
def products_cmd(as_json: bool = typer.Option(False, "--json", help="Plain JSON.")) -> None:
    """Stage products (NdPr oxide, lithium carbonate, ...): parent content, share, yield."""
    from critmin.catalog.minerals import get_mineral, list_products

    ps = list_products()
    if as_json:
        _json_out([p.model_dump(mode="json") for p in ps])
        return
    table = Table(
        title="products: parent content = t of the parent's basis per t of product; "
        "share = of the parent's world output; yield = t product per t parent fed"
    )
    cols = ("id", "mineral", "stage", "name", "HS", "parent content", "share", "yield", "source")
    for col in cols:
        table.add_column(col)
    for p in ps:
        table.add_row(
            p.id,
            p.mineral_id,
            p.stage,
            p.name,
            " ".join(p.hs_codes),
            f"{_factor(p.parent_content_t_per_t, p.parent_content_estimate)} "
            f"{get_mineral(p.mineral_id).unit}",
            _factor(p.share_of_parent_output, p.share_of_parent_output_estimate),
            _factor(p.yield_from_parent, p.yield_from_parent_estimate),
            p.source,
        )
    _console().print(table)


@data_app.command("production")
def production_cmd(
    mineral: str = typer.Argument(..., help="Mineral or product: lithium, REE, ndpr_oxide, ..."),
    stage: str = typer.Option("mine", "--stage", help="mine, refining, metal, component"),
    year: int = typer.Option(
        2024, "--year", min=YEAR_MIN, max=YEAR_MAX, help="Year (USGS: 2023, 2024)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Plain JSON on stdout."),
) -> None:
    """Production by country of one mineral, stage and year, with its source."""
    from critmin.catalog.countries import country_name
    from critmin.catalog.production import production, world_total

    rows = production(mineral, stage, year)
    mid = str(rows["mineral"].iloc[0])
    st = str(rows["stage"].iloc[0])
    total = world_total(mid, st, year)
    if as_json:
        _json_out(
            {
                "mineral": mid,
                "stage": st,
                "year": year,
                "world_total": total,
                "rows": [
                    {
                        "country_iso3": r["country_iso3"],
                        "qty": _num(float(r["qty"])),
                        "share": _num(float(r["share"])),
                        "unit": r["unit"],
                        "withheld": bool(r["withheld"]),
                        "is_estimate": bool(r["is_estimate"]),
                        "source": r["source"],
                        "source_table": r["source_table"],
                        "licence": r["licence"],
                        "note": r["note"],
                    }
                    for r in rows.to_dict("records")
                ],
            }
        )
        return
    unit = str(rows["unit"].iloc[0])
    title = f"{mid} {st} production {year} ({unit})"
    if total is not None:
        title += f"; world total {total:,.6g}"
    table = Table(title=title)
    for col in ("country", "ISO3", "qty", "share", "flags", "source"):
        table.add_column(col)
    for r in rows.to_dict("records"):
        iso = str(r["country_iso3"])
        qty = float(r["qty"])
        flags = ",".join(
            f for f, on in (("withheld", r["withheld"]), ("estimate", r["is_estimate"])) if on
        )
        table.add_row(
            country_name(iso),
            iso,
            "W" if math.isnan(qty) else f"{qty:,.6g}",
            "" if math.isnan(float(r["share"])) else f"{float(r['share']):.1%}",
            flags,
            f"{r['source']} [{r['source_table']}]",
        )
    _console().print(table)


@data_app.command("blocs")
def blocs_cmd(
    bloc: str | None = typer.Argument(None, help="One bloc: forge, usmca, eu27, feoc, us_fta"),
    on: str | None = typer.Option(None, "--on", help="Membership on this date (YYYY-MM-DD)"),
    expand_eu: bool = typer.Option(
        False, "--expand-eu", help="Count EU-27 states as inside FORGE via the EC delegation."
    ),
    as_json: bool = typer.Option(False, "--json", help="Plain JSON on stdout."),
) -> None:
    """Blocs with dated membership (FORGE, USMCA, EU-27, FEOC nations, US FTA partners)."""
    from critmin.catalog.blocs import get_bloc, list_blocs, members

    chosen = [get_bloc(bloc)] if bloc else list_blocs()
    if as_json:
        _json_out(
            [
                {
                    **b.model_dump(mode="json"),
                    "members_on": on,
                    "members": sorted(members(b.id, on, expand_eu=expand_eu)),
                }
                for b in chosen
            ]
        )
        return
    console = _console()
    for b in chosen:
        active = b.delegations(on)
        mem = sorted(members(b.id, on, expand_eu=expand_eu))
        table = Table(
            title=f"{b.name} ({b.id}): {len(active)} memberships in force, "
            f"{len(mem)} member countries — {b.source}"
        )
        for col in ("member", "ISO3", "role", "since", "until"):
            table.add_column(col)
        for m in b.memberships:
            table.add_row(
                m.member_name,
                m.member_iso3,
                m.role,
                m.since.isoformat(),
                m.until.isoformat() if m.until else "",
            )
        console.print(table)


@data_app.command("country")
def country_cmd(
    text: str = typer.Argument(..., help="A country name, ISO2 or ISO3 code"),
    as_json: bool = typer.Option(False, "--json", help="Plain JSON on stdout."),
) -> None:
    """Resolve a country name or code to its ISO3 code."""
    from critmin.catalog.countries import country_name, resolve_country

    iso = resolve_country(text)
    if as_json:
        _json_out({"input": text, "iso3": iso, "name": country_name(iso)})
        return
    typer.echo(f"{iso}  {country_name(iso)}")


def _qty(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


@data_app.command("reconcile")
@timed("reconciling the production data", "wmd_file")
def reconcile_cmd(
    mineral: str = typer.Argument(..., help="A mineral with a World Mining Data table."),
    year: int = typer.Option(
        2023, "--year", min=YEAR_MIN, max=YEAR_MAX, help="Year (USGS: 2023, 2024; WMD to 2024)."
    ),
    wmd_file: str | None = typer.Option(
        None, "--wmd-file", help="World Mining Data SQLite file (or $CRITMIN_WMD_FILE)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Plain JSON on stdout."),
) -> None:
    """USGS and World Mining Data shares side by side; differences over 5 points flagged."""
    from critmin.catalog.wmd import DISAGREEMENT_POINTS, reconcile

    df = reconcile(mineral, year, wmd_file)
    meta = dict(df.attrs)
    recs: list[dict[str, Any]] = [
        {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    for r in recs:
        r["flag"] = bool(r["flag"])
    if as_json:
        _json_out({**meta, "threshold_points": DISAGREEMENT_POINTS, "rows": recs})
        return
    title = (
        f"{meta['mineral']} {meta['stage']} {year}: USGS (world total "
        f"{_qty(meta['usgs_world_total'])} {meta['usgs_unit']}) vs World Mining Data "
        f"'{meta['wmd_table']}' (total {_qty(meta['wmd_total_t'])} t)"
    )
    table = Table(title=title)
    for col in ("ISO3", "USGS qty", "USGS %", "WMD t", "WMD %", "diff pts", ""):
        table.add_column(col, justify="left" if col in ("ISO3", "") else "right")
    for r in recs:
        table.add_row(
            str(r["country_iso3"]),
            "W" if r["usgs_withheld"] else _qty(r["usgs_qty"]),
            "-" if r["usgs_share"] is None else f"{100 * r['usgs_share']:.1f}",
            _qty(r["wmd_qty_t"]),
            f"{100 * float(r['wmd_share'] or 0.0):.1f}",
            "-" if r["diff_points"] is None else f"{r['diff_points']:+.1f}",
            "!" if r["flag"] else "",
        )
    Console().print(table)
    n = sum(bool(r["flag"]) for r in recs)
    typer.echo(
        f"{n} countries differ by more than {DISAGREEMENT_POINTS:g} points (!). Shares are of "
        "each source's own world total; W = withheld by USGS; units may differ by basis "
        "(WMD e.g. Li2O, USGS Li content), shares do not."
    )
