"""Benchmark: a whole-list study through ``critmin run`` -- wall time and peak memory.

The workload of issue 9's "Scale and speed": one scenario with 60 mineral chains (the size of
the 2025 U.S. critical-minerals list) x 55 regions (the size of FORGE's delegations) x 120
months (2026-01..2035-12), written as an ordinary scenario YAML file and run end to end by the
CLI in a fresh process (compile, solve, tidy table, metrics, series.parquet, summary.json and
report.html). Peak memory is the child process's maximum resident set size
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``).

Each chain is synthetic but shaped like the real ones: an ore product mined in 10 regions, a
refined product made from it (1.1 t ore per t) in 6 regions, demand for the refined product in
40 regions growing 4 % a year with one critical bid each, and default routes between every
pair of regions for both products (2 x 55 x 54 = 5,940 routes a chain). Numbers come from one
seeded generator (``numpy.random.default_rng(SEED)``), so every run solves the same study.

The same synthetic chain over 200 regions and 600 months (one chain, 79,600 routes) is the
issue's "world chain" workload (``--world``).

Run: ``.venv/bin/python -m benchmarks bench_study_scale`` (both workloads, full size) or
``.venv/bin/python benchmarks/bench_study_scale.py --chains 12`` (a smaller study) or
``... --world``; add ``--phases`` for the time and memory of each phase, in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

SEED = 20261203
CHAINS, REGIONS, MONTHS = 60, 55, 120


def study(chains: int, regions: int, months: int) -> dict[str, Any]:
    """The scenario document (see module docstring)."""
    rng = np.random.default_rng(SEED)
    names = [f"R{i:02d}" for i in range(regions)]
    aggregates = {n: f"synthetic region {n}" for n in names}
    end_index = 2026 * 12 + months - 1
    end = f"{end_index // 12:04d}-{end_index % 12 + 1:02d}"
    markets = []
    for c in range(chains):
        ore, refined = f"m{c:02d}_ore", f"m{c:02d}_refined"
        scale = float(rng.uniform(1_000, 50_000))  # t refined a year
        price = float(rng.uniform(5_000, 80_000))  # usd per t refined
        mines = rng.choice(regions, size=min(10, regions), replace=False)
        refiners = rng.choice(regions, size=min(6, regions), replace=False)
        buyers = rng.choice(regions, size=min(40, regions), replace=False)
        mine_share = rng.dirichlet(np.ones(len(mines)))
        refine_share = rng.dirichlet(np.ones(len(refiners)))
        buy_share = rng.dirichlet(np.ones(len(buyers)))
        markets.append(
            {
                "mineral": f"m{c:02d}",
                "products": [
                    {"id": ore, "stage": "mine"},
                    {"id": refined, "stage": "refining"},
                ],
                "regions": names,
                # synthetic codes declared as the market's own aggregates (scenario files
                # are checked against ISO 3166 since issue 11)
                "aggregates": aggregates,
                "base_month": "2026-01",
                "supply": [
                    {
                        "region": names[r],
                        "product": ore,
                        "qty_t_per_year": round(1.3 * scale * float(s), 1),
                        "cost_usd_per_t": round(price * float(rng.uniform(0.2, 0.5)), 1),
                    }
                    for r, s in zip(mines, mine_share, strict=True)
                ],
                "conversions": [
                    {
                        "region": names[r],
                        "input": ore,
                        "output": refined,
                        "input_t_per_t": 1.1,
                        "qty_t_per_year": round(1.2 * scale * float(s), 1),
                        "cost_usd_per_t": round(price * float(rng.uniform(0.1, 0.3)), 1),
                    }
                    for r, s in zip(refiners, refine_share, strict=True)
                ],
                "demand": [
                    {
                        "region": names[r],
                        "product": refined,
                        "qty_t_per_year": round(scale * float(s) * (0.9 if crit else 0.1), 1),
                        "wtp_usd_per_t": round(price * (5.0 if crit else 1.2), 1),
                        "critical": crit,
                        "growth_per_year": 0.04,
                    }
                    for r, s in zip(buyers, buy_share, strict=True)
                    for crit in (False, True)
                ],
                "default_route_cost_usd_per_t": {
                    ore: round(price * 0.02, 1),
                    refined: round(price * 0.01, 1),
                },
            }
        )
    return {
        "name": "scale",
        "description": f"synthetic study, {chains} chains x {regions} regions x {months} months",
        "months": {"start": "2026-01", "end": end},
        "seed": SEED,
        "markets": markets,
    }


def measure(chains: int, regions: int, months: int) -> dict[str, Any]:
    """Write the study, run ``critmin run`` on it in a fresh process; time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="critmin-scale-") as tmp:
        path = Path(tmp) / "scale.yaml"
        path.write_text(yaml.safe_dump(study(chains, regions, months), sort_keys=False))
        exe = Path(sys.executable).with_name("critmin")
        out_path, err_path = Path(tmp) / "stdout.json", Path(tmp) / "stderr.txt"
        t0 = time.perf_counter()
        with out_path.open("w") as out, err_path.open("w") as err:
            proc = subprocess.Popen(
                [str(exe), "run", str(path), "--out", str(Path(tmp) / "out"), "--json"],
                stdout=out,
                stderr=err,
            )
            # this child's own peak (RUSAGE_CHILDREN would be the largest of every child so
            # far: main() runs two workloads in one process)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(err_path.read_text()[-2000:])
        peak_kib = usage.ru_maxrss
        stdout = out_path.read_text()
        series = Path(tmp) / "out" / "series.parquet"
        summary = json.loads(stdout)
        return {
            "chains": chains,
            "regions": regions,
            "months": months,
            "wall_s": round(wall, 2),
            "peak_rss_gib": round(peak_kib / 2**20, 3),
            "series_parquet_mib": round(series.stat().st_size / 2**20, 1),
            "physical_shortage_t_by_product": summary["scenarios"][0]["metrics"][
                "physical_shortage_t_by_product"
            ],
        }


def _rss_gib() -> tuple[float, float]:
    """(resident now, peak so far) of this process, GiB (Linux /proc; peak from getrusage)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    now = pages * resource.getpagesize() / 2**30
    return round(now, 3), round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)


def phases(chains: int, regions: int, months: int) -> dict[str, Any]:
    """The same study in this process, time and memory per phase: load, the runner's own
    phases (``run_study(timings=...)``), series.parquet + summary.json, report.html."""
    from critmin.reports import build_report
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.runner import run_study

    out: dict[str, Any] = {"chains": chains, "regions": regions, "months": months}
    with tempfile.TemporaryDirectory(prefix="critmin-scale-") as tmp:
        path = Path(tmp) / "scale.yaml"
        path.write_text(yaml.safe_dump(study(chains, regions, months), sort_keys=False))
        t0 = time.perf_counter()
        loaded = load_study([str(path)])
        out["load_s"] = round(time.perf_counter() - t0, 2)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        series, summary = run_study(loaded, timings=timings)
        out["run_study_s"] = round(time.perf_counter() - t0, 2)
        out.update({f"{k}_s": round(v, 2) for k, v in timings.items()})
        out["rows"] = len(series)
        out["frame_mib"] = round(series.memory_usage(deep=True).sum() / 2**20, 1)
        out["rss_after_run_gib"], out["peak_after_run_gib"] = _rss_gib()
        t0 = time.perf_counter()
        series.to_parquet(Path(tmp) / "series.parquet", index=False)
        (Path(tmp) / "summary.json").write_text(json.dumps(summary, indent=2))
        out["parquet_json_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        build_report(series, summary, Path(tmp) / "report.html")
        out["report_s"] = round(time.perf_counter() - t0, 2)
        out["report_mib"] = round((Path(tmp) / "report.html").stat().st_size / 2**20, 2)
        out["rss_after_report_gib"], out["peak_after_report_gib"] = _rss_gib()
    return out


#: issue 9's single-chain workload: one chain over 200 regions (a world chain; 2 x 200 x 199
#: = 79,600 routes) and 600 months (2026-01..2075-12), end to end like the study
WORLD = (1, 200, 600)


def main() -> dict[str, Any]:
    return {
        "whole_list": measure(CHAINS, REGIONS, MONTHS),
        "world_chain": measure(*WORLD),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chains", type=int, default=CHAINS)
    ap.add_argument("--regions", type=int, default=REGIONS)
    ap.add_argument("--months", type=int, default=MONTHS)
    ap.add_argument(
        "--phases", action="store_true", help="in this process, time and memory per phase"
    )
    ap.add_argument(
        "--world",
        action="store_true",
        help="the world chain: --chains 1 --regions 200 --months 600",
    )
    args = ap.parse_args()
    size = WORLD if args.world else (args.chains, args.regions, args.months)
    run = phases if args.phases else measure
    print(json.dumps(run(*size), indent=2))
