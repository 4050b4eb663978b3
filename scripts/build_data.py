"""Build critmin's embedded dataset from the public raw files in ``data/raw/``.

Usage::

    .venv/bin/python scripts/build_data.py            # writes src/critmin/catalog/data/
    .venv/bin/python scripts/build_data.py --out DIR  # writes elsewhere (used by the tests)

Inputs: ``data/raw/**`` (unmodified public files) and ``data/curated/*.csv`` (hand-written,
cited rows for what the public files lack). Every output row carries ``source_id``,
``source``, ``licence``. The build is deterministic: same inputs, same outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.catalog.countries import (
    OTHER,
    clean_name,
    is_multi_country,
    is_world_total,
    to_iso3,
)
from critmin.catalog.production import COLUMNS
from critmin.catalog.provenance import SOURCES, citation, licence
from critmin.catalog.usgs import clean_commodity, clean_text, parse_value, read_usgs_csv

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
CURATED = ROOT / "data" / "curated"
DEFAULT_OUT = ROOT / "src" / "critmin" / "catalog" / "data"

USGS_WORLD = RAW / "usgs_mcs_2025" / "world_data" / "MCS2025_World_Data.csv"
USGS_SALIENT = RAW / "usgs_mcs_2025" / "salient_commodity"
LISTS = RAW / "us_critical_minerals_lists" / "us_critical_minerals_2022_2025.csv"
BACI_FLOWS = RAW / "baci" / "baci_hs92_critical_subset_1995_2024.csv.gz"
BACI_CODES = RAW / "baci" / "baci_country_codes_V202401b.csv"
WGI = RAW / "wgi" / "wgi_political_stability_estimate_1996_2024.csv"
WGI6 = RAW / "wgi" / "wgi_2024_update_estimates_1996_2023.csv"
USGS_PRICES = RAW / "prices" / "usgs_annual_price_reference.csv"
PINKSHEET = RAW / "prices" / "pinksheet_metals_monthly_1960_2026M05.csv"

UNIT_FACTOR_T: dict[str, float] = {
    "metric tons": 1.0,
    "thousand metric tons": 1_000.0,
    "thousand metric dry tons": 1_000.0,
    "kilograms": 0.001,
}

# Quirk: USGS labels Titanium Mineral Concentrates "metric tons", but the figures are thousand
# metric tons of TiO2 (world ilmenite 8,900 "t" against 320,000 t of titanium sponge made from
# it; Mozambique 1,900 "t" where Kenmare alone ships about 1 Mt of ilmenite a year; MCS's printed
# table is in thousand metric tons). The unit is corrected here, not in the raw file.
UNIT_OVERRIDES: dict[str, str] = {"Titanium Mineral Concentrates": "thousand metric tons"}

# (USGS commodity, TYPE regex) -> (mineral or product id, stage, unit label).
# TYPEs not matched (capacities, reserves, other commodities) are not production rows here.
USGS_MAP: list[tuple[str, str, str, str, str]] = [
    ("Bauxite", r"^mine production, bauxite", "aluminum", "mine", "t bauxite (dry)"),
    ("Bauxite", r"^refinery production, alumina", "aluminum", "refining", "t alumina"),
    ("Aluminum", r"^smelter production", "aluminum", "metal", "t"),
    ("Antimony", r"^mine production", "antimony", "mine", "t"),
    ("Arsenic", r"^plant production, arsenic trioxide", "arsenic", "refining", "t As2O3"),
    ("Barite", r"^mine production", "barite", "mine", "t barite"),
    ("Beryllium", r"^mine production", "beryllium", "mine", "t"),
    ("Bismuth", r"^refinery production", "bismuth", "refining", "t"),
    ("Boron", r"^boron all types", "boron", "mine", "t boron minerals"),
    ("Chromium", r"^mine production", "chromium", "mine", "t chromite ore"),
    ("Cobalt", r"^mine production", "cobalt", "mine", "t"),
    ("Copper", r"^mine production", "copper", "mine", "t"),
    ("Copper", r"^refinery production", "copper", "refining", "t"),
    ("Fluorspar", r"^mine production", "fluorspar", "mine", "t fluorspar"),
    ("Gallium", r"^primary production", "gallium", "refining", "t"),
    ("Germanium", r"refinery production", "germanium", "refining", "t"),
    ("Graphite", r"^mine production", "graphite", "mine", "t"),
    ("Indium", r"^refinery production", "indium", "refining", "t"),
    ("Lead", r"^mine production", "lead", "mine", "t"),
    ("Lithium", r"^mine production", "lithium", "mine", "t"),
    ("Magnesium Compounds", r"^mine production, magnesite", "magnesium", "mine", "t magnesite"),
    ("Magnesium metal", r"smelter production", "magnesium", "metal", "t"),
    ("Manganese", r"^mine production", "manganese", "mine", "t"),
    ("Nickel", r"^mine production", "nickel", "mine", "t"),
    ("Niobium", r"^mine production", "niobium", "mine", "t"),
    ("Phosphate rock", r"^mine production", "phosphate", "mine", "t phosphate rock"),
    ("Platinum-Group metals", r"palladium content", "palladium", "mine", "t"),
    ("Platinum-Group metals", r"platinum content", "platinum", "mine", "t"),
    ("Potash", r"^mine production", "potash", "mine", "t K2O"),
    ("Rare earths", r"^mine production", "rare_earths", "mine", "t REO"),
    ("Rhenium", r"^mine production", "rhenium", "mine", "t"),
    ("Silicon", r"silicon metal", "silicon", "metal", "t"),
    ("Silicon", r"ferosilicon", "ferrosilicon", "metal", "t Si content"),
    ("Silver", r"^mine production", "silver", "mine", "t"),
    ("Tantalum", r"^mine production", "tantalum", "mine", "t"),
    ("Tellurium", r"^refinery production", "tellurium", "refining", "t"),
    ("Tin", r"^mine production", "tin", "mine", "t"),
    ("Titanium Mineral Concentrates", r"ilmentite|ilmenite", "ilmenite", "mine", "t TiO2"),
    ("Titanium Mineral Concentrates", r"rutile", "rutile", "mine", "t TiO2"),
    ("Titanium & titanium dioxide", r"^sponge metal", "titanium", "metal", "t"),
    ("Tungsten", r"^mine production", "tungsten", "mine", "t"),
    ("Vanadium", r"^mine production", "vanadium", "mine", "t"),
    ("Zinc", r"^mine production", "zinc", "mine", "t"),
    ("Zirconium and Hafnium", r"^mine production", "zirconium", "mine", "t zircon"),
]

PRODUCTION_COLUMNS = list(COLUMNS)  # the loader's schema: one definition of the table

WORLD_COLUMNS = [
    "mineral",
    "stage",
    "year",
    "qty",
    "unit",
    "bound",
    "is_estimate",
    "source_id",
    "source",
    "source_table",
    "licence",
    "note",
]


def _cite(source_id: str) -> dict[str, str]:
    return {"source_id": source_id, "source": citation(source_id), "licence": licence(source_id)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- minerals and products


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def build_minerals() -> pd.DataFrame:
    """The 60 minerals of the 2025 list (flags for 2022) + aggregates, with curated metadata."""
    lists = pd.read_csv(LISTS, dtype=str)
    lists["id"] = lists["mineral"].map(_slug)
    meta = pd.read_csv(CURATED / "minerals.csv", dtype=str, keep_default_na=False)
    missing = sorted(set(lists["id"]) - set(meta["id"]))
    if missing:
        raise SystemExit(f"data/curated/minerals.csv lacks listed minerals: {missing}")
    df = meta.merge(lists[["id", "in_2022_list", "in_2025_list"]], on="id", how="left")
    df["in_2022_list"] = df["in_2022_list"].fillna("0").astype(int).astype(bool)
    df["in_2025_list"] = df["in_2025_list"].fillna("0").astype(int).astype(bool)
    df["source_id"] = "us_cm_lists"
    df["source"] = citation("us_cm_lists")
    df["licence"] = licence("us_cm_lists")
    cols = ["id", "name", "group", "hs_codes", "unit", "in_2022_list", "in_2025_list"]
    cols += ["usgs_commodity", "aliases", "source_id", "source", "licence"]
    return df[cols]


# ---------------------------------------------------------------- production


def _usgs_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_usgs_csv(USGS_WORLD)
    # Quirk: one row (Sierra Leone rutile) has an empty UNIT_MEAS; it takes the unit that the
    # other rows of the same commodity and TYPE carry.
    known_units = {
        (clean_commodity(c), t.lower()): u
        for c, t, u in zip(raw["COMMODITY"], raw["TYPE"], raw["UNIT_MEAS"], strict=True)
        if u
    }
    rows: list[dict[str, object]] = []
    world: list[dict[str, object]] = []
    for rec in raw.to_dict("records"):
        commodity = clean_commodity(rec["COMMODITY"])
        typ = clean_text(rec["TYPE"]).lower()
        hit = next(
            (m for m in USGS_MAP if m[0] == commodity and re.search(m[1], typ)),
            None,
        )
        if hit is None:
            continue
        _, _, mineral, stage, unit = hit
        unit_meas = clean_text(rec["UNIT_MEAS"]) or known_units[(commodity, typ)]
        unit_meas = UNIT_OVERRIDES.get(commodity, unit_meas)
        factor = UNIT_FACTOR_T[unit_meas.lower()]
        country_raw = str(rec["COUNTRY"])
        notes = clean_text(rec["PROD_NOTES"])
        for year, col in ((2023, "PROD_2023"), (2024, "PROD_EST_2024")):
            val = parse_value(rec[col])
            withheld = val.withheld or (val.is_missing and bool(re.search(r"\bW\b", notes)))
            qty = val.value * factor if not val.is_missing else math.nan
            note_parts = [f"USGS type: {clean_text(rec['TYPE'])}"]
            if year == 2024:
                note_parts.append("2024 is a USGS estimate")
            if notes:
                note_parts.append(f"USGS note: {notes}")
            base = {
                "mineral": mineral,
                "stage": stage,
                "year": year,
                "qty": qty,
                "unit": unit,
                "is_estimate": False,
                **_cite("usgs_mcs2025"),
                "source_table": "MCS2025_World_Data.csv",
                "note": "; ".join(note_parts),
            }
            if is_world_total(country_raw):
                # "World total (ilmenite and rutile, rounded)" sits under the ilmenite TYPE:
                # a combined total, not ilmenite's.
                if val.is_missing or "and rutile" in country_raw:
                    continue
                world.append({**base, "bound": val.bound or ""})
                continue
            if is_multi_country(country_raw):
                continue
            if val.is_missing and not withheld:
                continue
            iso3 = to_iso3(country_raw)
            name = clean_name(country_raw)
            if iso3 != OTHER and "(" in name:
                base["note"] = f"{base['note']}; USGS country label: {name}"
            rows.append({**base, "country_iso3": iso3, "withheld": withheld, "source_year": 2025})
    return pd.DataFrame(rows), pd.DataFrame(world)


def _ree_product_rows(prod: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """NdPr/Dy/Tb oxide contained in mined REO by country = REO x content share (estimates)."""
    shares = pd.read_csv(CURATED / "ree_content_shares.csv", dtype={"country": str})
    shares["iso3"] = shares["country"].map(to_iso3)
    by_iso = shares.set_index("iso3")
    reo = prod[(prod["mineral"] == "rare_earths") & (prod["stage"] == "mine")]
    rows: list[dict[str, object]] = []
    world_share: dict[str, float] = {}
    for product in ("ndpr_oxide", "dysprosium_oxide", "terbium_oxide"):
        for rec in reo.to_dict("records"):
            iso = str(rec["country_iso3"])
            key = iso if iso in by_iso.index else OTHER
            share = float(by_iso.loc[key, product])
            deposit = str(by_iso.loc[key, "deposit_type"])
            rows.append(
                {
                    "mineral": product,
                    "stage": "mine",
                    "country_iso3": iso,
                    "year": rec["year"],
                    "qty": float(rec["qty"]) * share,
                    "unit": f"t {product.replace('_', ' ')} (contained in mined REO)",
                    "withheld": bool(rec["withheld"]),
                    "is_estimate": True,
                    **_cite("critmin_estimate"),
                    "source_table": "data/curated/ree_content_shares.csv x MCS2025_World_Data.csv",
                    "source_year": 2025,
                    "note": (
                        f"USGS mine REO x content share {share:g} ({deposit}"
                        f"{'' if key == iso else '; world-typical share, country not listed'})"
                    ),
                }
            )
        prod_rows = [r for r in rows if r["mineral"] == product and r["year"] == 2024]
        contained = sum(
            float(str(r["qty"])) for r in prod_rows if not np.isnan(float(str(r["qty"])))
        )
        world_reo = float(reo[(reo["year"] == 2024)]["qty"].sum())
        world_share[product] = contained / world_reo
    return pd.DataFrame(rows), world_share


def _curated_refining(prod: pd.DataFrame, world: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cur = pd.read_csv(CURATED / "refining_shares.csv", dtype=str, keep_default_na=False)
    rows: list[dict[str, object]] = []
    totals: list[dict[str, object]] = []
    for (mineral, stage, year), grp in cur.groupby(["mineral", "stage", "year"], sort=True):
        year_i = int(year)
        total_share = grp["share"].astype(float).sum()
        if abs(total_share - 1.0) > 1e-9:
            raise SystemExit(f"refining_shares.csv: {mineral}/{stage}/{year} sums to {total_share}")
        basis_kind = set(grp["world_basis"])
        if len(basis_kind) != 1:
            raise SystemExit(f"refining_shares.csv: {mineral}/{stage}/{year} mixes bases")
        kind = basis_kind.pop()
        if kind == "usgs_mine":
            w = world[(world.mineral == mineral) & (world.stage == "mine") & (world.year == year_i)]
            basis = float(w["qty"].iloc[0])
            basis_note = f"world mine output {basis:g} (USGS MCS 2025 world total)"
        elif kind.endswith("_mine"):
            product = kind.removesuffix("_mine")
            p = prod[(prod.mineral == product) & (prod.stage == "mine") & (prod.year == year_i)]
            basis = float(p["qty"].sum())
            basis_note = f"world {product} contained in mined REO {basis:.0f} (critmin estimate)"
        elif kind == "given":
            basis = float(grp["world_basis_t"].iloc[0])
            basis_note = f"world output {basis:g} (estimate, see reasoning)"
        else:
            raise SystemExit(f"refining_shares.csv: unknown world_basis {kind!r}")
        if not basis > 0:
            raise SystemExit(
                f"refining_shares.csv: {mineral}/{stage}/{year} basis {kind} is {basis}"
            )
        unit = grp["unit"].iloc[0]
        src_ids = set(grp["source_id"])
        totals.append(
            {
                "mineral": mineral,
                "stage": stage,
                "year": year_i,
                "qty": basis,
                "unit": unit,
                "bound": "",
                "is_estimate": True,
                **_cite("usgs_mcs2025" if kind == "usgs_mine" else "critmin_estimate"),
                "source_table": "data/curated/refining_shares.csv",
                "note": f"basis of the curated shares: {basis_note}; sources {sorted(src_ids)}",
            }
        )
        for rec in grp.to_dict("records"):
            share = float(rec["share"])
            rows.append(
                {
                    "mineral": mineral,
                    "stage": stage,
                    "country_iso3": to_iso3(rec["country"]),
                    "year": year_i,
                    "qty": share * basis,
                    "unit": unit,
                    "withheld": False,
                    "is_estimate": rec["is_estimate"].strip().lower() == "true",
                    **_cite(rec["source_id"]),
                    "source_table": "data/curated/refining_shares.csv"
                    + (f" ({rec['source_detail']})" if rec["source_detail"] else ""),
                    "source_year": year_i,
                    "note": f"share {share:g} x {basis_note}. {rec['reasoning']}",
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(totals)


def build_production() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The tidy production table and the world totals."""
    usgs, world = _usgs_rows()
    ree, world_share = _ree_product_rows(usgs)
    for product in ("ndpr_oxide", "dysprosium_oxide", "terbium_oxide"):
        for year in (2023, 2024):
            sub = ree[(ree.mineral == product) & (ree.year == year)]
            world = pd.concat(
                [
                    world,
                    pd.DataFrame(
                        [
                            {
                                "mineral": product,
                                "stage": "mine",
                                "year": year,
                                "qty": float(sub["qty"].sum()),
                                "unit": str(sub["unit"].iloc[0]),
                                "bound": "",
                                "is_estimate": True,
                                **_cite("critmin_estimate"),
                                "source_table": "data/curated/ree_content_shares.csv",
                                "note": "sum of the countries' contained product (estimate)",
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )
    prod = pd.concat([usgs, ree], ignore_index=True)
    refined, ref_totals = _curated_refining(prod, world)
    prod = pd.concat([prod, refined], ignore_index=True)
    world = pd.concat([world, ref_totals], ignore_index=True)
    dup = prod.duplicated(["mineral", "stage", "country_iso3", "year"], keep=False)
    if dup.any():
        raise SystemExit(f"duplicate production keys:\n{prod[dup].to_string()}")
    prod = prod[PRODUCTION_COLUMNS].sort_values(["mineral", "stage", "year", "country_iso3"])
    world = world[WORLD_COLUMNS].sort_values(["mineral", "stage", "year"])
    return prod.reset_index(drop=True), world.reset_index(drop=True), world_share


PRODUCT_FACTORS = ("parent_content", "share_of_parent_output", "yield_from_parent")
PRODUCT_VALUE_COLUMNS = {
    "parent_content": "parent_content_t_per_t",
    "share_of_parent_output": "share_of_parent_output",
    "yield_from_parent": "yield_from_parent",
}


def build_products(world_share: dict[str, float]) -> pd.DataFrame:
    """Products with their three factors (see data/curated/README.md).

    ``parent_content_t_per_t`` (t of the parent's production basis in 1 t of product) is
    curated and required; ``share_of_parent_output`` of NdPr/Dy/Tb oxide is computed here from
    the production build (world contained oxide / world mined REO, 2024); ``yield_from_parent``
    is curated where a processing yield matters. Each factor carries ``*_estimate`` and
    ``*_note`` (its source and reasoning).
    """
    df = pd.read_csv(CURATED / "products.csv", dtype=str, keep_default_na=False)
    for pid, share in world_share.items():
        mask = df["id"] == pid
        if not mask.any():
            raise SystemExit(f"data/curated/products.csv lacks the computed product {pid!r}")
        df.loc[mask, "share_of_parent_output"] = f"{share:.4f}"
        df.loc[mask, "share_of_parent_output_note"] = (
            df.loc[mask, "share_of_parent_output_note"]
            + f" (computed by scripts/build_data.py for 2024: {share:.4f})"
        )
    for factor in PRODUCT_FACTORS:
        value_col = PRODUCT_VALUE_COLUMNS[factor]
        values = pd.to_numeric(df[value_col].replace("", np.nan), errors="raise")
        if factor == "parent_content" and values.isna().any():
            missing = df.loc[values.isna(), "id"].tolist()
            raise SystemExit(f"data/curated/products.csv: parent_content_t_per_t blank: {missing}")
        out_of_range = (values <= 0) | ((values > 1) & (factor != "parent_content"))
        if out_of_range.any():
            bad = df.loc[out_of_range, "id"].tolist()
            raise SystemExit(f"data/curated/products.csv: {value_col} out of range: {bad}")
        est = df[f"{factor}_estimate"].str.strip().str.lower()
        df[f"{factor}_estimate"] = np.where(values.isna(), False, est == "true")
    df["source"] = df["source_id"].map(citation)
    df["licence"] = df["source_id"].map(licence)
    return df


# ---------------------------------------------------------------- blocs


def build_blocs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bloc definitions and dated memberships (ISO3) from the curated files."""
    blocs = pd.read_csv(CURATED / "blocs.csv", dtype=str, keep_default_na=False)
    mem = pd.read_csv(CURATED / "bloc_members.csv", dtype=str, keep_default_na=False)
    mem.insert(2, "member_iso3", mem["member"].map(to_iso3))
    for frame in (blocs, mem):
        frame["source"] = frame["source_id"].map(citation)
        frame["licence"] = frame["source_id"].map(licence)
    return blocs, mem


# ---------------------------------------------------------------- trade, governance


def _baci_code_map() -> dict[int, str]:
    codes = pd.read_csv(BACI_CODES, dtype={"country_name": str}, keep_default_na=False)
    return {
        int(c): to_iso3(n)
        for c, n in zip(codes["country_code"], codes["country_name"], strict=True)
    }


def build_trade() -> pd.DataFrame:
    """BACI flows with ISO3 codes from BACI's country table (S19 "Other Asia, nes" -> TWN)."""
    flows = pd.read_csv(BACI_FLOWS, dtype={"hs92": str})
    cmap = _baci_code_map()
    out = pd.DataFrame(
        {
            "year": flows["year"].astype("int16"),
            "hs6": flows["hs92"].str.zfill(6),
            "exporter_iso3": flows["exporter_code"].map(cmap),
            "importer_iso3": flows["importer_code"].map(cmap),
            "value_kusd": flows["value_kusd"].astype("float64"),
            "qty_t": flows["qty_t"].astype("float64"),
        }
    )
    if out[["exporter_iso3", "importer_iso3"]].isna().any().any():
        raise SystemExit("BACI flow with a country code missing from the BACI country table")
    out = out.sort_values(["year", "hs6", "exporter_iso3", "importer_iso3"]).reset_index(drop=True)
    for col in ("hs6", "exporter_iso3", "importer_iso3"):
        out[col] = out[col].astype("category")
    return out


def build_governance() -> pd.DataFrame:
    """WGI political stability, long: iso3, year, estimate."""
    wgi = pd.read_csv(WGI, keep_default_na=False, na_values=["nan", "None", ""])
    name_col = wgi.columns[0]
    years = [c for c in wgi.columns if re.fullmatch(r"\d{4}", str(c))]
    wgi["iso3"] = wgi[name_col].map(to_iso3)
    # The file has two rows named "Guyana, GUY"; the first (sorted by code between GTM and GUM)
    # is French Guiana: its series equals the WGI 2024 update's "French Guiana" row (1996:
    # 0.038409), while the second equals its "Guyana" row (1996: -0.266414). Without this the
    # table held two GUY estimates a year.
    guy = wgi.index[wgi["iso3"] == "GUY"]
    if len(guy) == 2 and abs(float(wgi.loc[guy[0], "1996"]) - 0.038409) < 1e-5:
        wgi.loc[guy[0], "iso3"] = "GUF"
    if wgi["iso3"].duplicated().any():
        dup = sorted(set(wgi.loc[wgi["iso3"].duplicated(), "iso3"]))
        raise SystemExit(f"{WGI.name}: more than one row for {dup}")
    long = wgi.melt(id_vars=["iso3"], value_vars=years, var_name="year", value_name="estimate")
    long = long.dropna(subset=["estimate"])
    long["year"] = long["year"].astype(int)
    long["estimate"] = long["estimate"].astype(float).round(6)
    long = long.assign(**_cite("wgi"), source_table=WGI.name)
    return long.sort_values(["iso3", "year"]).reset_index(drop=True)


# World Bank spellings (WGI 2024 update) that the country resolver does not know.
WB_NAMES: dict[str, str] = {
    "Bahamas, The": "BHS",
    "Congo, Dem. Rep.": "COD",
    "Congo, Rep.": "COG",
    "Egypt, Arab Rep.": "EGY",
    "Gambia, The": "GMB",
    "Hong Kong SAR, China": "HKG",
    "Iran, Islamic Rep.": "IRN",
    "Korea, Dem. Rep.": "PRK",
    "Korea, Rep.": "KOR",
    "Lao PDR": "LAO",
    "Macao SAR, China": "MAC",
    "Micronesia, Fed. Sts.": "FSM",
    "Netherlands Antilles (former)": "ANT",
    "St. Kitts and Nevis": "KNA",
    "St. Lucia": "LCA",
    "St. Vincent and the Grenadines": "VCT",
    "São Tomé and Principe": "STP",
    "Venezuela, RB": "VEN",
    "Virgin Islands (U.S.)": "VIR",
    "West Bank and Gaza": "PSE",
    "Yemen, Rep.": "YEM",
}
WGI_DIMENSIONS = ("va", "pv", "ge", "rq", "rl", "cc")


def build_governance_six() -> pd.DataFrame:
    """WGI 2024 update, the six dimensions' estimates side by side and their mean:
    ``iso3, year, va, pv, ge, rq, rl, cc, mean_estimate, n_dimensions``.

    The mean is over the dimensions the World Bank publishes for that country and year
    (``n_dimensions`` says how many; 6 for every producer country in recent years)."""
    raw = pd.read_csv(WGI6, keep_default_na=False, na_values=[""])
    raw["iso3"] = [WB_NAMES.get(n) or to_iso3(n) for n in raw["countryname"]]
    wide = raw.pivot_table(
        index=["iso3", "year"], columns="indicator", values="estimate", aggfunc="first"
    )
    wide = wide.reindex(columns=list(WGI_DIMENSIONS))
    wide.columns.name = None
    wide["mean_estimate"] = wide[list(WGI_DIMENSIONS)].mean(axis=1).round(6)
    wide["n_dimensions"] = wide[list(WGI_DIMENSIONS)].notna().sum(axis=1).astype(int)
    out = wide.reset_index()
    out["year"] = out["year"].astype(int)
    out = out.assign(**_cite("wgi_2024"), source_table=WGI6.name)
    return out.sort_values(["iso3", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------- reliance

# mineral id -> (salient file stem, NIR column, note)
RELIANCE_MAP: dict[str, tuple[str, str, str]] = {
    "aluminum": ("alumi", "NIR_pct", ""),
    "antimony": ("antim", "NIR_pct", ""),
    "arsenic": ("arsen", "NIR_All_pct", "all forms"),
    "barite": ("barit", "NIR_pct", ""),
    "beryllium": ("beryl", "NIR_pct", ""),
    "bismuth": ("bismu", "NIR_Consump_pct", ""),
    "boron": ("boron", "NIR_pct", ""),
    "chromium": ("chrom", "NIR_pct", ""),
    "cobalt": ("cobal", "NIR_pct", ""),
    "copper": ("coppe", "NIR_pct", ""),
    "fluorspar": ("fluor", "NIR_pct", ""),
    "gallium": ("galli", "NIR_pct", ""),
    "germanium": ("germa", "NIR_ct", ""),
    "graphite": ("graph", "NIR_pct", "natural graphite"),
    "hafnium": ("zirco", "NIR_Hf_pct", "hafnium"),
    "indium": ("indiu", "NIR_pct", ""),
    "lead": ("lead", "NIR_Metal_pct", "lead metal"),
    "lithium": ("lithium", "NIR_pct", ""),
    "magnesium": ("mgmet", "NIR_pct", "magnesium metal"),
    "manganese": ("manga", "NIR_pct", ""),
    "nickel": ("nicke", "NIR_ct", ""),
    "niobium": ("niobi", "NIR_pct", ""),
    "palladium": ("plati", "NIR_Palladium_pct", ""),
    "phosphate": ("phosp", "NIR_pct", "phosphate rock"),
    "platinum": ("plati", "NIR_Platinum_pct", ""),
    "potash": ("potas", "NIR_pct", ""),
    "rare_earths": ("rareee", "NIR_Compounds-Metals_t", "rare-earth compounds and metals"),
    "rhenium": ("rheni", "NIR_pct", ""),
    "scandium": ("scand", "NIR_ct", ""),
    "silicon": ("simet", "NIR_FeSi-Si_pct", "ferrosilicon and silicon metal combined"),
    "silver": ("silve", "NIR_pct", ""),
    "tantalum": ("tanta", "NIR_pct", ""),
    "tellurium": ("tellu", "NIR_pct", ""),
    "tin": ("tin", "NIR_Refined_pct", "refined tin"),
    "titanium": ("titan", "NIR_Sponge_pct", "titanium sponge"),
    "tungsten": ("tungs", "NIR_ct", ""),
    "vanadium": ("vanad", "NIR_pct", ""),
    "yttrium": ("yttri", "NIR_pct", ""),
    "zinc": ("zinc", "NIR_Refined_pct", "refined zinc"),
    "zirconium": ("zirco", "NIR_Zr_ore_pct", "zirconium ores and concentrates"),
}
REE_ELEMENTS = [
    "cerium",
    "dysprosium",
    "erbium",
    "europium",
    "gadolinium",
    "holmium",
    "lanthanum",
    "lutetium",
    "neodymium",
    "praseodymium",
    "samarium",
    "terbium",
    "thulium",
    "ytterbium",
]


def build_reliance() -> pd.DataFrame:
    """U.S. net import reliance 2020-2024 as a 0..1 share, bounds and net-exporter flags kept."""
    rows: list[dict[str, object]] = []
    targets: list[tuple[str, str, str, str]] = [(m, *v) for m, v in RELIANCE_MAP.items()]
    targets += [
        (e, "rareee", "NIR_Compounds-Metals_t", "value of rare earths (compounds and metals)")
        for e in REE_ELEMENTS
    ]
    for mineral, stem, col, note in targets:
        path = next(USGS_SALIENT.glob(f"mcs2025-{stem}_salient.csv"))
        df = read_usgs_csv(path)
        for rec in df.to_dict("records"):
            val = parse_value(rec[col])
            share = math.nan if val.is_missing else val.value / 100.0
            if val.net_exporter:
                share = 0.0
            rows.append(
                {
                    "mineral": mineral,
                    "year": int(rec["Year"]),
                    "share": share,
                    "bound": val.bound or "",
                    "net_exporter": val.net_exporter,
                    "withheld": val.withheld,
                    "raw": val.raw,
                    **_cite("usgs_mcs2025"),
                    "source_table": f"{path.name} ({col})",
                    "note": "; ".join(
                        p
                        for p in (
                            note,
                            "E (net exporter) read as 0" if val.net_exporter else "",
                            f"USGS gives {val.raw!r}: a {val.bound} bound" if val.bound else "",
                        )
                        if p
                    ),
                }
            )
    return pd.DataFrame(rows).sort_values(["mineral", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------- prices

LB_PER_T = 2204.62262
TROY_OZ_PER_T = 32150.7466

# USGS reference series -> (ids it prices, priority: lower wins, unit factor to USD/t, source id)
USGS_PRICE_MAP: dict[str, tuple[tuple[str, ...], int, float, str]] = {
    "NdPr oxide 99% min (Argus FOB)": (
        ("ndpr_oxide", "ndpr_metal"),
        1,
        1000.0,
        "usgs_mcs2026_sheets",
    ),
    "Nd oxide 99.5% min": (("neodymium",), 2, 1000.0, "usgs_mcs2026_sheets"),
    "Pr oxide 99.99% min": (("praseodymium",), 1, 1000.0, "usgs_mcs2026_sheets"),
    "Nd2O3": (("neodymium",), 1, 1000.0, "usgs_mcs2025"),
    "Dy2O3": (("dysprosium_oxide", "dysprosium"), 1, 1000.0, "usgs_mcs2025"),
    "Tb oxide": (("terbium_oxide", "terbium"), 1, 1000.0, "usgs_mcs2025"),
    "Lithium carbonate battery grade": (("lithium_carbonate",), 1, 1.0, "usgs_mcs2025"),
    "Cobalt US spot cathode": (("cobalt",), 1, LB_PER_T, "usgs_mcs2025"),
    "Cobalt LME cash": (("cobalt",), 2, LB_PER_T, "usgs_mcs2025"),
    "Cobalt LME cash (MCS2026 revision)": (("cobalt",), 3, LB_PER_T, "usgs_mcs2026_sheets"),
}
PINK_MAP: dict[str, tuple[str, float, str]] = {
    "Aluminum ($/mt)": ("aluminum", 1.0, "aluminium, LME, USD/t"),
    "Copper ($/mt)": ("copper", 1.0, "copper, LME grade A, USD/t"),
    "Lead ($/mt)": ("lead", 1.0, "lead, LME, USD/t"),
    "Tin ($/mt)": ("tin", 1.0, "tin, LME, USD/t"),
    "Nickel ($/mt)": ("nickel", 1.0, "nickel, LME, USD/t"),
    "Zinc ($/mt)": ("zinc", 1.0, "zinc, LME, USD/t"),
    "Platinum ($/troy oz)": ("platinum", TROY_OZ_PER_T, "platinum, USD/troy oz x 32150.75"),
    "Silver ($/troy oz)": ("silver", TROY_OZ_PER_T, "silver, USD/troy oz x 32150.75"),
    "Phosphate rock ($/mt)": ("phosphate", 1.0, "phosphate rock, Morocco, USD/t"),
    "Potassium chloride ** ($/mt)": ("potash", 1.0, "potassium chloride (product tonnes, not K2O)"),
}


def build_prices() -> pd.DataFrame:
    """Annual reference prices in USD/t: USGS reference series and Pink Sheet annual means."""
    rows: list[dict[str, object]] = []
    usgs = pd.read_csv(USGS_PRICES, dtype=str, keep_default_na=False)
    for rec in usgs.to_dict("records"):
        series = clean_text(rec["series"])
        ids, prio, factor, src = USGS_PRICE_MAP[series]
        for col in ("2020", "2021", "2022", "2023", "2024", "2025e"):
            cell = clean_text(rec[col])
            if not cell:
                continue
            for pid in ids:
                rows.append(
                    {
                        "id": pid,
                        "year": int(col[:4]),
                        "price_usd_per_t": round(float(cell) * factor, 6),
                        "series": series,
                        "priority": prio,
                        "is_estimate": col.endswith("e"),
                        **_cite(src),
                        "source_table": f"usgs_annual_price_reference.csv ({rec['source']})",
                        "note": f"{cell} {rec['unit']}"
                        + ("; 2025 estimate" if col.endswith("e") else ""),
                    }
                )
    pink = pd.read_csv(PINKSHEET, dtype={"period": str})
    pink["year"] = pink["period"].str[:4].astype(int)
    for col, (pid, factor, desc) in PINK_MAP.items():
        annual = pink.groupby("year")[col].agg(["mean", "count"])
        for year, stat in annual.iterrows():
            if stat["count"] != 12 or math.isnan(stat["mean"]):
                continue
            rows.append(
                {
                    "id": pid,
                    "year": int(str(year)),
                    "price_usd_per_t": round(float(stat["mean"]) * factor, 6),
                    "series": desc,
                    "priority": 5,
                    "is_estimate": False,
                    **_cite("wb_pinksheet"),
                    "source_table": f"{PINKSHEET.name} ({col}), mean of 12 months",
                    "note": "",
                }
            )
    return (
        pd.DataFrame(rows).sort_values(["id", "year", "priority", "series"]).reset_index(drop=True)
    )


# ---------------------------------------------------------------- EU criticality 2023

EU_CRM = RAW / "eu_crm_2023"
EU_CRM_RESULTS = RAW / "eu_crm_2023_critmat" / "eureport_results.csv"
# Country spellings of the transcribed EU tables that the ISO3 resolver does not know.
EU_CRM_COUNTRY_ALIASES = {
    "Brasil": "BRA",
    "Brasilia": "BRA",
    "Congo, D.R.": "COD",
    "Korea, South": "KOR",
    "Libanon": "LBN",
    "Surinam": "SUR",
    "Turkyie": "TUR",
}


def _eu_share(text: str) -> tuple[float, str]:
    """'12.3%' -> (0.123, ''); '<0.1%' -> (0.0005, '<'): half the bound, flagged."""
    t = text.strip()
    if t.startswith("<"):
        return float(t.lstrip("<").rstrip("%")) / 200.0, "<"
    return float(t.rstrip("%")) / 100.0, ""


def build_eu_crm() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """EU 2023 assessment tables: supply shares + t, published SR/EI, critmin's parameters."""
    frames = []
    for table, name in (
        ("global", "global_supply_shares_t.csv"),
        ("eu_sourcing", "eu_sourcing_shares_t.csv"),
    ):
        raw = pd.read_csv(EU_CRM / name, encoding="latin-1", dtype=str)
        raw = raw[raw["Material"] != "Material"]  # a repeated header row
        rows = []
        for r in raw.itertuples(index=False):
            share, bound = _eu_share(str(r.Share))
            country = str(r.Country).strip()
            iso = EU_CRM_COUNTRY_ALIASES.get(country) or to_iso3(country)
            rows.append(
                {
                    "eu_name": str(r.Material).strip(),
                    "stage": str(r.Stage).strip(),
                    "table": table,
                    "country_iso3": iso,
                    "share": share,
                    "share_bound": bound,
                    "t": float(r.t),
                }
            )
        frames.append(pd.DataFrame(rows))
    shares = pd.concat(frames, ignore_index=True)
    shares = shares.groupby(["eu_name", "stage", "table", "country_iso3"], as_index=False).agg(
        share=("share", "sum"), share_bound=("share_bound", "max"), t=("t", "max")
    )
    shares = shares.sort_values(["eu_name", "stage", "table", "country_iso3"]).reset_index(
        drop=True
    )
    for k, v in _cite("ec_crm2023").items():
        shares[k] = v
    sr = pd.read_csv(EU_CRM / "sr_ei_by_assessment.csv", encoding="latin-1", dtype=str)
    sr["Material"] = sr["Material"].str.replace("\n", " ", regex=True).str.split().str.join(" ")
    sr = sr.rename(columns={"Material": "sr_name", "Year": "assessment_year"})
    sr["sr"] = pd.to_numeric(sr["SR"], errors="coerce")
    sr["ei"] = pd.to_numeric(sr["EI"], errors="coerce")
    sr = sr[["sr_name", "assessment_year", "sr", "ei"]].sort_values(["sr_name", "assessment_year"])
    sr = sr.reset_index(drop=True)
    for k, v in _cite("ec_crm2023").items():
        sr[k] = v
    params = pd.read_csv(CURATED / "eu_crm_parameters.csv", dtype=str, keep_default_na=False)
    params["source_id"] = [x or "critmin_estimate" for x in params["eol_rir_source_id"]]
    params["source"] = [_cite(x)["source"] for x in params["source_id"]]
    params["licence"] = [_cite(x)["licence"] for x in params["source_id"]]
    params = params.drop(columns=["eol_rir_source_id"])
    params = _with_si_sr(params)
    return shares, sr, params


def _with_si_sr(params: pd.DataFrame) -> pd.DataFrame:
    """Fill SI_SR from the 2023 study's per-material results (CritMAT's transcription).

    Matched on the name the study scores (``sr_name``); the study gives no SI_SR for its
    groups (LREEs, HREEs, PGMs), so those rows take the member critmin's row stands for
    (``eu_name``: neodymium, dysprosium, platinum) and say so in the note. A value already in
    the curated table wins. Every critmin row must find one: a new mineral without it stops
    the build rather than silently falling back to the neutral 1.
    """
    res = pd.read_csv(EU_CRM_RESULTS, dtype=str, keep_default_na=False).drop_duplicates()
    if res["material_name"].duplicated().any():
        dup = sorted(res.loc[res["material_name"].duplicated(), "material_name"])
        raise SystemExit(f"{EU_CRM_RESULTS}: material listed twice with different figures: {dup}")
    si = {str(k).lower(): v for k, v in zip(res["material_name"], res["si_sr"], strict=True) if v}
    vals, srcs, notes = [], [], []
    for r in params.itertuples(index=False):
        note = str(r.note)
        if r.si_sr:
            vals.append(r.si_sr)
            srcs.append("data/curated/eu_crm_parameters.csv")
        elif r.sr_name.lower() in si:
            vals.append(si[r.sr_name.lower()])
            srcs.append(citation("ec_crm2023_critmat"))
        elif r.eu_name.lower() in si:
            vals.append(si[r.eu_name.lower()])
            srcs.append(citation("ec_crm2023_critmat"))
            extra = f"SI_SR of {r.eu_name} (the study gives none for the {r.sr_name} group)"
            note = f"{note}; {extra}" if note else extra
        else:
            raise SystemExit(f"{EU_CRM_RESULTS}: no SI_SR for {r.mineral} ({r.sr_name})")
        notes.append(note)
    out = params.copy()
    out["si_sr"] = vals
    out["note"] = notes
    out["si_sr_source"] = srcs
    # The study's import reliance per stage (E: the primary material, P: the refined one),
    # as fractions; blank where the study gives none. The group rows (LREEs, HREEs, PGMs)
    # carry their own IR, so the SR name is tried first here too.
    groups = {"hree": "hrees", "lree": "lrees", "pgm": "pgms"}  # CritMAT's names of the groups
    rows = {
        groups.get(str(k).lower(), str(k).lower()): r
        for k, r in zip(res["material_name"], res.itertuples(), strict=True)
    }
    for stage, col in (("E", "import_reliance_primary"), ("P", "import_reliance_refined")):
        irs = []
        for r in params.itertuples(index=False):
            hit = rows.get(r.sr_name.lower()) or rows.get(r.eu_name.lower())
            v = "" if hit is None else str(getattr(hit, col))
            irs.append(f"{float(v) / 100:.4g}" if v else "")
        out[f"ir_{stage.lower()}"] = irs
    out["ir_source"] = citation("ec_crm2023_critmat")
    return out


# ---------------------------------------------------------------- main


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g")
    tmp.replace(path)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False, compression="zstd")
    tmp.replace(path)


def _inputs() -> Iterable[Path]:
    yield from sorted(p for p in (ROOT / "data" / "raw").rglob("*") if p.is_file())
    yield from sorted(p for p in CURATED.rglob("*") if p.is_file())


def build(out: Path) -> dict[str, int]:
    """Build every table into ``out``; returns the row count of each file."""
    out.mkdir(parents=True, exist_ok=True)
    production, world, world_share = build_production()
    blocs, members = build_blocs()
    tables: dict[str, pd.DataFrame] = {
        "minerals.csv": build_minerals(),
        "products.csv": build_products(world_share),
        "production.csv": production,
        "world_totals.csv": world,
        "blocs.csv": blocs,
        "bloc_members.csv": members,
        "political_stability.csv": build_governance(),
        "wgi_six.csv": build_governance_six(),
        "reliance.csv": build_reliance(),
        "prices.csv": build_prices(),
    }
    eu_shares, eu_sr, eu_params = build_eu_crm()
    tables["eu_crm_shares.csv"] = eu_shares
    tables["eu_crm_sr.csv"] = eu_sr
    tables["eu_crm_parameters.csv"] = eu_params
    counts: dict[str, int] = {}
    for name, df in tables.items():
        bad = set(df["source_id"]) - set(SOURCES)
        if bad:
            raise SystemExit(f"{name}: source ids not in provenance.SOURCES: {sorted(bad)}")
        _write_csv(df, out / name)
        counts[name] = len(df)
    trade = build_trade()
    _write_parquet(trade, out / "trade.parquet")
    counts["trade.parquet"] = len(trade)
    manifest = {
        "built_by": "scripts/build_data.py",
        "inputs": {str(p.relative_to(ROOT)): _sha256(p) for p in _inputs()},
        "rows": counts,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    counts = build(args.out)
    for name, n in counts.items():
        print(f"{name:28s} {n:>8d} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
