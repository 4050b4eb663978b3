"""Origin of every lot of a 1,000,000-lot / 5,000,000-edge network (vectorised) vs a per-lot
recursive implementation on a 10,000-lot sample, in the same run.

``.venv/bin/python -m benchmarks bench_trace`` (env ``CRITMIN_BENCH_TRACE_LOTS`` / ``_EDGES`` /
``_SAMPLE`` scale it down). The vectorised figure covers topological levels + mass and value
composition of every lot; network generation is reported separately.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

from critmin.trace.generate import random_graph
from critmin.trace.naive import naive_origin
from critmin.trace.origin import origin_arrays


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def main() -> dict[str, object]:
    n_lots = int(os.environ.get("CRITMIN_BENCH_TRACE_LOTS", "1000000"))
    n_edges = int(os.environ.get("CRITMIN_BENCH_TRACE_EDGES", "5000000"))
    n_sample = int(os.environ.get("CRITMIN_BENCH_TRACE_SAMPLE", "10000"))
    t0 = time.perf_counter()
    g = random_graph(n_lots, n_edges, seed=20270101)
    t_gen = time.perf_counter() - t0
    rss_after_gen = _rss_gib()
    rng = np.random.default_rng(1)
    unit_value = rng.uniform(1e3, 2e5, n_lots)

    t0 = time.perf_counter()
    levels = g.levels
    arr = origin_arrays(g, unit_value)
    t_vec = time.perf_counter() - t0
    rss_peak = _rss_gib()

    sample = np.sort(rng.choice(n_lots, n_sample, replace=False))
    t0 = time.perf_counter()
    worst = 0.0
    for i in sample:
        ref = naive_origin(g, int(i))
        for (stage, country), v in ref.items():
            j = arr.columns.index((stage, country))
            worst = max(worst, abs(arr.mass[i, j] - v))
    t_naive_sample = time.perf_counter() - t0
    t_vec_per_lot = t_vec / n_lots
    t_naive_per_lot = t_naive_sample / n_sample
    result: dict[str, object] = {
        "lots": n_lots,
        "edges": int(g.edge_out.size),
        "levels": len(levels),
        "columns_stage_country": len(arr.columns),
        "generate_s": round(t_gen, 2),
        "vectorised_all_lots_s": round(t_vec, 2),
        "peak_rss_gib": round(rss_peak, 2),
        "rss_after_generation_gib": round(rss_after_gen, 2),
        "naive_sample_lots": n_sample,
        "naive_sample_s": round(t_naive_sample, 2),
        "naive_extrapolated_all_lots_s": round(t_naive_per_lot * n_lots, 1),
        "speedup_per_lot": round(t_naive_per_lot / t_vec_per_lot, 1),
        "max_abs_diff_vs_naive": float(worst),
        "targets": {"time_s": 30, "memory_gib": 4},
    }
    return result


if __name__ == "__main__":
    print(main())
