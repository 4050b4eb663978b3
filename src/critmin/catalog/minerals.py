"""Minerals of the U.S. critical-minerals lists (2022: 50, 2025: 60) and stage products."""

from __future__ import annotations

import math
import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from critmin.catalog._data import read_table
from critmin.errors import InputError, UnknownNameError


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

    Three factors relate the product to its parent mineral (``mineral_id``), each with a note
    (source, reasoning) and an ``*_estimate`` flag:

    - ``parent_content_t_per_t``: tonnes of the parent mineral's production basis (its
      ``Mineral.unit``) contained in one tonne of product: Li in Li2CO3 0.188 t Li; NdPr
      oxide 1.0 t REO; NdFeB magnet ~0.36 t REO (0.31 t rare-earth metal as oxide).
    - ``share_of_parent_output``: fraction (0..1) of the parent's world production that is
      this product (NdPr oxide 0.22 of REO); None where not meaningful.
    - ``yield_from_parent``: tonnes of product made from one tonne of the parent's basis in
      processing (spherical graphite from flake ~0.4); None where no yield matters.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    mineral_id: str
    stage: str
    name: str
    hs_codes: tuple[str, ...]
    parent_content_t_per_t: float = Field(gt=0.0)
    parent_content_estimate: bool
    parent_content_note: str
    share_of_parent_output: float | None = Field(default=None, gt=0.0, le=1.0)
    share_of_parent_output_estimate: bool = False
    share_of_parent_output_note: str = ""
    yield_from_parent: float | None = Field(default=None, gt=0.0, le=1.0)
    yield_from_parent_estimate: bool = False
    yield_from_parent_note: str = ""
    source: str
    note: str = ""

    def parent_t(self, product_t: float) -> float:
        """Tonnes of the parent's basis contained in ``product_t`` tonnes of product."""
        return product_t * self.parent_content_t_per_t

    def parent_input_t(self, product_t: float) -> float:
        """Tonnes of the parent's basis fed to processing to make ``product_t`` tonnes.

        Contained tonnes divided by ``yield_from_parent`` (equal to :meth:`parent_t` when no
        yield is given).
        """
        contained = self.parent_t(product_t)
        return contained if self.yield_from_parent is None else contained / self.yield_from_parent


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


def _opt_float(cell: object) -> float | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    value = float(str(cell))
    return None if math.isnan(value) else value


def _text(cell: object) -> str:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    return str(cell)


@lru_cache(maxsize=1)
def _products() -> dict[str, Product]:
    df = read_table("products.csv")
    out: dict[str, Product] = {}
    for r in df.to_dict("records"):
        content = _opt_float(r["parent_content_t_per_t"])
        if content is None:
            raise InputError(
                "blank; expected t of the parent basis per t of product",
                where=f"products.csv row {r['id']!r} field 'parent_content_t_per_t'",
            )
        out[str(r["id"])] = Product(
            id=str(r["id"]),
            mineral_id=str(r["mineral_id"]),
            stage=str(r["stage"]),
            name=str(r["name"]),
            hs_codes=_split(str(r["hs_codes"]), " "),
            parent_content_t_per_t=content,
            parent_content_estimate=bool(r["parent_content_estimate"]),
            parent_content_note=_text(r["parent_content_note"]),
            share_of_parent_output=_opt_float(r["share_of_parent_output"]),
            share_of_parent_output_estimate=bool(r["share_of_parent_output_estimate"]),
            share_of_parent_output_note=_text(r["share_of_parent_output_note"]),
            yield_from_parent=_opt_float(r["yield_from_parent"]),
            yield_from_parent_estimate=bool(r["yield_from_parent_estimate"]),
            yield_from_parent_note=_text(r["yield_from_parent_note"]),
            source=str(r["source"]),
            note=_text(r["note"]),
        )
    return out


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
