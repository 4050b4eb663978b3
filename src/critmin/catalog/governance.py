"""Country governance: World Bank WGI Political Stability and Absence of Violence/Terrorism."""

from __future__ import annotations

import pandas as pd

from critmin.catalog._data import read_table
from critmin.catalog.provenance import citation
from critmin.errors import InputError

SOURCE_ID = "wgi"
SOURCE = citation(SOURCE_ID)


def political_stability_table() -> pd.DataFrame:
    """Long table: ``iso3, year, estimate`` plus source columns (estimate roughly -2.5..2.5)."""
    return read_table("political_stability.csv").copy()


def political_stability(year: int = 2023) -> pd.Series:
    """WGI political-stability estimates of ``year``, indexed by ISO3 (name = source)."""
    df = read_table("political_stability.csv")
    sub = df[df["year"] == year]
    if sub.empty:
        years = sorted(int(y) for y in df["year"].unique())
        raise InputError(f"no WGI data for {year}; available {years}", where="governance")
    s = pd.Series(sub["estimate"].to_numpy(dtype=float), index=sub["iso3"].astype(str))
    s.index.name = "iso3"
    s.name = SOURCE
    return s
