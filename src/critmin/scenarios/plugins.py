"""Instrument plug-ins: import every instrument module so its ``kind`` is registered.

``register(kind)`` runs when a module is imported; scenario parsing looks kinds up in
:data:`critmin.policy.instrument.REGISTRY`, so :func:`load_instruments` must run before a
scenario is validated (the loader calls it once). :func:`reform_changes` lists what the
instruments' ``parameters:`` reforms change against the shipped baseline, for summary.json.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

#: every module that registers an instrument kind
INSTRUMENT_MODULES = (
    "critmin.policy.instrument",  # import_tariff
    "critmin.policy.instruments.forge_levy",  # forge_levy
    "critmin.policy.instruments.floors",  # topup_floor, purchase_floor
    "critmin.contracts.instrument",  # offtake
    "critmin.stockpile.instrument",  # stockpile
)


def load_instruments() -> list[str]:
    """Import the instrument modules; returns the registered kinds, sorted."""
    for mod in INSTRUMENT_MODULES:
        importlib.import_module(mod)
    from critmin.policy.instrument import REGISTRY

    return sorted(REGISTRY)


def reform_changes(instruments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parameter changes made by the instruments' ``parameters:`` reforms, one dict per change.

    ``instruments`` are the scenario's raw ``instruments:`` entries. Each row: ``instrument``,
    ``parameter``, ``from`` (date), ``before``, ``after``, ``unit``, ``reference``, ``kind``.
    """
    from critmin.policy.instruments._common import reform_changes as changes

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
