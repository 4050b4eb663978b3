"""``critmin exposure BOM.yaml``: annual tonnage, sourcing, risk and cost of a BOM."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from critmin.bounds import YEAR_MAX, YEAR_MIN
from critmin.cli import app
from critmin.cli.limits import timed
from critmin.errors import InputError


def _console() -> Console:
    # wide enough for product names and sourcing rows when piped (rich assumes 80 columns)
    return Console(width=None if sys.stdout.isatty() else 160)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# long: typer option declarations (one per flag) are most of it
@app.command("exposure")
@timed("computing the exposure of the bill of materials", "bom")
def exposure_cmd(  # noqa: PLR0917
    bom: Path = typer.Argument(  # noqa: B008
        ..., help="Bill of materials YAML (kg of product per unit)."
    ),
    units_per_year: float | None = typer.Option(
        None,
        "--units-per-year",
        help="Units made per year, 0 < units <= 1e12 (default: the BOM's).",
    ),
    bloc: str = typer.Option("forge", "--bloc", help="Bloc for bloc share and import risk."),
    year: int | None = typer.Option(
        None, "--year", min=YEAR_MIN, max=YEAR_MAX, help="Data year (default: the BOM's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    top: int = typer.Option(
        5, "--top", min=1, max=1000, help="Countries shown per stage in the table."
    ),
) -> None:
    """Per mineral: annual tonnage, where it comes from by country and stage, risk, cost."""
    from critmin.catalog.exposure import exposure

    if units_per_year is not None and not (0 < units_per_year <= 1e12):  # NaN fails too
        raise InputError(
            f"expected 0 < units-per-year <= 1e12, got {units_per_year:g}", where="--units-per-year"
        )
    result = exposure(bom, units_per_year=units_per_year, bloc=bloc, year=year)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, allow_nan=False, default=str))
        return
    console = _console()
    lines = Table(
        title=f"{result.bom}: {result.units_per_year:,.0f} {result.unit}/yr, "
        f"{result.year} reference prices"
    )
    cols = ("product", "mineral", "kg/unit", "t/yr", "contained t/yr", "input t/yr")
    for col in (*cols, "USD/t", "USD/yr"):
        lines.add_column(col, justify="left" if col in ("product", "mineral") else "right")
    notes: list[str] = []
    for x in result.lines:
        price = _num(x.price_usd_per_t, 0)
        if x.price_note:
            notes.append(f"{x.product}: {x.price_note}")
            price += " (est.)" if x.price_estimate else ""
        lines.add_row(
            x.product + (" (est.)" if x.estimate else ""),
            x.mineral,
            _num(x.kg_per_unit, 4),
            _num(x.annual_product_t, 1),
            f"{_num(x.annual_mineral_t, 1)} {x.mineral_unit}",
            f"{_num(x.annual_mineral_input_t, 1)} {x.mineral_unit}",
            price,
            _num(x.annual_cost_usd, 0),
        )
    console.print(lines)
    console.print(f"total priced cost: USD {_num(result.total_cost_usd, 0)} per year")
    for note in notes:
        console.print(f"  price {note}")
    src = Table(
        title=f"Sourcing (top {top} countries per stage, pro rata world production; "
        "own stage in t of product, upstream in t of the parent basis fed)"
    )
    for col in ("product", "basis", "stage", "unit", "countries (share, t/yr)"):
        src.add_column(col)
    df = result.sourcing
    if not df.empty:
        keys = ["product", "basis", "stage", "unit"]
        for (product, basis, stage, unit), group in df.groupby(keys, sort=False):
            g = group.sort_values("share", ascending=False).head(top)
            text = ", ".join(
                f"{c} {s * 100:.0f}% {q:,.1f}"
                for c, s, q in zip(g["country_iso3"], g["share"], g["qty_t"], strict=True)
            )
            src.add_row(str(product), str(basis), str(stage), str(unit), text)
    console.print(src)
    risk = Table(title=f"Risk (bloc {result.bloc})")
    for col in ("mineral", "stage", "HHI", "China", "bloc", "US NIR", "SR (EU)", "import risk"):
        risk.add_column(col)
    for r in result.risk:

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v * 100:.1f}%"

        risk.add_row(
            r.mineral,
            r.stage,
            _num(r.hhi, 0),
            pct(r.china_share),
            pct(r.bloc_share),
            pct(r.us_net_import_reliance),
            _num(r.supply_risk_eu, 2),
            _num(r.import_risk, 4),
        )
    console.print(risk)
