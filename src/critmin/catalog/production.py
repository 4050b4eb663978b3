"""Production by country, stage and year: USGS MCS 2025 world data plus cited curated rows.

One row per (mineral, stage, country_iso3, year); ``mineral`` is a mineral id or a product id
(``ndpr_oxide``...). ``qty`` is in tonnes of the basis named in ``unit`` (NaN when withheld).
USGS "Other countries" rows are kept as ``country_iso3 == "ZZ_OTHER"``; "World total" rows are
not in this table but in :func:`world_total`.
"""

from __future__ import annotations

import math

import pandas as pd

from critmin.catalog._data import read_table
from critmin.catalog.minerals import resolve_material
from critmin.catalog.stages import Stage, parse_stage
from critmin.errors import InputError

COLUMNS = (
    "mineral",
    "stage",
    "country_iso3",
    "year",
    "qty",
    "unit",
    "withheld",
    "is_estimate",
    "source_id",
    "source",
    "source_table",
    "source_year",
    "licence",
    "note",
)


def production_table() -> pd.DataFrame:
    """The whole tidy production table (a copy; see module docstring for the columns)."""
    df = read_table("production.csv").copy()
    df["year"] = df["year"].astype(int)
    df["qty"] = df["qty"].astype(float)
    df["withheld"] = df["withheld"].astype(bool)
    df["is_estimate"] = df["is_estimate"].astype(bool)
    return df


def world_totals_table() -> pd.DataFrame:
    """USGS "World total" rows (and the bases of curated shares), one per mineral/stage/year."""
    df = read_table("world_totals.csv").copy()
    df["bound"] = ["" if pd.isna(b) else str(b) for b in df["bound"]]
    return df


def world_total(mineral: str, stage: str | Stage = Stage.MINE, year: int = 2024) -> float | None:
    """The published world total (USGS "World total (rounded)") where there is one, else None."""
    mid = resolve_material(mineral)
    st = parse_stage(stage)
    df = world_totals_table()
    hit = df[(df["mineral"] == mid) & (df["stage"] == st.value) & (df["year"] == year)]
    if hit.empty:
        return None
    value = float(hit["qty"].iloc[0])
    return None if math.isnan(value) else value


def available(mineral: str) -> pd.DataFrame:
    """The (stage, year) pairs with data for a mineral or product."""
    mid = resolve_material(mineral)
    df = production_table()
    sub = df[df["mineral"] == mid]
    return sub[["stage", "year"]].drop_duplicates().sort_values(["stage", "year"])


def production(mineral: str, stage: str | Stage = Stage.MINE, year: int = 2024) -> pd.DataFrame:
    """Rows of one mineral (or product), stage and year, largest producer first, with ``share``.

    ``share`` is qty / world total (the published total where there is one, else the sum of the
    rows). Raises :class:`UnknownNameError` for an unknown mineral or stage and
    :class:`InputError` naming what exists when there is no data for the stage/year.
    """
    mid = resolve_material(mineral)
    st = parse_stage(stage)
    df = production_table()
    sub = df[(df["mineral"] == mid) & (df["stage"] == st.value) & (df["year"] == year)]
    if sub.empty:
        have = available(mid)
        listing = ", ".join(f"{s} {y}" for s, y in have.itertuples(index=False)) or "none"
        raise InputError(
            f"no {st.value} production data for {mid!r} in {year}; available: {listing}",
            where="production",
        )
    sub = sub.sort_values("qty", ascending=False, na_position="last").reset_index(drop=True)
    total = world_total(mid, st, year)
    denom = total if total is not None else float(sub["qty"].sum())
    sub.insert(5, "share", sub["qty"] / denom if denom > 0 else float("nan"))
    return sub


def leading_producer(
    mineral: str, stage: str | Stage = Stage.MINE, year: int = 2024
) -> tuple[str, float]:
    """The largest single country (not "Other countries") and its share of the world total."""
    rows = production(mineral, stage, year)
    rows = rows[(rows["country_iso3"] != "ZZ_OTHER") & rows["qty"].notna()]
    top = rows.iloc[0]
    return str(top["country_iso3"]), float(top["share"])
