"""Country governance: World Bank Worldwide Governance Indicators (WGI).

Two tables: the Political Stability and Absence of Violence/Terrorism estimate (the figure
GeoPolRisk and critmin's quick supply-risk score use; 1996-2024), and the six dimensions of the
WGI 2024 update (1996-2023) with their mean, which the EU criticality method uses.
"""

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


SIX_SOURCE_ID = "wgi_2024"
SIX_SOURCE = citation(SIX_SOURCE_ID)
DIMENSIONS: dict[str, str] = {
    "va": "Voice and Accountability",
    "pv": "Political Stability and Absence of Violence/Terrorism",
    "ge": "Government Effectiveness",
    "rq": "Regulatory Quality",
    "rl": "Rule of Law",
    "cc": "Control of Corruption",
}


def wgi_six_table() -> pd.DataFrame:
    """Wide table: ``iso3, year, va, pv, ge, rq, rl, cc, mean_estimate, n_dimensions`` plus
    source columns (estimates roughly -2.5..2.5, higher = better governance)."""
    return read_table("wgi_six.csv").copy()


def wgi_mean(year: int = 2023) -> pd.Series:
    """Mean of the six WGI dimensions' estimates of ``year``, indexed by ISO3 (name = source).

    The EU criticality method's country governance term before rescaling to 0..10. A country
    with fewer than six published dimensions gets the mean of those published (``n_dimensions``
    in :func:`wgi_six_table`)."""
    df = read_table("wgi_six.csv")
    sub = df[df["year"] == year]
    if sub.empty:
        years = sorted(int(y) for y in df["year"].unique())
        raise InputError(
            f"no six-dimension WGI data for {year}; available {years[0]}-{years[-1]}",
            where="governance",
        )
    s = pd.Series(sub["mean_estimate"].to_numpy(dtype=float), index=sub["iso3"].astype(str))
    s.index.name = "iso3"
    s.name = SIX_SOURCE
    return s
