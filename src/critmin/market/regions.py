"""Region codes of scenario files: ISO 3166 alpha-3 countries, the catalog's aggregates, or
aggregates the file declares itself.

A typo such as ``AUSTRALIA`` for ``AUS`` would otherwise make a new, empty region that silently
takes demand away from the real one. Codes are checked against ISO 3166 (through pycountry's
ISO 3166-1 tables, historic codes included), the catalog's aggregate codes
(:data:`CATALOG_AGGREGATES`) and the market's own ``aggregates`` mapping (``{code:
description}``, e.g. ``{MEM: "member states of a test bloc"}``); an unknown code gets a
suggestion: the ISO code of a country name or ISO 3166 alpha-2 code (``AUSTRALIA`` -> ``AUS``,
``DE`` -> ``DEU``), else the closest known code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import lru_cache

#: aggregate region codes every scenario may use without declaring them
CATALOG_AGGREGATES: dict[str, str] = {
    "EU": "European Union (its member states as one region)",
    "ROW": "rest of the world: every country the market does not list",
}


@lru_cache(maxsize=1)
def _iso3() -> frozenset[str]:
    import pycountry

    codes = {str(c.alpha_3) for c in pycountry.countries}
    codes |= {str(c.alpha_3) for c in pycountry.historic_countries}
    return frozenset(codes)


def _suggest(code: str, known: Iterable[str]) -> str | None:
    from critmin.catalog.countries import resolve_country
    from critmin.errors import CritminError

    try:
        return resolve_country(code)
    except CritminError:
        pass
    target = code.upper()

    def score(candidate: str) -> tuple[float, int]:
        # similarity first; among equals the code sharing the longest start (AUZ -> AUS,
        # not UZB: both share two letters)
        prefix = next(
            (n for n in range(min(len(target), len(candidate)), 0, -1)
             if target[:n] == candidate[:n]),
            0,
        )  # fmt: skip
        return difflib.SequenceMatcher(None, target, candidate).ratio(), prefix

    best = max(sorted(known), key=score, default=None)
    return best if best is not None and score(best)[0] >= 0.6 else None


def region_problem(code: str, declared: Mapping[str, str] | None = None) -> str | None:
    """None when ``code`` is a known region; else a one-line message with a suggestion."""
    declared = declared or {}
    if code in declared or code in CATALOG_AGGREGATES or code in _iso3():
        return None
    known = set(_iso3()) | set(CATALOG_AGGREGATES) | set(declared)
    guess = _suggest(code, known)
    hint = f"; did you mean {guess}?" if guess and guess != code else ""
    return (
        f"unknown region code {code!r}: expected an ISO 3166 alpha-3 country code, a catalog "
        f"aggregate ({', '.join(sorted(CATALOG_AGGREGATES))}) or a code declared under the "
        f"market's 'aggregates'{hint}"
    )
