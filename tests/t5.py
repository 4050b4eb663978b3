"""USGS Mineral Commodity Summaries 2025, table T5 (critical minerals, salient statistics):
the file, critmin's (mineral id, stage) for each of its rows, and the rows it cannot be
compared on. Shared by the catalog and ``critmin risk`` checks against it."""

from __future__ import annotations

from pathlib import Path

from critmin.catalog.usgs import read_usgs_csv

T5 = (
    Path(__file__).resolve().parents[1]
    / "data/raw/usgs_mcs_2025/industry_trends/MCS2025_T5_Critical_Minerals_Salient.csv"
)

# T5 "Critical_mineral" -> (mineral id, stage) in critmin's production table.
T5_MAP: dict[str, tuple[str, str]] = {
    "Aluminum (bauxite)": ("aluminum", "mine"),
    "Antimony": ("antimony", "mine"),
    "Arsenic": ("arsenic", "refining"),
    "Barite": ("barite", "mine"),
    "Beryllium": ("beryllium", "mine"),
    "Bismuth": ("bismuth", "refining"),
    "Chromium": ("chromium", "mine"),
    "Cobalt": ("cobalt", "mine"),
    "Fluorspar": ("fluorspar", "mine"),
    "Gallium": ("gallium", "refining"),
    "Graphite (natural)": ("graphite", "mine"),
    "Indium": ("indium", "refining"),
    "Lithium": ("lithium", "mine"),
    "Magnesium": ("magnesium", "metal"),
    "Manganese": ("manganese", "mine"),
    "Nickel": ("nickel", "mine"),
    "Niobium": ("niobium", "mine"),
    "Palladium": ("palladium", "mine"),
    "Platinum": ("platinum", "mine"),
    "Rare earths (compounds and metals)": ("rare_earths", "mine"),
    "Tantalum": ("tantalum", "mine"),
    "Tellurium": ("tellurium", "refining"),
    "Tin": ("tin", "mine"),
    "Titanium (metal)": ("titanium", "metal"),
    "Tungsten": ("tungsten", "mine"),
    "Vanadium": ("vanadium", "mine"),
    "Zinc": ("zinc", "mine"),
    "Zirconium (ores and concentrates)": ("zirconium", "mine"),
}
SKIPPED = {"Germanium", "Scandium", "Yttrium"}


def t5_rows() -> list[dict[str, str]]:
    return list(read_usgs_csv(T5).to_dict("records"))
