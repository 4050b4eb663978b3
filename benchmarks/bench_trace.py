"""Traceability at scale, three figures in one run (``.venv/bin/python -m benchmarks bench_trace``).

1. Origin by mass and value of every lot of a 5,000,000-lot / 25,000,000-edge network
   (``random_graph(..., facilities_per_stage=2000)``: lots belong to facilities that buy from
   one or two suppliers, so most lots come from few places). Time covers topological levels,
   the lot matrix and both compositions; memory is the process's peak RSS, generation included.
2. The baseline a competent user would write: a memoised per-lot recursion (each lot's
   composition computed once, in a dict), run in the same process on the ancestors of a sample
   of final lots; the ratio is per lot computed. Results are compared entry by entry.
3. Streaming import of a 1,000,000-event EPCIS 2.0 document (written here, event by event) in
   a child process: wall time and the child's peak RSS.

Environment knobs to scale it down: ``CRITMIN_BENCH_TRACE_LOTS`` / ``_EDGES`` / ``_SAMPLE`` /
``_EVENTS`` / ``_FACILITIES``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from critmin.trace.generate import random_graph
from critmin.trace.naive import memo_origin
from critmin.trace.origin import origin_arrays


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def write_epcis_document(path: Path, n_events: int, seed: int = 1) -> None:
    """An EPCIS 2.0 document of ``n_events`` events written as a stream (no dict in memory):
    one mine and 20 plants; one extraction per five events, each transformation consuming one
    earlier lot fully. Master data in the header, events without eventID (GS1 hashes)."""
    rng = np.random.default_rng(seed)
    ctx = json.dumps(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"])
    countries = ["AU", "CA", "US", "MY", "JP", "DE", "CN", "KR", "FR", "BR"]
    sites = []
    for f in range(21):
        kind = "mine" if f == 0 else "separation plant" if f < 11 else "magnet plant"
        sites.append(
            {
                "id": f"urn:epc:id:sgln:0614141.{f:05d}.0",
                "attributes": [
                    {"id": "urn:epcglobal:cbv:mda#countryCode", "attribute": countries[f % 10]},
                    {"id": "urn:epcglobal:cbv:mda#sst", "attribute": kind},
                ],
            }
        )
    header = {
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                    "vocabularyElementList": sites,
                }
            ]
        }
    }
    with path.open("w", encoding="utf-8") as f:
        f.write(
            f'{{"@context": {ctx}, "type": "EPCISDocument", "schemaVersion": "2.0", '
            f'"creationDate": "2027-01-01T00:00:00Z", "epcisHeader": {json.dumps(header)}, '
            '"epcisBody": {"eventList": [\n'
        )
        open_lots: list[tuple[str, float]] = []
        for i in range(n_events):
            t = f"2027-01-01T00:00:{i % 60:02d}Z"
            if i % 5 == 0 or not open_lots:
                lot = f"urn:epc:class:lgtin:0614141.000001.L{i}"
                ev = {
                    "type": "ObjectEvent",
                    "eventTime": t,
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "quantityList": [{"epcClass": lot, "quantity": 100.0, "uom": "TNE"}],
                    "bizLocation": {"id": sites[0]["id"]},
                    "critmin:seq": i,
                }
                open_lots.append((lot, 100.0))
            else:
                j = int(rng.integers(0, len(open_lots)))
                src, q = open_lots.pop(j)
                lot = f"urn:epc:class:lgtin:0614141.000001.L{i}"
                ev = {
                    "type": "TransformationEvent",
                    "eventTime": t,
                    "eventTimeZoneOffset": "+00:00",
                    "inputQuantityList": [{"epcClass": src, "quantity": q, "uom": "TNE"}],
                    "outputQuantityList": [{"epcClass": lot, "quantity": q * 0.9, "uom": "TNE"}],
                    "bizLocation": {"id": sites[1 + i % 20]["id"]},
                    "critmin:yieldShare": 0.9,
                }
                open_lots.append((lot, q * 0.9))
            f.write(("," if i else "") + json.dumps(ev) + "\n")
        f.write("]}}\n")


_CHILD = """
import resource, sys, time
from critmin.trace.epcis import read_epcis_import
t0, c0 = time.perf_counter(), time.process_time()
imp = read_epcis_import(sys.argv[1])
t, c = time.perf_counter() - t0, time.process_time() - c0
print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
      len(imp.network.events), len(imp.network.lots), imp.summary.events_total, c)
"""


def bench_import(n_events: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "big.jsonld"
        t0 = time.perf_counter()
        write_epcis_document(p, n_events)
        t_write = time.perf_counter() - t0
        size = p.stat().st_size
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(p)], capture_output=True, text=True, check=True
        ).stdout.split()
    return {
        "events": n_events,
        "file_mb": round(size / 1e6),
        "write_s": round(t_write, 1),
        "import_s": round(float(out[0]), 1),
        "import_cpu_s": round(float(out[5]), 1),
        "import_peak_rss_gib": round(float(out[1]), 2),
        "events_imported": int(out[2]),
        "lots": int(out[3]),
        "target_memory_gib": 3,
    }


def bench_origin(n_lots: int, n_edges: int, n_fac: int, n_sample: int) -> dict[str, object]:
    t0 = time.perf_counter()
    g = random_graph(n_lots, n_edges, seed=20270101, facilities_per_stage=n_fac)
    t_gen = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    unit_value = rng.uniform(1e3, 2e5, n_lots)

    # wall and CPU time: on a shared machine the CPU time is the figure that repeats
    t0, c0 = time.perf_counter(), time.process_time()
    levels = g.levels
    arr = origin_arrays(g, unit_value)
    t_vec, c_vec = time.perf_counter() - t0, time.process_time() - c0
    rss_peak = _rss_gib()

    final = np.flatnonzero(g.stage == g.stage.max())
    sample = rng.choice(final, min(n_sample, final.size), replace=False)
    t0, c0 = time.perf_counter(), time.process_time()
    memo = memo_origin(g, [int(i) for i in sample])
    t_memo, c_memo = time.perf_counter() - t0, time.process_time() - c0
    worst = 0.0
    for i, comp in memo.items():
        row = arr.row(i)
        for (s, c), v in comp.items():
            j = arr.columns.index((g.stages[s], g.countries[c]))
            worst = max(worst, abs(row.get(j, 0.0) - v))
    per_lot_vec = c_vec / n_lots  # ratios on CPU time (same process, same machine)
    per_lot_memo = c_memo / max(len(memo), 1)
    return {
        "lots": n_lots,
        "edges": int(g.edge_out.size),
        "facilities_per_stage": n_fac,
        "levels": len(levels),
        "columns_stage_country": len(arr.columns),
        "nonzero_shares_per_lot": round(arr.mass.nnz / n_lots, 2),
        "generate_s": round(t_gen, 1),
        "origin_mass_and_value_all_lots_s": round(t_vec, 1),
        "origin_mass_and_value_all_lots_cpu_s": round(c_vec, 1),
        "peak_rss_gib": round(rss_peak, 2),
        "memo_sample_final_lots": int(sample.size),
        "memo_lots_computed": len(memo),
        "memo_s": round(t_memo, 1),
        "memo_cpu_s": round(c_memo, 1),
        "memo_extrapolated_all_lots_s": round(per_lot_memo * n_lots, 1),
        "speedup_per_lot_vs_memo": round(per_lot_memo / per_lot_vec, 1),
        "max_abs_diff_vs_memo": float(worst),
        "targets": {"time_s": 30, "memory_gib": 4},
    }


def main() -> dict[str, object]:
    n_lots = int(os.environ.get("CRITMIN_BENCH_TRACE_LOTS", "5000000"))
    n_edges = int(os.environ.get("CRITMIN_BENCH_TRACE_EDGES", "25000000"))
    n_fac = int(os.environ.get("CRITMIN_BENCH_TRACE_FACILITIES", "2000"))
    n_sample = int(os.environ.get("CRITMIN_BENCH_TRACE_SAMPLE", "2000"))
    n_events = int(os.environ.get("CRITMIN_BENCH_TRACE_EVENTS", "1000000"))
    return {
        "origin": bench_origin(n_lots, n_edges, n_fac, n_sample),
        "epcis_import": bench_import(n_events),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
