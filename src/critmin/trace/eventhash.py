"""The GS1 EPCIS event hash: a stable identity for events that carry no ``eventID``.

GS1's Core Business Vocabulary 2.0 (section 8.9.2, "Event hash ID") names an event by the
SHA-256 of a canonical "pre-hash string"; the algorithm is specified, and implemented, in
GS1 Germany's ``epcis-event-hash-generator`` (R. Troeger, S. Schmittner; PyPI 1.9.3, MIT,
https://github.com/RalphTro/epcis-event-hash-generator), which GS1's EPCIS 2.0 repository
points to. This module computes the same string as that implementation (checked against it in
``tests/trace/test_eventhash.py``), written afresh for speed, with the same rules:

* the event is read as a tree of ``(name, text, children)`` nodes, as its XML form would be:
  a JSON list is its key repeated; ``xxxList`` keys hold elements named ``xxx`` (``epcList``
  holds ``epc``; quantity lists hold ``quantityElement``); ``childEPCs`` holds ``epc``;
  ``rdfs:comment`` / ``comment`` are dropped at every depth; a key ``p:name`` whose prefix the
  document declares inline becomes ``{namespace}name``;
* first ``eventType=<type>``, then GS1's fixed order (``eventTime`` in UTC at millisecond
  precision, ``eventTimeZoneOffset``, ``certificationInfo``, ``parentID``, the EPC and quantity
  lists, ``action``, ``transformationID``, ``bizStep``, ``disposition``,
  ``persistentDisposition``, ``readPoint``, ``bizLocation``, ``sensorElementList`` with the
  metadata and report fields in their order); the values of one name are sorted;
* inside a field of that order (a sensor report, a read point...), user extensions
  (``{namespace}name``) follow the field's own children; anything else the order does not
  name (a metadata field such as ``bizRules`` inside a report) is left over and written, with
  the path it sits on (``sensorElementList`` ``sensorElement`` ``sensorReport``
  ``bizRules=...``), after the ordered part, together with every other top-level field
  (source/destination/business-transaction lists, ILMD, top-level extensions), all sorted as
  strings; ``eventID``, ``recordTime``, ``errorDeclaration`` and ``type`` are left out;
* values: CBV words are the GS1 web vocabulary
  (``shipping`` -> ``https://ref.gs1.org/cbv/BizStep-shipping``, ``Temperature`` ->
  ``https://gs1.org/voc/Temperature``), as GS1's JSON-LD context defines them; old
  ``urn:epcglobal:cbv:`` URNs become the same URIs; numbers lose trailing zeros; every GS1 EPC
  URN (SGTIN, SSCC, SGLN, GRAI, GIAI, GSRN, GSRN-P, GDTI, CPI, SGCN, GINC, GSIN, ITIP, UPUI,
  PGLN, LGTIN class, ID patterns) and every GS1 Digital Link becomes a canonical GS1 Digital Link
  (``https://id.gs1.org/01/<GTIN-14>/21/<serial>``).

The result is ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920 named information).

Where critmin deliberately differs from the reference (each a reference defect; docs/trace.md
"Event hash" lists them with their sources): an extension inside an ordered field stays in
place whatever its namespace (the reference does so only for namespaces ending in ``/`` and
otherwise writes a second ``sensorElementList``, which GS1 Germany called wrong in the
reference's issue 83); CBV words are expanded from the event itself, not from every other event
of the same document; a JSON-LD ``@context`` object (not a list) still declares prefixes;
prefixes never leak from one document into the next; a time rounding up to the next second and
a business transaction without type are hashed instead of failing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import lru_cache
from typing import Any

# A node of the event tree: (name, text, children). A source/destination/bizTransaction list
# holds pairs of nodes instead (its entries' first two fields, as the reference keeps them).
Node = tuple[Any, ...]

_SKIPPED_KEYS = frozenset({"#text", "rdfs:comment", "comment"})
_LEFT_OUT = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
_PAIR_LISTS = frozenset({"sourceList", "destinationList", "bizTransactionList"})
_UNSORTED = ("bizTransaction", "source", "destination")

_EPC: tuple[tuple[str, Any], ...] = (("epc", None),)
_QE: tuple[tuple[str, Any], ...] = (
    ("quantityElement", (("epcClass", None), ("quantity", None), ("uom", None))),
)
_META = tuple(
    (f, None)
    for f in (
        "time",
        "startTime",
        "endTime",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "bizRules",
    )
)
_REPORT = tuple(
    (f, None)
    for f in (
        "type",
        "exception",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "time",
        "microorganism",
        "chemicalSubstance",
        "value",
        "component",
        "stringValue",
        "booleanValue",
        "hexBinaryValue",
        "uriValue",
        "minValue",
        "maxValue",
        "meanValue",
        "sDev",
        "percRank",
        "percValue",
        "uom",
        "coordinateReferenceSystem",
    )
)
# GS1's fixed order. The reference's order also names sourceList, destinationList and
# bizTransactionList, but with a sub-order that never matches their entries, so they always end
# up among the left-over fields; they are not listed here, which gives the same string.
_ORDER_SPEC: tuple[tuple[str, Any], ...] = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPC),
    ("inputEPCList", _EPC),
    ("childEPCs", _EPC),
    ("quantityList", _QE),
    ("childQuantityList", _QE),
    ("inputQuantityList", _QE),
    ("outputEPCList", _EPC),
    ("outputQuantityList", _QE),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    (
        "sensorElementList",
        (("sensorElement", (("sensorMetadata", _META), ("sensorReport", _REPORT))),),
    ),
)


class _Order:
    """An order of child names, each with the order of its own children (or None)."""

    __slots__ = ("names", "pos", "subs")

    def __init__(self, spec: tuple[tuple[str, Any], ...]) -> None:
        self.names = tuple(n for n, _ in spec)
        self.subs = tuple(None if sub is None else _Order(sub) for _, sub in spec)
        self.pos = {n: i for i, n in enumerate(self.names)}


_ORDER = _Order(_ORDER_SPEC)
_LEAVES = (
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
)
_Q_FIELDS = frozenset(("epcClass", "quantity", "uom"))
_ABSENT = object()
_ID = frozenset(("id",))
_SET_UNSET = frozenset(("set", "unset"))

# --- CBV words -----------------------------------------------------------------------------
# The bare words GS1's EPCIS 2.0 JSON-LD context (https://ref.gs1.org/standards/epcis/2.0.0/
# epcis-context.jsonld) defines for each vocabulary-typed field: GS1 CBV 2.0 sections 7.2
# (business steps), 7.3 (dispositions), 7.4 (business transaction types), 7.5 (source/destination
# types), 7.6 (error reasons), 7.7 (sensor components); measurement types and sensor exceptions
# are GS1 Web Vocabulary terms (https://gs1.org/voc/). A word outside these lists is not
# expanded (the reference leaves it as written).
_CBV = "https://ref.gs1.org/cbv/"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GS1 = "https://gs1.org/voc/"
_BIZSTEP = _words(
    "accepting arriving assembling collecting commissioning consigning creating_class_instance "
    "cycle_counting decommissioning departing destroying disassembling dispensing encoding "
    "entering_exiting holding inspecting installing killing loading other packing picking "
    "receiving removing repackaging repairing replacing reserving retail_selling sampling "
    "sensor_reporting shipping staging_outbound stock_taking stocking storing transporting "
    "unloading unpacking void_shipping"
)
_DISP = _words(
    "active available completeness_inferred completeness_verified conformant container_closed "
    "container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit "
    "inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement "
    "no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved "
    "retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable "
    "unknown"
)
_BTT = frozenset(
    [
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ]
)
_SDT = frozenset(("owning_party", "possessing_party", "location"))
_ER = frozenset(("did_not_occur", "incorrect_data"))
_COMP = _words(
    "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting "
    "northing latitude longitude altitude"
)
_EXCEPTION = frozenset(("ALARM_CONDITION", "ERROR_CONDITION"))
_MEASUREMENT = _words(
    "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude "
    "AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum "
    "AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless "
    "DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent "
    "ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance "
    "Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux "
    "LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass "
    "MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy "
    "MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity "
    "Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension "
    "Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux "
    "Wavenumber"
)


def _vocab_iri(value: Any, words: frozenset[str], base: str) -> str | None:
    """The web-vocabulary URI a vocabulary-typed value expands to, if it is one of GS1's."""
    if not isinstance(value, str):
        return None
    if value in words:
        return base + value
    if value.startswith(("cbv:", "gs1:")):
        return (_CBV if value[0] == "c" else _GS1) + value[4:]
    if value.startswith((_CBV, _GS1)):
        return value
    return None


def _vocabulary(event: dict[str, Any]) -> dict[str, str]:
    """Bare value -> web-vocabulary URI, for the CBV words this event uses.

    The reference finds these through JSON-LD expansion and then replaces *every* string value
    equal to a suffix (after ``-`` or ``/``) of exactly one expanded CBV/GS1 URI; doing the same
    from the vocabulary-typed fields of the event gives the same string, without expanding."""
    found: list[str | None] = []
    v = event.get("bizStep")
    if v is not None:
        found.append(_vocab_iri(v, _BIZSTEP, _CBV + "BizStep-"))
    v = event.get("disposition")
    if v is not None:
        found.append(_vocab_iri(v, _DISP, _CBV + "Disp-"))
    for key in _VOCAB_RARE:
        if key in event:
            found.extend(_rare_vocabulary(key, event[key]))
    iris = frozenset(x for x in found if x is not None)
    return _suffixes(iris) if iris else {}


_VOCAB_RARE = (
    "persistentDisposition",
    "sourceList",
    "destinationList",
    "bizTransactionList",
    "errorDeclaration",
    "sensorElementList",
)


def _rare_vocabulary(key: str, v: Any) -> list[str | None]:
    out: list[str | None] = []
    if key == "persistentDisposition" and isinstance(v, dict):
        for f in ("set", "unset"):
            xs = v.get(f)
            for x in xs if isinstance(xs, list) else [xs]:
                out.append(_vocab_iri(x, _DISP, _CBV + "Disp-"))
    elif key in ("sourceList", "destinationList", "bizTransactionList"):
        words, base = (_BTT, "BTT-") if key == "bizTransactionList" else (_SDT, "SDT-")
        for e in v if isinstance(v, list) else [v]:
            if isinstance(e, dict):
                out.append(_vocab_iri(e.get("type"), words, _CBV + base))
    elif key == "errorDeclaration" and isinstance(v, dict):
        out.append(_vocab_iri(v.get("reason"), _ER, _CBV + "ER-"))
    elif key == "sensorElementList":
        for el in v if isinstance(v, list) else [v]:
            reports = el.get("sensorReport") if isinstance(el, dict) else None
            for r in reports if isinstance(reports, list) else [reports]:
                if isinstance(r, dict):
                    out.append(_vocab_iri(r.get("type"), _MEASUREMENT, _GS1))
                    out.append(_vocab_iri(r.get("exception"), _EXCEPTION, _GS1))
                    out.append(_vocab_iri(r.get("component"), _COMP, _CBV + "Comp-"))
    return out


@lru_cache(maxsize=4096)
def _suffixes(iris: frozenset[str]) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for iri in iris:
        for i, ch in enumerate(iri):
            if ch in "-/":
                found.setdefault(iri[i + 1 :], set()).add(iri)
    return {s: next(iter(v)) for s, v in found.items() if len(v) == 1}


# --- building the tree ---------------------------------------------------------------------


class _Ctx:
    __slots__ = ("px", "vocab")

    def __init__(self, px: dict[str, str], vocab: dict[str, str]) -> None:
        self.px = px
        self.vocab = vocab


def _scalar(v: Any, c: _Ctx) -> str:
    if type(v) is str:
        if c.vocab:
            v = c.vocab.get(v, v)
        if c.px:
            head, sep, tail = v.partition(":")
            if sep and head in c.px:
                return c.px[head] + tail
        return v
    return str(v)  # True/False/None/numbers as Python writes them, as the reference does


def _name(k: str, px: dict[str, str]) -> str:
    if px:
        head, sep, tail = k.partition(":")
        if sep and head in px:
            return "{" + px[head] + "}" + tail
    return k


def _node(name: str, v: Any, c: _Ctx, fix: bool) -> Node:
    if type(v) is dict:
        t = v.get("#text")
        return (name, "" if t is None else str(t), _kids(v, c, fix))
    if type(v) is list:
        return (name, "", _anonymous(v, c, fix))
    return (name, _scalar(v, c), [])


def _type_name(v: Any) -> str:
    return str(v.get("type", "")) if type(v) is dict else ""


def _anonymous(items: list[Any], c: _Ctx, fix: bool) -> list[Node]:
    """Children of a list inside a list: nameless nodes (a dict is named by its ``type``)."""
    kids: list[Node] = []
    for v in items:
        if type(v) is dict:
            t = v.get("#text")
            kids.append((str(v.get("type", "")), "" if t is None else str(t), _kids(v, c, fix)))
        elif type(v) is list:
            kids.append(("", "", _anonymous(v, c, fix)))
        else:
            kids.append(("", _scalar(v, c), []))
    if not any(type(v) is str and v in _UNSORTED for v in items):
        kids.sort()
    return _correct(kids) if fix else kids


def _kids(d: dict[str, Any], c: _Ctx, fix: bool = True) -> list[Node]:
    kids: list[Node] = []
    for k, v in d.items():
        if k in _SKIPPED_KEYS or k.startswith("@xmlns"):
            continue
        name = _name(k, c.px)
        # the reference corrects nothing below a source/destination/bizTransaction list
        sub = fix and k not in _PAIR_LISTS
        if type(v) is list:
            elems = [_node(name, x, c, sub) for x in v]
            if len(elems) > 1 and not any(type(x) is str and x in _UNSORTED for x in v):
                # the reference reads a list as nameless nodes (an object named by its type),
                # sorted, before they take the key's name: it shows where order is kept
                keys = [(_type_name(x), e[1], e[2]) for x, e in zip(v, elems, strict=True)]
                order = sorted(range(len(elems)), key=keys.__getitem__)
                elems = [elems[i] for i in order]
            kids.extend(elems)
        else:
            kids.append(_node(name, v, c, sub))
    if "bizTransaction" not in d and "source" not in d and "destination" not in d:
        kids.sort()
    return _correct(kids) if fix else kids


_RENAMED = frozenset(("inputEPC", "outputEPC", "inputQuantity", "outputQuantity", "childQuantity"))


def _renamed(n: Node) -> Node:
    name = n[0]
    if name in ("inputEPC", "outputEPC"):
        return ("epc", n[1], n[2])
    if name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and n[2]
    ):
        return ("quantityElement", n[1], n[2])
    return n


def _correct(kids: list[Node]) -> list[Node]:
    """JSON -> XML model: ``xxxList`` keys become one list node of ``xxx`` elements (appended
    after the other children), ``childEPCs`` one node of ``epc``; input/output/child names of
    EPCs and quantities become ``epc`` / ``quantityElement``."""
    lists: dict[str, list[Any]] = {}
    epcs: list[Node] = []
    out: list[Node] = []
    for n in kids:
        name = n[0]
        if name.endswith("List"):
            lists.setdefault(name, []).append(n)
        elif name == "childEPCs":
            epcs.append(("epc", n[1], []))
        elif name in _RENAMED or (name == "quantity" and n[2]):
            out.append(_renamed(n))
        else:
            out.append(n)
    if not lists and not epcs:
        return out
    for name, elems in lists.items():
        if name in _PAIR_LISTS:
            # an entry keeps its first two fields (type and source, as written); one with a
            # single field is kept whole (the reference fails on it)
            pairs = [(e[2][0], e[2][1]) if len(e[2]) >= 2 else (*e[2], _EMPTY) for e in elems]
            out.append((name, "", [p for p in pairs if len(p) == 2]))
        else:
            out.append((name, "", [_renamed((name[:-4], e[1], e[2])) for e in elems]))
    if epcs:
        out.append(("childEPCs", "", epcs))
    return out


_EMPTY: Node = ("", "", [])

# --- writing the pre-hash string -------------------------------------------------------------


def _gather_extensions(kids: list[Any]) -> list[Any]:
    """User extensions (``{namespace}name``) inside a field of GS1's order: written right
    after that field's ordered children, so the field appears once.

    The reference gathers them only if their namespace ends in ``/``, the field has more than
    one child and no child's name contains ``eventTime`` or ``action``; otherwise it writes them
    again under the field's path among the left-over fields (a second ``sensorElementList``).
    GS1 Germany, the reference's author, called that second list wrong
    (https://github.com/RalphTro/epcis-event-hash-generator/issues/83); the fix made then covers
    '/'-terminated namespaces only. critmin writes every extension in place."""
    ext = [k for k in kids if "{" in k[0] and "}" in k[0]]
    if ext:
        kids[:] = [k for k in kids if not ("{" in k[0] and "}" in k[0])]
    return ext


def _ordered_parts(kids: list[Any], order: _Order, top: bool = False) -> list[tuple[int, str]]:
    """(position in ``order``, string) of the children ``order`` names; each consumed child is
    removed from ``kids`` (a child keeping unordered grandchildren stays, for the left-over
    part). User extensions gathered below the top level come last (position len(order))."""
    ext = [] if top else _gather_extensions(kids)
    pos = order.pos
    found: dict[int, list[Node]] = {}
    for k in kids:
        name = k[0]
        if type(name) is str:
            i = pos.get(name)
            if i is not None:
                found.setdefault(i, []).append(k)
    out = []
    if found:
        for i in sorted(found):
            sub = order.subs[i]
            vals = [s for s in (_child(k, sub) for k in found[i]) if s]
            if vals:
                if len(vals) > 1:
                    vals.sort()
                out.append((i, "".join(vals)))
        # consumed: named in the order and left with no children (the reference removes them)
        kids[:] = [k for k in kids if k[2] or type(k[0]) is not str or k[0] not in pos]
    if ext:
        out.append((len(order.names), _generic(ext)))
    return out


def _ordered(kids: list[Any], order: _Order) -> str:
    return "".join(s for _, s in _ordered_parts(kids, order))


def _child(k: Node, sub: _Order | None) -> str:
    name, text, kids = k
    grand = _ordered(kids, sub) if sub is not None and kids else ""
    t = text.strip()
    if t:
        low = name.lower()
        t = "=" + (_time(t) if "time" in low and "offset" not in low else _canon(t))
    return name + t + grand if t or grand else ""


def _generic_parts(nodes: list[Any]) -> list[str]:
    """Each node written as name=value followed by its children (unsorted)."""
    vals = []
    for n in nodes:
        if len(n) == 2:  # a source/destination/bizTransaction entry
            vals.append(_generic(list(n)))
            continue
        t = n[1].strip()
        s = n[0] + ("=" + _canon(t) if t else "")
        vals.append(s + _generic(n[2]) if n[2] else s)
    return vals


def _generic(nodes: list[Any]) -> str:
    """Nodes outside GS1's order, sorted as strings (unless an object keeps its written order:
    one with a ``source``, ``destination`` or ``bizTransaction`` key, as the reference does)."""
    vals = _generic_parts(nodes)
    if len(vals) > 1 and not any(n[0] in _UNSORTED for n in nodes if len(n) == 3):
        vals.sort()
    return "".join(vals)


# --- values --------------------------------------------------------------------------------

_OLD_CBV = (
    ("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV + "ER-"),
)


@lru_cache(maxsize=65536)
def _canon(text: str) -> str:
    """A value's canonical form: CBV URNs as web URIs, numbers without trailing zeros, GS1 keys
    as canonical Digital Links (the reference's order of the three steps)."""
    if "urn:epcglobal:cbv:" in text:
        for urn, web in _OLD_CBV:
            text = text.replace(urn, web)
    try:
        x = float(text)
    except ValueError:
        pass
    else:
        try:
            text = str(int(x)) if int(x) == x else str(x)
        except ValueError:  # NaN stays as written
            pass
        except OverflowError:  # infinity: the reference fails on it; keep it as written
            pass
        return text
    return digital_link(text)


def _time(text: str) -> str:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    t = t.astimezone(dt.UTC)
    micro = round(t.microsecond, -3)
    if micro >= 1_000_000:
        t = t.replace(microsecond=0) + dt.timedelta(seconds=1)
    else:
        t = t.replace(microsecond=micro)
    return t.isoformat(timespec="milliseconds")[:-6] + "Z"


# --- GS1 keys as Digital Links (GS1 EPC Tag Data Standard 2.0, section 6; GS1 Digital Link
# URI Syntax 1.2). The accepted EPC URI shapes are those of the reference's normaliser: a URN
# that does not fit them is left as written. ---------------------------------------------------


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of a digit string (weights 3,1,3,... from the right)."""
    rev = digits[::-1]
    total = 3 * sum(map(int, rev[0::2])) + sum(map(int, rev[1::2]))
    return str((10 - total % 10) % 10)


def _cd(body: str) -> str:
    return body + gs1_check_digit(body)


def _pct(s: str) -> str:
    """Percent-encode what GS1 Digital Link (table 7-1) needs and EPC URIs allow."""
    for ch, enc in (
        ("!", "%21"),
        ("(", "%28"),
        (")", "%29"),
        ("*", "%2A"),
        ("+", "%2B"),
        (",", "%2C"),
        (":", "%3A"),
    ):
        s = s.replace(ch, enc)
    return s


# one character of an EPC URI serial/lot/reference (TDS 2.0, 6.3: GS1 AI encodable character set
# 82, '%' escapes for the URI-reserved ones)
_X = (
    r"(?:[!')(*+,.0-9:;=A-Za-z_-]"
    r"|%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa]))"
)
_CPI_X = r"(?:[0-9A-Z-]|%(?:2[3dfDF]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]))"


def _split(total: int, last_empty: bool = False) -> str:
    """Company prefix (6-12 digits) '.' reference, ``total`` digits together."""
    alts = [rf"\d{{{n}}}\.\d{{{total - n}}}" for n in range(6, 13) if total - n > 0]
    if total == 12:
        alts.append(r"\d{12}\." + (r"\." if last_empty else ""))
    return "(?:" + "|".join(alts) + ")"


def _varlen(width: int, x: str) -> str:
    """Company prefix '.' a reference of up to ``width`` - len(prefix) characters."""
    return "(?:" + "|".join(rf"\d{{{n}}}\.{x}{{1,{width - n}}}" for n in range(6, 13)) + ")"


_SCHEMES: dict[str, re.Pattern[str]] = {
    k: re.compile(p)
    for k, p in {
        "id:sgtin": rf"{_split(13)}\.{_X}{{1,20}}$",
        "id:sscc": rf"{_split(17)}$",
        "id:sgln": rf"{_split(12)}\.{_X}{{1,20}}$",
        "id:grai": rf"{_split(12, True)}\.{_X}{{1,16}}$",
        "id:giai": rf"{_varlen(30, _X)}$",
        "id:gsrn": rf"{_split(17)}$",
        "id:gsrnp": rf"{_split(17)}$",
        "id:gdti": rf"{_split(12, True)}{_X}{{1,20}}$",
        "id:cpi": rf"{_varlen(30, _CPI_X)}\.\d{{1,12}}$",
        "id:sgcn": rf"{_split(12)}\.\d{{1,12}}$",
        "id:ginc": rf"{_varlen(30, _X)}$",
        "id:gsin": rf"{_split(16)}$",
        "id:itip": rf"{_split(13)}\.\d{{2}}\.\d{{2}}\.{_X}{{1,20}}$",
        "id:upui": rf"{_split(13)}\.{_X}{{1,28}}$",
        "id:pgln": rf"{_split(12)}$",
        "class:lgtin": rf"{_split(13)}\.{_X}{{1,20}}$",
        "idpat:sgtin": rf"{_split(13)}\.\*$",
        "idpat:grai": rf"{_split(12, True)}\.\*$",
        "idpat:gdti": rf"{_split(12, True)}\.\*$",
        "idpat:sgcn": rf"{_split(12, True)}\.\*$",
        "idpat:cpi": rf"{_varlen(30, _CPI_X)}\.\*$",
        "idpat:itip": rf"{_split(13)}\.\d{{2}}\.\d{{2}}\.\*$",
        "idpat:upui": rf"{_split(13)}\.\*$",
    }.items()
}


def _gtin(cp: str, rest: str) -> str:
    item = rest[: 13 - len(cp)]
    return _cd(item[:1] + cp + item[1:])


def _epc_link(uri: str) -> str | None:  # noqa: PLR0911, PLR0912 - one case per EPC scheme
    """The canonical GS1 Digital Link of an EPC URI, EPC class URI or ID pattern URI."""
    kind, _, rest = uri[8:].partition(":")  # after "urn:epc:"
    scheme, _, body = rest.partition(":")
    key = f"{kind}:{scheme}"
    pattern = _SCHEMES.get(key)
    if pattern is None or pattern.match(body) is None:
        return None
    cp, _, tail = body.partition(".")
    base = "https://id.gs1.org/"
    if key == "id:sgtin":
        return f"{base}01/{_gtin(cp, tail)}/21/{_pct(tail[14 - len(cp) :])}"
    if key == "class:lgtin":
        return f"{base}01/{_gtin(cp, tail)}/10/{_pct(tail[14 - len(cp) :])}"
    if key in ("idpat:sgtin", "idpat:upui"):
        return f"{base}01/{_gtin(cp, tail)}"
    if key == "id:upui":
        return f"{base}01/{_gtin(cp, tail)}/235/{_pct(tail[14 - len(cp) :])}"
    if key == "id:sscc":
        return f"{base}00/{_cd(tail[:1] + cp + tail[1:])}"
    ref12 = tail[: 12 - len(cp)]  # the reference part of a 12-digit key (GLN, GRAI, GDTI, ...)
    after = tail[13 - len(cp) :]  # what follows "<prefix>.<reference>."
    if key == "id:sgln":
        gln = _cd(cp + ref12)
        return f"{base}414/{gln}" + ("" if after == "0" else f"/254/{_pct(after)}")
    if key == "id:pgln":
        return f"{base}417/{_cd(cp + ref12)}"
    if key == "id:grai":
        return f"{base}8003/{_cd('0' + cp + ref12)}{_pct(after)}"
    if key == "idpat:grai":
        return f"{base}8003/{_cd('0' + cp + ref12)}"
    if key == "id:gdti":
        return f"{base}253/{_cd(cp + ref12)}{_pct(after)}"
    if key == "idpat:gdti":
        return f"{base}253/{_cd(cp + ref12)}"
    if key == "id:sgcn":
        return f"{base}255/{_cd(cp + ref12)}{after}"
    if key == "idpat:sgcn":
        return f"{base}255/{_cd(cp + ref12)}"
    if key == "id:giai":
        return f"{base}8004/{cp}{_pct(tail)}"
    if key == "id:ginc":
        return f"{base}401/{cp}{_pct(tail)}"
    if key in ("id:gsrn", "id:gsrnp"):
        return f"{base}{'8018' if key == 'id:gsrn' else '8017'}/{_cd(cp + tail)}"
    if key == "id:gsin":
        return f"{base}402/{_cd(cp + tail)}"
    if key in ("id:cpi", "idpat:cpi"):
        cpref, _, serial = tail.rpartition(".")
        link = f"{base}8010/{_pct(cp + cpref)}"
        return link + (f"/8011/{serial}" if key == "id:cpi" else "")
    if key == "id:itip":
        n = len(cp)  # tail: item reference (13 - n digits) . piece . total . serial
        link = f"{base}8006/{_gtin(cp, tail)}{tail[14 - n : 16 - n]}{tail[17 - n : 19 - n]}"
        return link + f"/21/{_pct(tail[20 - n :])}"
    if key == "idpat:itip":
        n = len(cp)
        return f"{base}8006/{_gtin(cp, tail)}{tail[14 - n : 16 - n]}{tail[17 - n : 19 - n]}"
    return None  # pragma: no cover - every scheme of _SCHEMES is handled above


_AIS = (
    "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti"
    "|401|ginc|402|gsin|8003|grai|8004|giai"
)
_DL_ANY = re.compile(
    r"^https?:(//((([^/?#]*)@)?([^/?#:]*)(:([^/?#]*))?))?((([^?#]*)(/(" + _AIS + r")/)"
    r"(\d{4}[^/]+)(/[^/]+/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?)|(/[A-Za-z_-]{10}$))"
)
_DL_CANONICAL = re.compile(
    r"^https://id.gs1.org/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)/"
    r"(\d{4}[^/]+)(/[^/]+/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?|(/[A-Za-z_-]{10}$)"
)
_SHORT_NAMES = (
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
)
_DOMAIN_ORDER = (
    "00",
    "01",
    "253",
    "255",
    "401",
    "402",
    "414",
    "417",
    "8003",
    "8004",
    "8006",
    "8010",
    "8017",
    "8018",
)
_C = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_CPV_END = re.compile(rf"https://id.gs1.org/(?:8006/\d{{18}}|01/\d{{14}})/22/{_C}{{0,20}}$")
_CPV_MORE = re.compile(
    r"https://id.gs1.org/(?:8006/\d{18}|01/\d{14})/22/[\x2F\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]{0,20}$"
)
_LOT_SERIAL = re.compile(
    rf"https://id.gs1.org/(?:8006/\d{{18}}|01/\d{{14}})/10/{_C}{{0,20}}/21/{_C}{{0,20}}$"
)
_VALID = re.compile(
    "|".join(
        (
            r"https://id.gs1.org/00/\d{18}$",
            rf"https://id.gs1.org/01/\d{{14}}/21/{_C}{{0,20}}$",
            rf"https://id.gs1.org/01/\d{{14}}/10/{_C}{{0,20}}$",
            r"https://id.gs1.org/01/\d{14}$",
            rf"https://id.gs1.org/01/\d{{14}}/235/{_C}{{0,28}}$",
            rf"https://id.gs1.org/253/\d{{13}}{_C}{{0,17}}$",
            r"https://id.gs1.org/255/\d{13}\d{0,12}$",
            rf"https://id.gs1.org/401/{_C}{{0,30}}$",
            r"https://id.gs1.org/402/\d{17}$",
            r"https://id.gs1.org/414/\d{13}$",
            rf"https://id.gs1.org/414/\d{{13}}/254/{_C}{{0,20}}$",
            r"https://id.gs1.org/417/\d{13}$",
            rf"https://id.gs1.org/8003/\d{{14}}{_C}{{0,16}}$",
            rf"https://id.gs1.org/8004/{_C}{{0,30}}$",
            rf"https://id.gs1.org/8006/\d{{18}}/21/{_C}{{0,20}}$",
            rf"https://id.gs1.org/8006/\d{{18}}/10/{_C}{{0,20}}$",
            r"https://id.gs1.org/8006/\d{18}$",
            r"https://id.gs1.org/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}/8011/\d{0,12}$",
            r"https://id.gs1.org/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}$",
            r"https://id.gs1.org/8017/\d{18}$",
            r"https://id.gs1.org/8018/\d{18}$",
        )
    )
)


def _web_link(uri: str) -> str | None:
    """A GS1 Digital Link URI in canonical form: id.gs1.org, numeric AIs, no query, no CPV,
    14-digit GTIN, serial rather than lot; None if the result is not a valid GS1 key."""
    if _DL_ANY.match(uri) is None:
        return None
    uri = uri.split("?", 1)[0]
    for short, ai in _SHORT_NAMES:
        uri = uri.replace(short, ai)
    if _DL_CANONICAL.match(uri) is None:
        for ai in _DOMAIN_ORDER:
            at = uri.find(f"/{ai}/")
            if at != -1:
                uri = "https://id.gs1.org" + uri[at:]
                break
    if re.match(r"^https://id.gs1.org/01/\d{14}", uri) is None:
        for digits, pad in ((13, "0"), (12, "00"), (8, "000000")):
            if re.match(rf"^https://id.gs1.org/01/\d{{{digits}}}", uri):
                uri = uri.replace("/01/", "/01/" + pad)
                break
    at = uri.find("/22/")
    cpv = uri[at + 4 :]
    if _CPV_END.match(uri):
        uri = uri[:at] + cpv[cpv.find("/") : -1]
    if _CPV_MORE.match(uri):
        uri = uri[:at] + cpv[cpv.find("/") :]
    if _LOT_SERIAL.match(uri):
        lot = uri[uri.find("/10/") + 4 :]
        uri = uri[: uri.find("/10/")] + lot[lot.find("/") :]
    return uri if _VALID.match(uri) else None


@lru_cache(maxsize=65536)
def digital_link(uri: str) -> str:
    """Canonical GS1 Digital Link of an EPC URN (any GS1 scheme of the EPC Tag Data Standard)
    or of a GS1 Digital Link on any domain; any other value unchanged."""
    if "." not in uri:
        return uri
    if uri.startswith("urn:epc:"):
        return _epc_link(uri) or uri
    if uri.startswith("http"):
        return _web_link(uri) or uri
    return uri


# --- public --------------------------------------------------------------------------------


def _leaf(name: str, v: Any, c: _Ctx) -> str:
    t = (_scalar(v, c) if type(v) is str and (c.vocab or c.px) else str(v)).strip()
    if not t:
        return ""
    if name in _TIMES or ("time" in name.lower() and "offset" not in name.lower()):
        return name + "=" + _time(t)
    return name + "=" + _canon(t)


_TIMES = frozenset(("eventTime", "time", "startTime", "endTime"))
_CONTAINERS = (dict, list)


def _plain(v: Any) -> bool:
    return not isinstance(v, _CONTAINERS)


def _fast(key: str, v: Any, c: _Ctx) -> str | None:  # noqa: PLR0911 - one case per field kind
    """The ordered part of one top-level field of a common shape, written directly; None for
    any other shape (then the field goes through the tree, which gives the same string)."""
    kind = _FAST.get(key)
    if kind == "leaf":
        if _plain(v):
            return _leaf(key, v, c)
        return None
    items = v if type(v) is list else [v]
    if kind == "epc":
        if not all(_plain(x) for x in items):
            return None
        vals = [s for s in (_leaf("epc", x, c) for x in items) if s]
        return key + "".join(sorted(vals)) if vals else ""
    if kind == "quantity":
        elems = []
        for q in items:
            if type(q) is not dict or not q or not q.keys() <= _Q_FIELDS:
                return None
            s = ""
            for f in ("epcClass", "quantity", "uom"):
                x = q.get(f, _ABSENT)
                if x is not _ABSENT:
                    if isinstance(x, _CONTAINERS):
                        return None
                    s += _leaf(f, x, c)
            if s:
                elems.append("quantityElement" + s)
        if not elems:
            return ""
        return key + (elems[0] if len(elems) == 1 else "".join(sorted(elems)))
    if kind == "location":
        if type(v) is not dict or not v.keys() <= _ID or not _plain(v.get("id")):
            return None
        s = _leaf("id", v["id"], c) if "id" in v else ""
        return key + s if s else ""
    if kind == "persistent" and type(v) is dict and v.keys() <= _SET_UNSET:
        s = ""
        for f in ("set", "unset"):
            xs = v.get(f, [])
            xs = xs if type(xs) is list else [xs]
            if not all(_plain(x) for x in xs):
                return None
            s += "".join(sorted(t for t in (_leaf(f, x, c) for x in xs) if t))
        return key + s if s else ""
    return None


_FAST = {
    **dict.fromkeys(_LEAVES, "leaf"),
    **dict.fromkeys(("epcList", "inputEPCList", "outputEPCList", "childEPCs"), "epc"),
    **dict.fromkeys(
        ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"), "quantity"
    ),
    "readPoint": "location",
    "bizLocation": "location",
    "persistentDisposition": "persistent",
}


def prehash(event: dict[str, Any], prefixes: dict[str, str] | None = None) -> str:
    """The canonical pre-hash string of one EPCIS 2.0 JSON event.

    ``prefixes``: the prefix -> namespace bindings the document declares inline
    (:func:`context_prefixes`); GS1's own context is not consulted for prefixes, as in GS1's
    algorithm."""
    c = _Ctx(prefixes or {}, _vocabulary(event))
    head = "eventType=" + str(event.get("type", ""))
    if ("eventTime" not in event and "action" not in event) or any(k in event for k in _UNSORTED):
        # rare shapes where the top level itself behaves differently: the whole tree
        kids = _kids(event, c)
        ordered = "".join(p for _, p in _ordered_parts(kids, _ORDER, top=True))
        rest = [k for k in kids if k[0] not in _LEFT_OUT]
        return head + ordered + (_generic(rest) if rest else "")
    # Common case, fast: fields of the usual shapes are written directly, the others (sensor
    # reports, extensions, lists of sources...) go through the tree; each top-level field's
    # part depends only on that field, so the two can be mixed.
    parts: list[tuple[int, str]] = []
    loose: list[str] = []  # left-over top-level fields with a plain value, written directly
    other: dict[str, Any] = {}
    pos = _ORDER.pos
    for k, v in event.items():
        if k in _LEFT_OUT or k in _SKIPPED_KEYS:
            continue
        i = pos.get(k)
        if i is not None:
            s = _fast(k, v, c)
            if s is not None:
                if s:
                    parts.append((i, s))
                continue
        elif (
            not isinstance(v, _CONTAINERS)
            and not k.endswith("List")
            and k not in _RENAMED
            and not k.startswith("@xmlns")
        ):
            t = _scalar(v, c).strip()
            loose.append(_name(k, c.px) + ("=" + _canon(t) if t else ""))
            continue
        other[k] = v
    if other:
        left = _kids(other, c)
        parts += _ordered_parts(left, _ORDER, top=True)
        loose += _generic_parts(left)
    if len(parts) > 1:
        parts.sort(key=lambda p: p[0])
    if len(loose) > 1:
        loose.sort()
    return head + "".join(s for _, s in parts) + "".join(loose)


def event_hash(event: dict[str, Any], prefixes: dict[str, str] | None = None) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS 2.0 JSON event."""
    digest = hashlib.sha256(prehash(event, prefixes).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def context_prefixes(context: Any) -> dict[str, str]:
    """Prefix -> namespace bindings declared inline in a JSON-LD ``@context`` (never fetched)."""
    out: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for c in items:
        if isinstance(c, dict):
            for k, v in c.items():
                if isinstance(v, str):
                    out[str(k)] = v
    return out
