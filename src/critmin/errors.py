"""Domain errors. Every message says what came in, what was expected and where.

The CLI prints a :class:`CritminError` as one line and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CritminError(Exception):
    """Base of all expected, user-facing errors (bad input, unknown names)."""

    exit_code = 2


class InputError(CritminError):
    """A file or argument does not have the expected shape or values.

    ``where`` is a location such as ``"bom.yaml:12 field 'kg_per_unit'"``.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class FieldValueError(ValueError):
    """A cross-field check that failed, naming the field to blame (for the file line).

    Raise it from a pydantic ``model_validator``; :func:`critmin.yamlio.validate` reports it at
    ``field`` (a dotted name relative to the model) instead of at the model itself.
    """

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        # a tuple is a path with list indices, ("markets", 0, "demand", 2, "growth_per_year")
        self.field = field
        super().__init__(message)


class UnknownNameError(CritminError):
    """A name (mineral, country, bloc, stage...) that critmin does not know."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        close = suggest(name, choices)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")


class SolverError(CritminError):
    """The optimisation problem could not be solved (infeasible, unbounded, ...).

    From the market engine it names where: the ``chain`` (market id), the ``month`` and the
    instrument ``iteration`` of that month (1 = the first solve).
    """

    def __init__(
        self,
        message: str,
        *,
        chain: str | None = None,
        month: str | None = None,
        iteration: int | None = None,
    ) -> None:
        self.chain = chain
        self.month = month
        self.iteration = iteration
        super().__init__(message)


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The closest known names to ``name`` (case-insensitive), best first."""
    pool = list(choices)
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]
