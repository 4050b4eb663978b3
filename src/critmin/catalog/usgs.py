"""Reading USGS Mineral Commodity Summaries CSV files, quirks handled in code.

The files are published with a UTF-8 byte-order mark, trailing and non-breaking spaces in
names, typos ("Gemanium"), withheld values ("W"), bounds (">90000000", "<25", ">17,000,000"),
"NA" and "E" (net exporter). Nothing is edited by hand; this module turns each cell into a
:class:`UsgsValue`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Commodity spellings as published -> the intended name.
COMMODITY_TYPOS: dict[str, str] = {"Gemanium": "Germanium"}

_NUMBER = re.compile(r"^(?P<op>[<>]=?)?\s*(?P<num>[0-9][0-9,]*(?:\.[0-9]+)?)$")


@dataclass(frozen=True)
class UsgsValue:
    """One parsed cell: ``value`` (NaN when absent or withheld) and how to read it.

    ``bound`` is ``"lower"`` for ">x" (the true value is above x), ``"upper"`` for "<x";
    ``withheld`` is True for "W" (withheld to avoid disclosing company proprietary data);
    ``net_exporter`` is True for "E".
    """

    value: float
    withheld: bool = False
    bound: str | None = None
    net_exporter: bool = False
    raw: str = ""

    @property
    def is_missing(self) -> bool:
        """True when there is no number (empty, NA, W or E)."""
        return math.isnan(self.value)


def clean_text(text: object) -> str:
    """Strip BOM, non-breaking and repeated spaces; '' for NaN/None."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    out = str(text).replace("\ufeff", "").replace("\xa0", " ")
    return re.sub(r"\s+", " ", out).strip()


def clean_commodity(text: object) -> str:
    """Commodity name without stray spaces and with USGS typos fixed ("Gemanium")."""
    name = clean_text(text)
    return COMMODITY_TYPOS.get(name, name)


def parse_value(cell: object) -> UsgsValue:
    """Parse one USGS cell.

    >>> parse_value(">90000000")
    UsgsValue(value=90000000.0, withheld=False, bound='lower', net_exporter=False, raw='>90000000')
    >>> parse_value("W").withheld
    True
    """
    raw = clean_text(cell)
    if raw in {"", "NA", "--", "-", "XX", "nan"}:
        return UsgsValue(math.nan, raw=raw)
    if raw.upper() == "W":
        return UsgsValue(math.nan, withheld=True, raw=raw)
    if raw.upper() == "E":
        return UsgsValue(math.nan, net_exporter=True, raw=raw)
    m = _NUMBER.match(raw)
    if m is None:
        raise ValueError(f"unreadable USGS value {raw!r}: expected a number, W, E, NA or >n/<n")
    value = float(m.group("num").replace(",", ""))
    op = m.group("op")
    bound = None if op is None else ("lower" if op.startswith(">") else "upper")
    return UsgsValue(value, bound=bound, raw=raw)


def read_usgs_csv(path: str | Path) -> pd.DataFrame:
    """Read a USGS CSV as text: BOM removed, column names and cells cleaned, nothing parsed."""
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    df.columns = [clean_text(c).replace(" ", "") for c in df.columns]
    for col in df.columns:
        df[col] = df[col].map(clean_text)
    return df
