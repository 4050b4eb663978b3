"""The ``critmin`` command line. Thin: parsing, calling the layers, printing.

Each command group lives in its own module of this package; this module assembles
them and turns :class:`critmin.errors.CritminError` into one line on stderr + exit 2.
"""

from __future__ import annotations

import sys

import typer

from critmin import __version__
from critmin.errors import CritminError

app = typer.Typer(
    name="critmin",
    help="critmin: the managed critical-minerals market, modelled and operated.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"critmin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """critmin: dependency analytics, market equilibrium, instruments, traceability."""


def _register() -> None:
    # Each group registers itself on import; a group that fails to import is a bug.
    from critmin.cli import commands  # noqa: F401


def main() -> None:
    """Entry point: run the app, print domain errors as one line, exit 2."""
    _register()
    try:
        rv = app(standalone_mode=False)
    except CritminError as exc:
        typer.echo(f"critmin: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("critmin: aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors from the (vendored) click layer
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"critmin: error: {exc.format_message()}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)
