"""Minerals of the U.S. critical-minerals lists (2022: 50, 2025: 60) and stage products."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from critmin.catalog._data import read_table
from critmin.errors import UnknownNameError


class Mineral(BaseModel):
    """A mineral commodity (or an aggregate such as ``rare_earths``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    group: str
    hs_codes: tuple[str, ...]
    unit: str
    in_2022_list: bool
    in_2025_list: bool
    usgs_commodity: str | None
    aliases: tuple[str, ...] = ()
    source: str = ""


class Product(BaseModel):
    """A stage-specific material of a mineral (``ndpr_oxide``, ``lithium_carbonate``, ...).

    ``content_share`` is the mass fraction of the parent mineral's basis in the product (e.g.
    Li in Li2CO3 = 0.188; NdPr oxide in REO = world-average share), with ``source``/``note``.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    mineral_id: str
    stage: str
    name: str
    hs_codes: tuple[str, ...]
    content_share: float
    source: str
    note: str = ""


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _split(cell: object, sep: str) -> tuple[str, ...]:
    if not isinstance(cell, str) or not cell.strip():
        return ()
    return tuple(p.strip() for p in cell.split(sep) if p.strip())


@lru_cache(maxsize=1)
def _minerals() -> dict[str, Mineral]:
    df = read_table("minerals.csv")
    out: dict[str, Mineral] = {}
    for rec in df.to_dict("records"):
        usgs = _split(rec["usgs_commodity"], ";")
        out[str(rec["id"])] = Mineral(
            id=str(rec["id"]),
            name=str(rec["name"]),
            group=str(rec["group"]),
            hs_codes=_split(rec["hs_codes"], " "),
            unit=str(rec["unit"]),
            in_2022_list=bool(rec["in_2022_list"]),
            in_2025_list=bool(rec["in_2025_list"]),
            usgs_commodity="; ".join(usgs) if usgs else None,
            aliases=_split(rec["aliases"], ";"),
            source=str(rec["source"]),
        )
    return out


@lru_cache(maxsize=1)
def _products() -> dict[str, Product]:
    df = read_table("products.csv")
    return {
        str(r["id"]): Product(
            id=str(r["id"]),
            mineral_id=str(r["mineral_id"]),
            stage=str(r["stage"]),
            name=str(r["name"]),
            hs_codes=_split(str(r["hs_codes"]), " "),
            content_share=float(r["content_share"]),
            source=str(r["source"]),
            note=str(r["note"]),
        )
        for r in df.to_dict("records")
    }


@lru_cache(maxsize=1)
def _mineral_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for m in _minerals().values():
        for key in (m.id, m.name, *m.aliases):
            index.setdefault(_norm(key), m.id)
    return index


def list_minerals(*, listed_only: bool = False) -> list[Mineral]:
    """All minerals: the 60 of the 2025 list plus aggregates (``rare_earths``, PGMs).

    ``listed_only=True`` keeps only those on the 2025 list.
    """
    ms = list(_minerals().values())
    return [m for m in ms if m.in_2025_list] if listed_only else ms


def get_mineral(name: str) -> Mineral:
    """A mineral by id, name or alias, case-insensitive ("REE", "rare earths", "Lithium ")."""
    key = _norm(name)
    mid = _mineral_index().get(key)
    if mid is None:
        # Element symbols are case-sensitive in chemistry but users type them either way.
        raise UnknownNameError("mineral", name.strip(), list(_minerals()))
    return _minerals()[mid]


def list_products() -> list[Product]:
    """All stage products."""
    return list(_products().values())


def get_product(name: str) -> Product:
    """A product by id (case-insensitive, spaces or dashes for underscores)."""
    key = _norm(name).replace(" ", "_")
    prods = _products()
    if key not in prods:
        raise UnknownNameError("product", name.strip(), list(prods))
    return prods[key]


def resolve_material(name: str) -> str:
    """The id of a mineral or a product (products first, then minerals with aliases)."""
    key = _norm(name).replace(" ", "_")
    if key in _products():
        return key
    try:
        return get_mineral(name).id
    except UnknownNameError:
        raise UnknownNameError(
            "mineral or product", name.strip(), [*_minerals(), *_products()]
        ) from None
