"""Reference prices, declarations with the FORGE levy, contracts and statements.

The service must compute with critmin's own code: levies are checked against hand-solved
cases from the shipped baseline parameters, settlement statements and lot origins against
``critmin contract settle --json`` and ``critmin trace origin --json`` on the shipped
examples.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import Registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLI = [str(Path(sys.executable).with_name("critmin"))]


def cli_json(*args: str) -> Any:
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def publish(
    reg: Registry, product: str, month: str, usd_per_t: float, final: bool = True
) -> dict[str, Any]:
    r = reg.post(
        "publisher",
        "/v1/prices",
        {
            "product": product,
            "stage": "oxide",
            "month": month,
            "price_usd_per_t": usd_per_t,
            "methodology_version": "forge-ref-1",
            "data": {"source": "test"},
        },
    )
    assert r.status_code == 201, r.text
    if not final:
        return dict(r.json())
    f = reg.post("publisher", f"/v1/prices/{r.json()['id']}/finalize")
    assert f.status_code == 201, f.text
    return dict(f.json())


def declare(reg: Registry, user: str = "usa_initiator", **kw: Any) -> Any:
    body = {
        "product": "ndpr_oxide",
        "stage": "oxide",
        "quantity_t": 10,
        "customs_value_usd": 500_000,
        "declared_on": "2026-04-15",
        "origin_iso3": "CHN",
    } | kw
    return reg.post(user, "/v1/declarations", body)


def test_levy_on_a_non_member_import_hand_solved(registry: Registry) -> None:
    """10 t of NdPr oxide from China into the USA, 2026-04-15, customs value 500,000 USD.

    landed = 500,000 / 10 = 50,000 USD/t; published reference 62,000 USD/t;
    bound = ad-valorem share 0.25 (baseline ``forge.levy_bound.ad_valorem_share``) x 50,000
    = 12,500; levy = min(max(62,000 - 50,000, 0), 12,500) = 12,000 USD/t; x 10 t = 120,000 USD.
    """
    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    r = declare(registry)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["levy_usd"] == pytest.approx(120_000)
    steps = {s["step"]: s for s in body["assessment"]["steps"]}
    assert steps["instrument_in_force"]["value"] is True
    assert steps["reference_price"]["value"] == 62_000
    assert steps["reference_price"]["status"] == "final"
    assert steps["landed_price"]["value"] == 50_000
    assert steps["bound"]["value"] == 12_500
    assert steps["bound"]["parameter"]["value"] == 0.25
    assert steps["levy_rate"]["value"] == 12_000


def test_member_origin_is_duty_free_and_without_a_price_the_baseline_parameter_is_used(
    registry: Registry,
) -> None:
    """From Australia (a FORGE member on 2026-04-30) nothing is levied; with no published
    price the baseline parameter ``forge.reference_price.ndpr_oxide`` is the reference."""
    r = declare(registry, origin_iso3="AUS")
    steps = {s["step"]: s for s in r.json()["assessment"]["steps"]}
    assert r.json()["levy_usd"] == 0
    assert steps["origin"]["value"][0]["forge_member"] is True
    assert steps["reference_price"]["source"] == "baseline parameter"
    assert steps["reference_price"]["parameter"]["name"] == "forge.reference_price.ndpr_oxide"


def test_price_versions_and_as_of(registry: Registry) -> None:
    """preliminary -> final -> corrected; a declaration re-assessed as of a day before the
    correction uses the price as it was published then."""
    first = publish(registry, "ndpr_oxide", "2026-04", 62_000)
    assert (first["version"], first["status"]) == (2, "final")
    d = declare(registry).json()
    corr = registry.post(
        "publisher",
        f"/v1/prices/{first['id']}/correct",
        {"price_usd_per_t": 61_000, "reason": "late assessments"},
    )
    assert corr.status_code == 201
    assert (corr.json()["version"], corr.json()["status"], corr.json()["reason"]) == (
        3,
        "corrected",
        "late assessments",
    )
    # a stale version cannot be corrected again
    assert (
        registry.post(
            "publisher", f"/v1/prices/{first['id']}/correct", {"price_usd_per_t": 1, "reason": "x"}
        ).status_code
        == 409
    )
    hist = registry.get("auditor", "/v1/prices", params={"all_versions": True}).json()["items"]
    assert [p["status"] for p in hist] == ["preliminary", "final", "corrected"]
    latest = registry.get("usa_initiator", "/v1/prices").json()["items"]
    assert [p["price_usd_per_t"] for p in latest] == [61_000]
    # a new declaration uses the corrected price: levy (61,000 - 50,000) x 10 = 110,000
    assert declare(registry).json()["levy_usd"] == pytest.approx(110_000)
    # as of yesterday nothing was published: the baseline parameter is the reference
    import datetime as dt

    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    old = registry.get(
        "usa_initiator", f"/v1/declarations/{d['id']}", params={"as_of": yesterday}
    ).json()
    steps = {s["step"]: s for s in old["assessment"]["steps"]}
    assert steps["reference_price"]["source"] == "baseline parameter"
    today = registry.get(
        "usa_initiator",
        f"/v1/declarations/{d['id']}",
        params={"as_of": dt.date.today().isoformat()},
    ).json()
    assert today["levy_usd"] == pytest.approx(110_000)


def test_members_see_only_their_declarations(registry: Registry) -> None:
    mine = declare(registry).json()
    declare(registry, user="jpn_initiator", origin_iso3="CHN")
    assert [
        d["member_id"] for d in registry.get("usa_initiator", "/v1/declarations").json()["items"]
    ] == ["USA"]
    assert registry.get("jpn_initiator", f"/v1/declarations/{mine['id']}").status_code == 404
    assert len(registry.get("auditor", "/v1/declarations").json()["items"]) == 2
    assert registry.get("publisher", "/v1/declarations").status_code == 403


def _blend_document() -> dict[str, Any]:
    text = (EXAMPLES / "trace" / "magnet_chain_blend.jsonld").read_text()
    # new lot ids: the demo already registered magnet_chain's lots, which share these ids
    return dict(json.loads(text.replace("0614141", "0614142")))


def test_levy_from_a_traced_lot_is_assessed_on_its_origin_shares(registry: Registry) -> None:
    """NdPr metal lot ``metal.JPN1`` of the blend example: by mass 30 % of its oxide was
    refined in China, 70 % in Malaysia (``critmin trace origin``). Declared by Korea with
    ``origin_stage: refining``, 10 t at 1,000,000 USD customs value, reference 120,000 USD/t:
    landed 100,000; bound 0.25 x 100,000 = 25,000; rate min(20,000, 25,000) = 20,000 USD/t;
    only the Chinese 30 % (3 t) is levied: 60,000 USD."""
    kor = registry.post(
        "operator", "/v1/users", {"name": "kor", "member_id": "KOR", "roles": ["initiator"]}
    ).json()
    registry.tokens["kor"] = registry.post("operator", f"/v1/users/{kor['id']}/tokens", {}).json()[
        "token"
    ]
    got = registry.post("kor", "/v1/epcis", {"document": _blend_document()})
    assert got.status_code == 201, got.text
    publish(registry, "ndpr_metal", "2026-04", 120_000)
    lot = "urn:epc:class:lgtin:0614142.metal.JPN1"
    r = declare(
        registry,
        user="kor",
        product="ndpr_metal",
        stage="metal",
        origin_iso3=None,
        lot_id=lot,
        origin_stage="refining",
        customs_value_usd=1_000_000,
    )
    assert r.status_code == 201, r.text
    assert r.json()["levy_usd"] == pytest.approx(60_000)
    cli = cli_json(
        "trace", "origin", str(EXAMPLES / "trace" / "magnet_chain_blend.jsonld"), "--json"
    )
    chn = [
        s
        for s in cli["shares"]
        if s["lot"].endswith("metal.JPN1")
        and s["stage"] == "refining"
        and s["country_iso3"] == "CHN"
    ]
    origin = {o["country_iso3"]: o["share"] for o in r.json()["assessment"]["steps"][-2]["value"]}
    assert origin["CHN"] == pytest.approx(chn[0]["share_mass"])
    # another member cannot declare on Korea's lot
    r = declare(registry, user="jpn_initiator", origin_iso3=None, lot_id=lot)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.lot_id"


def test_lot_origin_equals_the_cli(registry: Registry) -> None:
    net = EXAMPLES / "trace" / "magnet_chain.jsonld"
    ids = [lot["id"] for lot in registry.get("jpn_initiator", "/v1/lots").json()["items"]]
    assert len(ids) >= 4
    cli = cli_json("trace", "origin", str(net), *(a for i in ids for a in ("--lot", i)), "--json")
    for lot in ids:
        api = registry.get("jpn_initiator", f"/v1/lots/{lot}/origin").json()
        assert api["shares"] == [s for s in cli["shares"] if s["lot"] == lot]
        assert api["upstream_facilities"] == cli["upstream_facilities"][lot]
    assert registry.get("usa_initiator", f"/v1/lots/{ids[0]}/origin").status_code == 404


def _monthly_means(path: Path) -> dict[str, float]:
    rows: dict[str, list[float]] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            rows.setdefault(row["month"][:7], []).append(float(row["price_usd_per_kg"]))
    return {m: sum(v) / len(v) for m, v in rows.items()}


@pytest.mark.parametrize(
    ("contract_file", "owner"),
    [("dod_mp_ndpr_floor.yaml", "operator"), ("lynas_japan_ndpr.yaml", "jpn_initiator")],
)
def test_settlement_equals_the_cli_and_verifies_to_the_cent(
    registry: Registry, contract_file: str, owner: str
) -> None:
    csv_path = EXAMPLES / "contracts" / "ndpr_prices_example.csv"
    for month, usd_per_kg in _monthly_means(csv_path).items():
        publish(registry, "ndpr_oxide", month, usd_per_kg * 1000)
    contracts = registry.get("operator", "/v1/contracts").json()["items"]
    name = cli_json(
        "contract",
        "settle",
        str(EXAMPLES / "contracts" / contract_file),
        "--prices",
        str(csv_path),
        "--json",
    )
    cid = next(c["id"] for c in contracts if c["name"] == name["contract"])
    st = registry.post(owner, f"/v1/contracts/{cid}/statements", {})
    assert st.status_code == 201, st.text
    result = st.json()["result"]
    assert result["lines"] == name["lines"]
    assert result["totals"] == name["totals"]
    inputs = st.json()["inputs"]
    assert inputs["contract_version"] == 1
    assert {p["status"] for p in inputs["prices"]} == {"final"}
    v = registry.post("auditor", f"/v1/statements/{st.json()['id']}/verify")
    assert v.status_code == 200
    assert v.json()["matches"] is True


def test_restatement_after_a_price_correction_shows_the_difference(registry: Registry) -> None:
    """Lynas-Japan, 2026-04 at 62 $/kg (floor 110): buyer tops up 48 $/kg on 416.667 t.
    Correcting April to 63 $/kg lowers the top-up by 1 $/kg x 416,667 kg = 416,667 USD."""
    p = publish(registry, "ndpr_oxide", "2026-04", 62_000)
    cid = next(c["id"] for c in registry.get("jpn_initiator", "/v1/contracts").json()["items"])
    st = registry.post(
        "jpn_initiator",
        f"/v1/contracts/{cid}/statements",
        {"first_month": "2026-04", "through_month": "2026-04"},
    ).json()
    registry.post(
        "publisher",
        f"/v1/prices/{p['id']}/correct",
        {"price_usd_per_t": 63_000, "reason": "revised"},
    )
    # the stored statement still verifies against the price versions it used
    assert (
        registry.post("jpn_initiator", f"/v1/statements/{st['id']}/verify").json()["matches"]
        is True
    )
    new = registry.post("jpn_initiator", f"/v1/statements/{st['id']}/restate")
    assert new.status_code == 201
    diffs = {d["field"]: d for d in new.json()["inputs"]["differences"]}
    assert diffs["floor_topup_usd"]["difference"] == pytest.approx(-5000 / 12 * 1000)
    assert diffs["market_price_usd_per_kg"]["after"] == 63.0
    assert math.isclose(diffs["market_value_usd"]["difference"], 5000 / 12 * 1000)
    assert registry.get("usa_initiator", f"/v1/contracts/{cid}").status_code == 404


def test_statement_as_of_a_day_settles_on_the_prices_published_by_then(registry: Registry) -> None:
    """A statement ``as_of`` yesterday sees no price (none was published yet): nothing to
    settle, a 409 naming the missing prices; as of today it settles."""
    import datetime as dt

    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    cid = next(c["id"] for c in registry.get("jpn_initiator", "/v1/contracts").json()["items"])
    body = {"first_month": "2026-04", "through_month": "2026-04"}
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    old = registry.post(
        "jpn_initiator", f"/v1/contracts/{cid}/statements", body | {"as_of": yesterday}
    )
    assert old.status_code == 409
    assert "cannot settle: no prices" in old.json()["detail"]
    today = registry.post(
        "jpn_initiator",
        f"/v1/contracts/{cid}/statements",
        body | {"as_of": dt.date.today().isoformat()},
    )
    assert today.status_code == 201
    assert today.json()["inputs"]["as_of"] == dt.date.today().isoformat()
    assert today.json()["result"]["lines"][0]["market_price_usd_per_kg"] == 62.0


def test_verdicts_equal_the_cli_and_certificates_are_hashed(registry: Registry) -> None:
    """The rule verdicts of a lot equal ``critmin trace check --json`` on the shipped rules;
    its origin certificate carries them and a SHA-256 a reader can recompute."""
    import hashlib

    from critmin.store.audit import canonical

    lot = "urn:epc:class:lgtin:0614141.magnet.JPN1"
    rs = registry.get("auditor", "/v1/rulesets").json()["items"][0]
    got = registry.get(
        "jpn_initiator",
        f"/v1/lots/{lot}/verdicts",
        params={"ruleset_id": rs["id"], "on": "2027-06-01"},
    )
    assert got.status_code == 200, got.text
    cli = cli_json(
        "trace",
        "check",
        str(EXAMPLES / "trace" / "magnet_chain.jsonld"),
        "--rules",
        str(EXAMPLES / "trace" / "rules.yaml"),
        "--on",
        "2027-06-01",
        "--json",
    )
    assert got.json()["results"] == [r for r in cli["results"] if r["lot"] == lot]
    assert got.json()["treatment"] == cli["treatment"][lot]
    cert = registry.post(
        "jpn_initiator", f"/v1/lots/{lot}/certificate", {"ruleset_id": rs["id"], "on": "2027-06-01"}
    )
    assert cert.status_code == 201, cert.text
    body = cert.json()
    assert hashlib.sha256(canonical(body["content"]).encode()).hexdigest() == body["sha256"]
    assert body["content"]["verdicts"] == got.json()
    assert registry.get("jpn_initiator", f"/v1/certificates/{body['id']}").json() == body
    assert registry.get("usa_initiator", f"/v1/certificates/{body['id']}").status_code == 404
    assert (
        registry.get(
            "usa_initiator",
            f"/v1/lots/{lot}/verdicts",
            params={"ruleset_id": rs["id"], "on": "2027-06-01"},
        ).status_code
        == 404
    )


def test_contract_amendment_is_a_new_version_and_old_statements_still_verify(
    registry: Registry,
) -> None:
    """Raise Lynas-Japan's floor from 110 to 120 $/kg: a new version (If-Match needed); the
    statement issued on version 1 still verifies; a new one is computed on version 2
    (April at 62 $/kg: top-up 58 instead of 48 $/kg on 416,667 kg)."""
    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    cid = next(c["id"] for c in registry.get("jpn_initiator", "/v1/contracts").json()["items"])
    body = {"first_month": "2026-04", "through_month": "2026-04"}
    st1 = registry.post("jpn_initiator", f"/v1/contracts/{cid}/statements", body).json()
    got = registry.get("operator", f"/v1/contracts/{cid}")
    amended = got.json()["contract"] | {"floor_usd_per_kg": 120}
    patch = {"contract": amended, "reason": "2027 renegotiation"}
    c = registry.client
    assert (
        c.patch(f"/v1/contracts/{cid}", json=patch, headers=registry.h("operator")).status_code
        == 428
    )
    ok = c.patch(
        f"/v1/contracts/{cid}",
        json=patch,
        headers=registry.h("operator", **{"If-Match": got.headers["etag"]}),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert (
        registry.post("jpn_initiator", f"/v1/statements/{st1['id']}/verify").json()["matches"]
        is True
    )
    st2 = registry.post("jpn_initiator", f"/v1/contracts/{cid}/statements", body).json()
    assert st2["inputs"]["contract_version"] == 2
    assert st2["result"]["lines"][0]["floor_topup_usd"] == pytest.approx(58 * 5000 / 12 * 1000)
    assert st1["result"]["lines"][0]["floor_topup_usd"] == pytest.approx(48 * 5000 / 12 * 1000)


def test_origin_follows_lots_registered_by_another_member(registry: Registry) -> None:
    """The magnet chain split in two EPCIS documents: Lynas registers the mine and the
    refinery (E1, T1: concentrate -> oxide), Japan the rest (T2-T4, S1: oxide -> metal ->
    magnet -> motor). Japan's magnet lot's origin, read across both documents, equals
    ``critmin trace origin`` on the unsplit file; Japan's document alone would not reach the
    mine (its oxide input would be untraced)."""
    full = json.loads(
        (EXAMPLES / "trace" / "magnet_chain.jsonld").read_text().replace("0614141", "0614143")
    )
    events = full["epcisBody"]["eventList"]
    upstream = full | {"epcisBody": {"eventList": events[:2]}}
    downstream = full | {"epcisBody": {"eventList": events[2:]}}
    assert (
        registry.post(
            "operator", "/v1/epcis", {"member_id": "lynas", "document": upstream}
        ).status_code
        == 201
    )
    r = registry.post("jpn_initiator", "/v1/epcis", {"document": downstream})
    assert r.status_code == 201, r.text
    lot = "urn:epc:class:lgtin:0614143.magnet.JPN1"
    api = registry.get("jpn_initiator", f"/v1/lots/{lot}/origin").json()
    cli = cli_json(
        "trace",
        "origin",
        str(EXAMPLES / "trace" / "magnet_chain.jsonld"),
        "--lot",
        lot.replace("0614143", "0614141"),
        "--json",
    )
    expect = [s | {"lot": lot} for s in cli["shares"] if s["lot"].endswith("magnet.JPN1")]
    assert api["shares"] == expect
    assert {f["country_iso3"] for f in api["upstream_facilities"]} == {"AUS", "MYS"}


def test_a_membership_recorded_in_the_registry_changes_the_levy(registry: Registry) -> None:
    """Viet Nam joins FORGE on 2026-05-01 in the registry (it is not in the catalog's bloc of
    2026-02-04): an import from Viet Nam in April is levied, one in May is duty-free (the
    instrument resolves membership on the month's last day)."""
    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    publish(registry, "ndpr_oxide", "2026-05", 62_000)
    assert declare(registry, origin_iso3="VNM").json()["levy_usd"] == pytest.approx(120_000)
    registry.post(
        "operator",
        "/v1/members",
        {"id": "VNM", "name": "Viet Nam", "kind": "state", "country_iso3": "VNM"},
    )
    r = registry.post(
        "operator", "/v1/members/VNM/memberships", {"bloc": "forge", "start_date": "2026-05-01"}
    )
    assert r.status_code == 201, r.text
    april = declare(registry, origin_iso3="VNM").json()
    may = declare(registry, origin_iso3="VNM", declared_on="2026-05-15").json()
    assert april["levy_usd"] == pytest.approx(120_000)
    assert may["levy_usd"] == 0
    origin = next(s for s in may["assessment"]["steps"] if s["step"] == "origin")
    assert origin["membership"] == "registry membership records"
    assert origin["value"][0]["forge_member"] is True


def test_declaration_list_items_equal_the_declarations(registry: Registry) -> None:
    """The list page copies each stored assessment as stored (no re-encoding): every item
    equals the declaration read on its own, through the response model, field by field,
    and the page is valid for the OpenAPI list model."""
    from critmin.api import models as m

    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    for origin in ("CHN", "AUS", "VNM"):
        assert declare(registry, origin_iso3=origin).status_code == 201
    page = registry.get("usa_initiator", "/v1/declarations", params={"limit": 2}).json()
    rest = registry.get(
        "usa_initiator", "/v1/declarations", params={"cursor": page["next_cursor"]}
    ).json()
    items = page["items"] + rest["items"]
    assert len(items) == 3
    assert rest["next_cursor"] is None
    for item in items:
        one = registry.get("usa_initiator", f"/v1/declarations/{item['id']}").json()
        assert item == one
    m.page_of(m.Declaration).model_validate(page)


def test_declaration_as_of_counts_the_memberships_recorded_by_then(registry: Registry) -> None:
    """Viet Nam joins FORGE in the registry today (membership from 2026-01-01); the registry,
    its price (62,000 USD/t) and the other memberships were recorded yesterday (moved back in
    the database, as a registry running for a day would hold them).

    10 t of NdPr oxide from Viet Nam, 2026-04-15, customs value 500,000 USD:
    * today Viet Nam is a member on 2026-04-30: duty-free, levy 0;
    * as of yesterday the registry had not recorded it: a non-member import, levied as in
      ``test_levy_on_a_non_member_import_hand_solved``: min(62,000 - 50,000, 0.25 x 50,000)
      = 12,000 USD/t x 10 t = 120,000 USD; the same import from China as of yesterday too.
    """
    import datetime as dt

    from critmin.store.schema import memberships, prices

    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    noon = dt.datetime.combine(yesterday, dt.time(12), dt.UTC).isoformat()
    with registry.engine.begin() as conn:
        conn.execute(prices.update().values(published_at=noon))
        conn.execute(memberships.update().values(recorded_at=noon))
    mys = {"id": "VNM", "name": "Viet Nam", "kind": "state", "country_iso3": "VNM"}
    assert registry.post("operator", "/v1/members", mys).status_code == 201
    joined = registry.post(
        "operator", "/v1/members/VNM/memberships", {"bloc": "forge", "start_date": "2026-01-01"}
    )
    assert joined.status_code == 201, joined.text

    d = declare(registry, origin_iso3="VNM").json()
    assert d["levy_usd"] == 0
    then = registry.get(
        "usa_initiator", f"/v1/declarations/{d['id']}", params={"as_of": yesterday.isoformat()}
    ).json()
    assert then["levy_usd"] == pytest.approx(120_000)
    assert then["assessment"]["as_of"] == yesterday.isoformat()
    china = declare(registry).json()
    china_then = registry.get(
        "usa_initiator", f"/v1/declarations/{china['id']}", params={"as_of": yesterday.isoformat()}
    ).json()
    assert china_then["levy_usd"] == pytest.approx(120_000)
    # as of today the membership counts again
    now = registry.get(
        "usa_initiator",
        f"/v1/declarations/{d['id']}",
        params={"as_of": dt.date.today().isoformat()},
    ).json()
    assert now["levy_usd"] == 0


def test_a_batch_looks_up_its_idempotency_keys_in_the_primary_key(registry: Registry) -> None:
    """The group commit reads the stored records of all its (user, key) pairs in one statement
    (``_prefetch_priors``). On SQLite that statement once was ``(user_id, key) IN (VALUES
    ...)``, which SQLite answers with a scan of the whole table: a cost per batch that grew
    with every keyed request ever made. The statement of a declaration with a key (one pair)
    and of a batch of three pairs must each search the primary key once per pair (EXPLAIN
    QUERY PLAN), and the batch finds the stored record and only it."""
    import sqlalchemy as sa

    from critmin.api.http import _prefetch_priors
    from critmin.store.db import batch_memo, run_write

    engine = registry.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's (PostgreSQL's plan used the index either way)")
    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    user_id = registry.get("usa_initiator", "/v1/me").json()["user_id"]
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM idempotency_keys" in statement:
            seen.append((statement, parameters))

    pairs = [(user_id, "decl-1"), (user_id, "nope"), (user_id + 1, "decl-1")]
    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        body = {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "quantity_t": 1,
            "customs_value_usd": 50_000,
            "declared_on": "2026-04-15",
            "origin_iso3": "CHN",
        }
        first = registry.post("usa_initiator", "/v1/declarations", body, key="decl-1")
        assert first.status_code == 201, first.text
        memo = run_write(
            engine,
            lambda conn: dict(batch_memo(conn) or {}),
            prepare=[(_prefetch_priors, p) for p in pairs],
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    assert memo[("idempotency", user_id, "decl-1")].status_code == 201
    assert memo[("idempotency", user_id, "nope")] is None
    assert memo[("idempotency", user_id + 1, "decl-1")] is None
    assert [len(params) // 2 for _, params in seen] == [1, 3]
    with engine.connect() as conn:
        for statement, params in seen:
            plan = [
                row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            ]
            assert not any(p.startswith("SCAN idempotency_keys") for p in plan), plan
            assert sum("USING INDEX" in p for p in plan) == len(params) // 2, plan
