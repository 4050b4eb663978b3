"""The whole role x endpoint matrix: who may call what.

Each cell calls the endpoint with a valid body. A role that may not call it gets 403 (401
without a token); a role that may gets anything but 401/403 (a 404 for a record of
another member, a 409 or 422 for a state that does not allow it). No cell is a 5xx. A new
endpoint fails the test until it is added to ``ALLOWED``.
"""

from __future__ import annotations

from typing import Any

from .conftest import Registry

ALL = {"operator", "price_publisher", "initiator", "approver", "auditor"}
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/health"): ALL | {"anonymous"},
    ("GET", "/v1/me"): ALL,
    ("GET", "/v1/members"): ALL,
    ("POST", "/v1/members"): {"operator"},
    ("GET", "/v1/members/{member_id}"): ALL,
    ("PATCH", "/v1/members/{member_id}"): {"operator"},
    ("POST", "/v1/members/{member_id}/memberships"): {"operator"},
    ("GET", "/v1/users"): {"operator", "auditor"},
    ("POST", "/v1/users"): {"operator"},
    ("POST", "/v1/users/{user_id}/tokens"): {"operator"},
    ("POST", "/v1/tokens/{token_id}/revoke"): {"operator"},
    ("GET", "/v1/audit"): {"operator", "auditor"},
    ("GET", "/v1/audit/verify"): {"operator", "auditor"},
    ("GET", "/v1/prices"): ALL,
    ("POST", "/v1/prices"): {"price_publisher", "operator"},
    ("GET", "/v1/prices/{price_id}"): ALL,
    ("POST", "/v1/prices/{price_id}/finalize"): {"price_publisher", "operator"},
    ("POST", "/v1/prices/{price_id}/correct"): {"price_publisher", "operator"},
    ("GET", "/v1/declarations"): {"operator", "auditor", "initiator", "approver"},
    ("POST", "/v1/declarations"): {"initiator"},
    ("GET", "/v1/declarations/{declaration_id}"): {"operator", "auditor", "initiator", "approver"},
    ("GET", "/v1/contracts"): ALL,
    ("POST", "/v1/contracts"): {"operator"},
    ("GET", "/v1/contracts/{contract_id}"): ALL,
    ("PATCH", "/v1/contracts/{contract_id}"): {"operator"},
    ("GET", "/v1/contracts/{contract_id}/statements"): ALL,
    ("POST", "/v1/contracts/{contract_id}/statements"): {"operator", "initiator"},
    ("POST", "/v1/statements/{statement_id}/verify"): ALL,
    ("POST", "/v1/statements/{statement_id}/restate"): {"operator", "initiator"},
    ("GET", "/v1/stockpiles"): ALL,
    ("POST", "/v1/stockpiles"): {"operator"},
    ("GET", "/v1/stockpiles/{holder}"): ALL,
    ("GET", "/v1/stockpiles/{holder}/entries"): ALL,
    ("GET", "/v1/stockpiles/{holder}/movements"): ALL,
    ("POST", "/v1/stockpiles/{holder}/movements"): {"operator", "initiator"},
    ("POST", "/v1/movements/{movement_id}/approve"): {"operator", "approver"},
    ("POST", "/v1/movements/{movement_id}/reject"): {"operator", "approver"},
    ("POST", "/v1/epcis"): {"operator", "initiator"},
    ("GET", "/v1/lots"): ALL,
    ("GET", "/v1/lots/{lot_id}"): ALL,
    ("GET", "/v1/lots/{lot_id}/origin"): ALL,
    ("GET", "/v1/lots/{lot_id}/verdicts"): ALL,
    ("POST", "/v1/lots/{lot_id}/certificate"): {"operator", "initiator"},
    ("GET", "/v1/certificates/{certificate_id}"): ALL,
    ("GET", "/v1/rulesets"): ALL,
    ("POST", "/v1/rulesets"): {"operator"},
}
USERS = {
    "operator": "operator",
    "price_publisher": "publisher",
    "initiator": "vault_initiator",
    "approver": "vault_approver",
    "auditor": "auditor",
}


def _setup(reg: Registry) -> dict[str, Any]:
    price = reg.post(
        "publisher",
        "/v1/prices",
        {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "month": "2026-04",
            "price_usd_per_t": 62_000,
            "methodology_version": "m",
        },
    ).json()
    reg.post("publisher", f"/v1/prices/{price['id']}/finalize")
    dec = reg.post(
        "usa_initiator",
        "/v1/declarations",
        {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "quantity_t": 1,
            "customs_value_usd": 1,
            "declared_on": "2026-04-01",
            "origin_iso3": "CHN",
        },
    ).json()
    st = reg.post(
        "operator",
        "/v1/contracts/1/statements",
        {"first_month": "2026-04", "through_month": "2026-04"},
    ).json()
    reg.post(
        "vault_initiator",
        "/v1/stockpiles/project_vault/movements",
        {
            "kind": "purchase",
            "month": "2026-03",
            "account": "ndpr_oxide",
            "qty_t": 100,
            "price_usd_per_t": 1,
        },
    )
    mv = reg.post(
        "vault_initiator",
        "/v1/stockpiles/project_vault/movements",
        {
            "kind": "release",
            "month": "2026-04",
            "account": "ndpr_oxide",
            "qty_t": 1,
            "price_usd_per_t": 1,
        },
    ).json()
    user = reg.post("operator", "/v1/users", {"name": "spare", "roles": ["auditor"]}).json()
    tok = reg.post("operator", f"/v1/users/{user['id']}/tokens", {}).json()
    lot = reg.get("operator", "/v1/lots").json()["items"][0]["id"]
    cert = reg.post(
        "jpn_initiator", f"/v1/lots/{lot}/certificate", {"ruleset_id": 1, "on": "2027-06-01"}
    ).json()
    return {
        "certificate_id": cert["id"],
        "member_id": "project_vault",
        "price_id": price["id"],
        "declaration_id": dec["id"],
        "contract_id": 1,
        "statement_id": st["id"],
        "holder": "project_vault",
        "movement_id": mv["id"],
        "user_id": user["id"],
        "token_id": tok["id"],
        "lot_id": lot,
    }


def _body(method: str, path: str, role: str) -> Any:
    bodies: dict[str, Any] = {
        "/v1/members": {"id": f"m_{role}", "name": "x", "kind": "company"},
        "/v1/members/{member_id}": {"name": "Project Vault"},
        "/v1/contracts/{contract_id}": {
            "reason": "r",
            "contract": {
                "name": "c",
                "buyer": "b",
                "seller": "s",
                "mineral": "ndpr_oxide",
                "volume_t_per_year": 1,
                "start": "2026-01",
                "end": "2026-12",
            },
        },
        "/v1/members/{member_id}/memberships": {"bloc": "forge", "start_date": "2026-02-04"},
        "/v1/users": {"name": f"u_{role}", "roles": ["auditor"]},
        "/v1/prices": {
            "product": f"p_{role}",
            "stage": "oxide",
            "month": "2026-05",
            "price_usd_per_t": 1,
            "methodology_version": "m",
        },
        "/v1/prices/{price_id}/correct": {"price_usd_per_t": 1, "reason": "r"},
        "/v1/declarations": {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "quantity_t": 1,
            "customs_value_usd": 1,
            "declared_on": "2026-04-01",
            "origin_iso3": "CHN",
        },
        "/v1/contracts": {
            "member_id": "USA",
            "contract": {
                "name": "c",
                "buyer": "b",
                "seller": "s",
                "mineral": "ndpr_oxide",
                "volume_t_per_year": 1,
                "start": "2026-01",
                "end": "2026-12",
            },
        },
        "/v1/stockpiles": {"id": f"s_{role}", "member_id": "USA", "name": "x"},
        "/v1/stockpiles/{holder}/movements": {
            "kind": "fund_in",
            "month": "2026-05",
            "amount_usd": 1,
        },
        "/v1/epcis": {"document": {}},
        "/v1/rulesets": {"name": "r", "ruleset": {"rules": []}},
        "/v1/lots/{lot_id}/certificate": {"ruleset_id": 1, "on": "2027-06-01"},
    }
    return bodies.get(path, {}) if method in ("POST", "PATCH") else None


def test_role_endpoint_matrix(registry: Registry) -> None:
    doc = registry.client.get("/openapi.json").json()
    app_routes = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert app_routes == set(ALLOWED), f"update ALLOWED: {app_routes ^ set(ALLOWED)}"
    ids = _setup(registry)
    failures = []
    for (method, path), allowed in sorted(ALLOWED.items()):
        url = path.format(**ids)
        for role in [*USERS, "anonymous"]:
            headers = {} if role == "anonymous" else registry.h(USERS[role])
            if method == "PATCH":
                headers["If-Match"] = "*"
            r = registry.client.request(
                method, url, headers=headers, json=_body(method, path, role)
            )
            if r.status_code >= 500:
                failures.append(f"{role} {method} {url}: {r.status_code}")
            elif role in allowed and r.status_code in (401, 403):
                failures.append(
                    f"{role} {method} {url}: {r.status_code}, should be allowed: {r.text}"
                )
            elif role not in allowed and r.status_code != (401 if role == "anonymous" else 403):
                failures.append(f"{role} {method} {url}: {r.status_code}, should be refused")
    assert not failures, "\n".join(failures)
