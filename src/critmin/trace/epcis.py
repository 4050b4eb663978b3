"""GS1 EPCIS 2.0 JSON / JSON-LD import and export, as supply chains write it.

Reading (``EPCISDocument`` and ``EPCISQueryDocument``)
======================================================

Master data (``epcisHeader.epcisMasterData.vocabularyList``), in the standard Core Business
Vocabulary (CBV 2.0) first; critmin's own ``critmin:*`` attributes are an extension that
overrides:

=====================  ==============================================================
critmin                EPCIS 2.0 / CBV 2.0
=====================  ==============================================================
Facility               vocabulary ``urn:epcglobal:epcis:vtype:BusinessLocation`` (or
                       ``ReadPoint``); ``id`` = the location (SGLN URN or any URI)
 .name                 ``urn:epcglobal:cbv:mda#name``
 .country              ``urn:epcglobal:cbv:mda#countryCode`` (ISO 3166 alpha-2), else an
                       address object's ``addressCountry`` / ``countryCode``
                       (``https://gs1.org/voc/address``); ``critmin:country`` overrides
 .stage                the site type: ``urn:epcglobal:cbv:mda#sst`` (and the sub-site detail
                       ``#ssd``) read through :data:`SITE_TYPE_WORDS`; ``critmin:stage``
                       overrides
 .operator             the owning party ``urn:epcglobal:cbv:mda#owning_party``: its name in
                       the ``urn:epcglobal:epcis:vtype:Party`` vocabulary, else its id;
                       ``critmin:operator`` overrides
 .feoc                 ``critmin:feoc`` only ("true"/"false"; no CBV equivalent)
Lot                    vocabulary ``urn:epcglobal:epcis:vtype:EPCClass``: ``critmin:product``,
                       ``critmin:quantity``, ``critmin:uom`` (``H87``: a count),
                       ``critmin:valueUSD``
 mass per instance     the net weight (:data:`WEIGHT_ATTRIBUTES`: ``gs1:netWeight``,
                       ``cbvmda:netWeight``, ``gs1:netContent`` in a mass unit), also from
                       an event's ``ilmd``; ``critmin:massPerInstanceKg`` overrides
=====================  ==============================================================

CBV numeric sub-site types (201 backroom ... 299 undefined) name areas inside a site and say
nothing about the production stage, so they never give one; the words accepted are listed in
:data:`SITE_TYPE_WORDS` (mine, separation, refinery, smelter, magnet plant, ...).

Events used for origin (material movements); every other event is kept, counted in the import
summary as "not used for origin" with its reason, and never a reason to refuse the document
(``strict=True`` refuses it):

=====================  ==============================================================
Extraction             ``ObjectEvent`` ``ADD`` (bizStep ``commissioning`` or none) with a
                       ``quantityList`` and a ``bizLocation`` / ``readPoint``
Transformation         ``TransformationEvent`` with ``inputQuantityList`` and
                       ``outputQuantityList`` at a location; ``critmin:yieldShare``
Shipment               ``ObjectEvent`` with bizStep ``shipping`` / ``receiving`` (or
                       ``departing`` / ``arriving``), a ``quantityList`` and a
                       ``sourceList`` and ``destinationList`` entry of type ``location``
Aggregation            ``AggregationEvent`` ``ADD`` with ``parentID`` and a
                       ``childQuantityList``
=====================  ==============================================================

Every quantity list above may be replaced or joined by its EPC list (``epcList``,
``input|outputEPCList``, ``childEPCs``): each instance-level EPC is a lot of one object.

Quantities: UN/CEFACT units (:data:`critmin.trace.model.UOM_TO_T`). A quantity without
``uom`` is a count of instances (EPCIS 2.0 section 7.3.3.3), kept as a count; it has a mass
when a net weight is declared on the instance, on its EPC class
(:func:`epc_classes`: an SGTIN's or LGTIN's GTIN), or, for a packed unit, by what was packed
into it; otherwise mass balance and origin by mass refuse it with an error naming the lot.

Identity: each event is its ``eventID``, else its GS1 event hash
(:func:`critmin.trace.eventhash.event_hash`). An event seen twice (the same document imported
twice, overlapping documents) counts once. ``errorDeclaration`` is honoured: an event declared
erroneous (by a copy carrying ``errorDeclaration``, matched by eventID or hash) is excluded,
and its corrective events count like any other.

Writing: every document critmin writes validates against the GS1 EPCIS 2.0 JSON schema
(``tests/trace/test_schema.py``). Ids that are not URIs are written as URIs in critmin's
id space, ``https://w3id.org/critmin/id/<kind>/<id>`` (kind ``event``, ``lot``, ``facility``),
and read back as the bare id, so a network built in Python survives the round trip; an RMI
smelter CID is the facility ``https://w3id.org/critmin/id/rmi-smelter/CID000000`` (see
:func:`critmin.trace.templates.smelter_uri`). critmin's fields live in its namespace
``critmin:`` = ``https://w3id.org/critmin/trace#`` and take strings or numbers only.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pydantic import ValidationError

from critmin.bounds import MAX_ABS, MAX_TONNES
from critmin.errors import CritminError, InputError
from critmin.fileio import atomic_write_text
from critmin.trace.eventhash import context_prefixes, event_hash
from critmin.trace.geo import resolve_country
from critmin.trace.model import (
    COUNT_UNITS,
    UOM_TO_T,
    Aggregation,
    Extraction,
    Facility,
    Lot,
    Quantity,
    Shipment,
    Stage,
    SupplyNetwork,
    Transformation,
    parse_stage,
)
from critmin.yamlio import error_loc, error_text

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CRITMIN_NS = "https://w3id.org/critmin/trace#"
ID_BASE = "https://w3id.org/critmin/id/"
VT_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VT_READPOINT = "urn:epcglobal:epcis:vtype:ReadPoint"
VT_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
VT_INSTANCE = "urn:epcglobal:epcis:vtype:EPCInstance"
VT_PARTY = "urn:epcglobal:epcis:vtype:Party"
MDA = "urn:epcglobal:cbv:mda#"
MDA_NAME = MDA + "name"
MDA_COUNTRY = MDA + "countryCode"
MDA_SST = MDA + "sst"
MDA_SSD = MDA + "ssd"
MDA_OWNER = MDA + "owning_party"
GS1_VOC = "https://gs1.org/voc/"
# The GS1 Web Vocabulary's own namespace is https://ref.gs1.org/voc/ (v1.16), declared
# owl:equivalentProperty with https://gs1.org/voc/ (the EPCIS 2.0 context's ``gs1:``) and
# https://www.gs1.org/voc/: all three name the same terms.
GS1_VOC_ALIASES = ("https://ref.gs1.org/voc/", "https://www.gs1.org/voc/", "http://gs1.org/voc/")
# GS1's EPCIS 2.0 JSON-LD context expands ``cbvmda:`` to ``urn:epcglobal:cbv:mda:`` (a colon),
# while CBV master-data attribute ids are written ``urn:epcglobal:cbv:mda#name``: one term.
MDA_COLON = "urn:epcglobal:cbv:mda:"
# Net weight of a trade item / EPC class, read as the mass of one instance (kg):
# GS1 Web Vocabulary gs1:netWeight (a gs1:QuantitativeValue: gs1:value + gs1:unitCode, UN/ECE
# Rec 20), CBV master data urn:epcglobal:cbv:mda#netWeight (a measurement with its
# measurementUnitCode), and gs1:netContent when its unit is a mass. Gross weight includes the
# packaging and is never read as the material's mass.
NET_WEIGHT = GS1_VOC + "netWeight"
WEIGHT_ATTRIBUTES = (NET_WEIGHT, MDA + "netWeight", GS1_VOC + "netContent")
COUNTRY_ATTRIBUTES = (MDA_COUNTRY, GS1_VOC + "countryCode", GS1_VOC + "addressCountry")
ADDRESS_ATTRIBUTES = (GS1_VOC + "address", MDA + "address")
DEFAULT_PREFIXES = {"cbvmda": MDA, "gs1": GS1_VOC, "critmin": CRITMIN_NS}
# Largest document read whole with the json module; larger ones are streamed (ijson).
STREAM_ABOVE_BYTES = 64 * 2**20

# Site-type words -> stage. CBV 2.0 has no production-stage code list: its sub-site types
# (``sst`` 201-299) name areas inside a site, so a site's stage comes from words.
SITE_TYPE_WORDS: dict[str, Stage] = {
    "mine": Stage.MINE,
    "mine site": Stage.MINE,
    "mining": Stage.MINE,
    "extraction": Stage.MINE,
    "quarry": Stage.MINE,
    "open pit": Stage.MINE,
    "separation": Stage.REFINING,
    "separation plant": Stage.REFINING,
    "refinery": Stage.REFINING,
    "refining": Stage.REFINING,
    "smelter": Stage.REFINING,
    "smelting": Stage.REFINING,
    "processing": Stage.REFINING,
    "processing plant": Stage.REFINING,
    "chemical plant": Stage.REFINING,
    "metal": Stage.METAL,
    "metal plant": Stage.METAL,
    "metallisation": Stage.METAL,
    "metallization": Stage.METAL,
    "alloy plant": Stage.METAL,
    "component": Stage.COMPONENT,
    "component plant": Stage.COMPONENT,
    "magnet": Stage.COMPONENT,
    "magnet plant": Stage.COMPONENT,
    "cathode plant": Stage.COMPONENT,
    "product": Stage.PRODUCT,
    "assembly": Stage.PRODUCT,
    "assembly plant": Stage.PRODUCT,
    "motor plant": Stage.PRODUCT,
}
_MOVE_STEPS = {"shipping": "shipping", "departing": "shipping", "receiving": "receiving"}
_MOVE_STEPS["arriving"] = "receiving"


# ----------------------------------------------------------------------------------------
# writing


def _time(t: dt.datetime) -> tuple[str, str]:
    off = t.utcoffset() or dt.timedelta(0)
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    return t.isoformat(), f"{sign}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def is_uri(text: str) -> bool:
    """True for an absolute URI (``scheme:rest`` without spaces)."""
    return bool(_SCHEME.match(text))


def as_uri(kind: str, ident: str) -> str:
    """``ident`` if it is a URI, else ``https://w3id.org/critmin/id/<kind>/<ident>``."""
    return ident if is_uri(ident) else f"{ID_BASE}{kind}/{quote(ident, safe='')}"


def from_uri(uri: str) -> str:
    """The bare id of a URI in critmin's id space (inverse of :func:`as_uri`), else ``uri``."""
    if uri.startswith(ID_BASE):
        kind, sep, rest = uri[len(ID_BASE) :].partition("/")
        if sep and kind in ("event", "lot", "facility"):
            return unquote(rest)
    return uri


def _qlist(qs: tuple[Quantity, ...]) -> list[dict[str, Any]]:
    """The class-level quantities, as written: a count stays a count (no ``uom``; its mass
    per instance goes into the EPC class's master data)."""
    out = []
    for q in qs:
        if q.instance:
            continue
        d: dict[str, Any] = {"epcClass": as_uri("lot", q.lot), "quantity": q.qty}
        if q.uom is not None:
            d["uom"] = q.uom
        out.append(d)
    return out


def _lists(qs: tuple[Quantity, ...], qkey: str, ekey: str) -> dict[str, Any]:
    """``{qkey: quantities, ekey: instance EPCs}``, each only when it has entries."""
    out: dict[str, Any] = {}
    if quantities := _qlist(qs):
        out[qkey] = quantities
    if epcs := list(dict.fromkeys(as_uri("lot", q.lot) for q in qs if q.instance)):
        out[ekey] = epcs
    return out


def _attrs(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for k, v in pairs:
        if v is None or v == "":
            continue
        # the schema takes numbers, strings and objects only: booleans become strings
        value = ("true" if v else "false") if isinstance(v, bool) else v
        out.append({"id": k, "attribute": value})
    return out


def _event_dict(ev: Extraction | Transformation | Shipment | Aggregation) -> dict[str, Any]:
    t, off = _time(ev.time)
    base: dict[str, Any] = {"eventTime": t, "eventTimeZoneOffset": off}
    if isinstance(ev, Extraction):
        fac = as_uri("facility", ev.facility)
        return {
            "type": "ObjectEvent",
            **base,
            "action": "ADD",
            "bizStep": "commissioning",
            **_lists(ev.outputs, "quantityList", "epcList"),
            "readPoint": {"id": fac},
            "bizLocation": {"id": fac},
        }
    if isinstance(ev, Transformation):
        fac = as_uri("facility", ev.facility)
        return {
            "type": "TransformationEvent",
            **base,
            **_lists(ev.inputs, "inputQuantityList", "inputEPCList"),
            **_lists(ev.outputs, "outputQuantityList", "outputEPCList"),
            "readPoint": {"id": fac},
            "bizLocation": {"id": fac},
            "critmin:yieldShare": ev.yield_share,
        }
    if isinstance(ev, Shipment):
        src, dst = as_uri("facility", ev.source), as_uri("facility", ev.destination)
        return {
            "type": "ObjectEvent",
            **base,
            "action": "OBSERVE",
            "bizStep": ev.biz_step,
            **_lists(ev.lots, "quantityList", "epcList"),
            "readPoint": {"id": src if ev.biz_step == "shipping" else dst},
            "sourceList": [{"type": "location", "source": src}],
            "destinationList": [{"type": "location", "destination": dst}],
        }
    agg: dict[str, Any] = {
        "type": "AggregationEvent",
        **base,
        "action": "ADD",
        "bizStep": "packing",
        "parentID": as_uri("lot", ev.parent),
        **_lists(ev.children, "childQuantityList", "childEPCs"),
    }
    if ev.facility is not None:
        agg["bizLocation"] = {"id": as_uri("facility", ev.facility)}
    return agg


def _event_quantities(
    ev: Extraction | Transformation | Shipment | Aggregation,
) -> tuple[Quantity, ...]:
    if isinstance(ev, Extraction):
        return ev.outputs
    if isinstance(ev, Transformation):
        return ev.inputs + ev.outputs
    if isinstance(ev, Shipment):
        return ev.lots
    return ev.children


def to_epcis(net: SupplyNetwork, creation_date: dt.datetime | None = None) -> dict[str, Any]:
    """The network as an EPCIS 2.0 ``EPCISDocument`` valid against GS1's JSON schema."""
    created = creation_date or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    locations = [
        {
            "id": as_uri("facility", f.id),
            "attributes": _attrs(
                [
                    (MDA_NAME, f.name),
                    (MDA_COUNTRY, _iso2(f.country)),
                    ("critmin:operator", f.operator),
                    ("critmin:country", f.country),
                    ("critmin:stage", f.stage.value),
                    ("critmin:feoc", f.feoc),
                ]
            ),
        }
        for f in net.facilities
    ]
    runs = _lot_elements(net)
    vocabularies: list[dict[str, Any]] = [{"type": VT_LOCATION, "vocabularyElementList": locations}]
    # classes and instances in the network's lot order: one vocabulary per run of one kind
    # (a document may hold several vocabularies of a type), so a re-import keeps the order
    for vt, element in runs:
        if vocabularies[-1]["type"] == vt:
            vocabularies[-1]["vocabularyElementList"].append(element)
        else:
            vocabularies.append({"type": vt, "vocabularyElementList": [element]})
    if len(vocabularies) == 1:
        vocabularies.append({"type": VT_CLASS, "vocabularyElementList": []})
    events: list[dict[str, Any]] = []
    for ev in net.events:
        d = _event_dict(ev)
        events.append({"eventID": as_uri("event", ev.id), **d})
    return {
        "@context": [EPCIS_CONTEXT, {"critmin": CRITMIN_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created)[0],
        "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}},
        "epcisBody": {"eventList": events},
    }


def _lot_elements(net: SupplyNetwork) -> list[tuple[str, dict[str, Any]]]:
    """Each lot's master-data element, with the vocabulary type it belongs to, in lot order."""
    # the mass per instance of a count: the lot's, else one its quantities carry
    each_kg: dict[str, float] = {}
    instances: set[str] = set()
    for ev in net.events:
        for q in _event_quantities(ev):
            if q.mass_per_instance_kg is not None:
                each_kg.setdefault(q.lot, q.mass_per_instance_kg)
            if q.instance:
                instances.add(q.lot)
    runs: list[tuple[str, dict[str, Any]]] = []
    for lot in net.lots:
        kg = (
            lot.mass_per_instance_kg
            if lot.mass_per_instance_kg is not None
            else each_kg.get(lot.id)
            if lot.uom is None
            else None
        )
        # a count lot says so: no event may produce it to carry the missing uom ("H87": piece)
        unit = lot.uom if lot.uom is not None else (None if lot.id in instances else "H87")
        element = {
            "id": as_uri("lot", lot.id),
            "attributes": _attrs(
                [
                    ("critmin:product", lot.product),
                    ("critmin:quantity", lot.qty),
                    ("critmin:uom", unit),
                    ("critmin:valueUSD", lot.value_usd),
                    # the mass of one instance in the GS1 Web Vocabulary, as other systems
                    # write a trade item's net weight (and critmin reads it back)
                    (
                        "gs1:netWeight",
                        None
                        if kg is None
                        else {
                            "type": "gs1:QuantitativeValue",
                            "gs1:value": kg,
                            "gs1:unitCode": "KGM",
                        },
                    ),
                ]
            ),
        }
        # instance EPCs' master data in CBV's instance-level vocabulary
        runs.append((VT_INSTANCE if lot.id in instances else VT_CLASS, element))
    return runs


def _iso2(iso3: str) -> str | None:
    try:
        import pycountry

        c = pycountry.countries.get(alpha_3=iso3)
    except (ImportError, LookupError, KeyError):
        return None
    return str(c.alpha_2) if c is not None else None


def write_epcis(net: SupplyNetwork, path: str | Path) -> None:
    """Write the network as EPCIS 2.0 JSON-LD (atomically: temp file + rename)."""
    p = Path(path)
    text = json.dumps(to_epcis(net), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(p, text)


# ----------------------------------------------------------------------------------------
# reading


@dataclass
class ImportSummary:
    """What an import read: events used for origin and not used (with reasons)."""

    source: str
    events_total: int = 0
    used: Counter[str] = field(default_factory=Counter)
    not_used: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    declared_erroneous: int = 0
    counts_without_mass: list[str] = field(default_factory=list)
    locations_without_master_data: list[str] = field(default_factory=list)
    # "file: JSON path: what" of net weights written without a unit (not used as a mass)
    weights_without_unit: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_total": self.events_total,
            "events_used_for_origin": dict(sorted(self.used.items())),
            "events_not_used_for_origin": dict(sorted(self.not_used.items())),
            "duplicate_events_ignored": self.duplicates,
            "events_declared_erroneous": self.declared_erroneous,
            "lots_counted_without_mass": self.counts_without_mass,
            "locations_without_master_data": self.locations_without_master_data,
            "weights_without_unit": self.weights_without_unit,
        }


@dataclass
class EpcisImport:
    """A network and the summary of how it was read."""

    network: SupplyNetwork
    summary: ImportSummary


def _short(v: Any) -> str:
    """``urn:epcglobal:cbv:bizstep:shipping`` or ``.../BizStep-shipping`` -> ``shipping``."""
    if not v:
        return ""
    s = str(v)
    for sep in (":", "/", "#"):
        s = s.rsplit(sep, 1)[-1]
    if "-" in s and s.split("-", 1)[0] in ("BizStep", "Disp", "SDT", "BTT", "ER"):
        s = s.split("-", 1)[1]
    return s.lower()


def _expand(k: str, prefixes: dict[str, str]) -> str:
    """A compact IRI expanded with the document's prefixes, in one spelling per term
    (``urn:epcglobal:cbv:mda:x`` -> ``urn:epcglobal:cbv:mda#x``; the GS1 Web Vocabulary's
    equivalent namespaces -> ``https://gs1.org/voc/``)."""
    head, sep, tail = k.partition(":")
    if sep and head in prefixes and not tail.startswith("//"):
        k = prefixes[head] + tail
    if k.startswith(MDA_COLON):
        return MDA + k[len(MDA_COLON) :]
    for alias in GS1_VOC_ALIASES:
        if k.startswith(alias):
            return GS1_VOC + k[len(alias) :]
    return k


def _crit(attrs: dict[str, Any], name: str) -> Any:
    return attrs.get(CRITMIN_NS + name)


def _shown(v: Any) -> str:
    """A value as a message shows it: its repr, cut to 60 characters (a field may be huge)."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _finite(v: Any, where: str, *, strings: bool = True, limit: float = MAX_ABS) -> float:
    """A finite number of at most ``limit`` in size, or one ``InputError`` at ``where``.

    ``strings``: a numeric string is taken too. critmin's own attributes and extension
    fields take "strings or numbers" (master data converted from EPCIS XML holds strings);
    the EPCIS 2.0 JSON schema types ``quantity`` as a number, so an event's quantity is not.
    A boolean is never a number here (``float(True)`` is 1.0).
    """
    if (
        isinstance(v, bool)
        or not isinstance(v, int | float | str)
        or (isinstance(v, str) and not strings)
    ):
        if isinstance(v, str):  # only where strings=False: the schema's JSON number
            raise InputError(
                f"expected a JSON number (EPCIS 2.0 JSON schema), got the string {_shown(v)}",
                where=where,
            )
        raise InputError(f"expected a number, got {_shown(v)}", where=where)
    try:
        x = float(v)
    except (ValueError, OverflowError):
        raise InputError(f"expected a number, got {_shown(v)}", where=where) from None
    if not math.isfinite(x):
        raise InputError(f"expected a finite number, got {_shown(v)}", where=where)
    if abs(x) > limit:
        raise InputError(f"{x:g} is out of range (at most {limit:g} in size)", where=where)
    return x


def _text(v: Any, where: str, what: str = "a string") -> str:
    """``v`` if it is a string; else one ``InputError`` naming the field and what was given."""
    if isinstance(v, str):
        return v
    raise InputError(f"expected {what}, got {_shown(v)}", where=where)


def _ident(v: Any, where: str) -> str:
    """An identifier (a URI, or critmin's bare id), interned: ids recur across events."""
    text = _text(v, where, "an identifier (a URI string)")
    if not text.strip():
        raise InputError("expected an identifier (a URI string), got ''", where=where)
    return sys.intern(from_uri(text))


# One shared "fields set" per model for the objects an import builds with model_construct
# (values checked by the importer): a set per object would cost ~0.5 KB an event.
_FS: dict[str, set[str]] = {
    "q": {"lot", "qty", "uom", "mass_per_instance_kg", "instance"},
    "x": {"id", "time", "facility", "outputs"},
    "s": {"id", "time", "lots", "source", "destination", "biz_step"},
    "t": {"id", "time", "facility", "inputs", "outputs", "yield_share"},
    "a": {"id", "time", "facility", "parent", "children"},
    "l": {"id", "qty", "uom", "mass_per_instance_kg"},
}


# Master-data attributes critmin reads, by the kind of value each must hold. Others (and
# attributes of vocabularies critmin does not read) are kept as written and never looked at.
_TEXT_ATTRIBUTES = frozenset(
    {MDA_NAME, MDA_OWNER, *COUNTRY_ATTRIBUTES}
    | {CRITMIN_NS + n for n in ("operator", "country", "stage", "product")}
)
_CODE_ATTRIBUTES = frozenset({MDA_SST, MDA_SSD})  # CBV codes: "201" or 201, or a word
_NUMBER_ATTRIBUTES = frozenset(
    CRITMIN_NS + n for n in ("quantity", "valueUSD", "massPerInstanceKg")
)


def _lot_attribute(key: str, value: Any, where: str) -> float | str:
    """A lot's unit (a UN/CEFACT mass code), or its quantity, value or mass per instance:
    finite, >= 0 (mass per instance > 0).

    Checked here, at the attribute's JSON path: the Lot model would name only its field."""
    if key == CRITMIN_NS + "uom":
        unit = _text(value, where, "a unit code (a string)")
        if unit in COUNT_UNITS:
            return unit  # a count (piece, one, each): how critmin marks a count lot
        if unit and unit not in UOM_TO_T:
            raise InputError(
                f"unknown unit {unit!r}; expected one of {sorted(UOM_TO_T)} "
                "(UN/CEFACT mass units) or none (a count)",
                where=where,
            )
        return unit
    x = _finite(value, where)
    if key == CRITMIN_NS + "massPerInstanceKg" and x <= 0:
        raise InputError(f"expected a mass per instance > 0 kg, got {x:g}", where=where)
    if x < 0:
        raise InputError(f"expected a number >= 0, got {x:g}", where=where)
    return x


def _local(key: str) -> str:
    """The local name of a (compact) IRI: ``gs1:unitCode``, ``https://gs1.org/voc/unitCode``
    and ``unitCode`` are all ``unitCode``."""
    return re.split(r"[:/#]", key)[-1]


_MEASURE_TEXT = re.compile(r"^\s*([-+0-9.eE]+)\s*([A-Za-z][A-Za-z0-9]{1,2})\s*$")


class _NoUnit(InputError):
    """A net weight written without its unit (reported in the import summary, not refused)."""


def _weight_kg(key: str, value: Any, where: str) -> float | None:
    """A net weight or net content attribute in kg; None for a net content that is not a mass
    (a number of pieces, a volume).

    Forms read: a ``gs1:QuantitativeValue`` object ``{"gs1:value": 9, "gs1:unitCode": "KGM"}``
    (keys compact, full or bare: ``value`` / ``unitCode``; CBV's XML-born form
    ``{"value": 9, "measurementUnitCode": "KGM"}``; JSON-LD ``@value``), a list of such
    objects (the first with a mass unit is taken: GS1 allows several net contents), or text
    ``"11.5 KGM"`` (the GS1 Web Vocabulary's own example). A weight without a unit gives no
    mass (:class:`_NoUnit`; the import lists where it is written): CBV requires the unit, 9
    could be kg, lb or t, and GS1's own JSON examples carry such weights (``"3.5"``, the XML's
    measurementUnitCode lost in conversion), so it is reported rather than refused.
    """
    content = key == GS1_VOC + "netContent"
    if isinstance(value, list):
        for i, item in enumerate(value):
            kg = _weight_kg(key, item, f"{where}[{i}]")
            if kg is not None:
                return kg
        return None
    amount: Any = None
    unit: Any = None
    if isinstance(value, dict):
        for k, v in value.items():
            name = _local(str(k))
            if name in ("value", "@value"):
                amount = v
            elif name in ("unitCode", "measurementUnitCode"):
                unit = v
    elif isinstance(value, str) and (m := _MEASURE_TEXT.match(value)):
        amount, unit = m.group(1), m.group(2)
    else:
        amount = value
    if unit is None:
        if content:
            return None  # a net content without unit says nothing about mass
        raise _NoUnit(
            f"net weight {_shown(value)} has no unit, not used as a mass (expected "
            '{"gs1:value": <number>, "gs1:unitCode": <UN/ECE Rec 20 code, e.g. KGM>})',
            where=where,
        )
    code = _text(unit, where, "a unit code (a string)").strip().upper()
    if code not in UOM_TO_T:
        if content:
            return None  # pieces (H87), litres (LTR): not a mass
        raise InputError(
            f"unknown mass unit {unit!r} for a net weight; expected one of {sorted(UOM_TO_T)} "
            "(UN/ECE Rec 20)",
            where=where,
        )
    x = _finite(amount, where)
    if x <= 0:
        raise InputError(f"expected a net weight > 0, got {x:g} {code}", where=where)
    # kg as written when the unit is kg: a round trip (critmin writes KGM) keeps the value exact
    return x if code == "KGM" else x * UOM_TO_T[code] * 1e3


def _attribute(key: str, value: Any, where: str) -> Any:
    """A master-data attribute's value, checked when critmin reads that attribute."""
    if value is None or key in WEIGHT_ATTRIBUTES:  # a weight: kg, or None when not a mass
        return None if value is None else _weight_kg(key, value, where)
    if key in _TEXT_ATTRIBUTES:
        return _text(value, where, "a string")
    if key in _CODE_ATTRIBUTES:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return _text(value, where, "a site-type code or word (a string)")
    if key in _NUMBER_ATTRIBUTES or key == CRITMIN_NS + "uom":
        return _lot_attribute(key, value, where)
    if key == CRITMIN_NS + "feoc":
        if isinstance(value, bool):
            return "true" if value else "false"
        flag = _text(value, where, '"true" or "false"').strip().lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            raise InputError(f'expected "true" or "false", got {_shown(value)}', where=where)
        return flag
    return value


class _IncompleteLocation(InputError):
    """A location whose master data gives no country or no stage."""


class _Reader:
    """State of one import: master data, identities seen, summary."""

    def __init__(self, source: str, prefixes: dict[str, str], strict: bool) -> None:
        self.source = source
        self.prefixes = {**DEFAULT_PREFIXES, **prefixes}
        self.declared = dict(prefixes)  # the event hash uses only what the document declares
        self.strict = strict
        self.summary = ImportSummary(source=source)
        self.locations: dict[str, dict[str, Any]] = {}
        self.classes: dict[str, dict[str, Any]] = {}
        self.parties: dict[str, dict[str, Any]] = {}
        # "file: JSON path" of master-data elements and attributes, so that a value found
        # wrong when the model object is built is named where it is written in the file
        self.element_paths: dict[str, str] = {}
        self.attribute_paths: dict[tuple[str, str], str] = {}
        self.without_mass: set[str] = set()  # lots listed in summary.counts_without_mass
        # instance EPCs seen in events -> their mass (kg, None: unknown); each becomes a lot
        self.instances: dict[str, float | None] = {}
        # master-data elements that served as the EPC class of another identifier (a GTIN
        # pattern ``urn:epc:idpat:sgtin:C.I.*``) and the ids events name as lots: a class no
        # event names is master data only, not a lot
        self.class_keys: set[str] = set()
        self.named: set[str] = set()
        # class-level lots whose mass per instance came from the ILMD of the event making them
        self.made_kg: dict[str, float] = {}

    # master data ------------------------------------------------------------------------
    def master_data(self, header: Any) -> None:
        """Read the master data; a part critmin uses that has the wrong shape is an error
        naming its JSON path (``epcisHeader.epcisMasterData.vocabularyList[0]...``)."""
        base = f"{self.source}: epcisHeader"
        if header is None:
            return
        if not isinstance(header, dict):
            raise InputError(f"expected an object, got {_shown(header)}", where=base)
        md = header.get("epcisMasterData")
        if md is None:
            return
        if not isinstance(md, dict):
            raise InputError(
                f"expected an object, got {_shown(md)}", where=base + ".epcisMasterData"
            )
        vocab = md.get("vocabularyList")
        base += ".epcisMasterData.vocabularyList"
        if vocab is None:
            return
        if not isinstance(vocab, list):
            raise InputError(f"expected a list, got {_shown(vocab)}", where=base)
        for vi, v in enumerate(vocab):
            if not isinstance(v, dict):
                raise InputError(
                    f"expected a vocabulary object, got {_shown(v)}", where=f"{base}[{vi}]"
                )
            vt = _expand(
                _text(v.get("type"), f"{base}[{vi}].type", "a vocabulary type URI"), self.prefixes
            )
            tail = vt.rsplit(":", 1)[-1]
            target = {
                "BusinessLocation": self.locations,
                "ReadPoint": self.locations,
                "EPCClass": self.classes,
                # instance-level master data (CBV: EPCInstance) sits with the classes: an
                # instance's own critmin:massPerInstanceKg overrides its class's
                "EPCInstance": self.classes,
                "Party": self.parties,
            }.get(tail)
            if target is None:
                continue
            elements = v.get("vocabularyElementList") or []
            if not isinstance(elements, list):
                raise InputError(
                    f"expected a list, got {_shown(elements)}",
                    where=f"{base}[{vi}].vocabularyElementList",
                )
            for ei, el in enumerate(elements):
                where = f"{base}[{vi}].vocabularyElementList[{ei}]"
                if not isinstance(el, dict) or "id" not in el:
                    raise InputError(
                        f"expected an object with an 'id', got {_shown(el)}", where=where
                    )
                ident = _ident(el["id"], where + ".id")
                attrs: dict[str, Any] = target.setdefault(ident, {})
                self.element_paths.setdefault(ident, where)
                items = el.get("attributes") or []
                if not isinstance(items, list):
                    raise InputError(
                        f"expected a list of {{id, attribute}}, got {_shown(items)}",
                        where=where + ".attributes",
                    )
                for ai, a in enumerate(items):
                    w = f"{where}.attributes[{ai}]"
                    if not isinstance(a, dict) or "id" not in a:
                        raise InputError(
                            f"expected an object with an 'id', got {_shown(a)}", where=w
                        )
                    key = _expand(_text(a["id"], w + ".id", "an attribute URI"), self.prefixes)
                    try:
                        attrs[key] = _attribute(key, a.get("attribute"), w + ".attribute")
                    except _NoUnit as exc:
                        self.summary.weights_without_unit.append(str(exc))
                        continue
                    self.attribute_paths[(ident, key)] = w + ".attribute"

    def _where(self, ident: str, key: str | None = None) -> str:
        """``file: <JSON path>`` of a master-data attribute, or of its element when ``key`` is
        None or was not written (the element's id is named too: it says which one)."""
        path = self.attribute_paths.get((ident, key)) if key else None
        if path is not None:
            return path  # the paths held begin with the file
        element = self.element_paths.get(ident, f"{self.source}: epcisHeader.epcisMasterData")
        kind = "location" if ident in self.locations else "class"
        return f"{element} ({kind} {ident!r})"

    def facility(self, fid: str) -> Facility:
        a = self.locations[fid]
        where = self._where(fid)
        country = _crit(a, "country") or _standard_country(a)
        stage = _crit(a, "stage") or _site_stage(a)
        if not country or not stage:
            missing = []
            if not country:
                missing.append(
                    "a country (cbvmda:countryCode, an address's addressCountry, or "
                    "critmin:country)"
                )
            if not stage:
                sst = a.get(MDA_SST)
                why = f" (its sst {sst!r} names no production stage)" if sst else ""
                missing.append(
                    f"a site type{why} (cbvmda:sst or cbvmda:ssd with one of "
                    f"{', '.join(sorted({s.value for s in Stage}))}, mine, separation, "
                    "refinery, smelter, magnet plant..., or critmin:stage)"
                )
            raise _IncompleteLocation("needs " + " and ".join(missing), where=where)
        owner = a.get(MDA_OWNER)
        operator = _crit(a, "operator")
        if not operator and owner:
            operator = self.parties.get(str(owner), {}).get(MDA_NAME) or str(owner)
        feoc = _crit(a, "feoc")
        # country and stage are resolved here so that an unknown one is named at its attribute
        ckey = CRITMIN_NS + "country" if _crit(a, "country") else _country_key(a)
        try:
            iso3 = resolve_country(str(country))
        except CritminError as exc:
            raise InputError(str(exc), where=self._where(fid, ckey)) from None
        try:
            st = parse_stage(str(stage))
        except CritminError as exc:
            raise InputError(str(exc), where=self._where(fid, CRITMIN_NS + "stage")) from None
        try:
            return Facility(
                id=fid,
                name=str(a.get(MDA_NAME) or ""),
                operator=str(operator or ""),
                country=iso3,
                stage=st,
                feoc=str(feoc).strip().lower() in ("true", "1", "yes"),
            )
        except (ValidationError, CritminError) as exc:
            raise InputError(_first_error(exc), where=where) from None

    # events -----------------------------------------------------------------------------
    def _quantities(
        self, items: Any, where: str, made_kg: float | None = None
    ) -> tuple[Quantity, ...]:
        if not isinstance(items, list):
            raise InputError("expected a list of {epcClass, quantity, uom}", where=where)
        out = []
        for j, q in enumerate(items):
            w = f"{where}[{j}]"
            if not isinstance(q, dict) or "epcClass" not in q:
                raise InputError(f"expected an object with 'epcClass' (got {q!r})", where=w)
            # interned: a lot id recurs as output, input and master data (large imports)
            lot = _ident(q["epcClass"], w + ".epcClass")
            if q.get("quantity") is None:
                raise InputError(
                    "expected a 'quantity' (without one the amount moved is unknown)",
                    where=w + ".quantity",
                )
            qty = _finite(q["quantity"], w + ".quantity", strings=False)
            if qty < 0:
                raise InputError(f"expected a quantity >= 0, got {qty:g}", where=w + ".quantity")
            uom = q.get("uom")
            if isinstance(uom, str) and uom in COUNT_UNITS:
                uom = None  # "piece" / "one" / "each": a count, as without uom
            if uom is not None and (not isinstance(uom, str) or uom not in UOM_TO_T):
                raise InputError(
                    f"unknown unit {uom!r}; expected one of {sorted(UOM_TO_T)} "
                    "(UN/CEFACT mass units) or none (a count)",
                    where=w + ".uom",
                )
            mpi = None
            self.named.add(lot)
            if uom is None:
                # a count stays a count as written (so that an export writes it back); its
                # mass per instance, when declared, makes it usable by mass
                mpi = self.mass_each(lot)
                if mpi is None and made_kg is not None:
                    mpi = self.made_kg[lot] = made_kg  # later events using the lot find it
                if mpi is None:
                    self._no_mass(lot)
            tonnes = qty * (UOM_TO_T[uom] if uom is not None else (mpi or 0.0) * 1e-3)
            if tonnes > MAX_TONNES:
                raise InputError(
                    f"{qty:g} {uom or 'instances'} is out of range (at most {MAX_TONNES:g} t, "
                    "four times the world's yearly iron-ore output)",
                    where=w + ".quantity",
                )
            # checked above (finite, >= 0, known unit): model_construct keeps the interned
            # strings and skips a second validation (a 1,000,000-event import holds millions)
            out.append(
                Quantity.model_construct(
                    _FS["q"],
                    lot=lot,
                    qty=qty,
                    uom=None if uom is None else str(uom),
                    mass_per_instance_kg=mpi,
                    instance=False,
                )
            )
        return tuple(out)

    def _no_mass(self, lot: str) -> None:
        if lot not in self.without_mass:
            self.without_mass.add(lot)
            self.summary.counts_without_mass.append(lot)

    def mass_each(self, ident: str) -> float | None:
        """The mass of one instance (kg) master data gives an instance or lot itself, else its
        EPC class (:func:`epc_classes`: an SGTIN's or LGTIN's GTIN, a GRAI's asset type), each
        by :func:`_element_kg`; else the net weight in the ILMD of the event that made it."""
        for key in (ident, *epc_classes(ident)):
            a = self.classes.get(key)
            if a is not None:
                m = _element_kg(a)
                if m is not None:
                    if key != ident:
                        self.class_keys.add(key)
                    return float(m)  # checked (finite, > 0) when the master data was read
        return self.made_kg.get(ident)

    def _instances(
        self, items: Any, where: str, made_kg: float | None = None
    ) -> tuple[Quantity, ...]:
        """An ``epcList`` / ``childEPCs`` / ``input|outputEPCList``: one object each, a count
        of 1 whose lot is the EPC itself; a repeated EPC is one object."""
        if not isinstance(items, list):
            raise InputError(
                f"expected a list of EPCs (URI strings), got {_shown(items)}", where=where
            )
        out: dict[str, Quantity] = {}
        for j, v in enumerate(items):
            epc = _ident(v, f"{where}[{j}]")
            if epc in out:
                continue
            if epc not in self.instances:
                self.instances[epc] = self.mass_each(epc)
            if self.instances[epc] is None and made_kg is not None:
                self.instances[epc] = made_kg
            mpi = self.instances[epc]
            if mpi is None:
                self._no_mass(epc)
            out[epc] = Quantity.model_construct(
                _FS["q"], lot=epc, qty=1.0, uom=None, mass_per_instance_kg=mpi, instance=True
            )
        return tuple(out.values())

    def _listed(
        self, e: dict[str, Any], qkey: str, ekey: str, where: str, made_kg: float | None = None
    ) -> tuple[Quantity, ...]:
        """An event's quantity list (class level) and EPC list (instance level), together.
        ``made_kg``: the mass per instance the event's ILMD gives what it makes."""
        qs = (
            self._quantities(e[qkey], f"{where}.{qkey}", made_kg) if e.get(qkey) is not None else ()
        )
        xs = self._instances(e[ekey], f"{where}.{ekey}", made_kg) if e.get(ekey) is not None else ()
        return qs + xs

    def ilmd_kg(self, e: dict[str, Any], where: str) -> float | None:
        """The net weight an event's instance/lot master data (``ilmd``, EPCIS 2.0 section
        7.3.6) gives the objects it commissions or outputs, in kg; None when it gives none.
        Master data of the lot or instance itself (its EPC class) comes first."""
        ilmd = e.get("ilmd")
        if not isinstance(ilmd, dict):
            return None
        found: dict[str, tuple[Any, str]] = {}
        for k, v in ilmd.items():
            key = _expand(str(k), self.prefixes)
            if key in WEIGHT_ATTRIBUTES:
                found[key] = (v, f"{where}.ilmd.{k}")
        for key in WEIGHT_ATTRIBUTES:
            if key in found:
                try:
                    kg = _weight_kg(key, *found[key])
                except _NoUnit as exc:
                    self.summary.weights_without_unit.append(str(exc))
                    continue
                if kg is not None:
                    return kg
        return None

    def _object_event(
        self,
        e: dict[str, Any],
        eid: str,
        where: str,
        *,
        t: dt.datetime,
        loc: str | None,
        action: str,
        step: str,
    ) -> Extraction | Shipment | str:
        """An ObjectEvent: an extraction (ADD, commissioning), a shipment (shipping,
        receiving with source and destination locations), or the reason it is neither."""
        typ = "ObjectEvent"
        if not _has(e, "quantityList", "epcList"):
            return f"{typ} {action or '-'} {step or '-'}: no epcList or quantityList"
        if action == "ADD" and step in ("commissioning", "creating_class_instance", ""):
            if loc is None:
                return f"{typ} ADD {step or '-'}: no bizLocation or readPoint"
            outs = self._listed(e, "quantityList", "epcList", where, self.ilmd_kg(e, where))
            if not outs:
                return f"{typ} ADD {step or '-'}: empty epcList and quantityList"
            return Extraction.model_construct(_FS["x"], id=eid, time=t, facility=loc, outputs=outs)
        if step in _MOVE_STEPS:
            src = _typed(e.get("sourceList"), "source", where + ".sourceList")
            dst = _typed(e.get("destinationList"), "destination", where + ".destinationList")
            if not src or not dst:
                return f"{typ} {step}: no sourceList/destinationList entry of type location"
            lots = self._listed(e, "quantityList", "epcList", where)
            if not lots:
                return f"{typ} {step}: empty epcList and quantityList"
            return Shipment.model_construct(
                _FS["s"],
                id=eid,
                time=t,
                lots=lots,
                source=src,
                destination=dst,
                biz_step="shipping" if _MOVE_STEPS[step] == "shipping" else "receiving",
            )
        return f"{typ} {action or '-'} {step or '-'}: no material movement"

    # one return per EPCIS event type and business step, read top to bottom like the CBV table
    def classify(  # noqa: PLR0911
        self, e: dict[str, Any], eid: str, where: str
    ) -> Extraction | Transformation | Shipment | Aggregation | str:
        """The model event, or the reason it carries no material movement."""
        typ = _text(e.get("type", ""), where + ".type", "an event type")
        step = _short(_text(e.get("bizStep") or "", where + ".bizStep", "a bizStep (a string)"))
        action = _text(e.get("action", ""), where + ".action", "ADD, OBSERVE or DELETE")
        loc = _loc(e.get("bizLocation"), where + ".bizLocation") or _loc(
            e.get("readPoint"), where + ".readPoint"
        )
        try:
            t = dt.datetime.fromisoformat(str(e["eventTime"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise InputError(
                f"needs an ISO 8601 'eventTime' (got {e.get('eventTime')!r})",
                where=where + ".eventTime",
            ) from None
        if t.tzinfo is None:
            raise InputError("eventTime needs a time zone offset", where=where + ".eventTime")
        if typ == "ObjectEvent":
            return self._object_event(e, eid, where, t=t, loc=loc, action=action, step=step)
        if typ == "TransformationEvent":
            if not _has(e, "inputQuantityList", "inputEPCList") or not _has(
                e, "outputQuantityList", "outputEPCList"
            ):
                return f"{typ}: no inputs or no outputs"
            if loc is None:
                return f"{typ}: no bizLocation or readPoint"
            ins = self._listed(e, "inputQuantityList", "inputEPCList", where)
            made = self.ilmd_kg(e, where)
            outs = self._listed(e, "outputQuantityList", "outputEPCList", where, made)
            if not ins or not outs:
                return f"{typ}: no inputs or no outputs"
            y = e.get("critmin:yieldShare", e.get(CRITMIN_NS + "yieldShare", 1.0))
            ys = _finite(y, where + ".critmin:yieldShare")
            if not 0 < ys <= 1:  # above 1, outputs could exceed inputs unflagged
                raise InputError(
                    f"expected a yield share 0 < y <= 1 (output/input mass), got {ys:g}",
                    where=where + ".critmin:yieldShare",
                )
            return Transformation.model_construct(
                _FS["t"], id=eid, time=t, facility=loc, inputs=ins, outputs=outs, yield_share=ys
            )
        if typ == "AggregationEvent":
            if action != "ADD":
                return f"{typ} {action or '-'}: not a packing (ADD)"
            if not e.get("parentID") or not _has(e, "childQuantityList", "childEPCs"):
                return f"{typ} ADD: no parentID or no children"
            parent = _ident(e["parentID"], where + ".parentID")
            kids = self._listed(e, "childQuantityList", "childEPCs", where)
            if not kids:
                return f"{typ} ADD: no parentID or no children"
            return Aggregation.model_construct(
                _FS["a"],
                id=eid,
                time=t,
                facility=_loc(e.get("bizLocation"), where + ".bizLocation"),
                parent=parent,
                children=kids,
            )
        return f"{typ or 'event without type'}: no material movement"


def _has(e: dict[str, Any], *keys: str) -> bool:
    """The event holds one of these lists (written and not null)."""
    return any(e.get(k) is not None for k in keys)


# EPC pure-identity schemes whose instances share a class: the serial is the last part
_SERIAL_SCHEMES = ("sgtin", "grai", "cpi")
_DL_SERIAL = re.compile(r"^(https?://[^?#]+?/01/\d{14})(?:/22/[^/?#]+)?(/10/[^/?#]+)?/21/[^/?#]+$")


def epc_classes(epc: str) -> tuple[str, ...]:
    """The EPC classes an identifier belongs to, nearest first, as EPCIS master data names them.

    * ``urn:epc:id:sgtin:C.I.S`` -> ``urn:epc:idpat:sgtin:C.I.*`` (its GTIN); likewise GRAI
      (the asset type) and CPI;
    * ``urn:epc:class:lgtin:C.I.L`` (a lot) -> ``urn:epc:idpat:sgtin:C.I.*`` (its GTIN);
    * GS1 Digital Link ``https://<host>/01/<GTIN>[/10/<lot>]/21/<serial>`` -> the lot
      ``.../01/<GTIN>/10/<lot>`` (when given), then the GTIN ``.../01/<GTIN>``;
    * anything else (SSCC, GIAI, critmin ids): no class.
    """
    if epc.startswith("urn:epc:id:"):
        scheme, _, rest = epc[len("urn:epc:id:") :].partition(":")
        head, dot, _serial = rest.rpartition(".")
        if scheme in _SERIAL_SCHEMES and dot and head:
            return (f"urn:epc:idpat:{scheme}:{head}.*",)
        return ()
    if epc.startswith("urn:epc:class:lgtin:"):
        head, dot, _lot = epc[len("urn:epc:class:lgtin:") :].rpartition(".")
        return (f"urn:epc:idpat:sgtin:{head}.*",) if dot and head else ()
    m = _DL_SERIAL.match(epc)
    if m is None:
        return ()
    gtin, lot = m.group(1), m.group(2)
    return (gtin + lot, gtin) if lot else (gtin,)


def _loc(d: Any, where: str) -> str | None:
    """The location of a ``bizLocation`` / ``readPoint`` object ``{"id": URI}``, or None."""
    if d is None:
        return None
    if not isinstance(d, dict):
        raise InputError(f'expected an object {{"id": URI}}, got {_shown(d)}', where=where)
    return _ident(d["id"], where + ".id") if d.get("id") is not None else None


def _typed(items: Any, key: str, where: str) -> str | None:
    """The first entry of type ``location`` of a source or destination list, or None."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise InputError(f"expected a list, got {_shown(items)}", where=where)
    for i, s in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(s, dict):
            raise InputError(f"expected an object {{type, {key}}}, got {_shown(s)}", where=w)
        typ = _short(_text(s.get("type") or "", w + ".type", "a source/destination type"))
        if typ == "location" and s.get(key) is not None:
            return _ident(s[key], f"{w}.{key}")
    return None


def _country_key(a: dict[str, Any]) -> str | None:
    """The attribute :func:`_standard_country` takes the country from (for messages)."""
    for k in COUNTRY_ATTRIBUTES:
        if a.get(k):
            return k
    for k in ADDRESS_ATTRIBUTES:
        if isinstance(a.get(k), dict):
            return k
    return None


def _standard_country(a: dict[str, Any]) -> str | None:
    for k in COUNTRY_ATTRIBUTES:
        if a.get(k):
            return str(a[k])
    for k in ADDRESS_ATTRIBUTES:
        addr = a.get(k)
        if isinstance(addr, dict):
            for kk, v in addr.items():
                if kk.rsplit("/", 1)[-1].rsplit(":", 1)[-1] in ("addressCountry", "countryCode"):
                    code = v.get("countryCode") or v.get("id") if isinstance(v, dict) else v
                    if code:
                        return str(code)
    return None


def site_stage(text: str) -> Stage | None:
    """The stage a site-type word names (:data:`SITE_TYPE_WORDS`, or a stage name); else None."""
    key = " ".join(str(text).strip().lower().replace("_", " ").replace("-", " ").split())
    if key in {s.value for s in Stage}:
        return Stage(key)
    return SITE_TYPE_WORDS.get(key)


def _site_stage(a: dict[str, Any]) -> str | None:
    for k in (MDA_SST, MDA_SSD):
        v = a.get(k)
        if v is None:
            continue
        st = site_stage(_short(v) if is_uri(str(v)) else str(v))
        if st is not None:
            return st.value
    return None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(x) for x in error_loc(err))}: {error_text(err)}"
    return str(exc)


def import_events(
    header: Any,
    events: Iterable[Any],
    *,
    prefixes: dict[str, str] | None = None,
    source: str = "<document>",
    strict: bool = False,
    events_path: str = "epcisBody.eventList",
) -> EpcisImport:
    """A network from EPCIS master data and an event stream (one pass over the events).

    Events are held only as critmin model events; the raw dicts are dropped as they are read,
    so a streamed document costs the size of its network, not of its JSON.
    """
    r = _Reader(source, prefixes or {}, strict)
    r.master_data(header)
    kept: dict[str, Extraction | Transformation | Shipment | Aggregation] = {}
    declared: set[str] = set()
    for i, e in enumerate(events):
        where = f"{source}: {events_path}[{i}]"
        r.summary.events_total += 1
        if not isinstance(e, dict):
            raise InputError("expected an event object", where=where)
        try:
            given = e.get("eventID")
            eid = _ident(given, where + ".eventID") if given else event_hash(e, r.declared)
        except RecursionError:
            raise InputError("event nested too deeply", where=where) from None
        declaration = e.get("errorDeclaration")
        if declaration is not None and not isinstance(declaration, dict):
            raise InputError(
                f"expected an object {{declarationTime, reason}}, got {_shown(declaration)}",
                where=where + ".errorDeclaration",
            )
        if declaration is not None:
            declared.add(eid)
            r.summary.not_used["error declaration"] += 1
            continue
        if eid in kept or eid in declared:
            r.summary.duplicates += 1
            continue
        try:
            got = r.classify(e, eid, where)
        except ValidationError as exc:
            raise InputError(_first_error(exc), where=where) from None
        if isinstance(got, str):
            if strict:
                raise InputError(
                    f"event not used for origin ({got}); --strict refuses such events",
                    where=where,
                )
            r.summary.not_used[got] += 1
            continue
        kept[eid] = got
    for eid in declared:
        if kept.pop(eid, None) is not None:
            r.summary.declared_erroneous += 1
    for ev in kept.values():
        r.summary.used[ev.kind] += 1
    return EpcisImport(network=_network(r, list(kept.values())), summary=r.summary)


_AnyEvent = Extraction | Transformation | Shipment | Aggregation


def _with_masses(qs: tuple[Quantity, ...], kg: dict[str, float]) -> tuple[Quantity, ...]:
    if not any(q.instance and q.mass_per_instance_kg is None and q.lot in kg for q in qs):
        return qs
    return tuple(
        q.model_copy(update={"mass_per_instance_kg": kg[q.lot]})
        if q.instance and q.mass_per_instance_kg is None and q.lot in kg
        else q
        for q in qs
    )


def _element_kg(a: dict[str, Any]) -> float | None:
    """The mass of one instance (kg) a master-data element declares: ``critmin:massPerInstanceKg``
    (critmin's extension overrides), else the standard net weight (:data:`WEIGHT_ATTRIBUTES`,
    converted to kg when the master data was read)."""
    for k in (CRITMIN_NS + "massPerInstanceKg", *WEIGHT_ATTRIBUTES):
        m = a.get(k)
        if m is not None:
            return float(m)
    return None


def _packed_masses(r: _Reader, events: list[_AnyEvent]) -> list[_AnyEvent]:
    """Instances without a declared mass whose mass their packing gives: a parent (an SSCC
    pallet, a case) weighs what was packed into it, so a shipment of the pallet, or the
    pallet packed into a larger unit, carries that mass. Aggregations are taken in event
    order (a case is packed before the pallet it goes on)."""
    kg: dict[str, float] = {}
    out: list[_AnyEvent] = []
    for event in events:
        ev = event
        if isinstance(ev, Aggregation):
            kids = _with_masses(ev.children, kg)
            if kids is not ev.children:
                ev = ev.model_copy(update={"children": kids})
            if all(q.uom is not None or q.mass_per_instance_kg is not None for q in kids):
                kg.setdefault(ev.parent, sum(q.qty_t for q in kids) * 1e3)
        out.append(ev)
    if not kg:
        return events
    for i, ev in enumerate(out):
        if isinstance(ev, Extraction):
            new: dict[str, Any] = {"outputs": _with_masses(ev.outputs, kg)}
        elif isinstance(ev, Transformation):
            new = {"inputs": _with_masses(ev.inputs, kg), "outputs": _with_masses(ev.outputs, kg)}
        elif isinstance(ev, Shipment):
            new = {"lots": _with_masses(ev.lots, kg)}
        else:
            continue
        if any(v is not getattr(ev, k) for k, v in new.items()):
            out[i] = ev.model_copy(update=new)
    for lot, mass_kg in kg.items():
        if lot in r.instances and r.instances[lot] is None:
            r.instances[lot] = mass_kg
            if lot in r.without_mass:
                r.without_mass.discard(lot)
                r.summary.counts_without_mass.remove(lot)
    return out


def _master_lot(
    r: _Reader, lid: str, a: dict[str, Any], seen_qty: dict[str, Quantity]
) -> Lot | None:
    """The lot of an EPCClass / EPCInstance master-data element; None for a class that only
    names other identifiers' class (a GTIN pattern no event uses as a lot)."""
    made = seen_qty.get(lid)
    if lid in r.class_keys and made is None and lid not in r.named and lid not in r.instances:
        return None
    # quantity, valueUSD and uom were checked (finite, >= 0, a known unit) at their JSON
    # paths when the master data was read; what is left is the mass in tonnes
    qty = _crit(a, "quantity")
    uom = _crit(a, "uom")
    own_mpi = _element_kg(a)
    # without a unit in master data: the producing event's, else a count when the lot is
    # an instance or declares a mass per instance (how critmin writes counts), else tonnes
    counted = lid in r.instances or own_mpi is not None or uom in COUNT_UNITS
    if uom in COUNT_UNITS:
        uom = None  # written by critmin for a count lot no event produces
    unit = str(uom) if uom else (made.uom if made else (None if counted else "TNE"))
    mpi = own_mpi if own_mpi is not None else (r.mass_each(lid) if unit is None else None)
    if mpi is None and unit is None and lid in r.instances:
        mpi = r.instances[lid]  # a packed parent's mass (_packed_masses)
    if qty is not None and unit is not None and qty * UOM_TO_T[unit] > MAX_TONNES:
        raise InputError(
            f"{qty:g} {unit} is out of range (at most {MAX_TONNES:g} t, four times the "
            "world's yearly iron-ore output)",
            where=r._where(lid, CRITMIN_NS + "quantity"),
        )
    try:
        return Lot(
            id=lid,
            product=str(_crit(a, "product") or ""),
            # an instance is one object; a class no event produces has no known quantity
            qty=qty if qty is not None else (made.qty if made else float(lid in r.instances)),
            uom=unit,
            value_usd=_crit(a, "valueUSD"),
            mass_per_instance_kg=None if mpi is None else float(mpi),
        )
    except ValidationError as exc:
        raise InputError(_first_error(exc), where=r._where(lid)) from None


# branches: one per event type, then locations and lots with and without master data
def _network(r: _Reader, events: list[_AnyEvent]) -> SupplyNetwork:  # noqa: PLR0912
    if any(m is None for m in r.instances.values()):
        events = _packed_masses(r, events)
    used_locs: list[str] = []
    seen_qty: dict[str, Quantity] = {}
    for ev in events:
        if isinstance(ev, Extraction):
            used_locs.append(ev.facility)
            outs: tuple[Quantity, ...] = ev.outputs
        elif isinstance(ev, Transformation):
            used_locs.append(ev.facility)
            outs = ev.outputs
        elif isinstance(ev, Shipment):
            used_locs += [ev.source, ev.destination]
            outs = ()
        else:
            if ev.facility:
                used_locs.append(ev.facility)
            if all(q.uom is None and q.mass_per_instance_kg is None for q in ev.children):
                total = Quantity(lot=ev.parent, qty=sum(q.qty for q in ev.children), uom=None)
            else:
                try:
                    total = Quantity(
                        lot=ev.parent, qty=sum(q.qty_t for q in ev.children), uom="TNE"
                    )
                except CritminError:
                    total = Quantity(lot=ev.parent, qty=0.0, uom=None)
            outs = (total,)
        for q in outs:
            seen_qty.setdefault(q.lot, q)
    needed = set(used_locs)
    # origin needs these; import reports them so the gap shows before origin refuses it
    r.summary.locations_without_master_data = sorted(needed - set(r.locations))
    facilities: list[Facility] = []
    for fid in r.locations:
        if fid in needed:
            facilities.append(r.facility(fid))  # a location an event uses must be complete
        else:
            try:  # others (warehouses, offices) are kept when they are complete
                facilities.append(r.facility(fid))
            except _IncompleteLocation:
                continue
    lots = [lot for lid, a in r.classes.items() if (lot := _master_lot(r, lid, a, seen_qty))]
    for lot in lots:  # a count in master data only (no event names it) is listed too
        if lot.uom is None and lot.mass_per_instance_kg is None:
            r._no_mass(lot.id)
    known = {lot.id for lot in lots}
    for lid, q in seen_qty.items():  # lots without master data: quantity from their producer
        if lid not in known:
            known.add(lid)
            lots.append(
                Lot.model_construct(
                    _FS["l"],
                    id=lid,
                    qty=q.qty,
                    uom=q.uom,
                    mass_per_instance_kg=q.mass_per_instance_kg,
                )
            )
    for lid, kg in r.instances.items():  # every instance EPC is a lot of one object
        if lid not in known:
            lots.append(
                Lot.model_construct(_FS["l"], id=lid, qty=1.0, uom=None, mass_per_instance_kg=kg)
            )
    return SupplyNetwork(facilities=tuple(facilities), lots=tuple(lots), events=tuple(events))


def _body_events(doc: dict[str, Any], source: str) -> tuple[list[Any], str]:
    typ = doc.get("type")
    if typ not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InputError(
            f"expected type 'EPCISDocument' or 'EPCISQueryDocument', got {typ!r}", where=source
        )
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        raise InputError("expected an 'epcisBody' object", where=source)
    if typ == "EPCISQueryDocument":
        qr = body.get("queryResults")
        rb = qr.get("resultsBody") if isinstance(qr, dict) else None
        ev = rb.get("eventList") if isinstance(rb, dict) else None
        path = "epcisBody.queryResults.resultsBody.eventList"
    else:
        ev = body.get("eventList")
        path = "epcisBody.eventList"
        if ev is None and isinstance(body.get("event"), dict):
            ev, path = [body["event"]], "epcisBody.event"
    if not isinstance(ev, list):
        raise InputError(f"expected '{path}' to be a list of events", where=source)
    return ev, path


def import_document(
    doc: dict[str, Any], source: str = "<document>", strict: bool = False
) -> EpcisImport:
    """Import a parsed EPCIS 2.0 document (dict)."""
    events, path = _body_events(doc, source)
    return import_events(
        doc.get("epcisHeader"),
        events,
        prefixes=context_prefixes(doc.get("@context")),
        source=source,
        strict=strict,
        events_path=path,
    )


def from_epcis(doc: dict[str, Any], source: str = "<document>") -> SupplyNetwork:
    """A network from an EPCIS 2.0 document (dict). Errors name the event index and field."""
    return import_document(doc, source).network


def _open_checked(p: Path) -> None:
    if p.is_dir():
        raise InputError("is a directory; expected an EPCIS 2.0 JSON/JSON-LD file", where=str(p))
    if not p.exists():
        raise InputError("file not found", where=str(p))


def load_json(p: Path) -> Any:
    """Parse an EPCIS JSON file with the limits every critmin input has
    (:func:`critmin.yamlio.load_json`): UTF-8 (BOM allowed), nesting deeper than 100 levels,
    ``NaN``/``Infinity`` (not JSON), integers of thousands of digits: one line each."""
    from critmin.yamlio import load_json as load_checked_json

    _open_checked(p)
    # Duplicate keys are let through, the last one winning (RFC 8259 leaves them to the
    # parser; GS1's example AssociationEvent-h.jsonld has two eventIDs in one event).
    return load_checked_json(p, what="EPCIS file", unique_keys=False)


_SCALAR_EVENTS = frozenset({"string", "number", "boolean", "null"})
#: where a streamed document's events can be, as :func:`_body_events` reads them whole
_EVENT_PATHS = (
    "epcisBody",
    "epcisBody.eventList",
    "epcisBody.event",
    "epcisBody.queryResults.resultsBody.eventList",
)


def _stream_outline(f: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A pass over the start of a streamed document: the values of the top-level keys other
    than the body (``type``, ``@context``, ``epcisHeader``; a key given twice keeps its last
    value, as when read whole) and what each of :data:`_EVENT_PATHS` holds (``start_map``,
    ``start_array`` or a scalar's kind; the last one seen).

    It stops where the events begin once the three keys have been seen, so a document
    written header first (as every feed we know) is not parsed twice; a key given again after
    the events would be missed, where the whole-document reader takes it."""
    import ijson
    from ijson.common import ObjectBuilder

    heads: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    key: str | None = None
    builder: ObjectBuilder | None = None
    for prefix, event, value in ijson.parse(f, use_float=True):
        if builder is not None and key is not None:
            builder.event(event, value)
            if prefix == key and (event in _SCALAR_EVENTS or event in ("end_map", "end_array")):
                heads[key], builder = builder.value, None
            continue
        if prefix == "" and event == "map_key":
            key = value
        elif prefix == key and key in ("type", "@context", "epcisHeader") and event != "map_key":
            builder = ObjectBuilder()
            builder.event(event, value)
            if event in _SCALAR_EVENTS:
                heads[key], builder = builder.value, None
        if prefix in _EVENT_PATHS and (event in _SCALAR_EVENTS or event.startswith("start_")):
            kinds[prefix] = event
            events_begin = event == "start_array" and prefix != "epcisBody"
            if events_begin and len(heads) == 3:
                break
    return heads, kinds


def _stream_events_path(typ: Any, kinds: dict[str, str], where: str) -> tuple[str, str]:
    """(ijson prefix of the events, path named in errors) of a streamed document: the same
    checks, in the same order, as :func:`_body_events` makes on a document read whole."""
    if typ not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InputError(
            f"expected type 'EPCISDocument' or 'EPCISQueryDocument', got {typ!r}", where=where
        )
    if kinds.get("epcisBody") != "start_map":
        raise InputError("expected an 'epcisBody' object", where=where)
    if typ == "EPCISQueryDocument":
        path = "epcisBody.queryResults.resultsBody.eventList"
    else:
        path = "epcisBody.eventList"
        if kinds.get(path, "null") == "null" and kinds.get("epcisBody.event") == "start_map":
            return "epcisBody.event", "epcisBody.event"
    if kinds.get(path) != "start_array":
        raise InputError(f"expected '{path}' to be a list of events", where=where)
    return path + ".item", path


def _stream(p: Path, strict: bool) -> EpcisImport:
    """Stream a large document with ijson: an outline pass (header, where the events are),
    then one event at a time. A UTF-8 BOM is skipped, as when the document is read whole."""
    import ijson

    where = str(p)

    def opened() -> Any:
        f = p.open("rb")
        if f.read(3) != b"\xef\xbb\xbf":
            f.seek(0)
        return f

    def events(prefix: str) -> Iterator[Any]:
        with opened() as f:
            yield from ijson.items(f, prefix, use_float=True)

    try:
        with opened() as f:
            heads, kinds = _stream_outline(f)
        prefix, path = _stream_events_path(heads.get("type"), kinds, where)
        return import_events(
            heads.get("epcisHeader"),
            events(prefix),
            prefixes=context_prefixes(heads.get("@context")),
            source=where,
            strict=strict,
            events_path=path,
        )
    except ijson.JSONError as exc:
        if "integer overflow" in str(exc):
            # yajl (ijson's C parser) stops at 2**63; the whole-document reader does not
            raise InputError(
                "an integer beyond 64 bits, which the streamed reader (documents over 64 MiB) "
                "cannot read; write it as a decimal number (e.g. 1.0e19)",
                where=where,
            ) from None
        raise InputError(f"not valid JSON: {exc}", where=where) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text; EPCIS JSON must be UTF-8", where=where) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", where=where) from None


def read_epcis_import(path: str | Path, strict: bool = False) -> EpcisImport:
    """Read an EPCIS 2.0 JSON / JSON-LD file with its import summary (large files streamed)."""
    p = Path(path)
    _open_checked(p)
    if p.stat().st_size > STREAM_ABOVE_BYTES:
        return _stream(p, strict)
    doc = load_json(p)
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object (EPCISDocument)", where=str(p))
    return import_document(doc, source=str(p), strict=strict)


def read_epcis(path: str | Path, strict: bool = False) -> SupplyNetwork:
    """Read an EPCIS 2.0 JSON / JSON-LD file."""
    return read_epcis_import(path, strict=strict).network
