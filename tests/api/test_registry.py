"""Members, users, tokens, ETags and the audit trail through the HTTP API."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from critmin.store.schema import tokens

from .conftest import Registry


def test_demo_members_are_the_catalog_forge_bloc_of_2026_02_04(registry: Registry) -> None:
    from critmin.catalog import blocs

    ids: list[str] = []
    cursor = None
    while True:
        r = registry.get(
            "auditor", "/v1/members", params={"limit": 7, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200
        ids += [x["id"] for x in r.json()["items"] if x["kind"] == "state"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    expected = {d.member_iso3 for d in blocs.get_bloc("forge").delegations("2026-02-04")}
    assert set(ids) == expected
    usa = registry.get("operator", "/v1/members/USA").json()
    assert usa["memberships"] == [
        {
            "id": usa["memberships"][0]["id"],
            "bloc": "forge",
            "start_date": "2026-02-04",
            "end_date": None,
            "recorded_at": usa["memberships"][0]["recorded_at"],
        }
    ]


def test_membership_shows_when_it_was_recorded(registry: Registry) -> None:
    """``recorded_at`` is the time the registry recorded a membership (what a declaration's
    ``as_of`` compares with), shown wherever a member is: the answer to the POST, the member,
    the member list. A membership from before migration 0005 has none (null)."""
    from critmin.store.schema import memberships

    before = dt.datetime.now(dt.UTC)
    r = registry.post(
        "operator", "/v1/members/lynas/memberships", {"bloc": "forge", "start_date": "2026-03-01"}
    )
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 201, r.text
    (new,) = [x for x in r.json()["memberships"] if x["start_date"] == "2026-03-01"]
    assert before <= dt.datetime.fromisoformat(new["recorded_at"]) <= after
    assert (
        registry.get("operator", "/v1/members/lynas").json()["memberships"]
        == r.json()["memberships"]
    )
    listed = registry.get("auditor", "/v1/members", params={"limit": 200}).json()["items"]
    assert next(x for x in listed if x["id"] == "lynas")["memberships"] == r.json()["memberships"]
    # the stored value is what is shown: moved back a day, as as_of would then count it
    with registry.engine.begin() as conn:
        conn.execute(
            memberships.update()
            .where(memberships.c.id == new["id"])
            .values(recorded_at="2026-12-01T12:00:00.000000+00:00")
        )
        conn.execute(
            memberships.update().where(memberships.c.member_id == "USA").values(recorded_at=None)
        )
    shown = registry.get("operator", "/v1/members/lynas").json()["memberships"]
    assert [x["recorded_at"] for x in shown if x["id"] == new["id"]] == [
        "2026-12-01T12:00:00.000000+00:00"
    ]
    assert (
        registry.get("operator", "/v1/members/USA").json()["memberships"][0]["recorded_at"] is None
    )


def test_member_representative_sees_only_its_member(registry: Registry) -> None:
    r = registry.get("jpn_initiator", "/v1/members")
    assert [x["id"] for x in r.json()["items"]] == ["JPN"]
    assert registry.get("jpn_initiator", "/v1/members/USA").status_code == 404


def test_patch_needs_if_match_and_rejects_a_stale_etag(registry: Registry) -> None:
    c = registry.client
    got = registry.get("operator", "/v1/members/lynas")
    tag = got.headers["etag"]
    body = {"name": "Lynas Rare Earths Ltd"}
    r = c.patch("/v1/members/lynas", json=body, headers=registry.h("operator"))
    assert r.status_code == 428
    assert r.json()["errors"][0]["field"] == "header.If-Match"
    r = c.patch("/v1/members/lynas", json=body, headers=registry.h("operator", **{"If-Match": tag}))
    assert r.status_code == 200
    assert r.json()["name"] == "Lynas Rare Earths Ltd"
    assert r.headers["etag"] != tag
    stale = c.patch(
        "/v1/members/lynas", json={"name": "x"}, headers=registry.h("operator", **{"If-Match": tag})
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    # the change is in the audit trail with before and after
    trail = registry.get("auditor", "/v1/audit", params={"entity": "member", "limit": 500}).json()[
        "items"
    ]
    last = [a for a in trail if a["entity_id"] == "lynas" and a["action"] == "update"]
    assert last[-1]["before"]["name"] == "Lynas Rare Earths"
    assert last[-1]["after"]["name"] == "Lynas Rare Earths Ltd"
    assert last[-1]["actor"].endswith(":operator")


def test_tokens_revocable_and_expiring(registry: Registry) -> None:
    new = registry.post(
        "operator", "/v1/users", {"name": "kor_rep", "member_id": "KOR", "roles": ["initiator"]}
    )
    assert new.status_code == 201
    uid = new.json()["id"]
    tok = registry.post("operator", f"/v1/users/{uid}/tokens", {"ttl_days": 1}).json()
    hdr = {"Authorization": f"Bearer {tok['token']}"}
    assert registry.client.get("/v1/me", headers=hdr).json()["member_id"] == "KOR"
    assert registry.post("operator", f"/v1/tokens/{tok['id']}/revoke").status_code == 200
    r = registry.client.get("/v1/me", headers=hdr)
    assert r.status_code == 401
    assert r.json()["detail"] == "token revoked"
    # expiry: move a fresh token's expiry into the past
    tok2 = registry.post("operator", f"/v1/users/{uid}/tokens", {"ttl_days": 1}).json()
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    with registry.engine.begin() as conn:
        conn.execute(sa.update(tokens).where(tokens.c.id == tok2["id"]).values(expires_at=past))
    r = registry.client.get("/v1/me", headers={"Authorization": f"Bearer {tok2['token']}"})
    assert r.status_code == 401
    assert r.json()["detail"] == "token expired"


def test_member_roles_need_a_member(registry: Registry) -> None:
    r = registry.post("operator", "/v1/users", {"name": "x", "roles": ["approver"]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.member_id"


def test_audit_chain_verifies_and_every_change_is_recorded(registry: Registry) -> None:
    before = registry.get("auditor", "/v1/audit/verify").json()
    registry.post(
        "operator",
        "/v1/members",
        {"id": "umicore", "name": "Umicore", "kind": "company", "country_iso3": "BEL"},
    )
    after = registry.get("auditor", "/v1/audit/verify").json()
    assert after["ok"]
    assert after["rows"] == before["rows"] + 1
    assert after["head_sha256"] != before["head_sha256"]
    # an auditor changes nothing
    r = registry.post("auditor", "/v1/members", {"id": "x", "name": "x", "kind": "company"})
    assert r.status_code == 403


def test_a_token_revoked_by_another_worker_stops_working_within_the_cache_time(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are trusted for ``TOKEN_CACHE_S`` without a database read. A revocation
    made elsewhere (another worker process: here, straight in the database) is seen once
    that time has passed; one made through this process at once (tested above)."""
    import time

    from critmin.api import auth

    monkeypatch.setattr(auth, "TOKEN_CACHE_S", 0.3)
    tok = registry.post("operator", "/v1/users/1/tokens", {"ttl_days": 1}).json()
    hdr = {"Authorization": f"Bearer {tok['token']}"}
    assert registry.client.get("/v1/me", headers=hdr).status_code == 200
    with registry.engine.begin() as conn:
        conn.execute(
            sa.update(tokens).where(tokens.c.id == tok["id"]).values(revoked_at="2026-01-01")
        )
    time.sleep(0.35)
    r = registry.client.get("/v1/me", headers=hdr)
    assert r.status_code == 401
    assert r.json()["detail"] == "token revoked"
