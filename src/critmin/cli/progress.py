"""The progress bar of long commands: on stderr, on a terminal only, gone when done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def counting(label: str, unit: str = "", *, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A bar ``label [####    ] done/total unit elapsed``; yields ``update(done, total)``.
    Off with ``quiet`` (``--json``) and when stderr is not a terminal (logs stay clean)."""
    err = Console(stderr=True)
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(TextColumn(unit))
    with Progress(
        *columns,
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)
