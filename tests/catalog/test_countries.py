"""Every country spelling in the raw files maps to an ISO 3166 code; none is left unmapped."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pycountry
import pytest

from critmin.catalog.countries import (
    NON_COUNTRY_CODES,
    OTHER,
    clean_name,
    country_name,
    fix_mojibake,
    is_multi_country,
    is_world_total,
    resolve_country,
    to_iso3,
)
from critmin.errors import UnknownNameError

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


def _csv_column(path: Path, column: str | int) -> set[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        reader = csv.reader(fh)
        header = next(reader)
        idx = column if isinstance(column, int) else header.index(column)
        return {row[idx] for row in reader if row}


def _is_valid_code(code: str) -> bool:
    return (
        code in NON_COUNTRY_CODES
        or pycountry.countries.get(alpha_3=code) is not None
        or pycountry.historic_countries.get(alpha_3=code) is not None
    )


def test_every_usgs_world_data_country_maps_to_a_code() -> None:
    """All COUNTRY cells of MCS2025_World_Data.csv: a code, a world total or a multi-country row."""
    names = _csv_column(RAW / "usgs_mcs_2025/world_data/MCS2025_World_Data.csv", "COUNTRY")
    assert len(names) > 150
    unmapped = []
    for name in sorted(names):
        if is_world_total(name) or is_multi_country(name):
            continue
        try:
            code = to_iso3(name)
        except UnknownNameError:
            unmapped.append(name)
            continue
        assert _is_valid_code(code), (name, code)
    assert unmapped == []


def test_usgs_t5_and_fig3_country_names_map() -> None:
    t5 = RAW / "usgs_mcs_2025/industry_trends/MCS2025_T5_Critical_Minerals_Salient.csv"
    names = _csv_column(t5, "Leading_source_country") | _csv_column(t5, "Primary_import_source")
    for name in names:
        assert _is_valid_code(to_iso3(name)), name


def test_every_baci_country_maps_to_its_baci_iso3() -> None:
    """BACI names (with mojibake such as 'TÃ¼rkiye') map to BACI's own ISO3 column.

    The one deliberate difference: BACI 'Other Asia, nes' (S19) is Taiwan (TWN), the
    Comtrade/BACI convention.
    """
    path = RAW / "baci/baci_country_codes_V202401b.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 238
    for row in rows:
        expected = "TWN" if row["country_iso3"] == "S19" else row["country_iso3"]
        assert to_iso3(row["country_name"]) == expected, row


def test_every_wgi_country_maps_to_its_code() -> None:
    path = RAW / "wgi/wgi_political_stability_estimate_1996_2024.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    assert len(rows) == 217
    for row in rows:
        assert to_iso3(row[0]) == row[1], row


@pytest.mark.parametrize(
    ("raw", "iso3"),
    [
        ("Burma", "MMR"),
        ("Congo (Kinshasa)", "COD"),
        ("Korea, Republic of", "KOR"),
        ("Korea, North", "PRK"),
        ("Republic of Korea", "KOR"),  # pycountry's fuzzy search would say PRK
        (" Republic of Korea", "KOR"),  # leading space as in T5
        ("Canada ", "CAN"),  # trailing space
        ("United\xa0States (kyanite)", "USA"),  # non-breaking space + qualifier
        ("Brazil (beneficiated, marketable)", "BRA"),
        ("Côte d’Ivoire", "CIV"),
        ("TÃ¼rkiye", "TUR"),  # mojibake in BACI
        ("Other Countries", OTHER),
        ("Other countries (rounded)", OTHER),
        ("Democratic Republic of the Congo", "COD"),
        ("the Netherlands", "NLD"),
        ("Czech Republic", "CZE"),
    ],
)
def test_known_spellings(raw: str, iso3: str) -> None:
    assert to_iso3(raw) == iso3


def test_world_totals_are_not_countries() -> None:
    assert is_world_total("World total (rounded) 10")
    assert is_world_total("World total (ilmenite, rounded)")
    with pytest.raises(UnknownNameError):
        to_iso3("World total (rounded)")


def test_unknown_country_suggests() -> None:
    with pytest.raises(UnknownNameError, match="did you mean"):
        to_iso3("Germny")


def test_resolve_country_accepts_codes_and_names() -> None:
    assert resolve_country("de") == "DEU"
    assert resolve_country("JPN") == "JPN"
    assert resolve_country("south korea") == "KOR"
    assert country_name("COD") == "Congo, The Democratic Republic of the"
    assert country_name(OTHER) == "Other countries"


def test_clean_name_and_mojibake() -> None:
    assert clean_name("  United\xa0States  ") == "United States"
    assert fix_mojibake("CuraÃ§ao") == "Curaçao"
    assert fix_mojibake("Plain") == "Plain"
