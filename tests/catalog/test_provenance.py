"""Every row of every embedded table carries a source and a licence from the registry."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from critmin.catalog._data import data_dir, read_table
from critmin.catalog.production import production_table
from critmin.catalog.provenance import SOURCES, citation, licence

TABLES = [
    "minerals.csv",
    "products.csv",
    "production.csv",
    "world_totals.csv",
    "blocs.csv",
    "bloc_members.csv",
    "political_stability.csv",
    "reliance.csv",
    "prices.csv",
]


@pytest.mark.parametrize("name", TABLES)
def test_every_row_has_a_registered_source_and_licence(name: str) -> None:
    df = read_table(name)
    assert len(df) > 0
    for col in ("source_id", "source", "licence"):
        assert col in df.columns
        assert df[col].notna().all(), f"{name}: empty {col}"
    assert set(df["source_id"]) <= set(SOURCES)
    expected_source = df["source_id"].map(citation)
    expected_licence = df["source_id"].map(licence)
    assert (df["source"] == expected_source).all()
    assert (df["licence"] == expected_licence).all()


def test_trade_table_cites_baci() -> None:
    """The trade table is one source only; it is cited in the manifest-free way by module."""
    from critmin.catalog import trade

    assert trade.SOURCE_ID in SOURCES
    assert (data_dir() / "trade.parquet").exists()


def test_registry_entries_are_complete() -> None:
    for sid, entry in SOURCES.items():
        for field in ("citation", "title", "publisher", "url", "licence"):
            assert entry[field], (sid, field)


def test_no_number_without_source_or_withheld_flag() -> None:
    df = production_table()
    missing = df[df["qty"].isna() & ~df["withheld"]]
    assert missing.empty, missing[["mineral", "stage", "country_iso3", "year"]]
    assert (df["source_table"].str.len() > 0).all()
    assert (df["qty"].dropna() >= 0).all()


def test_production_table_columns_match_contract() -> None:
    df = production_table()
    assert list(df.columns) == [
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
    ]
    assert not df.duplicated(["mineral", "stage", "country_iso3", "year"]).any()


def test_curated_rows_are_estimates_or_cited_with_reasoning() -> None:
    """Rows not from USGS carry a reasoning note; critmin's own numbers are marked estimates."""
    df = production_table()
    curated = df[df["source_id"] != "usgs_mcs2025"]
    assert len(curated) > 50
    assert (curated["note"].str.len() > 20).all()
    own = curated[curated["source_id"] == "critmin_estimate"]
    assert own["is_estimate"].all()


def test_curated_shares_sum_to_one_per_group() -> None:
    """Refining shares are shares of a world basis: the group's qty sums to that basis."""
    from critmin.catalog.production import world_total

    df = production_table()
    ref = df[df["source_table"].str.startswith("data/curated/refining_shares.csv")]
    for (mineral, stage, year), grp in ref.groupby(["mineral", "stage", "year"]):
        total = world_total(str(mineral), str(stage), int(str(year)))
        assert total is not None
        assert math.isclose(float(grp["qty"].sum()), total, rel_tol=1e-9), (mineral, stage)


def test_china_rare_earth_refining_is_the_seed_figure() -> None:
    """IEA GCMO 2024: China ~90% of rare-earth refining; 0.90 x 390,000 t REO = 351,000 t."""
    df = production_table()
    row = df[
        (df["mineral"] == "rare_earths")
        & (df["stage"] == "refining")
        & (df["country_iso3"] == "CHN")
    ].iloc[0]
    assert row["qty"] == pytest.approx(351_000)
    assert row["source_id"] == "iea_gcmo2024"


def test_built_tables_read_back_as_frames() -> None:
    assert isinstance(read_table("production.csv"), pd.DataFrame)


def test_ndpr_by_country_is_reo_times_deposit_share() -> None:
    """Hand case: China 2024 mined REO 270,000 t x NdPr share 0.23 (Bayan Obo-dominated) =
    62,100 t NdPr oxide contained; Burma 31,000 t x 0.24 (ionic clays) = 7,440 t; both flagged
    as estimates."""
    df = production_table()
    nd = df[(df["mineral"] == "ndpr_oxide") & (df["stage"] == "mine") & (df["year"] == 2024)]
    by_iso = nd.set_index("country_iso3")
    assert by_iso.loc["CHN", "qty"] == pytest.approx(62_100)
    assert by_iso.loc["MMR", "qty"] == pytest.approx(7_440)
    assert nd["is_estimate"].all()
