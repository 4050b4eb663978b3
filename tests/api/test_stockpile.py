"""Stockpile accounts on critmin's ledger: two-person releases, no overdraw, idempotency."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from critmin.api import engine as domain
from critmin.store.schema import ledger_entries

from .conftest import Registry

VAULT = "/v1/stockpiles/project_vault"


def buy(reg: Registry, qty_t: float = 100, price: float = 69_000, key: str | None = None) -> Any:
    return reg.post(
        "vault_initiator",
        f"{VAULT}/movements",
        {
            "kind": "purchase",
            "month": "2026-03",
            "account": "ndpr_oxide",
            "qty_t": qty_t,
            "price_usd_per_t": price,
        },
        key=key,
    )


def test_purchase_then_release_needs_a_second_person(registry: Registry) -> None:
    """Buy 100 t at 69,000 USD/t (6.9 M USD from 1.67 B USD of private capital), release 40 t
    at 75,000 USD/t: FIFO cost basis 40 x 69,000 = 2.76 M USD, proceeds 3.0 M USD, allocated
    to Project Vault's members by their pre-purchase shares (examples/stockpile/
    project_vault.yaml: gm 0.20, boeing 0.15, alphabet 0.10, corning 0.10, other 0.45):
    8,000 / 6,000 / 4,000 / 4,000 / 18,000 kg."""
    assert buy(registry).status_code == 201
    rel = registry.post(
        "vault_initiator",
        f"{VAULT}/movements",
        {
            "kind": "release",
            "month": "2026-04",
            "account": "ndpr_oxide",
            "qty_t": 40,
            "price_usd_per_t": 75_000,
        },
    )
    assert rel.status_code == 201
    assert rel.json()["status"] == "pending"
    # nothing is booked yet
    assert registry.get("vault_initiator", VAULT).json()["balance"]["inventory_t"] == {
        "ndpr_oxide": 100.0
    }
    # the initiator cannot approve its own release; another member's approver cannot see it
    mid = rel.json()["id"]
    assert registry.post("vault_initiator", f"/v1/movements/{mid}/approve").status_code == 403
    assert registry.post("usa_approver", f"/v1/movements/{mid}/approve").status_code == 404
    ok = registry.post("vault_approver", f"/v1/movements/{mid}/approve")
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved"
    bal = registry.get("auditor", VAULT).json()["balance"]
    assert bal["ok"] is True
    assert bal["inventory_t"] == {"ndpr_oxide": 60.0}
    entries = registry.get("vault_approver", f"{VAULT}/entries").json()["items"]
    released = [e for e in entries if e["kind"] == "release_sale"]
    assert {e["counterparty"]: -e["qty_kg"] for e in released} == {
        "gm": 8_000,
        "boeing": 6_000,
        "alphabet": 4_000,
        "corning": 4_000,
        "other_members": 18_000,
    }
    assert sum(e["cost_cents"] for e in released) == -276_000_000
    assert sum(e["cash_cents"] for e in released) == 300_000_000
    # the same entries, replayed by critmin's Ledger, balance
    with registry.engine.connect() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(ledger_entries)
                .where(ledger_entries.c.holder == "project_vault")
                .order_by(ledger_entries.c.seq)
            )
        ]
    assert domain.ledger_from_rows(rows).check_balance().ok
    assert registry.post("vault_approver", f"/v1/movements/{mid}/approve").status_code == 409


def test_release_beyond_the_stock_is_refused_and_nothing_is_booked(registry: Registry) -> None:
    buy(registry, qty_t=10)
    rel = registry.post(
        "vault_initiator",
        f"{VAULT}/movements",
        {
            "kind": "release",
            "month": "2026-04",
            "account": "ndpr_oxide",
            "qty_t": 11,
            "price_usd_per_t": 1,
        },
    )
    r = registry.post("vault_approver", f"/v1/movements/{rel.json()['id']}/approve")
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "body.qty_t"
    assert "kg held" in r.json()["detail"]
    assert registry.get("auditor", VAULT).json()["balance"]["inventory_t"] == {"ndpr_oxide": 10.0}
    assert (
        registry.get("auditor", f"{VAULT}/movements", params={"status": "pending"}).json()["items"][
            0
        ]["id"]
        == rel.json()["id"]
    )


def test_draws_are_limited_by_pre_purchase_rights(registry: Registry) -> None:
    """gm holds 0.20 of Project Vault's releases: of 100 t acquired it may draw 20 t.
    15 t pass; 6 t more (21 t) are refused; a company without a right cannot draw."""
    buy(registry, qty_t=100)

    def draw(who: str, qty_t: float) -> Any:
        mv = registry.post(
            "vault_initiator",
            f"{VAULT}/movements",
            {
                "kind": "draw",
                "month": "2026-04",
                "account": "ndpr_oxide",
                "qty_t": qty_t,
                "price_usd_per_t": 70_000,
                "counterparty": who,
            },
        )
        return registry.post("vault_approver", f"/v1/movements/{mv.json()['id']}/approve")

    assert draw("gm", 15).status_code == 200
    over = draw("gm", 6)
    assert over.status_code == 409
    assert "0.2 x 100000 kg acquired = 20000 kg, 15000 kg drawn already" in over.json()["detail"]
    assert draw("gm", 5).status_code == 200
    stranger = draw("tesla", 1)
    assert stranger.status_code == 409
    assert stranger.json()["errors"][0]["field"] == "body.counterparty"


def test_idempotent_post_replays_the_same_response(registry: Registry) -> None:
    a = buy(registry, key="buy-1")
    b = buy(registry, key="buy-1")
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    assert b.headers["idempotent-replayed"] == "true"
    assert registry.get("auditor", VAULT).json()["balance"]["inventory_t"] == {"ndpr_oxide": 100.0}
    c = buy(registry, qty_t=5, key="buy-1")
    assert c.status_code == 422
    assert c.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_twenty_concurrent_draws_never_overdraw(registry: Registry) -> None:
    """100 t in stock; 20 releases of 7 t approved at once by 20 clients: exactly 14 fit
    (98 t), 6 are refused."""
    buy(registry, qty_t=100)
    ids = [
        registry.post(
            "vault_initiator",
            f"{VAULT}/movements",
            {
                "kind": "release",
                "month": "2026-04",
                "account": "ndpr_oxide",
                "qty_t": 7,
                "price_usd_per_t": 70_000,
            },
        ).json()["id"]
        for i in range(20)
    ]
    codes: list[int] = []
    barrier = threading.Barrier(20)

    def approve(mid: int) -> None:
        barrier.wait()
        codes.append(
            registry.post(
                "vault_approver", f"/v1/movements/{mid}/approve", key=f"a{mid}"
            ).status_code
        )

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 14 + [409] * 6
    bal = registry.get("auditor", VAULT).json()["balance"]
    assert bal["ok"] is True
    assert bal["inventory_t"]["ndpr_oxide"] == pytest.approx(2.0)
    assert registry.get("auditor", "/v1/audit/verify").json()["ok"] is True


def test_cursor_pagination_walks_every_row_once(registry: Registry) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 9}
        if cursor:
            params["cursor"] = cursor
        page = registry.get("auditor", "/v1/audit", params=params).json()
        seen += [a["seq"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, len(seen) + 1))
    bad = registry.get("auditor", "/v1/audit", params={"cursor": "not-ours"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.cursor"
