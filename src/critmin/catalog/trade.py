"""Bilateral trade flows from CEPII BACI (HS92, V202401b), critical-mineral codes only."""

from __future__ import annotations

import pandas as pd

from critmin.catalog._data import read_table
from critmin.catalog.minerals import get_mineral, get_product, resolve_material
from critmin.errors import InputError, UnknownNameError

SOURCE_ID = "baci_v202401b"


def _flows() -> pd.DataFrame:
    return read_table("trade.parquet")


def trade_codes() -> tuple[str, ...]:
    """The HS92 6-digit codes present in the embedded BACI subset."""
    return tuple(sorted(str(c) for c in _flows()["hs6"].cat.categories))


def latest_trade_year() -> int:
    """The most recent year of the embedded BACI flows."""
    return int(_flows()["year"].max())


def _codes_for(material: str) -> tuple[str, ...]:
    mid = resolve_material(material)
    try:
        codes = get_product(mid).hs_codes
    except UnknownNameError:
        codes = get_mineral(mid).hs_codes
    have = set(trade_codes())
    hits = tuple(c for c in codes if c in have)
    if not hits:
        raise InputError(
            f"no BACI trade codes for {mid!r} (its HS codes {list(codes)} are not in the "
            f"embedded subset {list(trade_codes())})",
            where="trade",
        )
    return hits


def trade_flows(
    hs6: str | None = None, mineral: str | None = None, year: int = 2022
) -> pd.DataFrame:
    """Flows of one year: ``year, hs6, exporter_iso3, importer_iso3, value_kusd, qty_t``.

    Filter by one ``hs6`` code and/or by a mineral or product (all its HS codes in BACI).
    ``qty_t`` may be NaN where BACI has no quantity.
    """
    df = _flows()
    years = df["year"]
    if not (int(years.min()) <= year <= int(years.max())):
        raise InputError(
            f"no BACI flows for {year}; available {int(years.min())}-{int(years.max())}",
            where="trade",
        )
    mask = years == year
    if hs6 is not None:
        code = hs6.strip()
        if code not in trade_codes():
            raise UnknownNameError("HS6 code", code, trade_codes())
        mask &= df["hs6"] == code
    if mineral is not None:
        mask &= df["hs6"].isin(_codes_for(mineral))
    out = df[mask].copy()
    for col in ("hs6", "exporter_iso3", "importer_iso3"):
        out[col] = out[col].astype(str)
    out["year"] = out["year"].astype(int)
    return out.reset_index(drop=True)
