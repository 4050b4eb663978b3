"""CLI group ``contract``: settle an offtake contract on a price series, value its clauses."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.cli import app
from critmin.cli.limits import timed
from critmin.errors import InputError
from critmin.fileio import atomic_write_text, safe_frame_csv

contract_app = typer.Typer(
    no_args_is_help=True, help="Offtake contracts: settlement statements and valuation."
)
app.add_typer(contract_app, name="contract")


def _echo_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def _console() -> Console:
    # wide enough for the statement when piped (rich assumes 80 columns off a terminal)
    return Console(width=None if sys.stdout.isatty() else 150)


# long: typer option declarations (one per flag) are most of it
@contract_app.command("settle")
@timed("settling the contract", "contract_file", "prices")
def settle_cmd(
    *,
    contract_file: Annotated[Path, typer.Argument(help="contract YAML", metavar="CONTRACT")],
    prices: Annotated[
        Path,
        typer.Option("--prices", help="CSV month,price_usd_per_kg[,source]; monthly mean settles"),
    ],
    first: Annotated[
        str | None, typer.Option("--from", help="first month to settle (default: contract start)")
    ] = None,
    through: Annotated[
        str | None,
        typer.Option("--through", help="last month (default: last priced month or contract end)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="also write the statement as CSV")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """The settlement statement month by month: who pays what, and why."""
    from critmin.contracts import load_contract, read_prices, settle  # scipy: on use only

    if out is not None and out.suffix.lower() != ".csv":
        raise InputError(f"expected a .csv output path, got {out.name!r}", where="--out")
    contract = load_contract(contract_file)
    series = read_prices(prices)
    statement = settle(contract, series, first, through)
    if out is not None:
        if out.suffix.lower() != ".csv":
            raise InputError(f"expected a .csv output path, got {out.name!r}", where="--out")
        # party names and explanations come from the contract file: a cell such as
        # ``=cmd|' /C calc'!A0`` is written as text, not as a formula (safe_frame_csv)
        atomic_write_text(out, safe_frame_csv(statement.to_frame(), index=False))
    if as_json:
        _echo_json(statement.to_dict())
        return
    console = _console()
    c = statement.contract
    third = c.payer_of_floor != c.buyer
    columns: list[tuple[str, str]] = [
        ("month", "month"),
        ("t", "volume_t"),
        ("market $/kg", "market_price_usd_per_kg"),
        ("paid $/kg", "effective_price_usd_per_kg"),
        ("market value", "market_value_usd"),
        ("floor top-up", "floor_topup_usd"),
    ]
    if c.upside_share is not None:
        columns.append(("upside to buyer", "upside_share_usd"))
    if c.cap_usd_per_kg is not None:
        columns.append(("cap rebate", "cap_rebate_usd"))
    columns.append(("buyer pays", "buyer_pays_usd"))
    if third:
        columns.append((f"{c.payer_of_floor} pays", "floor_payer_pays_usd"))
    columns.append(("seller gets", "seller_receives_usd"))
    table = Table(
        title=f"{c.name}: {c.seller} -> {c.buyer}, floor top-up paid by {c.payer_of_floor}",
        title_justify="left",
    )
    for label, _ in columns:
        table.add_column(label, justify="left" if label == "month" else "right")

    def fmt(key: str, value: Any) -> str:
        if key == "month":
            return str(value)
        if key.endswith("_per_kg"):
            return f"{value:.2f}"
        if key == "volume_t":
            return f"{value:,.1f}"
        return f"{value:,.0f}"

    for line in statement.lines:
        table.add_row(*(fmt(key, getattr(line, key)) for _, key in columns))
    tot = statement.totals()
    table.add_row(
        *(
            "total" if key == "month" else (fmt(key, tot[key]) if key in tot else "")
            for _, key in columns
        ),
        style="bold",
    )
    console.print(table)
    console.print("Money in USD. Each month explained:")
    for line in statement.lines:
        console.print(f"  {line.month}: {line.explanation}", highlight=False)


#: most Monte Carlo paths: memory grows ~20 bytes a path, time ~2 s a million; 10 million
#: (~0.2 GB, a minute or two) is far past where the standard error stops mattering
MAX_PATHS = 10_000_000
MAX_USD_PER_KG = 1e6


def _in_range(option: str, value: float | None, lo: float, hi: float, lo_open: bool) -> None:
    if value is None:
        return
    low_ok = value > lo if lo_open else value >= lo
    if not (math.isfinite(value) and low_ok and value <= hi):
        sign = "<" if lo_open else "<="
        raise InputError(
            f"expected {lo:g} {sign} {option.lstrip('-')} <= {hi:,.0f}, got {value:g}",
            where=option,
        )


def _check_value_options(
    *,
    vol: float,
    rate: float,
    forward: float | None,
    threshold: float | None,
    paths: int,
    seed: int,
) -> None:
    """Refuse options outside the ranges ``--help`` states (NaN and inf included)."""
    _in_range("--vol", vol, 0, 5, lo_open=True)
    _in_range("--rate", rate, -1, 1, lo_open=False)
    _in_range("--forward-usd-per-kg", forward, 0, MAX_USD_PER_KG, lo_open=True)
    _in_range("--threshold", threshold, 0, MAX_USD_PER_KG, lo_open=True)
    if not 0 <= paths <= MAX_PATHS:
        raise InputError(f"expected 0 <= paths <= {MAX_PATHS:,}, got {paths:,}", where="--paths")
    if not 0 <= seed < 2**63:
        raise InputError(f"expected 0 <= seed < 2**63, got {seed}", where="--seed")


# long: typer option declarations (one per flag) are most of it
@contract_app.command("value")
@timed("valuing the contract", "contract_file", "curve")
def value_cmd(
    *,
    contract_file: Annotated[Path, typer.Argument(help="contract YAML", metavar="CONTRACT")],
    vol: Annotated[
        float, typer.Option("--vol", help="annual volatility sigma, e.g. 0.35 (0 < vol <= 5)")
    ],
    rate: Annotated[
        float,
        typer.Option("--rate", help="continuously compounded rate, e.g. 0.04 (-1 <= rate <= 1)"),
    ],
    forward: Annotated[
        float | None,
        typer.Option(
            "--forward-usd-per-kg", help="flat forward price F (USD/kg, 0 < F <= 1,000,000)"
        ),
    ] = None,
    curve: Annotated[
        Path | None,
        typer.Option("--curve", help="forward curve CSV month,forward_usd_per_kg (instead of F)"),
    ] = None,
    paths: Annotated[
        int,
        typer.Option(
            "--paths",
            help=f"Monte Carlo paths, 0..{MAX_PATHS:,} (0: closed form only; ~20 MB and "
            "~2 s per million on a laptop)",
        ),
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed (0 <= seed < 2**63)")] = 0,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="valuation month YYYY-MM (default: contract start)"),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="override/add the upside threshold (USD/kg, 0 < threshold <= 1,000,000)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="plain JSON on stdout")] = False,
) -> None:
    """Value the floor and sharing legs (Black-76 strips + Monte Carlo), zero-cost share."""
    if (forward is None) == (curve is None):
        raise InputError(
            "give exactly one of --forward-usd-per-kg F or --curve CURVE.csv",
            where="contract value",
        )
    _check_value_options(
        vol=vol, rate=rate, forward=forward, threshold=threshold, paths=paths, seed=seed
    )
    from critmin.contracts import load_contract, value_contract  # scipy: on use only
    from critmin.contracts.prices import read_forward_curve

    contract = load_contract(contract_file)
    fwd: float | dict[str, float] = read_forward_curve(curve) if curve else float(forward or 0)
    val = value_contract(
        contract,
        fwd,
        vol,
        rate,
        paths=paths,
        seed=seed,
        as_of=as_of,
        threshold_usd_per_kg=threshold,
    )
    if as_json:
        _echo_json(val.to_dict())
        return
    console = _console()
    table = Table(
        title=(
            f"{val.contract}: {val.months} months from {val.as_of}, {val.volume_t:,.0f} t; "
            f"F {val.forward_usd_per_kg_mean:.2f} $/kg, vol {vol:g}, r {rate:g}"
        ),
        title_justify="left",
    )
    table.add_column("leg (USD, value to the seller)")
    table.add_column("Black-76 strip", justify="right")
    table.add_column("Monte Carlo", justify="right")
    table.add_column("MC std. error", justify="right")
    mc = val.monte_carlo
    rows = [
        ("floor (long puts)", val.floor_value_usd, "floor_value_usd", "floor_se_usd"),
        ("sharing (short calls)", val.share_value_usd, "share_value_usd", "share_se_usd"),
        ("cap (short calls)", val.cap_value_usd, "cap_value_usd", "cap_se_usd"),
        ("net = floor - sharing - cap", val.net_value_usd, "net_value_usd", "net_se_usd"),
    ]
    for label, closed, mc_key, se_key in rows:
        table.add_row(
            label,
            f"{closed:,.0f}",
            f"{getattr(mc, mc_key):,.0f}" if mc else "-",
            f"{getattr(mc, se_key):,.0f}" if mc else "-",
        )
    console.print(table)
    zc = "none in [0, 1]" if val.zero_cost_share is None else f"{val.zero_cost_share:.4f}"
    console.print(f"zero-cost buyer share: {zc} ({val.zero_cost_note})", highlight=False)
    if mc:
        console.print(
            f"Monte Carlo: {mc.paths:,} paths, seed {mc.seed}, antithetic, forward control variate",
            highlight=False,
        )
