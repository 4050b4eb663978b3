"""EPCIS 2.0 JSON-LD: round trip, example files, foreign documents, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import InputError
from critmin.trace.epcis import (
    EPCIS_CONTEXT,
    from_epcis,
    import_document,
    read_epcis,
    to_epcis,
    write_epcis,
)
from critmin.trace.examples import magnet_chain
from critmin.trace.generate import random_network
from critmin.trace.model import Aggregation

EXAMPLES = Path(__file__).parents[2] / "examples" / "trace"


def test_round_trip_examples(tmp_path: Path) -> None:
    for x in (0.0, 9.0):
        net = magnet_chain(x)
        write_epcis(net, tmp_path / "n.jsonld")
        assert read_epcis(tmp_path / "n.jsonld") == net


@given(seed=st.integers(0, 2**31 - 1))
def test_round_trip_random(seed: int) -> None:
    net = random_network(seed)
    assert from_epcis(json.loads(json.dumps(to_epcis(net)))) == net


def test_shipped_example_files_match_the_builder() -> None:
    assert read_epcis(EXAMPLES / "magnet_chain.jsonld") == magnet_chain(0.0)
    assert read_epcis(EXAMPLES / "magnet_chain_blend.jsonld") == magnet_chain(9.0)


def test_document_shape() -> None:
    doc = to_epcis(magnet_chain(9.0))
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["@context"][0] == EPCIS_CONTEXT
    types = [e["type"] for e in doc["epcisBody"]["eventList"]]
    assert types.count("TransformationEvent") == 5
    tr = next(e for e in doc["epcisBody"]["eventList"] if e["type"] == "TransformationEvent")
    assert {"epcClass", "quantity", "uom"} <= set(tr["inputQuantityList"][0])


def test_foreign_document_with_full_uris_and_aggregation() -> None:
    """A hand-written document in the style of the GS1 examples: CBV URIs, KGM units, an
    AggregationEvent, master data with full-IRI critmin attributes, a lot without master data."""
    ns = "https://w3id.org/critmin/trace#"
    doc = {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2027-01-01T00:00:00Z",
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": [
                    {
                        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                        "vocabularyElementList": [
                            {
                                "id": "urn:epc:id:sgln:1.1.0",
                                "attributes": [
                                    {"id": ns + "country", "attribute": "CA"},
                                    {"id": ns + "stage", "attribute": "mine"},
                                ],
                            },
                            {
                                "id": "urn:epc:id:sgln:1.2.0",
                                "attributes": [
                                    {"id": ns + "country", "attribute": "United States"},
                                    {"id": ns + "stage", "attribute": "warehouse"},
                                ],
                            },
                        ],
                    }
                ]
            }
        },
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventID": "e1",
                    "eventTime": "2027-01-02T00:00:00Z",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "bizStep": "urn:epcglobal:cbv:bizstep:commissioning",
                    "bizLocation": {"id": "urn:epc:id:sgln:1.1.0"},
                    "quantityList": [
                        {"epcClass": "urn:epc:class:lgtin:1.1.A", "quantity": 500, "uom": "KGM"}
                    ],
                },
            ]
        },
    }
    with pytest.raises(InputError, match="unknown stage 'warehouse'"):
        from_epcis(doc)
    doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"][1][
        "attributes"
    ][1]["attribute"] = "product"
    doc["epcisBody"]["eventList"].append(
        {
            "type": "AggregationEvent",
            "eventID": "e2",
            "eventTime": "2027-01-03T00:00:00+09:00",
            "eventTimeZoneOffset": "+09:00",
            "action": "ADD",
            "bizStep": "packing",
            "parentID": "urn:epc:class:lgtin:1.1.P",
            "childQuantityList": [
                {"epcClass": "urn:epc:class:lgtin:1.1.A", "quantity": 0.5, "uom": "TNE"}
            ],
        }
    )
    net = from_epcis(doc)
    lot = net.lot("urn:epc:class:lgtin:1.1.A")
    assert lot.qty_t == pytest.approx(0.5)  # 500 KGM, no master data
    assert net.facility("urn:epc:id:sgln:1.1.0").country == "CAN"
    assert isinstance(net.events[1], Aggregation)
    # the parent (no master data) takes the children's 0.5 t and their origin
    assert net.lot("urn:epc:class:lgtin:1.1.P").qty_t == pytest.approx(0.5)
    assert net.check_mass_balance() == []
    assert net.origin().shares("urn:epc:class:lgtin:1.1.P", "mine") == pytest.approx({"CAN": 1.0})


def test_errors_name_the_event() -> None:
    doc = to_epcis(magnet_chain(0.0))
    doc["epcisBody"]["eventList"][1]["type"] = "TransactionEvent"
    imp = import_document(doc)  # kept and counted, not a reason to refuse the document
    assert imp.summary.not_used == {"TransactionEvent: no material movement": 1}
    with pytest.raises(InputError, match=r"eventList\[1\]: event not used for origin"):
        import_document(doc, strict=True)
    doc = to_epcis(magnet_chain(0.0))
    del doc["epcisBody"]["eventList"][2]["inputQuantityList"][0]["quantity"]
    with pytest.raises(InputError, match=r"eventList\[2\]\.inputQuantityList\[0\]\.quantity"):
        from_epcis(doc)
    with pytest.raises(InputError, match="EPCISDocument"):
        from_epcis({"type": "Other"})


def test_bad_json_file(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonld"
    p.write_text("{\n  nope\n")
    with pytest.raises(InputError, match=r"x\.jsonld:2"):
        read_epcis(p)


def _without_ids(doc: dict) -> dict:  # type: ignore[type-arg]
    for e in doc["epcisBody"]["eventList"]:
        e.pop("eventID", None)
    return doc


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), cut=st.floats(0.2, 0.8), with_ids=st.booleans())
def test_import_export_import_and_idempotence(seed: int, cut: float, with_ids: bool) -> None:
    """Importing a document, exporting it and importing the export gives the same network;
    importing it twice over, or as two overlapping documents, changes nothing (events are
    their eventID, else their GS1 event hash)."""
    doc = to_epcis(random_network(seed))
    if not with_ids:
        doc = _without_ids(doc)
    first = import_document(json.loads(json.dumps(doc))).network
    again = import_document(json.loads(json.dumps(to_epcis(first)))).network
    assert again == first
    events = doc["epcisBody"]["eventList"]
    twice = json.loads(json.dumps(doc))
    twice["epcisBody"]["eventList"] = events + json.loads(json.dumps(events))
    assert import_document(twice).network == first
    k = max(1, int(len(events) * cut))
    overlap = json.loads(json.dumps(doc))  # documents A = events[:k+2], B = events[k:]
    overlap["epcisBody"]["eventList"] = events[: k + 2] + events[k:]
    imp = import_document(overlap)
    assert imp.network == first
    assert imp.summary.duplicates == min(2, len(events) - k)


@pytest.mark.parametrize("query", [False, True])
def test_streamed_import_equals_whole_document_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: bool
) -> None:
    """Large files are streamed with ijson (header, then one event at a time): same network,
    same summary as parsing the whole document; broken JSON is one clear error."""
    from critmin.trace import epcis

    doc = to_epcis(magnet_chain(9.0))
    if query:
        doc["type"] = "EPCISQueryDocument"
        doc["epcisBody"] = {"queryResults": {"resultsBody": doc["epcisBody"]}}
    p = tmp_path / "n.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    whole = epcis.read_epcis_import(p)
    monkeypatch.setattr(epcis, "STREAM_ABOVE_BYTES", 0)
    streamed = epcis.read_epcis_import(p)
    assert streamed.network == whole.network == magnet_chain(9.0)
    assert streamed.summary.to_dict() == whole.summary.to_dict()
    p.write_text(json.dumps(doc)[:-40], encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        epcis.read_epcis_import(p)
