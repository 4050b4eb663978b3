"""Trade (BACI), governance (WGI), U.S. reliance and reference prices, checked against raw cells."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from critmin.catalog.governance import political_stability
from critmin.catalog.prices import price_table, reference_price_usd_per_t
from critmin.catalog.reliance import reliance_record, us_net_import_reliance
from critmin.catalog.trade import latest_trade_year, trade_flows
from critmin.errors import InputError, UnknownNameError

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


def test_trade_totals_match_raw_file() -> None:
    """Sum of 2022 cobalt-oxide (282200) exports of every country, read straight from BACI."""
    raw_total = 0.0
    with gzip.open(RAW / "baci/baci_hs92_critical_subset_1995_2024.csv.gz", "rt") as fh:
        for row in csv.DictReader(fh):
            if row["year"] == "2022" and row["hs92"] == "282200":
                raw_total += float(row["value_kusd"])
    flows = trade_flows(hs6="282200", year=2022)
    assert flows["value_kusd"].sum() == pytest.approx(raw_total)
    assert list(flows.columns) == [
        "year",
        "hs6",
        "exporter_iso3",
        "importer_iso3",
        "value_kusd",
        "qty_t",
    ]
    assert latest_trade_year() == 2024


def test_trade_by_mineral_uses_its_hs_codes() -> None:
    flows = trade_flows(mineral="lithium", year=2023)
    assert set(flows["hs6"]) <= {"282520", "283691"}
    assert len(flows) > 100
    with pytest.raises(UnknownNameError):
        trade_flows(hs6="999999", year=2023)
    with pytest.raises(InputError, match="available 1995-2024"):
        trade_flows(year=1990)


def test_trade_taiwan_is_mapped_from_other_asia_nes() -> None:
    flows = trade_flows(year=2022)
    assert "S19" not in set(flows["exporter_iso3"])
    assert "TWN" in set(flows["exporter_iso3"])


def test_political_stability_matches_raw_cell() -> None:
    with open(RAW / "wgi/wgi_political_stability_estimate_1996_2024.csv", newline="") as fh:
        rows = {r["Code"]: r for r in csv.DictReader(fh)}
    s = political_stability(2023)
    for code in ("CHN", "COD", "AUS", "NOR"):
        assert s[code] == pytest.approx(float(rows[code]["2023"]), abs=1e-6)
    assert s.between(-3.5, 3.5).all()
    with pytest.raises(InputError):
        political_stability(1997)


def test_reliance_readings() -> None:
    """USGS salient cells: lithium 2024 '>50', rare earths 2024 '80', beryllium 'E', gallium 100."""
    li = reliance_record("lithium", 2024)
    assert (li.share, li.bound, li.raw) == (0.5, "lower", ">50")
    assert us_net_import_reliance("rare earths", 2024) == pytest.approx(0.80)
    be = reliance_record("beryllium", 2024)
    assert be.share == 0.0
    assert be.net_exporter
    assert us_net_import_reliance("gallium", 2024) == pytest.approx(1.0)
    assert us_net_import_reliance("dysprosium", 2024) == pytest.approx(0.80)
    assert "10.5066/P13XCP3R" in li.source


def test_prices_convert_units() -> None:
    """NdPr 2024 = 55 USD/kg -> 55,000 USD/t; cobalt spot 2024 = 17 USD/lb x 2204.62."""
    assert reference_price_usd_per_t("ndpr_oxide", 2024)[0] == pytest.approx(55_000)
    assert reference_price_usd_per_t("cobalt", 2024)[0] == pytest.approx(17 * 2204.62262)
    value, source = reference_price_usd_per_t("lithium_carbonate", 2022)
    assert value == pytest.approx(71_100)
    assert "USGS" in source


def test_pinksheet_annual_mean_matches_raw_months() -> None:
    with open(RAW / "prices/pinksheet_metals_monthly_1960_2026M05.csv", newline="") as fh:
        months = [
            float(r["Copper ($/mt)"]) for r in csv.DictReader(fh) if r["period"][:4] == "2023"
        ]
    assert len(months) == 12
    assert reference_price_usd_per_t("copper", 2023)[0] == pytest.approx(sum(months) / 12)
    # 2026 has only 5 months: no annual mean
    assert not ((price_table()["id"] == "copper") & (price_table()["year"] == 2026)).any()


def test_unknown_price_names_what_exists() -> None:
    with pytest.raises(InputError, match="years with a price"):
        reference_price_usd_per_t("ndpr_oxide", 1999)
