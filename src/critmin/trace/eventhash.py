"""The GS1 EPCIS event hash: a stable identity for events that carry no ``eventID``.

GS1's Core Business Vocabulary 2.0 (section 8.9.2, "Event hash ID") names an event by the
SHA-256 of a canonical "pre-hash string": the event type, then its fields in a fixed order
(``eventTime`` in UTC at millisecond precision, ``eventTimeZoneOffset``, ``parentID``, the EPC
and quantity lists with their elements sorted, ``action``, ``bizStep``, ``disposition``,
``readPoint``, ``bizLocation``), then every other field (source/destination and business
transaction lists, ILMD, extensions with their namespace written ``{namespace}name``) sorted
as strings; ``eventID``, ``recordTime``, ``errorDeclaration`` and ``type`` are left out.
Values are canonical: CBV short names and ``urn:epcglobal:cbv:...`` URNs become GS1 web
vocabulary URIs (``https://ref.gs1.org/cbv/BizStep-shipping``), numbers lose trailing zeros,
and GS1 EPC URNs (SGTIN, LGTIN, SGTIN patterns, SGLN, SSCC, PGLN, GRAI, GIAI) become GS1
Digital Link URIs (``https://id.gs1.org/01/<GTIN-14>/10/<lot>``). The result is ``ni:///sha-256;<hex>
?ver=CBV2.0`` (RFC 6920 named information).

The reference implementation is GS1 Germany's ``epcis-event-hash-generator`` (PyPI, MIT);
``tests/trace/test_eventhash.py`` checks this module against it. Known gaps, where the hash may
differ from the reference: deeply nested extension objects and comments, sensor reports with
fields outside GS1's list, and EPC URN schemes other than those listed above (kept as written).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from functools import lru_cache
from typing import Any

_IGNORED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "@context"})
_EPC_LISTS = ("epcList", "inputEPCList", "childEPCs")
_Q_LISTS_1 = ("quantityList", "childQuantityList", "inputQuantityList")
# the fixed order of GS1's algorithm; the remaining fields are sorted after these
_ORDER = (
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    *_EPC_LISTS,
    *_Q_LISTS_1,
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "sensorElementList",
)
_SENSOR_META = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_SENSOR_REPORT = (
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
_GS1_DL = re.compile(r"^https?://[^/]+/(00|01|253|255|414|417|8003|8004|8006|8010|8017|8018)/(.+)$")
_VOCAB = {
    "bizStep": "BizStep",
    "disposition": "Disp",
    "set": "Disp",
    "unset": "Disp",
    "source": "SDT",
    "destination": "SDT",
    "bizTransaction": "BTT",
    "reason": "ER",
}
_URN_VOCAB = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
_URN = re.compile(r"^urn:epc:(id|class|idpat):(sgtin|lgtin|sgln|sscc|pgln|grai|giai):(.+)$")


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of a digit string (weights 3,1,3,... from the right)."""
    rev = digits[::-1]
    total = 3 * sum(map(int, rev[0::2])) + sum(map(int, rev[1::2]))
    return str((10 - total % 10) % 10)


def _gtin(company: str, item: str) -> str:
    body = item[:1] + company + item[1:]
    return body + gs1_check_digit(body)


# one return per EPC scheme of the GS1 EPC Tag Data Standard
@lru_cache(maxsize=65536)
def digital_link(uri: str) -> str:  # noqa: PLR0911
    """GS1 Digital Link form of an EPC URN (SGTIN, LGTIN, SGTIN pattern, SGLN, SSCC, PGLN,
    GRAI, GIAI); any other URI unchanged."""
    m = _URN.match(uri)
    if m is None:
        return uri
    kind, scheme, rest = m.groups()
    parts = rest.split(".")
    if not all(p.isdigit() for p in parts[:2]):
        return uri
    base = "https://id.gs1.org"
    if scheme in ("sgtin", "lgtin") and len(parts) >= 3:
        gtin = _gtin(parts[0], parts[1])
        tail = ".".join(parts[2:])
        if kind == "idpat" and tail == "*":
            return f"{base}/01/{gtin}"
        ai = "21" if scheme == "sgtin" else "10"
        return f"{base}/01/{gtin}/{ai}/{tail}"
    if scheme == "sgln" and len(parts) >= 3:
        body = parts[0] + parts[1]
        gln = body + gs1_check_digit(body)
        ext = ".".join(parts[2:])
        return f"{base}/414/{gln}" + ("" if ext == "0" else f"/254/{ext}")
    if scheme == "sscc" and len(parts) == 2:
        body = parts[1][:1] + parts[0] + parts[1][1:]
        return f"{base}/00/{body}{gs1_check_digit(body)}"
    if scheme == "grai" and len(parts) == 3:
        body = "0" + parts[0] + parts[1]
        return f"{base}/8003/{body}{gs1_check_digit(body)}{parts[2]}"
    if scheme == "giai" and len(parts) == 2:
        return f"{base}/8004/{parts[0]}{parts[1]}"
    if scheme == "pgln" and len(parts) == 2:
        body = parts[0] + parts[1]
        return f"{base}/417/{body}{gs1_check_digit(body)}"
    return uri


def _number(text: str) -> str:
    try:
        x = float(text)
    except ValueError:
        return text
    if not math.isfinite(x):
        return text
    return str(int(x)) if x == int(x) else str(x)


_WORD = re.compile(r"[A-Za-z_]+")


def _canon(value: Any, key: str, prefixes: dict[str, str]) -> str:
    # fast paths first: this runs for every value of every event of a large import
    if isinstance(value, bool):
        text = "True" if value else "False"  # as the reference writes a JSON boolean
    elif isinstance(value, int | float):
        return _number(repr(value)) if isinstance(value, float) else str(value)
    else:
        text = str(value).strip()
    if text.startswith("urn:epcglobal:cbv:"):
        for urn, web in _URN_VOCAB:
            text = text.replace(urn, web)
    if (key in _VOCAB or key == "type") and _WORD.fullmatch(text):
        text = f"https://ref.gs1.org/cbv/{_VOCAB.get(key, 'SDT')}-{text}"
    head, sep, tail = text.partition(":")
    if sep and head in prefixes:
        text = prefixes[head] + tail
    if text[:1].isdigit() or text[:1] in ("+", "-", "."):
        text = _number(text)
    if text.startswith("urn:epc:"):
        text = digital_link(text)
    elif text.startswith("http") and not text.startswith("https://id.gs1.org/"):
        m = _GS1_DL.match(text)
        if m is not None:  # a GS1 Digital Link on another domain: canonical domain
            text = f"https://id.gs1.org/{m.group(1)}/{m.group(2)}"
    return text


def _time(text: str) -> str:
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    t = t.astimezone(dt.UTC)
    micro = round(t.microsecond, -3)
    if micro >= 1_000_000:
        t = t.replace(microsecond=0) + dt.timedelta(seconds=1)
    else:
        t = t.replace(microsecond=micro)
    return t.isoformat(timespec="milliseconds")[:-6] + "Z"


def _key(k: str, prefixes: dict[str, str]) -> str:
    head, sep, tail = k.partition(":")
    if sep and head in prefixes:
        return "{" + prefixes[head] + "}" + tail
    return k


def _generic(key: str, value: Any, prefixes: dict[str, str]) -> str:
    """Fields outside the fixed order: nested objects as their sorted children."""
    name = _key(key, prefixes)
    if isinstance(value, dict):
        kids = sorted(_generic(k, v, prefixes) for k, v in value.items())
        return name + "".join(kids)
    if isinstance(value, list):
        if key in ("sourceList", "destinationList", "bizTransactionList"):
            # each element is type=...<field>=..., the elements sorted like every list
            inner = []
            field = {"sourceList": "source", "destinationList": "destination"}.get(
                key, "bizTransaction"
            )
            for item in value:
                if isinstance(item, dict):
                    s = ""
                    if item.get("type"):
                        s += "type=" + _canon(item["type"], field, prefixes)
                    if item.get(field):
                        s += f"{field}=" + _canon(item[field], "", prefixes)
                    inner.append(s)
            return name + "".join(sorted(inner))
        return "".join(sorted(_generic(key, v, prefixes) for v in value))
    text = _canon(value, key, prefixes)
    return name + ("=" + text if text else "")


def _fields(obj: dict[str, Any], order: tuple[str, ...], px: dict[str, str], ctx: str) -> str:
    """Fields of a sensor metadata/report object in GS1's order, then its extensions."""
    out = ""
    for f in order:
        v = obj.get(f)
        if v is None or v == "":
            continue
        if f.lower().endswith("time"):
            out += f"{f}={_time(v)}"
        elif f == "type" and ctx == "report":
            t = str(v)
            t = "https://gs1.org/voc/" + t if _WORD.fullmatch(t) else _canon(t, "", px)
            out += f"type={t}"
        elif f == "component" and _WORD.fullmatch(str(v)):
            out += f"component=https://ref.gs1.org/cbv/Comp-{v}"
        else:
            out += f"{f}=" + _canon(v, "", px)
    rest = sorted(_generic(k, v, px) for k, v in obj.items() if k not in order)
    return out + "".join(rest)


def _sensor_elements(v: Any, px: dict[str, str]) -> str:
    elems = []
    for el in v if isinstance(v, list) else []:
        if not isinstance(el, dict):
            continue
        s = "sensorElement"
        meta = el.get("sensorMetadata")
        if isinstance(meta, dict):
            s += "sensorMetadata" + _fields(meta, _SENSOR_META, px, "meta")
        reports = el.get("sensorReport") or []
        s += "".join(
            sorted(
                "sensorReport" + _fields(r, _SENSOR_REPORT, px, "report")
                for r in reports
                if isinstance(r, dict)
            )
        )
        s += "".join(
            sorted(
                _generic(k, x, px)
                for k, x in el.items()
                if k not in ("sensorMetadata", "sensorReport")
            )
        )
        elems.append(s)
    return "sensorElementList" + "".join(sorted(elems))


def prehash(event: dict[str, Any], prefixes: dict[str, str] | None = None) -> str:
    """The canonical pre-hash string of one EPCIS 2.0 JSON event."""
    px = dict(prefixes or {})  # only the prefixes the document declares inline, as GS1 does
    out = ["eventType=" + str(event.get("type", ""))]
    for key in _ORDER:
        if key not in event or event[key] in (None, "", [], {}):
            continue
        v = event[key]
        if key in ("eventTime",):
            out.append(f"{key}={_time(v)}")
        elif key in (*_EPC_LISTS, "outputEPCList") and isinstance(v, list):
            out.append(key + "".join(sorted("epc=" + _canon(x, "", px) for x in v)))
        elif key in (*_Q_LISTS_1, "outputQuantityList") and isinstance(v, list):
            elems = []
            for q in v:
                if not isinstance(q, dict):
                    continue
                s = "quantityElement"
                for f in ("epcClass", "quantity", "uom"):
                    if q.get(f) not in (None, ""):
                        s += f"{f}=" + _canon(q[f], f, px)
                elems.append(s)
            out.append(key + "".join(sorted(elems)))
        elif key == "sensorElementList":
            out.append(_sensor_elements(v, px))
        elif key in ("readPoint", "bizLocation") and isinstance(v, dict):
            if v.get("id"):
                out.append(f"{key}id=" + _canon(v["id"], "", px))
        elif key == "persistentDisposition" and isinstance(v, dict):
            s = key
            for f in ("set", "unset"):
                for x in sorted(_canon(x, f, px) for x in v.get(f, []) or []):
                    s += f"{f}={x}"
            out.append(s)
        elif isinstance(v, dict | list):
            out.append(_generic(key, v, px))
        else:
            out.append(f"{key}=" + _canon(v, key, px))
    rest = [
        _generic(k, v, px)
        for k, v in event.items()
        if k not in _IGNORED and k not in _ORDER and v not in (None, "", [], {})
    ]
    return "".join(out) + "".join(sorted(rest))


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
