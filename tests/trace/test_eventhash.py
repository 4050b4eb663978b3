"""critmin's GS1 event hash against GS1 Germany's reference implementation.

``epcis-event-hash-generator`` (PyPI 1.9.3, MIT; https://github.com/RalphTro/epcis-event-hash-generator)
is the implementation GS1 points to for the CBV 2.0 event hash. Both compute the hash of the
same documents here: critmin's exports, hypothesis-generated networks and nested user
extensions, and hand-written events in the shapes of GS1's EPCIS 2.0 examples (EPC URNs of every
GS1 scheme, CBV URNs and bare words, nested extensions with namespaces, ``rdfs:comment``,
sensor reports with extra fields). ``CRITMIN_GS1_EPCIS=<checkout of github.com/gs1/EPCIS>``
also compares every event of GS1's own JSON examples (not shipped: no copy grant).
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.trace.epcis import import_document, to_epcis
from critmin.trace.eventhash import context_prefixes, digital_link, event_hash, gs1_check_digit
from critmin.trace.examples import magnet_chain
from critmin.trace.generate import random_network

ref_json = pytest.importorskip("epcis_event_hash_generator.json_to_py")
ref_hash = pytest.importorskip("epcis_event_hash_generator.hash_generator")


def _reference(doc: dict[str, Any]) -> list[str]:
    # The reference keeps the prefixes of every document it has read in a module-level dict
    # (a prefix of one document would apply to the next): emptied before each document.
    ref_json._namespaces.clear()
    # it loads GS1's JSON-LD context from a file it ships, through an importlib.resources
    # call that Python 3.11 flags as deprecated (warnings are errors here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        events = ref_json.event_list_from_epcis_document_json(copy.deepcopy(doc))
        return list(ref_hash.epcis_hashes_from_events(events))


def _mine(doc: dict[str, Any]) -> list[str]:
    px = context_prefixes(doc.get("@context"))
    return [event_hash(e, px) for e in doc["epcisBody"]["eventList"]]


GS1_SHAPED: dict[str, Any] = {
    "@context": [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"example": "http://ns.example.com/epcis/"},
    ],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2024-03-01T00:00:00Z",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2024-03-01T10:00:00.1234+01:00",
                "eventTimeZoneOffset": "+01:00",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "quantityList": [
                    {
                        "epcClass": "urn:epc:class:lgtin:4012345.012345.L1",
                        "quantity": 12.50,
                        "uom": "TNE",
                    },
                    {"epcClass": "https://example.org/lot/A", "quantity": 3},
                ],
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                "sourceList": [
                    {"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"},
                    {"type": "location", "source": "urn:epc:id:sgln:4012345.00001.0"},
                ],
                "destinationList": [
                    {"type": "location", "destination": "https://example.org/site/B"}
                ],
                "bizTransactionList": [
                    {"type": "po", "bizTransaction": "http://transaction.example.com/po/1"}
                ],
                "example:myField": "Example of a vendor/user extension",
            },
            {
                "type": "AggregationEvent",
                "eventTime": "2024-03-01T10:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "action": "ADD",
                "bizStep": "urn:epcglobal:cbv:bizstep:packing",
                "parentID": "urn:epc:id:sscc:4012345.0000000001",
                "childEPCs": ["urn:epc:id:sgtin:4012345.011122.25"],
                "childQuantityList": [
                    {
                        "epcClass": "urn:epc:class:lgtin:4012345.012345.L1",
                        "quantity": 1,
                        "uom": "KGM",
                    }
                ],
                "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.7"},
            },
            {
                "type": "TransformationEvent",
                "eventTime": "2013-10-31T14:58:56.591Z",
                "eventTimeZoneOffset": "+02:00",
                "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
                "inputQuantityList": [
                    {"epcClass": "urn:epc:idpat:sgtin:4012345.066666.*", "quantity": 220}
                ],
                "outputQuantityList": [
                    {
                        "epcClass": "urn:epc:class:lgtin:4012345.012345.L2",
                        "quantity": 2.0,
                        "uom": "TNE",
                    }
                ],
                "bizStep": "commissioning",
                "disposition": "in_progress",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                "ilmd": {"example:bestBeforeDate": "2014-12-10", "example:batch": "XYZ"},
            },
            {
                "type": "ObjectEvent",
                "eventTime": "2019-04-02T15:00:00.000+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
                "action": "OBSERVE",
                "bizStep": "inspecting",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
                "sensorElementList": [
                    {
                        "sensorMetadata": {
                            "time": "2019-04-02T14:55:00.000+01:00",
                            "deviceID": "urn:epc:id:giai:4000001.111",
                            "rawData": "https://example.org/8004/401234599999",
                        },
                        "sensorReport": [
                            {"type": "Temperature", "value": 26.0, "uom": "CEL"},
                            {"type": "gs1:AbsoluteHumidity", "value": 12.1, "uom": "A93"},
                            {"type": "Speed", "value": 0, "component": "z", "uom": "MTS"},
                            {"type": "gs1:Alarm", "booleanValue": True},
                        ],
                    },
                    {
                        "sensorMetadata": {"time": "2019-04-02T14:35:00.000+01:00"},
                        "sensorReport": [{"type": "Temperature", "value": 26.1, "uom": "CEL"}],
                    },
                ],
            },
            {
                "type": "AssociationEvent",
                "eventTime": "2019-11-01T14:00:00+01:00",
                "eventTimeZoneOffset": "+01:00",
                "parentID": "urn:epc:id:grai:4012345.55555.987",
                "childEPCs": ["urn:epc:id:giai:4000001.12345"],
                "action": "ADD",
                "bizStep": "assembling",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            },
        ]
    },
}


def test_gs1_shaped_events_match_the_reference() -> None:
    assert _mine(GS1_SHAPED) == _reference(GS1_SHAPED)


@pytest.mark.parametrize("china_oxide_t", [0.0, 9.0])
def test_critmin_exports_match_the_reference(china_oxide_t: float) -> None:
    doc = to_epcis(magnet_chain(china_oxide_t))
    assert _mine(doc) == _reference(doc)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_networks_match_the_reference(seed: int) -> None:
    doc = to_epcis(random_network(seed=seed, lots_per_stage=(3, 2, 2)))
    assert _mine(doc) == _reference(doc)


def test_check_digits_and_digital_links() -> None:
    """GS1 General Specifications 7.9 (mod-10 check digit) on GS1's own example keys:
    GTIN 0401234511122[4] and GLN 401234500001[6] of the EPCIS 2.0 examples."""
    assert gs1_check_digit("0401234511122") == "4"
    assert gs1_check_digit("401234500001") == "6"
    assert (
        digital_link("urn:epc:id:sgtin:4012345.011122.25")
        == "https://id.gs1.org/01/04012345111224/21/25"
    )
    assert digital_link("urn:epc:id:sgln:4012345.00001.0") == "https://id.gs1.org/414/4012345000016"
    assert digital_link("https://example.org/x") == "https://example.org/x"


def test_events_without_id_get_the_hash_and_count_once() -> None:
    """Importing a document whose events have no eventID twice over (the same events listed
    twice, as two overlapping documents would be) counts each event once."""
    doc = to_epcis(magnet_chain(0.0))
    for e in doc["epcisBody"]["eventList"]:
        del e["eventID"]
    once = import_document(copy.deepcopy(doc))
    doc["epcisBody"]["eventList"] += json.loads(json.dumps(doc["epcisBody"]["eventList"]))
    twice = import_document(doc)
    assert twice.network == once.network
    assert twice.summary.duplicates == len(once.network.events)
    assert [e.id for e in once.network.events] == _reference(doc)[: len(once.network.events)]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), data=st.data())
def test_hash_ignores_order_and_ids_but_not_content(seed: int, data: st.DataObject) -> None:
    """The hash is a content identity: key order, list order, eventID, recordTime and the time
    zone the eventTime is written in do not change it; a different quantity does."""
    ev = to_epcis(random_network(seed=seed, lots_per_stage=(3, 2)))["epcisBody"]["eventList"][-1]
    base = event_hash(ev)
    shuffled = dict(data.draw(st.permutations(list(ev.items()))))
    for k in ("inputQuantityList", "outputQuantityList", "quantityList"):
        if k in shuffled:
            shuffled[k] = data.draw(st.permutations(shuffled[k]))
    shuffled["eventID"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    shuffled["recordTime"] = "2030-01-01T00:00:00Z"
    assert event_hash(shuffled) == base
    import datetime as dt

    t = dt.datetime.fromisoformat(ev["eventTime"]).astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert event_hash({**ev, "eventTime": t.isoformat()}) == base
    key = next(k for k in ("outputQuantityList", "quantityList") if k in ev)
    changed = copy.deepcopy(ev)
    changed[key][0]["quantity"] = ev[key][0]["quantity"] + 1
    assert event_hash(changed) != base
