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
    # resamples in blocks, so memory stays ~8 MB x len(x) / 10,000 whatever the sample size
    per_q: dict[float, list[FloatArray]] = {q: [] for q in QUANTILES}
    for start in range(0, n_boot, 100):
        block = x[rng.integers(0, len(x), size=(min(100, n_boot - start), len(x)))]
        for q in QUANTILES:
            per_q[q].append(np.percentile(block, q, axis=1))
    for q in QUANTILES:
        est = float(np.percentile(x, q))
        bq = np.concatenate(per_q[q])
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


def weighted_percentiles(x: FloatArray, w: FloatArray) -> dict[str, Any]:
    """Expected value and P5/P50/P95 of a discrete distribution (values ``x``, probabilities
    ``w``): the smallest value whose cumulative probability reaches q (the inverse CDF)."""
    keep = np.isfinite(x)
    x, w = x[keep], w[keep]
    out: dict[str, Any] = {"n": len(x)}
    if not len(x):
        return out
    w = w / w.sum()
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order])
    for q in QUANTILES:
        idx = min(int(np.searchsorted(cum, q / 100 - 1e-12, side="left")), len(xs) - 1)
        out[f"p{q:g}"] = float(xs[idx])
    out["mean"] = float(np.dot(w, x))
    out["sd"] = float(np.sqrt(np.dot(w, (x - out["mean"]) ** 2)))
    return out


def monthly_bands(column: pd.Series) -> dict[str, list[float]]:
    """P5/P50/P95 and the mean of a monthly outcome, month by month (index = month of the
    horizon, 0-based)."""
    arrays = [np.asarray(v, dtype=np.float64) for v in column if v is not None and len(v)]
    if not arrays:
        return {}
    stack = np.vstack(arrays)
    out = {f"p{q:g}": np.percentile(stack, q, axis=0).tolist() for q in QUANTILES}
    out["mean"] = stack.mean(axis=0).tolist()
    return out


def describe(table: pd.DataFrame, study: Study, design: Design) -> dict[str, Any]:
    """Per policy and scalar outcome: percentiles, convergence; and sensitivity indices.

    An ``enumerate`` design is a discrete distribution: probability-weighted percentiles and
    expected value, and for a disruption study each event's probability x impact."""
    ok = table[table["status"] == "ok"]
    out: dict[str, Any] = {"policies": []}
    weighted = study.sampler.kind == "enumerate"
    for p, policy in enumerate(design.policies):
        rows = ok[ok["policy_id"] == p]
        entry: dict[str, Any] = {"policy_id": p, "levers": policy, "outcomes": {}}
        for name in scalar_outcomes(study):
            x = rows[name].to_numpy(dtype=np.float64)
            if weighted:
                w = rows["weight"].to_numpy(dtype=np.float64)
                entry["outcomes"][name] = weighted_percentiles(x, w)
                continue
            entry["outcomes"][name] = {
                **percentiles(x, study.seed),
                "convergence": running_mean(x),
            }
        monthly = [o.name for o in study.outcomes if o.monthly]
        if monthly:
            entry["monthly"] = {name: monthly_bands(rows[name]) for name in monthly}
        if weighted and study.disruptions is not None:
            entry["disruptions"] = disruption_impacts(table[table["policy_id"] == p], study)
        out["policies"].append(entry)
    out["sensitivity"] = sensitivity(table, study, design)
    return out


def disruption_impacts(rows: pd.DataFrame, study: Study) -> dict[str, Any]:
    """Per event: probability, outcome, impact = outcome - outcome without disruption, and
    probability x impact; per outcome the expected impact (their sum). Needs the disruption
    to be the design's only input (else impacts would mix with the other inputs)."""
    from critmin.scenarios.sweep.usgs import NONE

    d = study.disruptions
    assert d is not None
    if len(study.sampled_inputs()) != 1:
        return {"skipped": "impacts need the disruption to be the only sampled input"}
    names = scalar_outcomes(study)
    none = rows[rows[d.name] == NONE]
    if none.empty or none["status"].iloc[0] != "ok":
        return {"skipped": "the run without disruption failed"}
    ref = {n: float(none[n].iloc[0]) for n in names}
    events: list[dict[str, Any]] = []
    expected = dict.fromkeys(names, 0.0)
    for row in rows.to_dict("records"):
        event = str(row[d.name])
        if event == NONE:
            continue
        p = float(row["weight"])
        item: dict[str, Any] = {"event": event, "probability": p, "status": str(row["status"])}
        for n in names:
            value = float(row[n])
            impact = value - ref[n]
            item[n] = {"outcome": value, "impact": impact, "p_x_impact": p * impact}
            if np.isfinite(impact):
                expected[n] += p * impact
        events.append(item)
    return {"baseline": ref, "expected_impact": expected, "events": events}


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
