"""GS1 EPCIS 2.0 JSON / JSON-LD import and export.

Mapping (CBV 2.0 short names; full ``urn:epcglobal:cbv:bizstep:...`` URIs are accepted):

=====================  ==============================================================
critmin                EPCIS 2.0
=====================  ==============================================================
Facility               master data, vocabulary ``urn:epcglobal:epcis:vtype:BusinessLocation``;
                       attributes ``urn:epcglobal:cbv:mda#name`` and ``critmin:country``,
                       ``critmin:operator``, ``critmin:stage``, ``critmin:feoc``
Lot                    master data, vocabulary ``urn:epcglobal:epcis:vtype:EPCClass``;
                       attributes ``critmin:product``, ``critmin:quantity``, ``critmin:uom``,
                       ``critmin:valueUSD``
Extraction             ``ObjectEvent``, action ``ADD``, bizStep ``commissioning``,
                       ``quantityList``, ``bizLocation`` = the mine
Transformation         ``TransformationEvent`` with ``inputQuantityList`` /
                       ``outputQuantityList``, ``bizLocation`` = the plant,
                       extension ``critmin:yieldShare``
Shipment               ``ObjectEvent``, action ``OBSERVE``, bizStep ``shipping`` or
                       ``receiving``, ``sourceList`` / ``destinationList`` of type ``location``
Aggregation            ``AggregationEvent``, action ``ADD``, bizStep ``packing``, ``parentID``
                       = the parent lot, ``childQuantityList``
=====================  ==============================================================

Lots are EPC classes (LGTIN URNs ``urn:epc:class:lgtin:<company>.<item>.<lot>`` or any
URI); facilities are SGLN URNs (``urn:epc:id:sgln:...``) or any URI. The ``critmin:`` prefix
is bound to ``https://w3id.org/critmin/trace#`` in the document ``@context``. Quantities use
UN/CEFACT unit codes (``TNE``, ``KGM``, ``GRM``, ``LBR``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from critmin.errors import CritminError, InputError
from critmin.fileio import atomic_write_text
from critmin.trace.model import (
    Aggregation,
    Extraction,
    Facility,
    Lot,
    Quantity,
    Shipment,
    SupplyNetwork,
    Transformation,
)

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CRITMIN_NS = "https://w3id.org/critmin/trace#"
VT_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VT_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
MDA_NAME = "urn:epcglobal:cbv:mda#name"


def _time(t: dt.datetime) -> tuple[str, str]:
    off = t.utcoffset() or dt.timedelta(0)
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    return t.isoformat(), f"{sign}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"


def _qlist(qs: tuple[Quantity, ...]) -> list[dict[str, Any]]:
    return [{"epcClass": q.lot, "quantity": q.qty, "uom": q.uom} for q in qs]


def _attrs(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": k, "attribute": v} for k, v in pairs if v is not None]


def to_epcis(net: SupplyNetwork, creation_date: dt.datetime | None = None) -> dict[str, Any]:
    """The network as an EPCIS 2.0 ``EPCISDocument`` (a JSON-serialisable dict)."""
    created = creation_date or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    locations = [
        {
            "id": f.id,
            "attributes": _attrs(
                [
                    (MDA_NAME, f.name),
                    ("critmin:operator", f.operator),
                    ("critmin:country", f.country),
                    ("critmin:stage", f.stage.value),
                    ("critmin:feoc", f.feoc),
                ]
            ),
        }
        for f in net.facilities
    ]
    classes = [
        {
            "id": lot.id,
            "attributes": _attrs(
                [
                    ("critmin:product", lot.product),
                    ("critmin:quantity", lot.qty),
                    ("critmin:uom", lot.uom),
                    ("critmin:valueUSD", lot.value_usd),
                ]
            ),
        }
        for lot in net.lots
    ]
    events: list[dict[str, Any]] = []
    for ev in net.events:
        t, off = _time(ev.time)
        base: dict[str, Any] = {"eventID": ev.id, "eventTime": t, "eventTimeZoneOffset": off}
        if isinstance(ev, Extraction):
            events.append(
                {
                    "type": "ObjectEvent",
                    **base,
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "quantityList": _qlist(ev.outputs),
                    "readPoint": {"id": ev.facility},
                    "bizLocation": {"id": ev.facility},
                }
            )
        elif isinstance(ev, Transformation):
            events.append(
                {
                    "type": "TransformationEvent",
                    **base,
                    "inputQuantityList": _qlist(ev.inputs),
                    "outputQuantityList": _qlist(ev.outputs),
                    "readPoint": {"id": ev.facility},
                    "bizLocation": {"id": ev.facility},
                    "critmin:yieldShare": ev.yield_share,
                }
            )
        elif isinstance(ev, Shipment):
            events.append(
                {
                    "type": "ObjectEvent",
                    **base,
                    "action": "OBSERVE",
                    "bizStep": ev.biz_step,
                    "quantityList": _qlist(ev.lots),
                    "readPoint": {"id": ev.source if ev.biz_step == "shipping" else ev.destination},
                    "sourceList": [{"type": "location", "source": ev.source}],
                    "destinationList": [{"type": "location", "destination": ev.destination}],
                }
            )
        else:
            agg: dict[str, Any] = {
                "type": "AggregationEvent",
                **base,
                "action": "ADD",
                "bizStep": "packing",
                "parentID": ev.parent,
                "childQuantityList": _qlist(ev.children),
            }
            if ev.facility is not None:
                agg["bizLocation"] = {"id": ev.facility}
            events.append(agg)
    return {
        "@context": [EPCIS_CONTEXT, {"critmin": CRITMIN_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created)[0],
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": [
                    {"type": VT_LOCATION, "vocabularyElementList": locations},
                    {"type": VT_CLASS, "vocabularyElementList": classes},
                ]
            }
        },
        "epcisBody": {"eventList": events},
    }


def _short(v: str | None) -> str:
    """``urn:epcglobal:cbv:bizstep:shipping`` or ``.../BizStep-shipping`` -> ``shipping``."""
    if not v:
        return ""
    for sep in (":", "/", "-", "#"):
        v = v.rsplit(sep, 1)[-1]
    return v.lower()


def _key(k: str) -> str:
    if k.startswith(CRITMIN_NS):
        return "critmin:" + k[len(CRITMIN_NS) :]
    return k


def _quantities(items: Any, where: str) -> tuple[Quantity, ...]:
    if not isinstance(items, list):
        raise InputError("expected a list of {epcClass, quantity, uom}", where=where)
    out = []
    for j, q in enumerate(items):
        if not isinstance(q, dict) or "epcClass" not in q or "quantity" not in q:
            raise InputError(
                f"quantity element {j} needs 'epcClass' and 'quantity' (got {q!r})", where=where
            )
        out.append(
            Quantity(lot=str(q["epcClass"]), qty=float(q["quantity"]), uom=q.get("uom", "TNE"))
        )
    return tuple(out)


def _loc(d: Any) -> str | None:
    return str(d["id"]) if isinstance(d, dict) and "id" in d else None


def from_epcis(doc: dict[str, Any], source: str = "<document>") -> SupplyNetwork:
    """A network from an EPCIS 2.0 document (dict). Errors name the event index and field."""
    if doc.get("type") != "EPCISDocument":
        raise InputError(f"expected type 'EPCISDocument', got {doc.get('type')!r}", where=source)
    body = doc.get("epcisBody", {})
    events_raw = body.get("eventList")
    if not isinstance(events_raw, list):
        raise InputError("expected 'epcisBody.eventList' to be a list of events", where=source)
    fac_attrs: dict[str, dict[str, Any]] = {}
    lot_attrs: dict[str, dict[str, Any]] = {}
    vocab = doc.get("epcisHeader", {}).get("epcisMasterData", {}).get("vocabularyList", [])
    for v in vocab:
        target = {VT_LOCATION: fac_attrs, VT_CLASS: lot_attrs}.get(v.get("type"))
        if target is None:
            continue
        for el in v.get("vocabularyElementList", []):
            target[str(el["id"])] = {
                _key(a["id"]): a.get("attribute") for a in el.get("attributes", [])
            }
    facilities: list[Facility] = []
    for fid, a in fac_attrs.items():
        where = f"{source}: master data location {fid!r}"
        try:
            facilities.append(
                Facility(
                    id=fid,
                    name=a.get(MDA_NAME) or "",
                    operator=a.get("critmin:operator") or "",
                    country=a.get("critmin:country") or "",
                    stage=a.get("critmin:stage") or "",
                    feoc=bool(a.get("critmin:feoc", False)),
                )
            )
        except (ValidationError, CritminError) as exc:
            raise InputError(
                f"needs critmin:country and critmin:stage ({_first_error(exc)})", where=where
            ) from None
    events: list[Extraction | Transformation | Shipment | Aggregation] = []
    seen_qty: dict[str, Quantity] = {}
    for i, e in enumerate(events_raw):
        where = f"{source}: eventList[{i}]"
        typ = e.get("type")
        eid = str(e.get("eventID") or f"event-{i}")
        try:
            t = dt.datetime.fromisoformat(str(e["eventTime"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise InputError(
                f"needs an ISO 'eventTime' (got {e.get('eventTime')!r})", where=where
            ) from None
        step = _short(e.get("bizStep"))
        if typ == "ObjectEvent" and e.get("action") == "ADD" and step == "commissioning":
            fac = _loc(e.get("bizLocation")) or _loc(e.get("readPoint"))
            if fac is None:
                raise InputError("extraction (commissioning) needs a bizLocation", where=where)
            outs = _quantities(e.get("quantityList"), where + " field 'quantityList'")
            events.append(Extraction(id=eid, time=t, facility=fac, outputs=outs))
            for q in outs:
                seen_qty.setdefault(q.lot, q)
        elif typ == "ObjectEvent" and step in ("shipping", "receiving"):
            src = [
                s.get("source")
                for s in e.get("sourceList", [])
                if s.get("type", "").endswith("location")
            ]
            dst = [
                d.get("destination")
                for d in e.get("destinationList", [])
                if d.get("type", "").endswith("location")
            ]
            if not src or not dst:
                raise InputError(
                    "shipment needs a sourceList and destinationList entry of type 'location'",
                    where=where,
                )
            events.append(
                Shipment(
                    id=eid,
                    time=t,
                    lots=_quantities(e.get("quantityList"), where + " field 'quantityList'"),
                    source=str(src[0]),
                    destination=str(dst[0]),
                    biz_step="shipping" if step == "shipping" else "receiving",
                )
            )
        elif typ == "TransformationEvent":
            fac = _loc(e.get("bizLocation")) or _loc(e.get("readPoint"))
            if fac is None:
                raise InputError("transformation needs a bizLocation", where=where)
            ins = _quantities(e.get("inputQuantityList"), where + " field 'inputQuantityList'")
            outs = _quantities(e.get("outputQuantityList"), where + " field 'outputQuantityList'")
            y = e.get("critmin:yieldShare", e.get(CRITMIN_NS + "yieldShare", 1.0))
            events.append(
                Transformation(
                    id=eid, time=t, facility=fac, inputs=ins, outputs=outs, yield_share=float(y)
                )
            )
            for q in outs:
                seen_qty.setdefault(q.lot, q)
        elif typ == "AggregationEvent" and e.get("action", "ADD") == "ADD":
            parent = e.get("parentID")
            if not parent:
                raise InputError("aggregation needs a parentID", where=where)
            kids = _quantities(e.get("childQuantityList"), where + " field 'childQuantityList'")
            total_t = sum(q.qty_t for q in kids)
            seen_qty.setdefault(str(parent), Quantity(lot=str(parent), qty=total_t, uom="TNE"))
            events.append(
                Aggregation(
                    id=eid,
                    time=t,
                    facility=_loc(e.get("bizLocation")),
                    parent=str(parent),
                    children=kids,
                )
            )
        else:
            raise InputError(
                f"unsupported event: type {typ!r}, action {e.get('action')!r}, bizStep "
                f"{e.get('bizStep')!r}; expected commissioning/shipping/receiving ObjectEvents, "
                "TransformationEvents or AggregationEvents (ADD)",
                where=where,
            )
    lots: list[Lot] = []
    for lid, a in lot_attrs.items():
        lots.append(
            Lot(
                id=lid,
                product=a.get("critmin:product") or "",
                qty=float(a.get("critmin:quantity", seen_qty[lid].qty if lid in seen_qty else 0.0)),
                uom=a.get("critmin:uom") or (seen_qty[lid].uom if lid in seen_qty else "TNE"),
                value_usd=a.get("critmin:valueUSD"),
            )
        )
    known = {lot.id for lot in lots}
    for lid, q in seen_qty.items():  # lots without master data: quantity from their producer
        if lid not in known:
            lots.append(Lot(id=lid, qty=q.qty, uom=q.uom))
    return SupplyNetwork(facilities=tuple(facilities), lots=tuple(lots), events=tuple(events))


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
    return str(exc)


def read_epcis(path: str | Path) -> SupplyNetwork:
    """Read an EPCIS 2.0 JSON / JSON-LD file."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where=str(p)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", where=f"{p}:{exc.lineno}") from None
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object (EPCISDocument)", where=str(p))
    try:
        return from_epcis(doc, source=str(p))
    except ValidationError as exc:
        raise InputError(_first_error(exc), where=str(p)) from None


def write_epcis(net: SupplyNetwork, path: str | Path) -> None:
    """Write the network as EPCIS 2.0 JSON-LD (atomically: temp file + rename)."""
    p = Path(path)
    text = json.dumps(to_epcis(net), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(p, text)
