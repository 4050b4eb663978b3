"""Instrument plug-ins: every kind declared by an installed package is registered.

An instrument kind registers itself when its spec class (an ``InstrumentSpec`` subclass
with a ``kind`` default) is defined. Packages declare their classes as entry points (group
``critmin.instruments``, ``kind = "module:SpecClass"``) in their pyproject.toml so that every
run imports them; critmin declares its own the same way, so adding an instrument edits no
list in the code. Scenario parsing looks kinds up in
:data:`critmin.policy.instrument.REGISTRY`, so :func:`load_instruments` runs before a
scenario is validated (the loader calls it once). :func:`reform_changes` lists what the
instruments' ``parameters:`` reforms change against the shipped baseline, for summary.json.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def load_instruments() -> list[str]:
    """Register every instrument kind the installed packages declare (entry points of the
    group ``critmin.instruments``, critmin's own in its pyproject.toml); returns the kinds."""
    from critmin.policy.instrument import discover

    return discover()


def reform_changes(instruments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameter changes made by the instruments' ``parameters:`` reforms, one dict per change.

    ``instruments`` are the scenario's raw ``instruments:`` entries. Each row: ``instrument``,
    ``parameter``, ``from`` (date), ``before``, ``after``, ``unit``, ``reference``, ``kind``.
    """
    from critmin.policy.parameters import baseline, diff

    base = baseline()

    def changes(overrides: dict[str, Any], label: str) -> list[Any]:
        where = f"instrument {label!r} parameters"
        return diff(base, base.with_reform(overrides, label=label, where=where))

    rows: list[dict[str, Any]] = []
    for i, item in enumerate(instruments):
        overrides = item.get("parameters") if isinstance(item, dict) else None
        if not overrides:
            continue
        label = str(item.get("name") or f"{item.get('kind', 'instrument')}[{i}]")
        for ch in changes(overrides, label):
            rows.append(
                {
                    "instrument": label,
                    "parameter": ch.name,
                    "from": ch.start.isoformat(),
                    "before": _jsonable(ch.before),
                    "after": _jsonable(ch.after),
                    "unit": ch.unit,
                    "reference": ch.reference,
                    "kind": ch.kind,
                    "text": ch.describe(),
                }
            )
    return rows


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
