"""Supply-network definitions: facilities, lots and EPCIS-style events (frozen pydantic).

A :class:`SupplyNetwork` is the container noun; computations live in sibling modules and are
reached through its accessors (``net.check_mass_balance()``, ``net.origin()``, ...).

Quantities carry a UN/CEFACT unit code (``TNE`` tonne, ``KGM`` kilogram, ``GRM`` gram,
``LBR`` pound, ``ONZ`` ounce, ``MGM`` milligram, ``KTN`` kilotonne); every computation converts
to tonnes (``qty_t``). A quantity without a unit (``uom`` None) is what EPCIS says it is: a
count of instances, never tonnes. A count keeps its number of instances as written; with a
``mass_per_instance_kg`` its ``qty_t`` is ``qty x mass_per_instance_kg / 1000``, without one
``qty_t`` is an error naming the lot, so mass balance and origin by mass refuse it.

An *instance* quantity (``instance=True``) is one identified object (an SGTIN serial, an SSCC,
a GRAI: an EPCIS ``epcList`` / ``childEPCs`` entry): a count of 1 whose lot is the instance.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from critmin.errors import InputError, UnknownNameError
from critmin.trace.geo import resolve_country

if TYPE_CHECKING:
    from critmin.trace.impact import ImpactReport
    from critmin.trace.massbalance import Violation
    from critmin.trace.origin import OriginResult

# UN/ECE Recommendation 20 (Rev. 17, 2021), "Codes for Units of Measure Used in International
# Trade": the codes for mass, in tonnes. The inch-pound units are exact by the 1959 international
# yard and pound agreement: 1 lb = 0.45359237 kg, 1 oz (avoirdupois) = 1/16 lb =
# 28.349523125 g, 1 troy oz (gold, silver, PGMs) = 31.1034768 g, short ton = 2000 lb,
# long ton = 2240 lb.
UOM_TO_T: dict[str, float] = {
    "TNE": 1.0,  # tonne (metric ton)
    "KTN": 1e3,  # kilotonne
    "KGM": 1e-3,  # kilogram
    "HGM": 1e-4,  # hectogram
    "DJ": 1e-5,  # decagram
    "GRM": 1e-6,  # gram
    "DG": 1e-7,  # decigram
    "CGM": 1e-8,  # centigram
    "MGM": 1e-9,  # milligram
    "MC": 1e-12,  # microgram
    "LBR": 0.45359237e-3,  # pound
    "ONZ": 28.349523125e-6,  # ounce (avoirdupois)
    "APZ": 31.1034768e-6,  # troy ounce
    "STN": 2000 * 0.45359237e-3,  # short ton (US)
    "LTN": 2240 * 0.45359237e-3,  # long ton (UK)
}
# Rec 20 codes of a count of objects (piece, one, each): in master data they mark a lot whose
# quantity is a number of instances, the same as a quantity without ``uom`` in an event.
COUNT_UNITS = frozenset({"H87", "C62", "EA"})


def _check_uom(v: str | None) -> str | None:
    if v is not None and v not in UOM_TO_T:
        raise ValueError(
            f"unknown unit {v!r}; expected one of {sorted(UOM_TO_T)} or none (a count)"
        )
    return v


def _to_t(qty: float, uom: str | None, lot: str, kg_each: float | None = None) -> float:
    if uom is None:
        if kg_each is not None:
            return qty * kg_each * 1e-3
        raise InputError(
            f"lot {lot!r} is a count of {qty:g} instances with no mass; declare its mass per "
            'instance (net weight gs1:netWeight {"gs1:value": 9, "gs1:unitCode": "KGM"}, or '
            "critmin:massPerInstanceKg, in the master data of its EPC class, e.g. its GTIN "
            "urn:epc:idpat:sgtin:<company>.<item>.*, or of the instance) to use it by mass"
        )
    return qty * UOM_TO_T[uom]


class Stage(StrEnum):
    """Production stages, upstream first."""

    MINE = "mine"
    REFINING = "refining"  # separation and chemical processing (concentrate -> oxide/salt)
    METAL = "metal"
    COMPONENT = "component"  # e.g. magnet, cathode
    PRODUCT = "product"  # e.g. motor, cell, assembly


STAGES: tuple[Stage, ...] = tuple(Stage)
_STAGE_ALIASES = {
    "mining": Stage.MINE,
    "extraction": Stage.MINE,
    "separation": Stage.REFINING,
    "processing": Stage.REFINING,
    "smelting": Stage.REFINING,
    "smelter": Stage.REFINING,
    "refinery": Stage.REFINING,
    "magnet": Stage.COMPONENT,
    "assembly": Stage.PRODUCT,
}


def parse_stage(text: str) -> Stage:
    """A :class:`Stage` from its name or an alias (``separation`` -> refining)."""
    key = str(text).strip().lower()
    if key in Stage.__members__.values():
        return Stage(key)
    if key in _STAGE_ALIASES:
        return _STAGE_ALIASES[key]
    raise UnknownNameError("stage", str(text), [s.value for s in Stage] + list(_STAGE_ALIASES))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Facility(_Frozen):
    """A mine, refinery, plant or warehouse. ``feoc`` flags a foreign entity of concern operator."""

    id: str
    name: str = ""
    operator: str = ""
    country: str  # ISO3
    stage: Stage
    feoc: bool = False

    @field_validator("country", mode="before")
    @classmethod
    def _iso3(cls, v: object) -> str:
        return resolve_country(str(v))

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, v: object) -> Stage:
        return parse_stage(str(v))


class Lot(_Frozen):
    """A lot of one product. ``value_usd`` is the declared value (optional)."""

    id: str
    product: str = ""
    qty: float = Field(ge=0, allow_inf_nan=False)
    uom: str | None = "TNE"
    value_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # the mass of one instance when ``uom`` is None (a count); EPCIS master data
    # ``critmin:massPerInstanceKg`` of the lot's EPC class (or of the instance)
    mass_per_instance_kg: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False)

    @field_validator("uom")
    @classmethod
    def _uom(cls, v: str | None) -> str | None:
        return _check_uom(v)

    @property
    def qty_t(self) -> float:
        return _to_t(self.qty, self.uom, self.id, self.mass_per_instance_kg)


class Quantity(_Frozen):
    """A quantity of a lot inside an event (EPCIS ``QuantityElement``)."""

    lot: str
    qty: float = Field(ge=0, allow_inf_nan=False)
    uom: str | None = "TNE"
    # as for Lot: the mass of one instance of a count (uom None), carried here so that an
    # event's tonnes are known without the network's lot table
    mass_per_instance_kg: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False)
    # one identified object (EPCIS epcList / childEPCs entry), written back as such
    instance: bool = False

    @field_validator("uom")
    @classmethod
    def _uom(cls, v: str | None) -> str | None:
        return _check_uom(v)

    @model_validator(mode="after")
    def _one_instance(self) -> Quantity:
        if self.instance and (self.uom is not None or self.qty != 1):
            raise ValueError(
                f"instance {self.lot!r} is one object: expected qty 1 and no uom, "
                f"got {self.qty:g} {self.uom}"
            )
        return self

    @property
    def qty_t(self) -> float:
        return _to_t(self.qty, self.uom, self.lot, self.mass_per_instance_kg)


class Extraction(_Frozen):
    """Material extracted at a mine (EPCIS ObjectEvent ADD, bizStep commissioning)."""

    kind: Literal["extraction"] = "extraction"
    id: str
    time: dt.datetime
    facility: str
    outputs: tuple[Quantity, ...]


class Transformation(_Frozen):
    """Inputs turned into outputs at a facility (EPCIS TransformationEvent).

    ``yield_share`` is the declared output/input mass ratio (0..1].
    """

    kind: Literal["transformation"] = "transformation"
    id: str
    time: dt.datetime
    facility: str
    inputs: tuple[Quantity, ...]
    outputs: tuple[Quantity, ...]
    # at most 1: a declared yield above 1 lets outputs exceed inputs without a
    # yield_exceeded violation (1e15 hid any mass created: a compliance bypass)
    yield_share: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)


class Shipment(_Frozen):
    """Lots moved from one facility to another (EPCIS ObjectEvent shipping/receiving)."""

    kind: Literal["shipment"] = "shipment"
    id: str
    time: dt.datetime
    lots: tuple[Quantity, ...]
    source: str
    destination: str
    biz_step: Literal["shipping", "receiving"] = "shipping"


class Aggregation(_Frozen):
    """Child lots packed into a parent lot (EPCIS AggregationEvent ADD)."""

    kind: Literal["aggregation"] = "aggregation"
    id: str
    time: dt.datetime
    facility: str | None = None
    parent: str
    children: tuple[Quantity, ...]


Event = Annotated[Extraction | Transformation | Shipment | Aggregation, Field(discriminator="kind")]


class SupplyNetwork(_Frozen):
    """Facilities, lots and events of a supply network."""

    facilities: tuple[Facility, ...] = ()
    lots: tuple[Lot, ...] = ()
    events: tuple[Event, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> SupplyNetwork:
        for kind, ids in (
            ("facility", [f.id for f in self.facilities]),
            ("lot", [lot.id for lot in self.lots]),
            ("event", [e.id for e in self.events]),
        ):
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    raise InputError(f"duplicate {kind} id {i!r}; ids must be unique")
                seen.add(i)
        return self

    def facility(self, facility_id: str) -> Facility:
        for f in self.facilities:
            if f.id == facility_id:
                return f
        raise UnknownNameError("facility", facility_id, [f.id for f in self.facilities])

    def lot(self, lot_id: str) -> Lot:
        for lot in self.lots:
            if lot.id == lot_id:
                return lot
        raise UnknownNameError("lot", lot_id, [lot.id for lot in self.lots])

    def check_mass_balance(self, tol: float = 1e-6) -> list[Violation]:
        """Mass-balance and consumption violations (never fixed, only reported)."""
        from critmin.trace.massbalance import check_mass_balance

        return check_mass_balance(self, tol=tol)

    def origin(self, prices_usd_per_t: dict[str, float] | None = None) -> OriginResult:
        """Composition of every lot by (stage, country), by mass and by value."""
        from critmin.trace.origin import compute_origin

        return compute_origin(self, prices_usd_per_t=prices_usd_per_t)

    def impact(
        self, facility: str | None = None, country: str | None = None, stage: str | None = None
    ) -> ImpactReport:
        """Who is hit if a facility or a country stops."""
        from critmin.trace.impact import impact

        return impact(self, facility=facility, country=country, stage=stage)
