"""CLI: ``critmin stockpile policy`` — the optimal fill-and-release rule of a stockpile.

A stochastic dynamic programme over (stock level, market state) in the manner of Teisberg's
model of the U.S. Strategic Petroleum Reserve, with each state's yearly cost taken from
critmin's own market runs (:mod:`critmin.scenarios.sweep.dp`), compared with the simple
rules on the same sampled market paths. ``--teisberg`` solves the GAMS Model Library's
``MARKOV`` model instead, so that the method can be checked on the published model first.
It registers on the ``stockpile`` group of :mod:`critmin.cli.stockpile`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from critmin.bounds import MEMORY_LIMIT_HELP, format_bytes, memory_backstop, memory_limit
from critmin.cli.limits import timed
from critmin.cli.progress import counting
from critmin.cli.stockpile import sub
from critmin.errors import InputError

#: ``--paths``: as the policy file's ``simulation.paths`` (critmin.scenarios.sweep.dp_file)
MAX_PATHS = 1_000_000

_RULES = {
    "optimal": "by state (table above)",
    "release_on_ban": "fill to {fill}; release all when disrupted",
    "hold": "fill to {fill}; never release",
    "pro_rata": "fill to {fill}; release half when disrupted",
    "hold_60_days": "fill to {fill}; when disrupted keep {cover} ({days:g} days of cover)",
    "iea_pro_rata": "fill to {fill}; when disrupted release {release} (share x shortfall)",
}


@sub.command("policy")
@timed("solving the stockpile policy", "policy_file")
def policy_cmd(  # noqa: PLR0917 - typer maps each option to a parameter
    policy_file: Annotated[
        Path | None,
        typer.Argument(help="stockpile policy YAML (docs/sweeps.md); leave out with --teisberg"),
    ] = None,
    teisberg: Annotated[
        bool,
        typer.Option("--teisberg", help="solve the GAMS MARKOV model (Teisberg 1981) instead"),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write policy.json, policy.csv, policy.parquet here"),
    ] = None,
    paths: Annotated[
        int | None,
        typer.Option(
            "--paths",
            help="simulated market paths, 2 .. 1,000,000, and paths x years at most "
            "10,000,000 (default: the file's)",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="simulation seed, >= 0 (default: the file's)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print policy.json on stdout")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="validate the policy file (its base, stock, shocks and size against the "
            "memory limit) and exit without any market run",
        ),
    ] = False,
    memory_limit_gib: Annotated[
        float | None, typer.Option("--memory-limit-gib", help=MEMORY_LIMIT_HELP)
    ] = None,
) -> None:
    """Optimal fill-and-release rule of a stockpile, compared with simple rules.

    The rule by market state and stock level and its expected discounted cost, from a
    stochastic dynamic programme on critmin's market runs; release-on-ban, hold and pro-rata
    priced exactly and simulated on the same sampled paths. --teisberg: the GAMS MARKOV model.
    """
    # the estimates refuse a too-large input up front; the OS backstop catches what they miss
    with memory_limit(memory_limit_gib) as limit_gib, memory_backstop(limit_gib):
        _policy(policy_file, teisberg, out, paths, seed, as_json=as_json, check=check)


def _policy(
    policy_file: Path | None,
    teisberg: bool,
    out: Path | None,
    paths: int | None,
    seed: int | None,
    *,
    as_json: bool,
    check: bool,
) -> None:
    from critmin.fileio import check_output_dir
    from critmin.scenarios.sweep.dp_file import (
        check_policy_size,
        load_policy_file,
        solve_policy_file,
        teisberg_result,
    )

    if (policy_file is None) == (not teisberg):
        raise InputError(
            "give a stockpile policy file or --teisberg (the GAMS MARKOV model), not both"
            if teisberg
            else "give a stockpile policy file (docs/sweeps.md) or --teisberg"
        )
    if paths is not None and not 2 <= paths <= MAX_PATHS:
        raise InputError(f"--paths {paths}: expected a whole number from 2 to {MAX_PATHS:,}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed {seed}: expected a whole number >= 0")
    if check and teisberg:
        raise InputError("--check reads a policy file; --teisberg has none to check")
    if out is not None and not check:
        check_output_dir(out)  # a bad --out fails before the market runs
    if check:
        assert policy_file is not None
        loaded = load_policy_file(policy_file)
        runs, n_paths, years, size = check_policy_size(loaded, paths)
        typer.echo(
            f"{policy_file}: ok - policy {loaded.spec.name!r}, "
            f"{len(loaded.spec.stockpile.levels_t)} levels x {1 + len(loaded.states)} market "
            f"states: {runs} market "
            f"runs of a year from {loaded.year_start}, "
            f"{n_paths:,} paths x {years:,} years simulated; about {format_bytes(size)} of memory"
        )
        return
    if teisberg:
        result = teisberg_result(
            paths=2000 if paths is None else paths, seed=0 if seed is None else seed
        )
    else:
        assert policy_file is not None
        loaded = load_policy_file(policy_file)
        with counting("market runs", quiet=as_json) as on_run:
            result = solve_policy_file(loaded, paths=paths, seed=seed, on_run=on_run)
    if out is not None:
        from critmin.facade import write_policy

        written = write_policy(result, out)
    else:
        written = []
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    console = Console() if sys.stdout.isatty() else Console(width=120)
    _print(result, console)
    if written:
        console.print("wrote " + ", ".join(str(p) for p in written))


def _fmt(x: float | None) -> str:
    """4 significant digits with a k/M/G suffix (as ``critmin sweep`` prints)."""
    if x is None:
        return "-"
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


def _level(x: float, unit: str) -> str:
    return f"{x:,.0f} t" if unit == "t" else f"{x:g}"


def _print(result: dict[str, Any], console: Console) -> None:
    cost_unit = result["units"]["cost"]
    model = result["model"]
    states = model["states"]
    p = model["transition"]
    if "stockpile" in result:
        st = result["stockpile"]
        dis = result["disruption"]
        disrupted = (
            f"{len(states) - 1} events of {dis['study']}, a market state each"
            if len(states) > 2
            else dis["event"] or f"{len(dis['shocks'])} shock(s)"
        )
        what = (
            f"{st['region']} {st['product']} ({st['mineral']}), year from {result['year_start']}; "
            f"disrupted: {disrupted}"
        )
    else:
        what = "GAMS Model Library MARKOV (SEQ=82), Teisberg 1981, reserve in million barrels"
    console.print(f"[bold]{result['name']}[/bold]: {what}")
    chain = (
        f"P(normal -> disrupted) {p[0][1]:.4g}/yr, P(disrupted -> disrupted) {p[1][1]:.4g}"
        if len(states) == 2
        else f"P(some disruption) {1 - p[0][0]:.4g}/yr over {len(states) - 1} events"
    )
    console.print(
        f"{chain}; discount factor {model['discount_factor']:.4g}/yr; costs in {cost_unit}"
    )
    if len(states) > 2:
        _print_by_state(result, console)
    else:
        _print_by_level(result, console)
    _print_rules(result, console)


def _print_by_state(result: dict[str, Any], console: Console) -> None:
    """Many market states: a row per state, the next level from each level in columns (the
    values are in the written files)."""
    unit = result["units"]["level"]
    model = result["model"]
    levels, p = model["levels"], model["transition"]
    optimal = result["rules"]["optimal"]["policy"]
    table = Table(title="optimal policy: next level by market state and stock level")
    table.add_column("market state", no_wrap=True)
    table.add_column("P from normal", justify="right")
    for lv in levels:
        table.add_column(f"from {_level(lv, unit)}", justify="right")
    for i, s in enumerate(model["states"]):
        nxt = {r["level"]: r["next_level"] for r in optimal if r["state"] == s}
        table.add_row(s, f"{p[0][i]:.4g}", *[_level(nxt[lv], unit) for lv in levels])
    console.print(table)


def _print_by_level(result: dict[str, Any], console: Console) -> None:
    unit = result["units"]["level"]
    model = result["model"]
    states = model["states"]
    optimal = result["rules"]["optimal"]["policy"]
    table = Table(title="optimal policy: next level by stock level and market state")
    table.add_column(f"level ({unit})", justify="right")
    for s in states:
        table.add_column(f"{s}: next", justify="right")
    for s in states:
        table.add_column(f"{s}: value", justify="right")
    for lv in model["levels"]:
        rows = {r["state"]: r for r in optimal if r["level"] == lv}
        table.add_row(
            _level(lv, unit),
            *[_level(rows[s]["next_level"], unit) for s in states],
            *[_fmt(rows[s]["value"]) for s in states],
        )
    console.print(table)


def _print_rules(result: dict[str, Any], console: Console) -> None:
    unit = result["units"]["level"]
    sim = result["simulation"]
    comp = Table(
        title="rules compared",
        caption=f"expected: exact (I - bP)^-1 c, mean over the initial weights; from empty: "
        f"V(0, normal); simulated: the same {sim['paths']} sampled paths of {sim['years']} "
        f"years for every rule (seed {sim['seed']}), starting empty in normal times",
    )
    for col in (
        "rule",
        "what it does",
        "expected",
        "vs optimal",
        "from empty",
        "simulated mean",
        "simulated P95",
    ):
        comp.add_column(col, justify="left" if col in ("rule", "what it does") else "right")
    fill = _level(result["fill_to"], unit)
    par = result.get("rule_parameters", {})
    releases = par.get("pro_rata_release_t_per_year", [0.0])
    words = {
        "fill": fill,
        "cover": _level(par.get("cover_level_t", 0.0), unit),
        "days": par.get("hold_days", 0.0),
        "release": _level(releases[0], unit) + "/yr" if len(releases) == 1 else "the state's",
    }
    for name, entry in result["rules"].items():
        comp.add_row(
            name,
            _RULES.get(name, "").format(**words),
            _fmt(entry["expected_cost"]),
            "+" + _fmt(entry["excess_over_optimal"]) if name != "optimal" else "",
            _fmt(entry["cost_from_empty_normal"]),
            f"{_fmt(entry['simulated_mean'])} ± {_fmt(entry['simulated_std_error'])}",
            _fmt(entry["simulated_p95"]),
        )
    console.print(comp)
    if par:
        st = result["stockpile"]
        short = par["shortfall_t_per_year"]
        takes = (
            f"the disruption takes {short[0]:,.0f} t/yr from the chain's buyers, so the "
            f"pro-rata release is {releases[0]:,.0f} t/yr"
            if len(short) == 1
            else f"the disrupted states take {min(short):,.0f}-{max(short):,.0f} t/yr from the "
            f"chain's buyers, so the pro-rata releases are {min(releases):,.0f}-"
            f"{max(releases):,.0f} t/yr, each state's in policy.json"
        )
        console.print(
            f"rules sized by the chain's no-change years: {st['region']} buyers take "
            f"{par['region_consumption_t_per_year']:,.0f} t/yr of {st['product']} "
            f"({par['region_share']:.1%} of {par['chain_consumption_t_per_year']:,.0f} t); "
            f"{par['hold_days']:g} days of cover = {par['cover_t']:,.0f} t, held as the "
            f"{par['cover_level_t']:,.0f} t level; {takes} (rounded to the nearest level)"
        )
    agree = "yes" if result["lp_equals_value_iteration"] else "NO"
    line = f"policy of the linear programme (as GAMS states it) = value iteration's: {agree}"
    if "max_value_difference" in result:
        line += f"; largest value difference {result['max_value_difference']:.2g}"
    console.print(line)
