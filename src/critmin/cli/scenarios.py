"""CLI: ``critmin scenarios list`` -- the built-in scenarios, by the names ``run`` accepts."""

from __future__ import annotations

import re

import typer

from critmin.cli import app

scenarios_app = typer.Typer(
    help="Built-in scenarios (the seed study) and how to name them for `critmin run`.",
    no_args_is_help=True,
)
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list")
def list_scenarios() -> None:
    """Built-in scenarios: the name `critmin run` accepts, the scenario's own name (as in
    summary.json and --baseline), its months and what it is."""
    from rich.console import Console
    from rich.table import Table

    from critmin.scenarios.loader import BUILTIN_PREFIX, DEFAULT_STUDY, builtin_names, load_scenario

    table = Table(title="built-in scenarios (`critmin run` with no argument runs the starred)")
    table.add_column("run name", no_wrap=True)
    table.add_column("scenario (--baseline)", no_wrap=True)
    table.add_column("months", no_wrap=True)
    table.add_column("description")
    for key in builtin_names():
        sc = load_scenario(f"{BUILTIN_PREFIX}{key}").scenario
        months = sc.month_labels()
        star = " *" if key in DEFAULT_STUDY else ""
        # the description's first clause: the list is an index, `validate` shows the rest
        about = re.split(r"(?<=[.;])\s", " ".join(sc.description.split()), maxsplit=1)[0]
        table.add_row(f"{key}{star}", sc.name, f"{months[0]}..{months[-1]}", about.rstrip(";"))
    Console().print(table)
