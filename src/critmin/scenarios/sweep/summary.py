"""``summary.json`` of a sweep, and a sample written back as a scenario file."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import yaml

from critmin import __version__
from critmin.fileio import atomic_write_text
from critmin.scenarios.sweep.discovery import discover
from critmin.scenarios.sweep.driver import SweepRun
from critmin.scenarios.sweep.evaluate import base_data, scenario_data
from critmin.scenarios.sweep.stats import describe
from critmin.scenarios.sweep.study import LoadedStudy

SUMMARY = "summary.json"


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def summarize(loaded: LoadedStudy, run: SweepRun) -> dict[str, Any]:
    """Statistics and the run's bookkeeping (see docs/sweeps.md "Outputs")."""
    study = loaded.study
    n_ok = int((run.table["status"] == "ok").sum())
    timing = {
        "wall_s": run.wall_seconds,
        "engine_s": run.engine_seconds,
        "highs_run_s": run.solver_seconds,
        "evaluator_s": run.sample_seconds,
        "cluster_startup_s": run.startup_seconds,
        "workers": run.workers,
    }
    return _clean(
        {
            "critmin_version": __version__,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "study": study.name,
            "source": loaded.source,
            "study_sha256": loaded.sha256,
            "base": study.base,
            "sampler": study.sampler.kind,
            "seed": study.seed,
            "samples": len(run.table),
            "samples_ok": n_ok,
            "samples_failed": len(run.failed),
            "failed": run.failed,
            "stopped_early": run.stopped_early,
            "batches": {
                "total": run.batches_total,
                "computed": len(run.batches_computed),
                "reused": len(run.batches_reused),
            },
            "inputs": {
                i.name: {
                    "paths": i.paths() or ["shocks (+ named set)"],
                    "op": i.op,
                    "distribution": i.distribution.model_dump(),
                    "source": i.source,
                    "estimate": i.estimate,
                }
                for i in study.uncertainties
            },
            "levers": {lv.name: lv.model_dump(exclude_none=True) for lv in study.levers},
            "timing": timing,
            **describe(run.table, study, run.design),
            **_stockpile_rules(loaded, run),
            "discovery": {
                "skipped": "an enumerate design lists cases with probabilities, not a sample: "
                "see the probability-weighted figures"
            }
            if study.sampler.kind == "enumerate"
            else discover(
                run.table,
                [i.name for i in study.uncertainties],
                [o.name for o in study.outcomes if not o.monthly],
            ),
        }
    )


def _stockpile_rules(loaded: LoadedStudy, run: SweepRun) -> dict[str, Any]:
    """The rules compared on the same scenarios (``stockpile_rules`` studies only)."""
    if loaded.study.stockpile_rules is None:
        return {}
    from critmin.scenarios.sweep.rules import compare_rules

    rules = run.stock_rules  # solved once, by run_sweep
    levers = [lv.name for lv in loaded.study.levers]
    return {"stockpile_rules": compare_rules(run.table, rules, loaded.study.seed, levers)}


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    text = json.dumps(summary, indent=2, allow_nan=False)
    return atomic_write_text(out / SUMMARY, text + "\n")


def sample_scenario_yaml(loaded: LoadedStudy, sample_id: int, n: int | None = None) -> str:
    """The scenario of one sample as a YAML scenario file (``critmin run`` reproduces it)."""
    from critmin.scenarios.sweep.design import make_design
    from critmin.scenarios.sweep.study import prepare_study

    loaded = prepare_study(loaded)  # a stockpile rule's blocks need the solved policy
    design = make_design(loaded.study, n)
    if not 0 <= sample_id < design.n_samples:
        raise ValueError(f"sample id {sample_id} is outside 0..{design.n_samples - 1}")
    plan = design.plan(sample_id)
    data = scenario_data(loaded, base_data(loaded), plan)
    header = (
        f"# sample {sample_id} of study {loaded.study.name!r} ({loaded.source}, "
        f"sha256 {loaded.sha256[:12]}); values: {json.dumps(plan.values)}\n"
    )
    return header + yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k) if isinstance(k, dt.date) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
