"""Countries by ISO 3166 alpha-3 code, for every spelling in the raw sources.

USGS ("Burma", "Congo (Kinshasa)", "Korea, Republic of", "Canada " with a trailing space,
"United\\xa0States" with a non-breaking space, "Brazil (beneficiated)"), CEPII BACI
("Dem. Rep. of the Congo", "Rep. of Korea", mojibake such as "TÃ¼rkiye") and the World Bank
WGI file are all mapped here, in code, by an explicit alias table on top of pycountry's exact
lookup. pycountry's fuzzy search is deliberately NOT used: it maps "Republic of Korea" to North
Korea.

Non-country rows are not countries: USGS "Other countries" maps to :data:`OTHER` (``ZZ_OTHER``),
"World total ..." is recognised by :func:`is_world_total`; BACI's non-country partners keep
their BACI codes (``R20`` "Europe EFTA, nes", ``PUS`` "US Misc. Pacific Isds", ``ZA1`` "Southern
African Customs Union"), listed in :data:`NON_COUNTRY_CODES`. Historic states keep their
ISO 3166-3 codes (``SUN``, ``CSK``, ``DDR``, ``ANT``, ``SCG``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

from critmin.errors import UnknownNameError

OTHER = "ZZ_OTHER"
"""Pseudo-code for USGS "Other countries" rows (and other unattributed remainders)."""

EU_DELEGATION = "ZZ_EU"
"""Pseudo-code for the European Commission / European Union as a delegation or party."""

NON_COUNTRY_CODES: frozenset[str] = frozenset({OTHER, EU_DELEGATION, "R20", "PUS", "ZA1"})
"""Codes that stand for aggregates or organisations, not for countries."""

# Aliases: normalised lower-case spelling -> ISO3. Only what pycountry's exact lookup misses.
_ALIASES: dict[str, str] = {
    # USGS spellings
    "burma": "MMR",
    "congo (kinshasa)": "COD",
    "congo (brazzaville)": "COG",
    "korea, north": "PRK",
    "korea, republic of": "KOR",
    "republic of korea": "KOR",
    "south korea": "KOR",
    "north korea": "PRK",
    "russia": "RUS",
    "turkey": "TUR",
    "türkiye": "TUR",
    "turkiye": "TUR",
    "côte d’ivoire": "CIV",
    "côte d'ivoire": "CIV",
    "cote d'ivoire": "CIV",
    "ivory coast": "CIV",
    "laos": "LAO",
    "iran": "IRN",
    "syria": "SYR",
    "taiwan": "TWN",
    "vietnam": "VNM",
    "viet nam": "VNM",
    "bolivia": "BOL",
    "tanzania": "TZA",
    "venezuela": "VEN",
    "moldova": "MDA",
    "czech republic": "CZE",
    "the netherlands": "NLD",
    "netherlands": "NLD",
    "democratic republic of the congo": "COD",
    "drc": "COD",
    "dr congo": "COD",
    "uk": "GBR",
    "britain": "GBR",
    "great britain": "GBR",
    "usa": "USA",
    "us": "USA",
    "u.s.": "USA",
    "united states of america": "USA",
    "uae": "ARE",
    "palestine": "PSE",
    "micronesia": "FSM",
    "brunei": "BRN",
    "cape verde": "CPV",
    "swaziland": "SWZ",
    "macedonia": "MKD",
    "north macedonia": "MKD",
    "kosovo": "XKX",
    "hong kong": "HKG",
    "macao": "MAC",
    "macau": "MAC",
    # CEPII BACI / WGI spellings
    "belgium-luxembourg (...1998)": "BEL",
    "bolivia (plurinational state of)": "BOL",
    "bosnia herzegovina": "BIH",
    "br. indian ocean terr.": "IOT",
    "solomon isds": "SLB",
    "br. virgin isds": "VGB",
    "cayman isds": "CYM",
    "central african rep.": "CAF",
    "christmas isds": "CXR",
    "cocos isds": "CCK",
    "mayotte (overseas france)": "MYT",
    "dem. rep. of the congo": "COD",
    "cook isds": "COK",
    "czechoslovakia (...1992)": "CSK",
    "dominican rep.": "DOM",
    "falkland isds (malvinas)": "FLK",
    "fr. south antarctic terr.": "ATF",
    "state of palestine": "PSE",
    "dem. rep. of germany (...1990)": "DDR",
    "fed. rep. of germany (...1990)": "DEU",
    "china, hong kong sar": "HKG",
    "dem. people's rep. of korea": "PRK",
    "rep. of korea": "KOR",
    "lao people's dem. rep.": "LAO",
    "china, macao sar": "MAC",
    "other asia, nes": "TWN",  # BACI/Comtrade convention: "Other Asia, nes" is Taiwan
    "rep. of moldova": "MDA",
    "netherlands antilles (...2010)": "ANT",
    "curaçao": "CUW",
    "saint maarten": "SXM",
    "bonaire": "BES",
    "norfolk isds": "NFK",
    "n. mariana isds": "MNP",
    "fs micronesia": "FSM",
    "marshall isds": "MHL",
    "saint barthélemy": "BLM",
    "saint helena": "SHN",
    "europe efta, nes": "R20",
    "southern african customs union (...1999)": "ZA1",
    "sudan (...2011)": "SDN",
    "turks and caicos isds": "TCA",
    "ussr (...1990)": "SUN",
    "united rep. of tanzania": "TZA",
    "us misc. pacific isds": "PUS",
    "wallis and futuna isds": "WLF",
    "serbia and montenegro (...2005)": "SCG",
    "taiwan, china": "TWN",
    "jersey, channel islands": "JEY",
    # organisations
    "european commission": EU_DELEGATION,
    "european union": EU_DELEGATION,
    "eu": EU_DELEGATION,
}

_HISTORIC_NAMES: dict[str, str] = {
    "CSK": "Czechoslovakia",
    "DDR": "German Democratic Republic",
    "ANT": "Netherlands Antilles",
    "SUN": "USSR",
    "SCG": "Serbia and Montenegro",
    "XKX": "Kosovo",
    "R20": "Europe EFTA, nes (BACI aggregate)",
    "PUS": "US Misc. Pacific Islands (BACI aggregate)",
    "ZA1": "Southern African Customs Union (BACI aggregate)",
    OTHER: "Other countries",
    EU_DELEGATION: "European Union / European Commission",
}

# USGS rows that are aggregates of several countries, not one country.
_USGS_MULTI_COUNTRY = re.compile(r"^united states and canada$")
_WORLD_TOTAL = re.compile(r"^world total\b")
_OTHER = re.compile(r"^other countries\b")
_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*$")


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Latin-1 ("TÃ¼rkiye" -> "Türkiye"); else unchanged."""
    if "Ã" not in text and "â" not in text:
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def clean_name(text: str) -> str:
    """Normalise a raw country cell: mojibake, non-breaking spaces, runs of spaces, ends."""
    text = fix_mojibake(text).replace("\xa0", " ").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip()


def is_world_total(name: str) -> bool:
    """True for USGS "World total", "World total (rounded)", "World total (rounded) 10", ..."""
    return bool(_WORLD_TOTAL.match(clean_name(name).lower()))


def is_other(name: str) -> bool:
    """True for USGS "Other Countries", "Other countries (rounded)", ..."""
    return bool(_OTHER.match(clean_name(name).lower()))


def is_multi_country(name: str) -> bool:
    """True for USGS rows that group several named countries ("United States and Canada")."""
    return bool(_USGS_MULTI_COUNTRY.match(clean_name(name).lower()))


def _lookup_exact(key: str) -> str | None:
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return str(pycountry.countries.lookup(key).alpha_3)
    except LookupError:
        pass
    hist = pycountry.historic_countries.get(alpha_3=key.upper()) if len(key) == 3 else None
    if hist is not None:
        return str(hist.alpha_3)
    return None


@lru_cache(maxsize=4096)
def _to_iso3_or_none(name: str) -> str | None:
    cleaned = clean_name(name)
    if not cleaned:
        return None
    key = cleaned.lower()
    if _OTHER.match(key):
        return OTHER
    code = _lookup_exact(key)
    if code is not None:
        return code
    # USGS qualifiers: "Brazil (beneficiated)", "United States (kyanite)", "Peru (exports)"
    stripped = _QUALIFIER.sub("", cleaned).strip().lower()
    if stripped != key:
        return _lookup_exact(stripped)
    return None


def _known_names() -> list[str]:
    names = [c.name for c in pycountry.countries]
    names += list(_ALIASES)
    return names


def to_iso3(name: str) -> str:
    """ISO 3166 alpha-3 code for a raw source spelling (USGS, BACI, WGI, seeds).

    >>> to_iso3("Congo (Kinshasa)"), to_iso3("Korea, Republic of"), to_iso3("Burma")
    ('COD', 'KOR', 'MMR')

    Raises :class:`UnknownNameError` (with suggestions) for unknown names, for "World total"
    rows and for multi-country rows, which are not countries.
    """
    code = _to_iso3_or_none(name)
    if code is None:
        raise UnknownNameError("country", clean_name(name), _known_names())
    return code


def resolve_country(text: str) -> str:
    """ISO3 for user input: an ISO2 or ISO3 code, or a name (any spelling :func:`to_iso3` knows)."""
    cleaned = clean_name(text)
    if len(cleaned) in (2, 3) and cleaned.isalpha():
        hit = (
            pycountry.countries.get(alpha_2=cleaned.upper())
            if len(cleaned) == 2
            else pycountry.countries.get(alpha_3=cleaned.upper())
        )
        if hit is not None:
            return str(hit.alpha_3)
        if cleaned.upper() in _HISTORIC_NAMES:
            return cleaned.upper()
    return to_iso3(cleaned)


def country_name(iso3: str) -> str:
    """Common English name for an ISO3 code (or a pseudo-code such as ``ZZ_OTHER``)."""
    code = iso3.strip().upper()
    if code in _HISTORIC_NAMES:
        return _HISTORIC_NAMES[code]
    hit = pycountry.countries.get(alpha_3=code)
    if hit is None:
        hit = pycountry.historic_countries.get(alpha_3=code)
    if hit is None:
        raise UnknownNameError("country code", iso3, [c.alpha_3 for c in pycountry.countries])
    return str(getattr(hit, "common_name", None) or hit.name)
