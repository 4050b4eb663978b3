"""The ``critmin`` command line. Thin: parsing, calling the layers, printing.

Each command group lives in its own module of this package; this module assembles
them and turns every error into one line on stderr:

* :class:`critmin.errors.CritminError` (bad input): ``critmin: error: ...``, exit 2;
* a usage error (unknown option, ``--vol abc``): one line naming the option, exit 2;
* an operating-system error on a file (disk full, permission denied): one line, exit 2;
* anything else is a bug: one line naming the exception, with a hint to report it, and the
  distinct exit code :data:`EXIT_UNEXPECTED` (70, ``EX_SOFTWARE`` of BSD ``sysexits.h``);
  the test suite treats reaching it as a failure. ``CRITMIN_DEBUG=1`` re-raises it instead,
  with the traceback.
"""

from __future__ import annotations

import os
import signal
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


#: exit code of an unexpected error (a bug): ``EX_SOFTWARE`` of BSD ``sysexits.h``
EXIT_UNEXPECTED = 70


#: the longest error line printed: a message quotes the value it refuses, and a hostile file's
#: value can be megabytes (a YAML tag, an explicit key, a CSV cell of 131,072 characters)
MAX_MESSAGE_CHARS = 1000


def _one_line(text: str) -> str:
    """``text`` on one line, its middle cut out when it is over :data:`MAX_MESSAGE_CHARS` (the
    start names the file and line, the end often says what to do)."""
    line = " ".join(str(text).split())
    if len(line) <= MAX_MESSAGE_CHARS:
        return line
    cut = len(line) - 900
    return f"{line[:600]} ...({cut:,} characters left out)... {line[-300:]}"


def _usage_line(exc: typer.TyperException) -> str:
    """A click usage error as one line: the problem, then where to read the usage."""
    msg = _one_line(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", "critmin") if ctx is not None else "critmin"
    return f"critmin: error: {msg} (see '{path} --help')"


class _Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``), raised so that output sets and locks are cleaned up."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise _Terminated


def main() -> None:
    """Entry point: run the app; every error is one line on stderr (see the module doc)."""
    _register()
    # Python's default for SIGTERM ends the process at once, leaving the staging folder and
    # lock of an output set for the next run to remove; as an exception they go now.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _main()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main() -> None:
    from critmin.bounds import TimeUp  # (imported by the command groups anyway)

    try:
        rv = app(standalone_mode=False)
    except CritminError as exc:
        typer.echo(f"critmin: error: {_one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except TimeUp as exc:  # (time_limit turns it into its error; this is a second net)
        typer.echo(f"critmin: error: {_one_line(str(exc.error))}", err=True)
        sys.exit(exc.error.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("critmin: aborted", err=True)
        sys.exit(130)
    except _Terminated:
        typer.echo("critmin: terminated", err=True)
        sys.exit(143)
    except typer.TyperException as exc:  # usage errors from the (vendored) click layer
        if exc.format_message().strip():  # (a bare group prints its help and no message)
            typer.echo(_usage_line(exc), err=True)
        sys.exit(2)
    except BrokenPipeError:  # ``critmin ... | head``: the reader left; not an error
        sys.stderr.close()
        sys.exit(0)
    except OSError as exc:  # the machine, not critmin: disk full, permissions, ...
        where = f" {exc.filename}" if exc.filename else ""
        typer.echo(f"critmin: error: cannot use{where}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except MemoryError:  # outside a command's backstop (bounds.memory_backstop): the machine
        typer.echo(
            "critmin: error: ran out of memory; make the input smaller or use a machine with "
            "more memory",
            err=True,
        )
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("CRITMIN_DEBUG"):
            raise
        typer.echo(
            f"critmin: internal error: {type(exc).__name__}: {_one_line(str(exc))[:500]}; "
            "this is a bug, please report it with the command line "
            "(CRITMIN_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(rv if isinstance(rv, int) else 0)
