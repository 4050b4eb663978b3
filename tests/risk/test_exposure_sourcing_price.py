"""Exposure: tonnage basis per sourcing stage, derived product prices, piped CLI width.

Hand computations use IUPAC atomic weights and the product factors of docs/data.md
(Li in Li2CO3 = 2 x 6.941 / 73.89 = 0.1879; Ni in NiSO4.6H2O = 58.69 / 262.85 = 0.2233;
Co in CoSO4.7H2O = 58.93 / 281.1 = 0.2096; NdPr oxide = 1 t REO per t).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmin.catalog.exposure import (
    Exposure,
    ExposureLine,
    compute_exposure,
    parse_bom_text,
    sourcing_table,
)

ROOT = Path(__file__).resolve().parents[2]
LB_PER_T = 2204.62262


def _exposure(product: str, kg_per_unit: float, units: float) -> Exposure:
    text = (
        f"name: hand case\nunits_per_year: {units}\nitems:\n"
        f"  - product: {product}\n    kg_per_unit: {kg_per_unit}\n    source: hand\n"
    )
    bom, lines = parse_bom_text(text, "hand.yaml")
    return compute_exposure(bom, lines, path="hand.yaml")


def _rows(basis: str, stage: str, qty: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mineral": basis,
            "stage": stage,
            "country_iso3": list(qty),
            "qty": list(qty.values()),
        }
    )


def _qty(df: pd.DataFrame, basis: str, stage: str, iso3: str) -> tuple[float, str]:
    hit = df[(df["basis"] == basis) & (df["stage"] == stage) & (df["country_iso3"] == iso3)]
    assert len(hit) == 1
    return float(hit["qty_t"].iloc[0]), str(hit["unit"].iloc[0])


def test_lithium_mine_stage_moves_contained_lithium() -> None:
    """38.5 kg Li2CO3 per pack x 1,000 packs = 38.5 t Li2CO3 = 38.5 x 0.1879 = 7.2342 t Li.

    Synthetic production: mine AUS 3 t, CHL 1 t -> AUS 3/4; refining CHN 13, CHL 7 -> CHN
    13/20. Mine (upstream) moves lithium: AUS 0.75 x 7.2342 = 5.4256 t Li (not 0.75 x 38.5 =
    28.9 t of carbonate). Refining is the carbonate's own stage: CHN 0.65 x 38.5 = 25.025 t
    Li2CO3.
    """
    line = _exposure("lithium_carbonate", 38.5, 1000).lines[0]
    rows = pd.concat(
        [
            _rows("lithium", "mine", {"AUS": 3.0, "CHL": 1.0}),
            _rows("lithium", "refining", {"CHN": 13.0, "CHL": 7.0}),
        ]
    )
    df = sourcing_table(line, "refining", rows)
    assert _qty(df, "lithium", "mine", "AUS") == (pytest.approx(5.4256, rel=1e-4), "t Li")
    assert _qty(df, "lithium", "refining", "CHN") == (pytest.approx(25.025), "t Li2CO3")


def test_ndpr_oxide_upstream_on_reo_basis() -> None:
    """0.494 kg NdPr oxide per motor x 100,000 = 49.4 t NdPr oxide = 49.4 t REO (factor 1).

    Synthetic: REO mine CHN 270,000, USA 45,000 -> CHN 6/7: 6/7 x 49.4 = 42.343 t REO.
    Own stage (refining) CHN 9, MYS 1: 0.9 x 49.4 = 44.46 t NdPr oxide. A downstream stage
    (metal) is not where the oxide comes from: left out.
    """
    line = _exposure("ndpr_oxide", 0.494, 100_000).lines[0]
    rows = pd.concat(
        [
            _rows("rare_earths", "mine", {"CHN": 270_000.0, "USA": 45_000.0}),
            _rows("ndpr_oxide", "refining", {"CHN": 9.0, "MYS": 1.0}),
            _rows("rare_earths", "metal", {"CHN": 1.0}),
        ]
    )
    df = sourcing_table(line, "refining", rows)
    assert _qty(df, "rare_earths", "mine", "CHN") == (pytest.approx(42.343, rel=1e-4), "t REO")
    assert _qty(df, "ndpr_oxide", "refining", "CHN") == (pytest.approx(44.46), "t NdPr oxide")
    assert "metal" not in set(df["stage"])


def test_catalog_sourcing_sums_to_the_stage_tonnage() -> None:
    """With the catalog's 2024 rows, each (basis, stage) sums to its tonnage: lithium mine
    7.2342 t Li, refining 38.5 t Li2CO3; spherical graphite (yield 0.4): mine 66 / 0.4 = 165 t
    graphite, refining 66 t spherical graphite."""
    li = _exposure("lithium_carbonate", 38.5, 1000).sourcing
    spg = _exposure("spherical_graphite", 66, 1000).sourcing
    sums = pd.concat([li, spg]).groupby(["basis", "stage", "unit"])["qty_t"].sum()
    assert sums[("lithium", "mine", "t Li")] == pytest.approx(7.2342, rel=1e-4)
    assert sums[("lithium", "refining", "t Li2CO3")] == pytest.approx(38.5)
    assert sums[("graphite", "mine", "t graphite")] == pytest.approx(165.0)
    assert sums[("graphite", "refining", "t spherical graphite")] == pytest.approx(66.0)


def _line(product: str, kg_per_unit: float, units: float) -> ExposureLine:
    return _exposure(product, kg_per_unit, units).lines[0]


def test_cobalt_sulfate_price_from_usgs_cobalt() -> None:
    """USGS 2024 U.S. spot cathode 17 USD/lb x 2,204.62 lb/t = 37,478.6 USD/t Co;
    x 0.2096 t Co per t CoSO4.7H2O = 7,855.5 USD/t; 29.3 kg x 1,000 packs = 29.3 t ->
    USD 230,166 a year. Flagged an estimate; payables/premiums ignored."""
    line = _line("cobalt_sulfate", 29.3, 1000)
    assert line.price_usd_per_t == pytest.approx(17 * LB_PER_T * 0.2096)
    assert line.price_usd_per_t == pytest.approx(7855.5, abs=0.1)
    assert line.annual_cost_usd == pytest.approx(230_166, abs=2)
    assert line.price_estimate
    assert "payables" in line.price_note
    assert line.price_source is not None
    assert line.price_source.startswith("derived from")


def test_nickel_sulfate_price_from_pink_sheet_nickel() -> None:
    """Pink Sheet nickel 2024 = mean of the 12 monthly values in data/raw (16,813.96 USD/t);
    x 0.2233 t Ni per t NiSO4.6H2O = 3,754.56 USD/t."""
    raw = ROOT / "data/raw/prices/pinksheet_metals_monthly_1960_2026M05.csv"
    with raw.open(newline="") as fh:
        months = [
            float(r["Nickel ($/mt)"]) for r in csv.DictReader(fh) if r["period"][:4] == "2024"
        ]
    assert len(months) == 12
    line = _line("nickel_sulfate", 219.0, 1000)
    assert line.price_usd_per_t == pytest.approx(sum(months) / 12 * 0.2233)
    assert line.price_usd_per_t == pytest.approx(3754.56, abs=0.01)
    assert line.price_estimate


def test_own_price_wins_and_graphite_stays_unpriced() -> None:
    """Lithium carbonate has its own USGS price (14,000 USD/t, not an estimate); spherical
    graphite has no price and no parent price: null cost with a reason, no default."""
    li = _line("lithium_carbonate", 38.5, 1000)
    assert li.price_usd_per_t == pytest.approx(14_000)
    assert not li.price_estimate
    assert li.price_note == ""
    spg = _line("spherical_graphite", 66, 1000)
    assert spg.price_usd_per_t is None
    assert spg.annual_cost_usd is None
    assert not spg.price_estimate
    assert "no catalog price" in spg.price_note


def test_risk_records_once_per_mineral_stage() -> None:
    """Three rare-earth oxides share the rare_earths records: each (mineral, stage) once."""
    result = compute_exposure(
        *parse_bom_text(
            "name: x\nitems:\n"
            "  - {product: ndpr_oxide, kg_per_unit: 1, source: s}\n"
            "  - {product: terbium_oxide, kg_per_unit: 1, source: s}\n"
        )
    )
    keys = [(r.mineral, r.stage) for r in result.risk]
    assert len(keys) == len(set(keys))
    assert ("rare_earths", "mine") in keys


def test_piped_table_is_wide() -> None:
    """Off a terminal the table is 160 columns: product names are not cut, input column shown."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from critmin.cli import main; main()",
            "exposure",
            "examples/bom/battery_pack_75kwh_nmc811.yaml",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "spherical_graphite (est.)" in proc.stdout
    assert "input t/yr" in proc.stdout
    assert "16,500.0 t" in proc.stdout  # 66 kg x 100,000 / 1000 / 0.4
