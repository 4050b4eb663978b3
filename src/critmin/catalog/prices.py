"""Annual reference prices in USD per tonne.

Sources: the USGS annual price reference file (NdPr, Nd, Pr, Dy, Tb oxides, lithium carbonate,
cobalt; USGS MCS 2025 salient tables and MCS 2026 sheets) and annual means of the World Bank
Pink Sheet monthly series (aluminium, copper, lead, tin, nickel, zinc, platinum, silver,
phosphate rock, potassium chloride). Where several series price the same id, the one with the
lowest ``priority`` wins (e.g. cobalt: U.S. spot cathode before LME cash).
"""

from __future__ import annotations

import pandas as pd

from critmin.catalog._data import read_table
from critmin.catalog.minerals import resolve_material
from critmin.errors import InputError


def price_table() -> pd.DataFrame:
    """All price rows: ``id, year, price_usd_per_t, series, priority, is_estimate, source...``."""
    return read_table("prices.csv").copy()


def reference_price_usd_per_t(product_or_mineral_id: str, year: int) -> tuple[float, str]:
    """The reference price of a product or mineral in ``year`` and its source citation."""
    pid = resolve_material(product_or_mineral_id)
    df = read_table("prices.csv")
    rows = df[df["id"] == pid]
    if rows.empty:
        have = sorted(df["id"].unique())
        raise InputError(f"no reference price for {pid!r}; priced: {have}", where="prices")
    hit = rows[rows["year"] == year].sort_values("priority")
    if hit.empty:
        years = sorted(int(y) for y in rows["year"].unique())
        raise InputError(
            f"no reference price for {pid!r} in {year}; years with a price: {years[0]}-{years[-1]}"
            if years
            else "none",
            where="prices",
        )
    top = hit.iloc[0]
    return float(top["price_usd_per_t"]), f"{top['source']}; {top['series']}"


def derived_price_usd_per_t(product_id: str, year: int) -> tuple[float, str, str]:
    """An estimated price of a product: its parent metal's price x ``parent_content_t_per_t``.

    Returns ``(price_usd_per_t, source, note)``. Only the contained metal is valued: payables,
    conversion and sulfate premiums or discounts are ignored, so the figure is an estimate
    (e.g. cobalt sulfate = USGS cobalt price x 0.2096 t Co per t CoSO4.7H2O). Callers use it
    only where the product has no price of its own. Raises a :class:`CritminError` when the id
    is not a product or the catalog has no price for the parent mineral in ``year``.
    """
    from critmin.catalog.minerals import get_product

    product = get_product(product_id)
    metal_price, metal_source = reference_price_usd_per_t(product.mineral_id, year)
    price = metal_price * product.parent_content_t_per_t
    note = (
        f"estimate: {product.mineral_id} price {metal_price:,.0f} USD/t x "
        f"{product.parent_content_t_per_t} t {product.mineral_id} per t {product.id} "
        f"= {price:,.0f} USD/t (contained-metal value only; payables, conversion and "
        "product premiums ignored)"
    )
    return price, f"derived from {metal_source}", note
