"""Bill of materials (BOM) files: schema and a loader that keeps YAML line numbers.

A BOM lists the kilograms of each mineral product in one unit of an end product::

    name: EV traction motor (permanent-magnet synchronous, ~100 kW)
    unit: motor
    units_per_year: 100000
    reference_year: 2024
    items:
      - product: ndpr_oxide
        kg_per_unit: 0.49
        source: "Gutfleisch et al. 2011, doi:10.1002/adma.201002180 (composition)"
        estimate: true
        note: "1.5 kg NdFeB magnet x 28 % NdPr, as oxide"

Every error names the file, the line and the field (``bom.yaml:7 field 'items[0].kg_per_unit'``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from critmin.bounds import BoundedNumbers
from critmin.catalog import minerals as mins
from critmin.catalog import prices
from critmin.catalog import production as prod
from critmin.errors import InputError
from critmin.yamlio import Document, Loc, load_yaml, parse_yaml, validate


class BomItem(BoundedNumbers, BaseModel):
    """One line of a BOM: a catalog product (or mineral) id and its mass per unit."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    product: str = Field(description="catalog product id (e.g. ndpr_oxide) or mineral id")
    kg_per_unit: float = Field(ge=0.0, description="kg of the product in one unit")
    source: str = Field(min_length=1, description="publication the intensity comes from")
    estimate: bool = Field(default=False, description="true when the intensity is an estimate")
    note: str = Field(default="", description="how the figure was derived")

    @field_validator("product")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class Bom(BoundedNumbers, BaseModel):
    """A bill of materials for one end product."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    unit: str = Field(default="unit", min_length=1, description="what one unit is")
    units_per_year: float = Field(default=1.0, gt=0.0, description="units made per year")
    reference_year: int = Field(default=2024, ge=1990, le=2100)
    description: str = ""
    items: tuple[BomItem, ...] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_products(cls, items: tuple[BomItem, ...]) -> tuple[BomItem, ...]:
        seen: set[str] = set()
        for item in items:
            key = item.product.lower()
            if key in seen:
                raise ValueError(f"product {item.product!r} listed twice; merge the lines")
            seen.add(key)
        return items


def parse_bom_text(text: str, path: Path | str = "<bom>") -> tuple[Bom, dict[Loc, int]]:
    """Validate BOM YAML text; return the model and the line of every field."""
    return _bom_of(parse_yaml(text, str(path)))


def load_bom(path: Path | str) -> tuple[Bom, dict[Loc, int]]:
    """Read and validate a BOM file (see module docstring); errors name file:line field."""
    return _bom_of(load_yaml(path, what="BOM file"))


def _bom_of(doc: Document) -> tuple[Bom, dict[Loc, int]]:
    doc.require_mapping("a mapping with 'name' and 'items' (a list of products)")
    return validate(Bom, doc), doc.lines


# --- exposure of a BOM -------------------------------------------------------------------


class ExposureLine(BaseModel):
    """Annual tonnage, cost and mineral basis of one BOM item."""

    model_config = ConfigDict(frozen=True)

    product: str
    mineral: str
    kg_per_unit: float
    units_per_year: float
    annual_product_t: float
    parent_content_t_per_t: float
    annual_mineral_t: float
    yield_from_parent: float | None
    annual_mineral_input_t: float
    mineral_unit: str
    price_usd_per_t: float | None
    price_source: str | None
    price_estimate: bool = False
    price_note: str = ""
    annual_cost_usd: float | None
    estimate: bool
    source: str


class Exposure(BaseModel):
    """Exposure of one BOM: a line per item, sourcing by country and the risk records."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    bom: str
    unit: str
    units_per_year: float
    year: int
    bloc: str
    lines: tuple[ExposureLine, ...]
    risk: tuple[Any, ...]  # RiskRecord (typed loosely to keep imports one-way)
    sourcing: Any  # pd.DataFrame: see :func:`sourcing_table`

    @property
    def total_cost_usd(self) -> float | None:
        """Sum of the priced lines (None when no line has a price)."""
        priced = [x.annual_cost_usd for x in self.lines if x.annual_cost_usd is not None]
        return float(sum(priced)) if priced else None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "bom": self.bom,
            "unit": self.unit,
            "units_per_year": self.units_per_year,
            "year": self.year,
            "bloc": self.bloc,
            "total_cost_usd": self.total_cost_usd,
            "lines": [x.model_dump() for x in self.lines],
            "risk": [r.as_json() for r in self.risk],
            "sourcing": self.sourcing.to_dict(orient="records"),
        }


STAGE_ORDER = ("mine", "refining", "metal", "component")

# Short labels of product tonnes ("t Li2CO3"); other products fall back to their id.
_PRODUCT_LABEL = {
    "lithium_carbonate": "Li2CO3",
    "lithium_hydroxide": "LiOH.H2O",
    "cobalt_sulfate": "CoSO4.7H2O",
    "nickel_sulfate": "NiSO4.6H2O",
    "ndpr_oxide": "NdPr oxide",
    "ndpr_metal": "NdPr metal",
    "ndfeb_magnet": "NdFeB magnet",
    "dysprosium_oxide": "Dy2O3",
    "terbium_oxide": "Tb4O7",
    "natural_graphite": "graphite concentrate",
    "spherical_graphite": "spherical graphite",
    "ilmenite": "TiO2 (ilmenite)",
    "rutile": "TiO2 (rutile)",
    "ferrosilicon": "Si (in FeSi)",
}

# Parent bases that are not a contained element although the unit is a bare "t".
_BASIS_LABEL = {"graphite": "t graphite"}


def product_unit_label(product_id: str) -> str:
    """``"t Li2CO3"``: the unit of tonnes of a product."""
    return f"t {_PRODUCT_LABEL.get(product_id, product_id)}"


def basis_unit_label(mineral: mins.Mineral) -> str:
    """The unit of the mineral's production basis: ``"t Li"``, ``"t REO"``, ``"t graphite"``.

    A bare ``t`` is contained element, named by the mineral's element-symbol alias.
    """
    if mineral.id in _BASIS_LABEL:
        return _BASIS_LABEL[mineral.id]
    if mineral.unit.strip() != "t":
        return mineral.unit
    symbols = [a for a in mineral.aliases if re.fullmatch(r"[A-Z][a-z]?", a)]
    return f"t {symbols[0] if symbols else mineral.id}"


def sourcing_table(line: ExposureLine, product_stage: str | None, rows: Any) -> Any:
    """Allocate the annual tonnage of one BOM line to countries, stage by stage.

    ``rows``: one year's production rows of the product and of its parent mineral. Each
    (basis, stage)'s country mix (``metrics.shares`` of ``qty``) is applied to the tonnage that
    moves through that stage:

    - at the product's own stage (``product_stage``, e.g. refining for lithium carbonate):
      ``annual_product_t`` in t of product (``unit`` "t Li2CO3");
    - upstream of it (e.g. mine): ``annual_mineral_input_t`` in t of the parent's basis
      (contained / yield where a yield applies; ``unit`` "t Li", "t REO");
    - downstream of it: not part of the product's supply chain, left out.

    A line that names a mineral itself (``product_stage`` None) is on its basis at every stage.
    Columns: ``product, mineral, basis, stage, country_iso3, share, qty_t, unit`` (``qty_t`` is
    in ``unit``).
    """
    import pandas as pd

    from critmin.catalog import metrics as m

    own = STAGE_ORDER.index(product_stage) if product_stage in STAGE_ORDER else None
    basis_label = basis_unit_label(mins.get_mineral(line.mineral))
    out: list[dict[str, object]] = []
    for (basis, stage), group in rows.groupby(["mineral", "stage"], sort=False):
        rank = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else None
        if product_stage is not None and stage == product_stage:
            base_t, unit = line.annual_product_t, product_unit_label(line.product)
        elif own is not None and rank is not None and rank > own:
            continue
        else:
            base_t, unit = line.annual_mineral_input_t, basis_label
        qty = (
            pd.Series(
                pd.to_numeric(group["qty"], errors="coerce").to_numpy(dtype=float),
                index=group["country_iso3"].astype(str),
            )
            .groupby(level=0)
            .sum(min_count=1)
        )
        share = m.shares(qty)
        out.extend(
            {
                "product": line.product,
                "mineral": line.mineral,
                "basis": str(basis),
                "stage": str(stage),
                "country_iso3": str(iso3),
                "share": round(float(s), 6),
                "qty_t": float(s) * base_t,
                "unit": unit,
            }
            for iso3, s in share.items()
        )
    columns = ["product", "mineral", "basis", "stage", "country_iso3", "share", "qty_t", "unit"]
    return pd.DataFrame(out, columns=columns)


def line_price(product_id: str, year: int) -> tuple[float | None, str | None, bool, str]:
    """``(price_usd_per_t, source, is_estimate, note)`` of a product in ``year``.

    The catalog's own price first; else the parent metal's price x parent content
    (:func:`critmin.catalog.prices.derived_price_usd_per_t`, an estimate); else None with a
    note saying why (never a default).
    """
    from critmin.errors import CritminError

    try:
        price, source = prices.reference_price_usd_per_t(product_id, year)
    except CritminError:
        pass
    else:
        return price, source, False, ""
    try:
        product = mins.get_product(product_id)
    except CritminError:
        return None, None, False, f"no catalog price for {product_id} in {year}"
    try:
        price, source, note = prices.derived_price_usd_per_t(product_id, year)
    except CritminError:
        return (
            None,
            None,
            False,
            f"no catalog price for {product_id} or its parent {product.mineral_id} in {year} "
            "(the USGS price file and the World Bank Pink Sheet carry no such series); "
            "cost left unpriced",
        )
    return price, source, True, note


# long: per BOM item, the 17 named fields of its ExposureLine and its sourcing and risk rows
def compute_exposure(
    bom: Bom,
    lines: dict[Loc, int] | None = None,
    *,
    path: Path | str = "<bom>",
    units_per_year: float | None = None,
    bloc: str = "forge",
    year: int | None = None,
) -> Exposure:
    """Annual tonnage, sourcing by country and stage, risk and cost of a BOM (catalog data).

    Assumption: the buyer's supply mirrors world production at each stage (no supplier data).
    """
    import pandas as pd

    from critmin.catalog.risk import risk_records
    from critmin.errors import CritminError

    lines = lines or {}
    n = bom.units_per_year if units_per_year is None else units_per_year
    if not n > 0:
        raise InputError(f"units per year {n}; expected a number > 0", where="--units-per-year")
    yr = bom.reference_year if year is None else year
    table = prod.production_table()
    table = table[table["year"] == yr]
    out_lines: list[ExposureLine] = []
    sourcing: list[pd.DataFrame] = []
    risk: list[Any] = []
    seen_risk: set[tuple[str, str]] = set()
    for i, item in enumerate(bom.items):
        loc: Loc = ("items", i, "product")
        try:
            product: mins.Product | None = mins.get_product(item.product)
        except CritminError:
            product = None
        annual_t = item.kg_per_unit * n / 1000.0
        if product is not None:
            pid, mid = product.id, product.mineral_id
            content, yld = product.parent_content_t_per_t, product.yield_from_parent
            mineral_t, input_t = product.parent_t(annual_t), product.parent_input_t(annual_t)
        else:
            try:
                mineral = mins.get_mineral(item.product)
            except CritminError as exc:
                raise InputError(
                    str(exc), where=Document(str(path), None, lines).where(loc)
                ) from None
            pid, mid, content, yld = mineral.id, mineral.id, 1.0, None
            mineral_t = input_t = annual_t
        unit = mins.get_mineral(mid).unit
        price, price_src, price_est, price_note = line_price(pid, yr)
        line = ExposureLine(
            product=pid,
            mineral=mid,
            kg_per_unit=item.kg_per_unit,
            units_per_year=n,
            annual_product_t=annual_t,
            parent_content_t_per_t=content,
            annual_mineral_t=mineral_t,
            yield_from_parent=yld,
            annual_mineral_input_t=input_t,
            mineral_unit=unit,
            price_usd_per_t=price,
            price_source=price_src,
            price_estimate=price_est,
            price_note=price_note,
            annual_cost_usd=None if price is None else price * annual_t,
            estimate=item.estimate,
            source=item.source,
        )
        out_lines.append(line)
        rows = table[table["mineral"].isin([pid, mid])]
        sourcing.append(sourcing_table(line, None if product is None else product.stage, rows))
        ids = list(dict.fromkeys([pid, mid]))
        have = set(rows["mineral"])
        for rec in risk_records([x for x in ids if x in have] or [mid], bloc=bloc, year=yr):
            key = (rec.mineral, rec.stage)
            if key not in seen_risk:  # several items of one mineral share its records
                seen_risk.add(key)
                risk.append(rec)
    return Exposure(
        bom=bom.name,
        unit=bom.unit,
        units_per_year=n,
        year=yr,
        bloc=bloc,
        lines=tuple(out_lines),
        risk=tuple(risk),
        sourcing=pd.concat(sourcing, ignore_index=True) if sourcing else pd.DataFrame(),
    )


def exposure(
    path: Path | str,
    *,
    units_per_year: float | None = None,
    bloc: str = "forge",
    year: int | None = None,
) -> Exposure:
    """Load a BOM file and compute its :class:`Exposure`."""
    bom, lines = load_bom(path)
    return compute_exposure(
        bom, lines, path=path, units_per_year=units_per_year, bloc=bloc, year=year
    )
