"""Blocs with dated membership: FORGE, USMCA, EU-27, the FEOC covered nations, US FTA partners.

FORGE is the Forum on Resource Geostrategic Engagement launched at the 2026 Critical Minerals
Ministerial on 2026-02-04 (U.S. State Department media note of that date): 55 delegations =
54 countries + the European Commission,
hosted by the United States. Documented choices (see docs/data.md):

- the United States is FORGE's host and founder, not one of the 55 delegations; it is a member
  by default (``include_host=True``);
- the European Commission is a delegation, not a country (pseudo-code ``ZZ_EU``); EU-27 member
  states that did not send their own delegation count as inside FORGE only with
  ``expand_eu=True`` (default False: the literal list);
- Angola is in the release's full delegation list but missing from a shorter bullet list of it
  as reported (53 countries + EC); the release says 54 countries, so Angola is included.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import pandas as pd
from pydantic import BaseModel, ConfigDict

from critmin.catalog._data import read_table
from critmin.catalog.countries import EU_DELEGATION
from critmin.errors import InputError, UnknownNameError


class Membership(BaseModel):
    """One member's dated membership of a bloc (``until`` inclusive, None = still a member)."""

    model_config = ConfigDict(frozen=True)

    member_iso3: str
    member_name: str
    role: str
    since: date
    until: date | None
    source: str
    note: str = ""

    def active(self, on: date) -> bool:
        """True when the membership is in force on ``on``."""
        return self.since <= on and (self.until is None or on <= self.until)


class Bloc(BaseModel):
    """A group of countries with dated memberships."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str
    source: str
    memberships: tuple[Membership, ...]

    def delegations(self, on: date | str | None = None) -> tuple[Membership, ...]:
        """Memberships in force on ``on`` (default today), in file order."""
        day = _to_date(on)
        return tuple(m for m in self.memberships if m.active(day))


def _to_date(on: date | str | None) -> date:
    if on is None:
        return date.today()
    if isinstance(on, date):
        return on
    try:
        return date.fromisoformat(on.strip())
    except ValueError:
        raise InputError(f"expected a date YYYY-MM-DD, got {on!r}", where="date") from None


@lru_cache(maxsize=1)
def _blocs() -> dict[str, Bloc]:
    meta = read_table("blocs.csv")
    mem = read_table("bloc_members.csv")
    out: dict[str, Bloc] = {}
    for b in meta.to_dict("records"):
        rows = mem[mem["bloc_id"] == b["id"]]
        ms = tuple(
            Membership(
                member_iso3=str(r["member_iso3"]),
                member_name=str(r["member"]),
                role=str(r["role"]),
                since=date.fromisoformat(str(r["since"])),
                until=None if pd.isna(r["until"]) else date.fromisoformat(str(r["until"])),
                source=str(r["source"]),
                note="" if pd.isna(r["note"]) else str(r["note"]),
            )
            for r in rows.to_dict("records")
        )
        out[str(b["id"])] = Bloc(
            id=str(b["id"]),
            name=str(b["name"]),
            description=str(b["description"]),
            source=str(b["source"]),
            memberships=ms,
        )
    return out


def list_blocs() -> list[Bloc]:
    """All blocs: ``forge``, ``usmca``, ``eu27``, ``feoc``, ``us_fta``."""
    return list(_blocs().values())


_ALIASES = {"eu": "eu27", "eu-27": "eu27", "eu 27": "eu27", "european union": "eu27"}


def get_bloc(name: str) -> Bloc:
    """A bloc by id or name, case-insensitive ("FORGE", "EU-27", "feoc")."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    blocs = _blocs()
    if key in blocs:
        return blocs[key]
    by_name = {b.name.lower(): b for b in blocs.values()}
    if key in by_name:
        return by_name[key]
    raise UnknownNameError("bloc", name.strip(), list(blocs))


def members(
    bloc_id: str,
    on: date | str | None = None,
    *,
    expand_eu: bool = False,
    include_host: bool = True,
) -> frozenset[str]:
    """ISO3 codes of the bloc's member countries on ``on`` (default: today).

    Organisations are not countries: the European Commission's delegation (``ZZ_EU``) is left
    out unless ``expand_eu=True``, which replaces it by the EU-27 member states on that day.
    ``include_host=False`` leaves out a host that is not a delegation (the U.S. in FORGE).
    """
    bloc = get_bloc(bloc_id)
    day = _to_date(on)
    out: set[str] = set()
    for m in bloc.delegations(day):
        if m.role == "host" and not include_host:
            continue
        if m.member_iso3 == EU_DELEGATION:
            if expand_eu:
                out |= members("eu27", day)
            continue
        out.add(m.member_iso3)
    return frozenset(out)
