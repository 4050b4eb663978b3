"""Stored, incrementally composed lot origins through the service: equal to
``critmin trace origin`` on the shipped examples, whatever order the documents of a chain
are registered in; a registration that closes a cycle is refused with nothing written."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.store.origins import read_origin, store_origins
from critmin.store.schema import lot_origins, lots, members, metadata, networks
from critmin.trace.epcis import from_epcis
from critmin.trace.model import SupplyNetwork
from critmin.trace.origin import compute_origin, lot_recipes

from .conftest import Registry
from .test_market import EXAMPLES, cli_json

CHAIN = EXAMPLES / "trace" / "magnet_chain.jsonld"


def chain(prefix: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CHAIN.read_text().replace("0614141", prefix))
    return doc


def with_events(doc: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    return doc | {"epcisBody": {"eventList": events}}


def test_an_input_registered_late_recomposes_the_lots_waiting_for_it(registry: Registry) -> None:
    """The magnet chain in two documents, the downstream one (Japan: oxide -> metal -> magnet
    -> motor) registered *before* the upstream one (Lynas: mine -> oxide). Until Lynas
    registers, Japan's lots have no mine or refining stage (their oxide input is untraced);
    once it does, every Japanese lot's stored origin equals ``critmin trace origin`` on the
    whole file, and the audit row of Lynas's registration names the lots recomposed."""
    full = chain("0614144")
    events = full["epcisBody"]["eventList"]
    r = registry.post("jpn_initiator", "/v1/epcis", {"document": with_events(full, events[2:])})
    assert r.status_code == 201, r.text
    magnet = "urn:epc:class:lgtin:0614144.magnet.JPN1"
    before = registry.get("jpn_initiator", f"/v1/lots/{magnet}/origin").json()
    assert {s["stage"] for s in before["shares"]} == {"metal", "component"}

    up = {"member_id": "lynas", "document": with_events(full, events[:2])}
    r = registry.post("operator", "/v1/epcis", up)
    assert r.status_code == 201, r.text

    cli = cli_json("trace", "origin", str(CHAIN), "--json", "--lot", _id("magnet"))
    for name in ("metal", "magnet", "motor"):
        lot = f"urn:epc:class:lgtin:0614144.{name}.JPN1"
        api = registry.get("jpn_initiator", f"/v1/lots/{lot}/origin").json()
        want = cli_json("trace", "origin", str(CHAIN), "--json", "--lot", _id(name))
        assert_same(api["shares"], [s | {"lot": lot} for s in want["shares"]])
    facilities = registry.get("jpn_initiator", f"/v1/lots/{magnet}/origin").json()
    want_f = json.loads(
        json.dumps(cli["upstream_facilities"][_id("magnet")]).replace("0614141", "0614144")
    )
    assert facilities["upstream_facilities"] == want_f
    audit = registry.get("auditor", "/v1/audit", params={"limit": 200}).json()["items"]
    last = [a for a in audit if a["entity"] == "epcis_document"][-1]
    assert last["after"]["origins_recomposed"] == sorted(
        f"urn:epc:class:lgtin:0614144.{n}.JPN1" for n in ("metal", "magnet", "motor")
    )


def _id(name: str) -> str:
    return f"urn:epc:class:lgtin:0614141.{name}.{'MYS1' if name == 'oxide' else 'JPN1'}"


def assert_same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [(g["stage"], g["country_iso3"]) for g in got] == [
        (w["stage"], w["country_iso3"]) for w in want
    ]
    for g, w in zip(got, want, strict=True):
        assert g["share_mass"] == pytest.approx(w["share_mass"], rel=1e-12)
        assert (g["share_value"] is None) == (w["share_value"] is None)
        if w["share_value"] is not None:
            assert g["share_value"] == pytest.approx(w["share_value"], rel=1e-12)


def test_a_registration_closing_a_cycle_is_refused(registry: Registry) -> None:
    """Japan registers metal made from an (unregistered) oxide lot; a second document that
    makes that oxide from the metal would make the metal an input of itself: 409, and neither
    the document nor its lots are written."""
    full = chain("0614145")
    events = full["epcisBody"]["eventList"]
    r = registry.post("jpn_initiator", "/v1/epcis", {"document": with_events(full, [events[2]])})
    assert r.status_code == 201, r.text
    back = copy.deepcopy(events[1])
    back["eventID"] = "https://w3id.org/critmin/id/event/T1-back"
    back["inputQuantityList"] = [
        {"epcClass": "urn:epc:class:lgtin:0614145.metal.JPN1", "quantity": 24.0, "uom": "TNE"}
    ]
    docs_before = registry.get("auditor", "/v1/audit", params={"limit": 200}).json()["items"]
    r = registry.post("jpn_initiator", "/v1/epcis", {"document": with_events(full, [back])})
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "body.document"
    assert "cycle" in r.json()["detail"], r.json()
    assert (
        registry.get("jpn_initiator", "/v1/lots/urn:epc:class:lgtin:0614145.oxide.MYS1").status_code
        == 404
    )
    docs_after = registry.get("auditor", "/v1/audit", params={"limit": 200}).json()["items"]
    assert len(docs_after) == len(docs_before)


# --------------------------------------------------------------------------- store, any order

_engine_cache: dict[str, sa.Engine] = {}
_runs = itertools.count()


def _store() -> sa.Engine:
    if "e" not in _engine_cache:
        engine = sa.create_engine("sqlite://")
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                members.insert().values(
                    id="M", name="M", kind="company", version=1, created_at="2027-01-01"
                )
            )
        _engine_cache["e"] = engine
    return _engine_cache["e"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.integers(1, 5), st.randoms(use_true_random=False))
def test_documents_registered_in_any_order_give_the_batch_origin(
    seed: int, n_docs: int, rnd: Any
) -> None:
    """A random layered network (critmin.trace.generate) cut into ``n_docs`` documents by
    producing event, registered in a random order through the store (each registration reads
    only its inputs' stored origins, recomposing lots registered earlier that waited for a
    late input): every stored origin equals the batch propagation of the whole network."""
    from critmin.trace.generate import random_network

    net = random_network(seed, lots_per_stage=(4, 3, 3, 2, 2))
    prefix = f"x{next(_runs)}:"  # hypothesis replays examples: a fresh id space per run
    recipes = lot_recipes(net)
    ids = list(recipes)
    rnd.shuffle(ids)
    parts = [ids[i::n_docs] for i in range(n_docs)]
    engine = _store()
    with engine.begin() as conn:
        for part in parts:
            if not part:
                continue
            doc = conn.execute(
                networks.insert().values(member_id="M", document={}, created_at="t")
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                lots.insert(),
                [{"id": prefix + k, "member_id": "M", "document_id": doc} for k in part],
            )
            mine = {k: recipes[k] for k in recipes if k in set(part)}  # topological order
            store_origins(conn, {prefix + k: _prefixed(r, prefix) for k, r in mine.items()}, "t")
        batch = compute_origin(net)
        table = batch.table()
        for k in ids:
            origin = read_origin(conn, prefix + k)
            assert origin is not None
            want = table[table["lot"] == k].to_dict(orient="records")
            got = origin.table(k)
            assert [(g["stage"], g["country_iso3"]) for g in got] == [
                (w["stage"], w["country_iso3"]) for w in want
            ]
            for g, w in zip(got, want, strict=True):
                assert g["share_mass"] == pytest.approx(w["share_mass"], rel=1e-9)
                assert g["share_value"] == pytest.approx(w["share_value"], rel=1e-9)
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(lot_origins)
            .where(lot_origins.c.lot_id.like(prefix.replace("%", "") + "%"))
        ).scalar_one()
        assert n == len(ids)


def _prefixed(recipe: Any, prefix: str) -> Any:
    from dataclasses import replace

    return replace(
        recipe, lot=prefix + recipe.lot, inputs=tuple((prefix + i, q) for i, q in recipe.inputs)
    )


def test_the_demo_lots_have_stored_origins(registry: Registry) -> None:
    """The demonstration registry's lots (seeded without the HTTP API) have their origins
    stored too, equal to ``critmin trace origin`` on the shipped file."""
    net: SupplyNetwork = from_epcis(json.loads(CHAIN.read_text()))
    ids = [x["id"] for x in registry.get("jpn_initiator", "/v1/lots").json()["items"]]
    assert set(lot_recipes(net)) <= set(ids)
    with registry.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(lot_origins)).scalar_one()
    assert stored >= len(lot_recipes(net))
