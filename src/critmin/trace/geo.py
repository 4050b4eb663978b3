"""Countries and blocs for origin rules: a small adapter over the catalog layer.

The catalog layer (``critmin.catalog.countries`` / ``critmin.catalog.blocs``) is the
source of truth. Until it is importable, this adapter falls back to pycountry and the
lists below, so that ``trace`` works on its own and can switch without code changes.

Fallback lists and their sources:

* ``forge``: the 54 countries of the 2026 Critical Minerals Ministerial (US State Dept.
  media note of 2026-02-04, seed file 002), plus the United States as host. The European
  Commission's seat is expanded to the EU-27 only with ``expand_eu=True``.
* ``usmca``: USA, CAN, MEX (USMCA, in force 2020-07-01).
* ``us_fta``: the 20 countries with a US free-trade agreement in force (USTR, "Free Trade
  Agreements"), plus Japan from 2023-03-28 (US-Japan Critical Minerals Agreement, treated as
  an FTA partner for the IRA 30D critical-mineral test, US Treasury notice 2023-29).
* ``feoc``: the "covered nations" of 10 U.S.C. 4872(d): China, Russia, North Korea, Iran
  (used by the DOE foreign-entity-of-concern guidance, 2023-12).
* ``eu27``: the 27 EU member states (since 2020-02-01).
"""

from __future__ import annotations

import datetime as dt
import importlib
from functools import lru_cache
from typing import Any

import pycountry

from critmin.errors import InputError, UnknownNameError

_EU27 = [
    "AUT",
    "BEL",
    "BGR",
    "HRV",
    "CYP",
    "CZE",
    "DNK",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LVA",
    "LTU",
    "LUX",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "ESP",
    "SWE",
]
_FORGE = [
    "AGO",
    "ARG",
    "ARM",
    "AUS",
    "BHR",
    "BEL",
    "BOL",
    "BRA",
    "CAN",
    "COK",
    "CZE",
    "COD",
    "DOM",
    "ECU",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "GIN",
    "IND",
    "ISR",
    "ITA",
    "JPN",
    "JOR",
    "KAZ",
    "KEN",
    "LTU",
    "MYS",
    "MEX",
    "MNG",
    "MAR",
    "NZL",
    "NOR",
    "OMN",
    "PAK",
    "PRY",
    "PER",
    "PHL",
    "POL",
    "QAT",
    "KOR",
    "ROU",
    "SAU",
    "SLE",
    "SGP",
    "SWE",
    "THA",
    "NLD",
    "UKR",
    "ARE",
    "GBR",
    "UZB",
    "ZMB",
    "USA",
]
_US_FTA = [
    "AUS",
    "BHR",
    "CAN",
    "CHL",
    "COL",
    "CRI",
    "DOM",
    "SLV",
    "GTM",
    "HND",
    "ISR",
    "JOR",
    "KOR",
    "MEX",
    "MAR",
    "NIC",
    "OMN",
    "PAN",
    "PER",
    "SGP",
]

# bloc id -> list of (iso3, since, until)
_Membership = tuple[str, dt.date, dt.date | None]


def _since(codes: list[str] | tuple[str, ...], day: dt.date) -> list[_Membership]:
    return [(c, day, None) for c in codes]


_FALLBACK: dict[str, list[_Membership]] = {
    "forge": _since(_FORGE, dt.date(2026, 2, 4)),
    "usmca": _since(("USA", "CAN", "MEX"), dt.date(2020, 7, 1)),
    # FTA dates vary (2004 Chile/Singapore .. 2012 Panama); one conservative date is used.
    "us_fta": _since(_US_FTA, dt.date(2012, 10, 31)) + _since(["JPN"], dt.date(2023, 3, 28)),
    "feoc": _since(("CHN", "RUS", "PRK", "IRN"), dt.date(2021, 1, 1)),
    "eu27": _since(_EU27, dt.date(2020, 2, 1)),
}


def _catalog(module: str) -> Any | None:
    """The catalog module if it exists and offers what we need, else None."""
    try:
        return importlib.import_module(f"critmin.catalog.{module}")
    except ImportError:
        return None


@lru_cache(maxsize=4096)
def resolve_country(text: str) -> str:
    """ISO 3166-1 alpha-3 code for user text (ISO2, ISO3 or a name)."""
    mod = _catalog("countries")
    if mod is not None and hasattr(mod, "resolve_country"):
        return str(mod.resolve_country(text))
    raw = text.strip()
    if not raw:
        raise InputError("empty country; expected an ISO2/ISO3 code or a country name")
    hit = None
    if len(raw) == 3:
        hit = pycountry.countries.get(alpha_3=raw.upper())
    elif len(raw) == 2:
        hit = pycountry.countries.get(alpha_2=raw.upper())
    if hit is None:
        try:
            hit = pycountry.countries.lookup(raw)
        except LookupError:
            hit = None
    if hit is None:
        choices = [c.name for c in pycountry.countries]
        raise UnknownNameError("country", raw, choices)
    return str(hit.alpha_3)


def country_name(iso3: str) -> str:
    """Display name of an ISO3 code (the code itself if unknown)."""
    hit = pycountry.countries.get(alpha_3=iso3)
    return str(hit.name) if hit is not None else iso3


def known_blocs() -> list[str]:
    """Bloc ids usable in rules."""
    ids = set(_FALLBACK)
    mod = _catalog("blocs")
    if mod is not None and hasattr(mod, "list_blocs"):
        ids |= {str(getattr(b, "id", b)) for b in mod.list_blocs()}
    return sorted(ids)


def bloc_members(
    bloc_id: str, on: dt.date | None = None, expand_eu: bool = False
) -> frozenset[str]:
    """ISO3 members of a bloc on a date (default: today)."""
    key = bloc_id.strip().lower()
    day = on or dt.date.today()
    mod = _catalog("blocs")
    if key != "us_fta" and mod is not None and hasattr(mod, "members"):
        try:
            if key == "forge":
                return frozenset(mod.members(key, on=day, expand_eu=expand_eu))
            return frozenset(mod.members(key, on=day))
        except TypeError:
            return frozenset(mod.members(key, on=day))
    if key not in _FALLBACK:
        raise UnknownNameError("bloc", bloc_id, known_blocs())
    out = {
        c for c, since, until in _FALLBACK[key] if since <= day and (until is None or day < until)
    }
    if key == "forge" and expand_eu and day >= dt.date(2026, 2, 4):
        out |= set(_EU27)
    return frozenset(out)
