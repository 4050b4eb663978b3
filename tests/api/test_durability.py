"""Durability: SIGKILL the server in the middle of a burst of idempotent writes.

A real ``critmin serve`` process, on SQLite (WAL, synchronous=FULL) and on PostgreSQL (a
server started by the tests; the group commit there sends a batch's inserts in one
pipeline), takes a burst of declarations and stockpile purchases, each with its own
Idempotency-Key, from 8 client threads; the process is killed with SIGKILL while requests
are in flight. After a restart
every request is replayed with the same key. Then:

* every response acknowledged before the kill comes back identical (nothing acknowledged
  was lost, and the replay is a replay, not a second write);
* every key maps to exactly one row (nothing applied twice), for acknowledged and
  unacknowledged requests alike;
* the stockpile ledger balances and the audit chain verifies.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa

from .conftest import _fresh_url
from .test_serve import start, stop

N_REQUESTS = 240


def _requests() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for i in range(N_REQUESTS):
        if i % 3 == 2:
            out.append(
                (
                    f"buy-{i}",
                    "/v1/stockpiles/project_vault/movements",
                    {
                        "kind": "purchase",
                        "month": "2026-03",
                        "account": "ndpr_oxide",
                        "qty_t": 1 + i % 7,
                        "price_usd_per_t": 69_000,
                    },
                )
            )
        else:
            out.append(
                (
                    f"dec-{i}",
                    "/v1/declarations",
                    {
                        "product": "ndpr_oxide",
                        "stage": "oxide",
                        "quantity_t": 1 + i % 5,
                        "customs_value_usd": 40_000 * (1 + i % 5),
                        "declared_on": "2026-04-15",
                        "origin_iso3": "CHN",
                    },
                )
            )
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'critmin-registry.sqlite3'}"
    server = request.getfixturevalue("pg_server_url")
    os.environ["CRITMIN_TEST_DB_URL"] = server
    try:
        return _fresh_url(tmp_path)
    finally:
        del os.environ["CRITMIN_TEST_DB_URL"]


def _counts(db_url: str) -> tuple[int, int, int]:
    """Declarations, purchases and idempotency keys stored."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            n_dec = conn.execute(sa.text("SELECT count(*) FROM declarations")).scalar_one()
            n_buy = conn.execute(
                sa.text("SELECT count(*) FROM ledger_entries WHERE kind = 'purchase'")
            ).scalar_one()
            n_keys = conn.execute(sa.text("SELECT count(*) FROM idempotency_keys")).scalar_one()
    finally:
        engine.dispose()
    return n_dec, n_buy, n_keys


@pytest.mark.slow
def test_sigkill_mid_burst_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path, db_url: str
) -> None:
    proc, port = start(tmp_path, "--db", db_url, "--demo")
    assert proc.stdout is not None
    tokens = {}
    for _ in range(12):
        line = proc.stdout.readline()
        if "operator token:" in line:
            tokens["operator"] = line.rsplit(" ", 1)[1].strip()
        elif ":" in line and line.startswith("  "):
            name, tok = line.strip().split(": ")
            tokens[name] = tok
        if "vault_approver" in tokens:
            break
    users = {
        "/v1/declarations": "usa_initiator",
        "/v1/stockpiles/project_vault/movements": "vault_initiator",
    }
    base = f"http://127.0.0.1:{port}"
    reqs = _requests()
    acked: dict[str, tuple[int, Any]] = {}
    lock = threading.Lock()
    killed = threading.Event()

    def client(part: list[tuple[str, str, dict[str, Any]]]) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for key, path, body in part:
                if killed.is_set():
                    return
                try:
                    r = http.post(
                        path,
                        json=body,
                        headers={
                            "Authorization": f"Bearer {tokens[users[path]]}",
                            "Idempotency-Key": key,
                        },
                    )
                except httpx.TransportError:
                    return
                with lock:
                    acked[key] = (r.status_code, r.json())

    threads = [threading.Thread(target=client, args=(reqs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    while len(acked) < N_REQUESTS // 3:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    killed.set()
    proc.wait(timeout=10)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    for t in threads:
        t.join(timeout=20)
    n_acked = len(acked)
    assert 0 < n_acked < N_REQUESTS, n_acked

    proc, port = start(tmp_path, "--db", db_url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for key, path, body in reqs:
                r = http.post(
                    path,
                    json=body,
                    headers={
                        "Authorization": f"Bearer {tokens[users[path]]}",
                        "Idempotency-Key": key,
                    },
                )
                assert r.status_code in (200, 201), r.text
                if key in acked:
                    assert (r.status_code, r.json()) == acked[key], key
            bal = http.get(
                "/v1/stockpiles/project_vault",
                headers={"Authorization": f"Bearer {tokens['auditor']}"},
            ).json()
            assert bal["balance"]["ok"] is True
            chain = http.get(
                "/v1/audit/verify", headers={"Authorization": f"Bearer {tokens['auditor']}"}
            ).json()
            assert chain["ok"] is True, chain["problems"][:3]
    finally:
        stop(proc)
    n_dec, n_buy, n_keys = _counts(db_url)
    assert n_dec == sum(1 for k, _, _ in reqs if k.startswith("dec-"))
    assert n_buy == sum(1 for k, _, _ in reqs if k.startswith("buy-"))
    assert n_keys == N_REQUESTS
