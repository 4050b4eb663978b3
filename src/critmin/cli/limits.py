"""``--time-limit-s`` of the commands that read a user's files: one option, one wrapper.

``critmin run`` and ``critmin sweep`` set their budget themselves, stage by stage
(:mod:`critmin.cli.run`); every other command that reads a file the user gives is wrapped in
:func:`timed`, which adds the same option with the same default and range and runs the whole
command under :func:`critmin.bounds.time_limit` with its timer, in one stage naming the files.
When the budget is spent the command stops with one line naming the files and the stage, exit
code 2, and writes nothing (its writers are output sets or atomic renames: the staging folder
or temp file is removed, the old output kept; docs/robustness.md, "A time limit").
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

#: ``--time-limit-s`` of every command (``run``, ``sweep`` and the wrapped ones): an hour.
#: The shipped examples take about a second; the largest file any command accepts (256 MiB)
#: is read well within it. An input that would take longer is stopped with a message
#: instead of holding the machine
DEFAULT_TIME_LIMIT_S = 3600.0

#: the option added by :func:`timed` (its help is the commands' ``--help`` text)
TimeLimitS = Annotated[
    float,
    typer.Option(
        "--time-limit-s",
        help="wall-clock seconds for the command's work (reading and checking its files, "
        "computing, writing), 0 (no limit) .. 1e7; when spent, it stops with one line naming "
        "the file and the stage, exit 2, and writes nothing",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def _shown(value: object) -> list[str]:
    """The file names a parameter's value gives (None, a path, or a list of them)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def timed(doing: str, *files: str, hint: str = "make the input smaller") -> Callable[[F], F]:
    """Give a command ``--time-limit-s`` (:data:`TimeLimitS`, default
    :data:`DEFAULT_TIME_LIMIT_S`): its work runs under one budget with the timer, in a stage
    ``doing`` whose message leads with the files given to the parameters named ``files``
    (``FILE: time limit of S s reached (--time-limit-s) while DOING; raise the limit (0: none)
    or HINT``). Stages inside the command (a scenario's reading and checking) name themselves.
    Put it below the ``@app.command(...)`` line."""

    def wrap(command: F) -> F:
        sig = inspect.signature(command, eval_str=True)

        @functools.wraps(command)
        def run(*args: Any, time_limit_s: float = DEFAULT_TIME_LIMIT_S, **kwargs: Any) -> Any:
            from critmin.bounds import check_time_limit, stage, time_limit

            check_time_limit(time_limit_s)  # the option's range, before any file is read
            given = sig.bind_partial(*args, **kwargs).arguments
            where = ", ".join(f for name in files for f in _shown(given.get(name))) or None
            # no check at the stage's end: a command that got there has written its output
            with (
                time_limit(time_limit_s, interrupt=True),
                stage(doing, where=where, hint=hint, check_at_end=False),
            ):
                return command(*args, **kwargs)

        option = inspect.Parameter(
            "time_limit_s",
            inspect.Parameter.KEYWORD_ONLY,
            default=DEFAULT_TIME_LIMIT_S,
            annotation=TimeLimitS,
        )
        run.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*sig.parameters.values(), option]
        )
        return run  # type: ignore[return-value]

    return wrap


__all__ = ["DEFAULT_TIME_LIMIT_S", "TimeLimitS", "timed"]
