"""Countries and blocs for origin rules: a thin adapter over the catalog layer.

The catalog (``critmin.catalog.countries`` / ``critmin.catalog.blocs``) is the one source of
truth for country codes and dated bloc memberships (``forge``, ``usmca``, ``eu27``, ``feoc``,
``us_fta``; see ``critmin data blocs`` and docs/data.md). This module only adapts their
signatures to what trace's rules need (a ``datetime.date``, ``expand_eu``); it keeps no lists
of its own.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from critmin.catalog import blocs as _blocs
from critmin.catalog import countries as _countries
from critmin.errors import InputError, UnknownNameError


@lru_cache(maxsize=4096)
def resolve_country(text: str) -> str:
    """ISO 3166-1 alpha-3 code for user text (ISO2, ISO3 or a name), via the catalog."""
    if not text.strip():
        raise InputError("empty country; expected an ISO2/ISO3 code or a country name")
    return _countries.resolve_country(text)


def country_name(iso3: str) -> str:
    """Display name of an ISO3 code (the code itself if the catalog does not know it)."""
    try:
        return _countries.country_name(iso3)
    except UnknownNameError:
        return iso3


def known_blocs() -> list[str]:
    """Bloc ids usable in rules (the catalog's blocs)."""
    return sorted(b.id for b in _blocs.list_blocs())


def bloc_members(
    bloc_id: str, on: dt.date | None = None, expand_eu: bool = False
) -> frozenset[str]:
    """ISO3 members of a bloc on a date (default: today), from the catalog's dated memberships.

    ``expand_eu`` counts the EU-27 states as members where the bloc has the European
    Commission as a delegation (FORGE). Unknown blocs raise ``UnknownNameError``.
    """
    return _blocs.members(bloc_id.strip(), on or dt.date.today(), expand_eu=expand_eu)
