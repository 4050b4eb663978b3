"""The USGS file quirks are handled in code (the raw files are unmodified)."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from critmin.catalog.production import production, production_table, world_total
from critmin.catalog.usgs import clean_commodity, parse_value, read_usgs_csv

RAW = Path(__file__).resolve().parents[2] / "data" / "raw" / "usgs_mcs_2025"
WORLD = RAW / "world_data" / "MCS2025_World_Data.csv"


def test_raw_file_still_has_its_quirks() -> None:
    """Guard: the quirks are in the raw file (so the tests below test the code, not an edit)."""
    raw = WORLD.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert ",Gemanium," in text
    assert "Canada ," in text
    assert "United\xa0States" in text
    assert ">90000000" in text


def test_bom_and_spaces_removed_from_header_and_cells() -> None:
    df = read_usgs_csv(WORLD)
    assert df.columns[0] == "SOURCE"  # not '\ufeffSOURCE'
    assert "PROD_EST_2024" in df.columns  # 'PROD_EST_ 2024' in the file
    assert not df["COUNTRY"].str.contains("\xa0").any()
    assert not (df["COUNTRY"] != df["COUNTRY"].str.strip()).any()


def test_gemanium_becomes_germanium() -> None:
    assert clean_commodity("Gemanium") == "Germanium"
    assert clean_commodity("Lithium ") == "Lithium"
    table = production_table()
    # germanium has no USGS numbers (all blank), so its rows come from the curated file;
    # the USGS rows were read under the corrected name (none under a misspelt id)
    assert "gemanium" not in set(table["mineral"])
    assert (table["mineral"] == "germanium").any()


def test_withheld_is_nan_and_flagged() -> None:
    """USGS lithium, United States: blank cells with the note 'W for 23-24' -> withheld."""
    rows = production("lithium", "mine", 2024)
    us = rows[rows["country_iso3"] == "USA"].iloc[0]
    assert math.isnan(us["qty"])
    assert bool(us["withheld"])
    assert parse_value("W").withheld
    assert math.isnan(parse_value("W").value)


def test_bounds_are_parsed_and_flagged() -> None:
    v = parse_value(">90000000")
    assert v.value == 90_000_000
    assert v.bound == "lower"
    v = parse_value('">17,000,000"'.strip('"'))
    assert v.value == 17_000_000
    assert v.bound == "lower"
    assert parse_value("<25").bound == "upper"
    assert parse_value("E").net_exporter
    assert math.isnan(parse_value("NA").value)


def test_rare_earth_world_reserves_bound_in_raw() -> None:
    df = read_usgs_csv(WORLD)
    cell = df[(df["COMMODITY"] == "Rare earths") & df["COUNTRY"].str.startswith("World")]
    v = parse_value(cell["RESERVES_2024"].iloc[0])
    assert (v.value, v.bound) == (90_000_000.0, "lower")


def test_units_converted_to_tonnes() -> None:
    """Gallium is published in kilograms (China 2024: 750000 kg) -> 750 t; copper in kt."""
    ga = production("gallium", "refining", 2024)
    assert ga.loc[ga["country_iso3"] == "CHN", "qty"].iloc[0] == 750.0
    assert world_total("copper", "mine", 2024) == 23_000_000.0


def test_titanium_concentrate_units_and_missing_unit() -> None:
    """Titanium Mineral Concentrates are labelled "metric tons" but are thousand t of TiO2.

    Sierra Leone rutile even has an empty UNIT_MEAS; 2024: 60 (thousand t) -> 60,000 t.
    World ilmenite 2024: 8,900 -> 8.9 Mt (the 'ilmenite and rutile' total, 9,400, is not
    ilmenite's).
    """
    rows = production("rutile", "mine", 2024)
    assert rows.loc[rows["country_iso3"] == "SLE", "qty"].iloc[0] == 60_000.0
    assert world_total("ilmenite", "mine", 2024) == 8_900_000.0


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["", ">", "<"]))
def test_parse_value_reads_grouped_numbers(n: int, op: str) -> None:
    v = parse_value(f"{op}{n:,}")
    assert v.value == n
    assert v.bound == {"": None, ">": "lower", "<": "upper"}[op]
    assert not v.withheld
