"""A lot's origin as of a day (``GET /v1/lots/{id}/origin?as_of=``): composed over the EPCIS
documents registered by the end of that day only, hand-derived on a three-document chain."""

from __future__ import annotations

import copy
import json
from typing import Any

import sqlalchemy as sa

from critmin.store.schema import networks

from .conftest import Registry
from .test_market import EXAMPLES

P = "0614177"
LOT = f"urn:epc:class:lgtin:{P}"
SITE = f"urn:epc:id:sgln:{P}"


def _header() -> dict[str, Any]:
    """The shipped magnet chain's header (its facilities: the Australian mine, the Malaysian
    refinery, the Japanese metal plant, ...) plus a US mine and a Chinese refinery."""
    doc = json.loads((EXAMPLES / "trace" / "magnet_chain.jsonld").read_text())
    doc = json.loads(json.dumps(doc).replace("0614141", P))
    vocab = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"]
    mine, refinery = vocab[0], vocab[1]
    for base, site, name, iso2, iso3 in (
        (mine, "00091", "Mountain Pass", "US", "USA"),
        (refinery, "00092", "Baotou", "CN", "CHN"),
    ):
        extra = copy.deepcopy(base)
        extra["id"] = f"{SITE}.{site}.0"
        for a in extra["attributes"]:
            a["attribute"] = {
                "urn:epcglobal:cbv:mda#name": name,
                "urn:epcglobal:cbv:mda#countryCode": iso2,
                "critmin:country": iso3,
                "critmin:operator": name,
            }.get(a["id"], a["attribute"])
        vocab.append(extra)
    doc["epcisBody"] = {"eventList": []}
    return doc


def _q(lot: str, t: float) -> dict[str, Any]:
    return {"epcClass": f"{LOT}.{lot}", "quantity": t, "uom": "TNE"}


def _extraction(eid: str, lot: str, t: float, site: str, day: str) -> dict[str, Any]:
    return {
        "eventID": f"https://w3id.org/critmin/id/event/{eid}",
        "type": "ObjectEvent",
        "eventTime": f"{day}T00:00:00+00:00",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "quantityList": [_q(lot, t)],
        "readPoint": {"id": f"{SITE}.{site}.0"},
        "bizLocation": {"id": f"{SITE}.{site}.0"},
    }


def _transformation(
    eid: str, inputs: list[tuple[str, float]], out: tuple[str, float], site: str, day: str
) -> dict[str, Any]:
    return {
        "eventID": f"https://w3id.org/critmin/id/event/{eid}",
        "type": "TransformationEvent",
        "eventTime": f"{day}T00:00:00+00:00",
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [_q(lot, t) for lot, t in inputs],
        "outputQuantityList": [_q(*out)],
        "readPoint": {"id": f"{SITE}.{site}.0"},
        "bizLocation": {"id": f"{SITE}.{site}.0"},
    }


def _doc(events: list[dict[str, Any]]) -> dict[str, Any]:
    return _header() | {"epcisBody": {"eventList": events}}


def _shares(origin: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {
        (s["stage"], s["country_iso3"]): round(float(s["share_mass"]), 9) for s in origin["shares"]
    }


def test_origin_as_of_counts_only_the_documents_registered_by_that_day(
    registry: Registry,
) -> None:
    """Three documents, registered on three days (their registration times set by hand):

    * D1 2027-04-01, Japan: its metal plant makes metal M from oxide O1 (6 t) and O2 (4 t);
    * D2 2027-04-10, Lynas: the Australian mine extracts C1, the Malaysian refinery makes O1;
    * D3 2027-04-20, MP Materials: the US mine extracts C2, the Chinese refinery makes O2.

    M's mass shares by stage, mixing inputs by input mass (6 : 4 = 0.6 : 0.4), an input no
    registered document produces being untraced (contributing nothing):

    * as of 2027-04-05: metal JPN 1; no refining, no mine stage (O1, O2 untraced);
    * as of 2027-04-15: refining MYS 0.6, mine AUS 0.6 (O2 still untraced);
    * as of 2027-04-25 (and without as_of): refining MYS 0.6 and CHN 0.4, mine AUS 0.6 and
      USA 0.4;
    * as of 2027-03-31, before M was registered: 404 naming ``query.as_of``."""
    d1 = _doc(
        [
            _transformation(
                "TM", [("oxide.O1", 6), ("oxide.O2", 4)], ("metal.M", 9), "00003", "2027-03-30"
            )
        ]
    )
    d2 = _doc(
        [
            _extraction("E1", "conc.C1", 100, "00001", "2027-03-01"),
            _transformation("T1", [("conc.C1", 100)], ("oxide.O1", 30), "00002", "2027-03-11"),
        ]
    )
    d3 = _doc(
        [
            _extraction("E2", "conc.C2", 50, "00091", "2027-03-02"),
            _transformation("T2", [("conc.C2", 50)], ("oxide.O2", 15), "00092", "2027-03-12"),
        ]
    )
    ids = []
    for user, body in (
        ("jpn_initiator", {"document": d1}),
        ("operator", {"member_id": "lynas", "document": d2}),
        ("operator", {"member_id": "mp_materials", "document": d3}),
    ):
        r = registry.post(user, "/v1/epcis", body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["document_id"])
    with registry.engine.begin() as conn:
        for doc_id, day in zip(ids, ("2027-04-01", "2027-04-10", "2027-04-20"), strict=True):
            conn.execute(
                sa.update(networks)
                .where(networks.c.id == doc_id)
                .values(created_at=f"{day}T12:00:00.000000+00:00")
            )

    url = f"/v1/lots/{LOT}.metal.M/origin"
    day1 = registry.get("jpn_initiator", url, params={"as_of": "2027-04-05"}).json()
    assert _shares(day1) == {("metal", "JPN"): 1.0}
    assert day1["documents"] == [ids[0]]
    assert day1["as_of"] == "2027-04-05"

    day2 = registry.get("jpn_initiator", url, params={"as_of": "2027-04-15"}).json()
    assert _shares(day2) == {("metal", "JPN"): 1.0, ("refining", "MYS"): 0.6, ("mine", "AUS"): 0.6}
    assert day2["documents"] == [ids[0], ids[1]]

    full = {
        ("metal", "JPN"): 1.0,
        ("refining", "MYS"): 0.6,
        ("refining", "CHN"): 0.4,
        ("mine", "AUS"): 0.6,
        ("mine", "USA"): 0.4,
    }
    day3 = registry.get("jpn_initiator", url, params={"as_of": "2027-04-25"}).json()
    assert _shares(day3) == full
    assert sorted(day3["documents"]) == sorted(ids)
    now = registry.get("jpn_initiator", url).json()
    assert _shares(now) == full
    assert now["shares"] == day3["shares"]
    assert now["upstream_facilities"] == day3["upstream_facilities"]

    before = registry.get("jpn_initiator", url, params={"as_of": "2027-03-31"})
    assert before.status_code == 404
    assert before.json()["errors"][0]["field"] == "query.as_of"
    # another member still sees nothing of the lot, on any day
    other = registry.get("usa_initiator", url, params={"as_of": "2027-04-25"})
    assert other.status_code == 404


def test_verdicts_as_of_use_the_documents_and_rule_sets_registered_by_then(
    registry: Registry,
) -> None:
    """The demo's Japanese magnet lot, its document registered (by hand) on 2027-04-01 and the
    demo rule set on 2027-04-10: verdicts as of 2027-04-05 are refused naming
    ``query.ruleset_id`` (the rule set did not exist yet); as of 2027-04-15 they equal today's
    (nothing registered since); as of 2027-03-31 the lot did not exist (404)."""
    from critmin.store.schema import lots, rulesets

    rs = registry.get("auditor", "/v1/rulesets").json()["items"][0]["id"]
    lot = registry.get("jpn_initiator", "/v1/lots").json()["items"][0]["id"]
    with registry.engine.begin() as conn:
        doc_id = conn.execute(sa.select(lots.c.document_id).where(lots.c.id == lot)).scalar_one()
        conn.execute(
            sa.update(networks)
            .where(networks.c.id == doc_id)
            .values(created_at="2027-04-01T00:00:00.000000+00:00")
        )
        conn.execute(
            sa.update(rulesets)
            .where(rulesets.c.id == rs)
            .values(created_at="2027-04-10T00:00:00.000000+00:00")
        )
    url = f"/v1/lots/{lot}/verdicts"
    q = {"ruleset_id": rs, "on": "2027-06-01"}
    early = registry.get("jpn_initiator", url, params=q | {"as_of": "2027-04-05"})
    assert early.status_code == 422, early.text
    assert early.json()["errors"][0]["field"] == "query.ruleset_id"
    later = registry.get("jpn_initiator", url, params=q | {"as_of": "2027-04-15"})
    assert later.status_code == 200, later.text
    now = registry.get("jpn_initiator", url, params=q).json()
    assert later.json() == now | {"as_of": "2027-04-15"}
    gone = registry.get("jpn_initiator", url, params=q | {"as_of": "2027-03-31"})
    assert gone.status_code == 404
