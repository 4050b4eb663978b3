"""Benchmark: ``critmin sweep`` on the issue's workload, against a loop over ``run_study``.

One sample = the seed study's China-ban scenario (NdPr, Dy and Tb chains) over
2026-01..2035-12 (360 market-months) with five sampled inputs
(benchmarks/studies/ndpr_ban_uncertainty.yaml); the with-instruments figure swaps the base
for the managed-market scenario (FORGE levy, floors, offtakes, Project Vault).

Measured, each in this one process run (the machine is shared: compare ratios, not seconds):

* the sweep on a 1-worker and a 2-worker LocalCluster (``run_sweep``, as ``critmin sweep``
  runs it): wall time, cluster start-up, and the time inside the evaluator per sample,
  split into the engine (compile + ``run_market``) and ``Highs.run()`` (HiGHS's own clock,
  the floor);
* sweep overhead = workers x (wall - start-up) - evaluator time, as a share of the engine's
  time (scheduling, serialisation, Parquet writing, idle tails);
* the straightforward baseline: a Python loop that builds each sample's scenario and calls
  ``run_study`` (tables, metrics, summary) on a subsample;
* 10,000-sample figures extrapolated linearly from the measured rate when fewer were run;
* where a with-instruments sample's time goes (in this process, heap frozen as a worker
  does): the evaluator, and the engine split into ``Highs.run``, the instruments and the rest;
* the evaluator's batch path (chains shared between the samples of a batch compiled once and
  solved through the engine's ``run_variants``, equal runs solved once) against one compile
  and run per sample, batch by batch alternating in this process, on the benchmark study
  and on ``examples/studies/managed_market_levers.yaml`` (a lever grid over instruments:
  12 policies per sampled future).

Run: ``.venv/bin/python -m benchmarks bench_sweep`` (``BENCH_SWEEP_SAMPLES``, default 1000;
``BENCH_SWEEP_BASELINE``, default 40; ``BENCH_SWEEP_INSTRUMENTS=0`` skips that part;
``BENCH_SWEEP_BATCH``, default 120, samples of each batch-path comparison, 0 skips it;
``BENCH_SWEEP_CLUSTER=0`` skips the cluster runs and the loop; ``BENCH_SWEEP_SPLIT``,
default 20, samples of the with-instruments split of a sample's time, 0 skips it).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from critmin.scenarios.loader import LoadedScenario
from critmin.scenarios.runner import run_study
from critmin.scenarios.sweep import load_study_text, make_design, run_sweep
from critmin.scenarios.sweep.evaluate import (
    base_data,
    build_scenario,
    evaluate_plans,
    scenario_data,
)

STUDY = Path(__file__).parent / "studies" / "ndpr_ban_uncertainty.yaml"
LEVERS = Path(__file__).parents[1] / "examples" / "studies" / "managed_market_levers.yaml"
TARGET = 10_000


def _study(instruments: bool, n: int) -> Any:
    text = STUDY.read_text("utf-8")
    # >= 16 batches, so that two workers share the load evenly (50 a batch at full size)
    text = text.replace("batch_size: 50", f"batch_size: {max(5, min(50, n // 16))}")
    if instruments:
        text = text.replace("base: builtin:ndpr_china_ban", "base: builtin:ndpr_managed_market")
    return load_study_text(text, str(STUDY), str(STUDY.parent))


def _sweep(loaded: Any, n: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        run = run_sweep(loaded, Path(tmp) / "out", samples=n, workers=workers)
    failed = len(run.failed)
    busy = run.wall_seconds - run.startup_seconds
    overhead = workers * busy - run.sample_seconds
    per_sample = busy / n
    return {
        "samples": n,
        "workers": run.workers,
        "failed": failed,
        "wall_s": round(run.wall_seconds, 2),
        "cluster_startup_s": round(run.startup_seconds, 2),
        "samples_per_s": round(n / busy, 2),
        "engine_ms_per_sample": round(1000 * run.engine_seconds / n, 2),
        "highs_run_ms_per_sample": round(1000 * run.solver_seconds / n, 2),
        "evaluator_ms_per_sample": round(1000 * run.sample_seconds / n, 2),
        "sweep_overhead_share_of_engine": round(overhead / run.engine_seconds, 3),
        f"extrapolated_{TARGET}_samples_min": round(
            (run.startup_seconds + per_sample * TARGET) / 60, 2
        ),
    }


def _baseline(loaded: Any, n: int) -> dict[str, Any]:
    """A loop a competent user would write (each sample's scenario, then ``run_study``),
    timed sample by sample interleaved with the sweep's evaluator on the same sample in
    this process, so that load changes on a shared machine hit both alike."""
    design = make_design(loaded.study, n)
    base = base_data(loaded)
    evaluate_plans(loaded, base, [design.plan(0)])  # warm imports and caches
    loop = evaluator = 0.0
    for i in range(n):
        plan = design.plan(i)
        t0 = time.perf_counter()
        evaluate_plans(loaded, base, [plan])
        t1 = time.perf_counter()
        scenario = build_scenario(scenario_data(loaded, base, plan), f"sample {i}")
        run_study([LoadedScenario(scenario, f"sample {i}", {})])
        t2 = time.perf_counter()
        evaluator += t1 - t0
        loop += t2 - t1
    return {
        "samples": n,
        "ms_per_sample": round(1000 * loop / n, 2),
        "evaluator_ms_per_sample_same_samples": round(1000 * evaluator / n, 2),
        "loop_over_evaluator": round(loop / evaluator, 2),
    }


def _batch_vs_single(loaded: Any, n: int) -> dict[str, Any]:
    """The evaluator with its batch path and without (one compile and run per sample), on
    the same batches of the study's design, alternating batch by batch in this process."""
    design = make_design(loaded.study, max(1, n // max(1, len(design_policies(loaded)))))
    base = base_data(loaded)
    ids = list(range(min(n, design.n_samples)))
    size = loaded.study.batch_size
    evaluate_plans(loaded, base, [design.plan(0), design.plan(1)])  # warm imports and caches
    spent = {True: 0.0, False: 0.0}
    for k, start in enumerate(range(0, len(ids), size)):
        plans = [design.plan(i) for i in ids[start : start + size]]
        order = (True, False) if k % 2 == 0 else (False, True)
        rows = {}
        for batch in order:
            t0 = time.perf_counter()
            rows[batch] = evaluate_plans(loaded, base, plans, batch=batch)
            spent[batch] += time.perf_counter() - t0
        # the two paths must agree (tests/sweep/test_equivalence.py checks it bit for bit)
        assert [r.get("physical_shortage_magnet_t") for r in rows[True]] == [
            r.get("physical_shortage_magnet_t") for r in rows[False]
        ]
    return {
        "samples": len(ids),
        "batch_size": size,
        "per_sample_ms": round(1000 * spent[False] / len(ids), 2),
        "batched_ms": round(1000 * spent[True] / len(ids), 2),
        "per_sample_over_batched": round(spent[False] / spent[True], 2),
    }


def _validation_cost(loaded: Any, n: int) -> dict[str, Any]:
    """Checking a sample's scenario (``build_scenario``) with the bounds check's per-class
    field list cached (as shipped) and recomputed for every object (as before 2026-12-03:
    ``str()`` of each field's annotation), alternating sample by sample."""
    from critmin import bounds

    design = make_design(loaded.study, n)
    base = base_data(loaded)
    cached = bounds._checked_fields
    spent = {"cached": 0.0, "uncached": 0.0}
    for i in range(n):
        data = scenario_data(loaded, base, design.plan(i))
        for label, fn in (("cached", cached), ("uncached", cached.__wrapped__)):
            bounds._checked_fields = fn  # type: ignore[assignment]
            try:
                t0 = time.perf_counter()
                build_scenario(data, f"sample {i}")
                spent[label] += time.perf_counter() - t0
            finally:
                bounds._checked_fields = cached
    return {
        "samples": n,
        "cached_ms": round(1000 * spent["cached"] / n, 2),
        "uncached_ms": round(1000 * spent["uncached"] / n, 2),
    }


def _instrument_split(loaded: Any, n: int) -> dict[str, Any]:
    """Where a with-instruments sample's time goes, in this process with the heap frozen as
    a sweep worker freezes it (``evaluate.freeze_heap_once``): the evaluator per sample, and
    its chains run again with a :class:`~critmin.market.probe.Probe` to split the engine
    into ``Highs.run``, the instruments' lifecycle methods and the rest (LP updates, the
    kept basis, the month loop). Samples 1..n of the study's design."""
    import gc

    from critmin.market.compile import compile_market
    from critmin.market.engine import run_market
    from critmin.market.probe import Probe

    design = make_design(loaded.study, max(n + 1, 2))
    base = base_data(loaded)
    evaluate_plans(loaded, base, [design.plan(0)])  # warm imports and caches
    gc.collect()
    gc.freeze()
    try:
        plans = [design.plan(i) for i in range(1, n + 1)]
        t0 = time.perf_counter()
        evaluate_plans(loaded, base, plans)
        evaluator = time.perf_counter() - t0
        probe = Probe()
        for plan in plans:
            sc = build_scenario(scenario_data(loaded, base, plan), f"sample {plan.sample_id}")
            months, specs = sc.month_labels(), sc.instrument_specs()
            for market in sc.markets:
                shocks = [x for x in sc.shocks if x.mineral in (None, market.mineral)]
                mine = [s.build() for s in specs if s.mineral in (None, market.mineral)]
                run_market(compile_market(market, months, shocks), mine, probe=probe)
    finally:
        gc.unfreeze()

    def ms(seconds: float) -> float:
        return round(1000 * seconds / n, 1)

    return {
        "samples": n,
        "evaluator_ms_per_sample": ms(evaluator),
        "run_market_ms": ms(probe.engine_s),
        "highs_run_ms": ms(probe.highs_run_s),
        "instruments_ms": ms(probe.instruments_s),
        "rest_of_month_loop_ms": ms(probe.engine_s - probe.highs_run_s - probe.instruments_s),
        "solves_per_sample": round((probe.solves + probe.basis_kept) / n, 1),
    }


def design_policies(loaded: Any) -> list[Any]:
    return make_design(loaded.study, 1).policies


def _part(instruments: bool, n: int, n_base: int) -> dict[str, Any]:
    loaded = _study(instruments, n)
    one = _sweep(loaded, n, 1)
    two = _sweep(loaded, n, 2)
    base = _baseline(loaded, n_base)
    return {
        "one_worker": one,
        "two_workers": two,
        "speedup_2_over_1": round(two["samples_per_s"] / one["samples_per_s"], 2),
        "run_study_loop": base,
        # throughput of the 2-worker sweep over the loop's (the loop timed in another phase
        # of the run: on a shared machine the interleaved loop_over_evaluator is the robust one)
        "sweep_2w_vs_loop": round(base["ms_per_sample"] / (1000 / two["samples_per_s"]), 2),
    }


def main() -> dict[str, Any]:
    n = int(os.environ.get("BENCH_SWEEP_SAMPLES", "1000"))
    n_base = int(os.environ.get("BENCH_SWEEP_BASELINE", "40"))
    n_batch = int(os.environ.get("BENCH_SWEEP_BATCH", "120"))
    n_split = int(os.environ.get("BENCH_SWEEP_SPLIT", "20"))
    out: dict[str, Any] = {"cpu_count": os.cpu_count()}
    if n_split:
        out["with_instruments_split"] = _instrument_split(_study(True, 1000), n_split)
    if n_batch:
        out["batch_path"] = {
            "bench_study": _batch_vs_single(_study(False, n_batch), n_batch),
            "managed_market_levers": _batch_vs_single(
                load_study_text(LEVERS.read_text("utf-8"), str(LEVERS), str(LEVERS.parent)),
                n_batch,
            ),
        }
        out["scenario_check"] = _validation_cost(_study(False, n_batch), min(n_batch, 40))
    if os.environ.get("BENCH_SWEEP_CLUSTER", "1") == "0":
        return out
    out["no_instruments"] = _part(False, n, n_base)
    if os.environ.get("BENCH_SWEEP_INSTRUMENTS", "1") != "0":
        out["with_instruments"] = _part(True, max(n // 4, 50), max(n_base // 4, 10))
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
