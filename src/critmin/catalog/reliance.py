"""U.S. net import reliance (USGS MCS 2025 salient statistics), as a 0..1 share.

Reading of USGS codes (documented choice): a number n -> n/100; ">95" -> 0.95 with
``bound="lower"``; "<25" -> 0.25 with ``bound="upper"``; "E" (net exporter) -> 0.0 with
``net_exporter=True``; "W" (withheld) and "NA" -> None. Rare-earth elements take the value of
"rare earths (compounds and metals)".
"""

from __future__ import annotations

import math

import pandas as pd
from pydantic import BaseModel, ConfigDict

from critmin.catalog._data import read_table
from critmin.catalog.minerals import resolve_material
from critmin.errors import InputError


class Reliance(BaseModel):
    """One reliance figure with how to read it and where it comes from."""

    model_config = ConfigDict(frozen=True)

    mineral: str
    year: int
    share: float | None
    bound: str | None
    net_exporter: bool
    withheld: bool
    raw: str
    source: str
    source_table: str


def reliance_table() -> pd.DataFrame:
    """All reliance rows: mineral, year, share (NaN when none), bound, flags, source."""
    return read_table("reliance.csv").copy()


def reliance_record(mineral_id: str, year: int = 2024) -> Reliance:
    """The reliance figure of a mineral and year with its flags and source."""
    mid = resolve_material(mineral_id)
    df = read_table("reliance.csv")
    hit = df[(df["mineral"] == mid) & (df["year"] == year)]
    if hit.empty:
        have = sorted(df["mineral"].unique())
        raise InputError(
            f"no U.S. net import reliance for {mid!r} in {year}; minerals with data: {have}",
            where="reliance",
        )
    r = hit.iloc[0]
    share = float(r["share"])
    return Reliance(
        mineral=mid,
        year=year,
        share=None if math.isnan(share) else share,
        bound=None if pd.isna(r["bound"]) or not r["bound"] else str(r["bound"]),
        net_exporter=bool(r["net_exporter"]),
        withheld=bool(r["withheld"]),
        raw="" if pd.isna(r["raw"]) else str(r["raw"]),
        source=str(r["source"]),
        source_table=str(r["source_table"]),
    )


def us_net_import_reliance(mineral_id: str, year: int = 2024) -> float | None:
    """U.S. net import reliance as a 0..1 fraction (None when withheld or not available)."""
    return reliance_record(mineral_id, year).share
