"""Statistics of a sweep table: percentiles with bootstrap intervals, running means,
relative standard errors, and Sobol'/Morris indices through SALib.

* Percentiles P5/P50/P95 (numpy's default linear interpolation) with a 95 % percentile
  bootstrap interval (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13):
  ``n_boot`` resamples drawn from ``SeedSequence(seed, spawn_key=(2,))``.
* Running mean in sample-id order (the order of the design, not of completion), with its
  standard error, so the convergence curve is the same however the work was spread.
* Relative standard error of the mean = ``sd / (sqrt(n) |mean|)`` (``inf`` for a zero mean
  with spread, 0 for a constant outcome).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.scenarios.sweep.design import Design, salib_problem
from critmin.scenarios.sweep.study import Study

FloatArray = npt.NDArray[np.float64]
QUANTILES = (5.0, 50.0, 95.0)


def relative_standard_error(x: FloatArray) -> float:
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return float("inf")
    sd = float(np.std(x, ddof=1))
    mean = abs(float(np.mean(x)))
    if sd == 0.0:
        return 0.0
    return sd / (np.sqrt(len(x)) * mean) if mean > 0 else float("inf")


def percentiles(x: FloatArray, seed: int, n_boot: int = 1000) -> dict[str, Any]:
    """P5/P50/P95 with 95 % bootstrap intervals, mean and its standard error."""
    x = x[np.isfinite(x)]
    out: dict[str, Any] = {"n": len(x)}
    if not len(x):
        return out
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    boots = x[rng.integers(0, len(x), size=(n_boot, len(x)))]
    for q in QUANTILES:
        est = float(np.percentile(x, q))
        bq = np.percentile(boots, q, axis=1)
        out[f"p{q:g}"] = est
        out[f"p{q:g}_ci95"] = [float(np.percentile(bq, 2.5)), float(np.percentile(bq, 97.5))]
    out["mean"] = float(x.mean())
    out["se_mean"] = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
    out["rse"] = relative_standard_error(x) if len(x) > 1 else None
    return out


def running_mean(x: FloatArray, points: int = 50) -> dict[str, list[float]]:
    """Mean and standard error of the first n samples at up to ``points`` values of n."""
    x = x[np.isfinite(x)]
    if not len(x):
        return {"n": [], "mean": [], "se": []}
    ns = np.unique(np.linspace(1, len(x), min(points, len(x))).round().astype(int))
    csum, csq = np.cumsum(x), np.cumsum(x * x)
    means = csum[ns - 1] / ns
    var = np.where(ns > 1, (csq[ns - 1] - ns * means**2) / np.maximum(ns - 1, 1), 0.0)
    se = np.sqrt(np.maximum(var, 0.0) / ns)
    return {"n": ns.tolist(), "mean": means.tolist(), "se": se.tolist()}


def scalar_outcomes(study: Study) -> list[str]:
    return [o.name for o in study.outcomes if not o.monthly]


def describe(table: pd.DataFrame, study: Study, design: Design) -> dict[str, Any]:
    """Per policy and scalar outcome: percentiles, convergence; and sensitivity indices."""
    ok = table[table["status"] == "ok"]
    out: dict[str, Any] = {"policies": []}
    for p, policy in enumerate(design.policies):
        rows = ok[ok["policy_id"] == p]
        entry: dict[str, Any] = {"policy_id": p, "levers": policy, "outcomes": {}}
        for name in scalar_outcomes(study):
            x = rows[name].to_numpy(dtype=np.float64)
            entry["outcomes"][name] = {
                **percentiles(x, study.seed),
                "convergence": running_mean(x),
            }
        out["policies"].append(entry)
    out["sensitivity"] = sensitivity(table, study, design)
    return out


def sensitivity(table: pd.DataFrame, study: Study, design: Design) -> dict[str, Any]:
    """Sobol' (S1, ST) or Morris (mu*, sigma) indices per policy and scalar outcome."""
    kind = study.sampler.kind
    if kind not in ("sobol", "morris"):
        return {}
    problem = salib_problem(design.names)
    res: dict[str, Any] = {"method": kind, "inputs": design.names, "policies": []}
    for p in range(len(design.policies)):
        rows = table[table["policy_id"] == p].sort_values("scenario_id")
        entry: dict[str, Any] = {"policy_id": p, "outcomes": {}}
        for name in scalar_outcomes(study):
            y = rows[name].to_numpy(dtype=np.float64)
            if len(y) != design.n_scenarios or not np.isfinite(y).all():
                entry["outcomes"][name] = {"skipped": "failed or missing samples"}
                continue
            if np.ptp(y) == 0.0:
                entry["outcomes"][name] = {"skipped": "the outcome does not vary"}
                continue
            entry["outcomes"][name] = _indices(kind, problem, design, y, study)
        res["policies"].append(entry)
    return res


def _indices(
    kind: str, problem: dict[str, Any], design: Design, y: FloatArray, study: Study
) -> dict[str, Any]:
    if kind == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(problem, y, calc_second_order=False, seed=study.seed)
        return {k: np.asarray(si[k]).tolist() for k in ("S1", "S1_conf", "ST", "ST_conf")}
    from SALib.analyze import morris

    si = morris.analyze(problem, design.unit, y, num_levels=study.sampler.levels, seed=study.seed)
    return {k: np.asarray(si[k]).tolist() for k in ("mu_star", "mu_star_conf", "sigma")}
