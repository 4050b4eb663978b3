"""Scenario discovery: which uncertain inputs drive an outcome, and which input ranges make
a policy fail.

*Cases of interest* are the samples whose outcome is at or above a threshold (by default
its 90th percentile: the worst tenth, for outcomes where more is worse - shortages, costs).

* Feature scores, always available (numpy/scipy only):
  - ``ks``: regional sensitivity analysis (Spear & Hornberger 1980, Water Research 14(1),
    doi:10.1016/0043-1354(80)90040-8; reviewed by Pianosi et al. 2016, Environmental
    Modelling & Software 79, doi:10.1016/j.envsoft.2016.02.008): the Kolmogorov-Smirnov
    distance between an input's values in the cases of interest and in the rest (for a
    categorical input, the total-variation distance between its category frequencies).
    0 = the input does not tell the two groups apart, 1 = it separates them fully.
  - ``spearman``: |Spearman rank correlation| between the input and the outcome.
* With the optional ``discovery`` extra (EMA Workbench 2.5.3, ``make discovery``):
  - ``extra_trees``: EMA Workbench's feature scores (``get_ex_feature_scores``,
    extremely randomised trees, Geurts et al. 2006) on the cases of interest;
  - PRIM boxes (Friedman & Fisher 1999) from ``ema_workbench.analysis.prim.Prim``: the
    last box of the peeling trajectory whose density reaches ``threshold``, with its
    limits, coverage and density (Bryant & Lempert 2010 define both).
  EMA Workbench 3.x needs Python >= 3.12; 2.5.3 is the last release for this project's
  Python 3.11. Its pandas-3 deprecation warnings are silenced around the calls only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

#: PRIM's density target for a box (EMA Workbench's usual choice in its tutorials)
PRIM_THRESHOLD = 0.8


def ema_available() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench.analysis.prim  # noqa: F401
    except ImportError:
        return False
    return True


def ks_distance(a: FloatArray, b: FloatArray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b| (0 for an empty group)."""
    if not len(a) or not len(b):
        return 0.0
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def tv_distance(a: pd.Series, b: pd.Series) -> float:
    """Total-variation distance between the category frequencies of two groups."""
    if not len(a) or not len(b):
        return 0.0
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    cats = pa.index.union(pb.index)
    return float(
        0.5 * np.abs(pa.reindex(cats, fill_value=0) - pb.reindex(cats, fill_value=0)).sum()
    )


def cases_of_interest(y: FloatArray, quantile: float = 0.9) -> tuple[npt.NDArray[np.bool_], float]:
    threshold = float(np.quantile(y, quantile))
    hit = y >= threshold
    if hit.all():  # a constant outcome: nothing stands out
        hit = np.zeros_like(hit)
    return hit, threshold


def feature_scores(x: pd.DataFrame, y: FloatArray, quantile: float = 0.9) -> dict[str, Any]:
    """``ks``/``spearman`` (and ``extra_trees`` with EMA Workbench) per input."""
    from scipy.stats import spearmanr

    hit, threshold = cases_of_interest(y, quantile)
    out: dict[str, Any] = {"threshold": threshold, "cases": int(hit.sum()), "inputs": {}}
    for col in x.columns:
        v = x[col]
        if v.dtype in (object, "str") or isinstance(v.dtype, pd.CategoricalDtype):
            ks = tv_distance(v[hit], v[~hit])
            rho = None
        else:
            arr = v.to_numpy(dtype=np.float64)
            ks = ks_distance(arr[hit], arr[~hit])
            rho = None
            if np.ptp(arr) > 0 and np.ptp(y) > 0:
                rho = abs(float(spearmanr(arr, y).statistic))
        out["inputs"][col] = {"ks": ks, "spearman": rho}
    if ema_available() and 0 < hit.sum() < len(hit):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import feature_scoring

            coded = x.apply(
                lambda c: c.astype("category").cat.codes if c.dtype in (object, "str") else c
            )
            scores = feature_scoring.get_ex_feature_scores(
                coded,
                hit.astype(int),
                mode=feature_scoring.RuleInductionType.CLASSIFICATION,
                # EMA's default (0.3 of the inputs, rounded down) is 0 below 4 inputs
                max_features=max(1, round(0.3 * x.shape[1])),
                random_state=0,
            )[0]
        for col in x.columns:
            out["inputs"][col]["extra_trees"] = float(scores.loc[col].iloc[0])
    return out


def prim_box(
    x: pd.DataFrame, y: FloatArray, quantile: float = 0.9, threshold: float = PRIM_THRESHOLD
) -> dict[str, Any]:
    """The PRIM box of the cases of interest (EMA Workbench), or why there is none."""
    if not ema_available():
        return {
            "skipped": "PRIM needs the optional 'discovery' extra (EMA Workbench 2.5.3): "
            "make discovery"
        }
    hit, cut = cases_of_interest(y, quantile)
    if not 0 < hit.sum() < len(hit):
        return {"skipped": "no cases of interest (the outcome does not vary)"}
    frame = x.copy()
    for col in frame.columns:
        if frame[col].dtype in (object, "str"):
            frame[col] = pd.Categorical(frame[col].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        # a target density no box reaches gives EMA's "dump box" (the whole space): step
        # the target down, and say which one was met
        for target in (threshold, 0.65, 0.5):
            box = prim.Prim(frame, hit, threshold=target).find_box()
            if box.res_dim > 0 or box.density >= target:
                break
        if box.res_dim == 0:
            return {
                "skipped": f"no PRIM box restricts an input and reaches a density of {target}",
                "threshold": cut,
                "cases": int(hit.sum()),
            }
        lims = box.box_lim  # EMA's documented accessor of the selected box
        initial = box.box_lims[0]
    limits: dict[str, Any] = {}
    for col in frame.columns:
        lo, hi = lims[col].iloc[0], lims[col].iloc[1]
        if isinstance(lo, set):
            if lo != initial[col].iloc[0]:
                limits[col] = {"in": sorted(str(v) for v in lo)}
        elif lo != initial[col].iloc[0] or hi != initial[col].iloc[1]:
            limits[col] = {"min": float(lo), "max": float(hi)}
    return {
        "threshold": cut,
        "cases": int(hit.sum()),
        "density_target": target,
        "coverage": float(box.coverage),
        "density": float(box.density),
        "mass": float(box.mass),
        "limits": limits,
    }


def discover(table: pd.DataFrame, inputs: list[str], outcomes: list[str]) -> dict[str, Any]:
    """Feature scores and a PRIM box per scalar outcome (over every policy's samples)."""
    ok = table[table["status"] == "ok"]
    if len(ok) < 10 or not inputs:
        return {"skipped": "scenario discovery needs at least 10 samples and one input"}
    x = ok[inputs].reset_index(drop=True)
    out: dict[str, Any] = {"quantile": 0.9, "ema_workbench": ema_available(), "outcomes": {}}
    for name in outcomes:
        y = ok[name].to_numpy(dtype=np.float64)
        try:
            out["outcomes"][name] = {"features": feature_scores(x, y), "prim": prim_box(x, y)}
        except Exception as exc:  # an analysis that fails must not cost the sweep's outputs
            out["outcomes"][name] = {"skipped": f"{type(exc).__name__}: {exc}"}
    return out
