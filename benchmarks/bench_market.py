"""Benchmark: the seed study through critmin's engine vs a naive per-month LP rebuild.

* naive (the baseline): for every market and month, a fresh ``highspy.Highs`` is filled
  element by element with highspy's own modelling API (``addVariable`` per column,
  ``addConstr`` of an expression per node row) from the same compiled data, as a
  straightforward implementation would, solved cold, and its primal/dual vectors read back.
* naive_lowlevel (for reference): the same rebuild with the low-level ``addCol``/``addRow``.
* critmin: :func:`critmin.scenarios.runner.run_study` (compile, one LP per chain updated
  month to month with warm starts, tidy results and metrics).

Both see the same scenarios and months; the naive prices are checked against critmin's.
Run: ``.venv/bin/python -m benchmarks bench_market`` (or ``make bench``).
"""

from __future__ import annotations

import time
from typing import Any

import highspy
import numpy as np

from critmin.market.compile import CompiledMarket, compile_market
from critmin.scenarios.loader import LoadedScenario, load_study
from critmin.scenarios.runner import run_study
from critmin.scenarios.spec import Months

REPEATS = 3


def naive_month_modelling(cm: CompiledMarket, t: int) -> float:
    """Month ``t`` with highspy's modelling API, from scratch; returns the objective."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    terms: list[list[Any]] = [[] for _ in range(cm.n_nodes)]
    out_terms: list[list[Any]] = [[] for _ in range(cm.n_nodes)]
    own_terms: list[list[Any]] = [[] for _ in range(cm.n_nodes)]
    for j in range(len(cm.s_node)):
        x = h.addVariable(lb=0.0, ub=float(cm.s_cap[t, j]), obj=float(cm.s_cost[j]))
        terms[int(cm.s_node[j])].append(x)
        own_terms[int(cm.s_node[j])].append(x)
    for j in range(len(cm.d_node)):
        y = h.addVariable(lb=0.0, ub=float(cm.d_qty[t, j]), obj=-float(cm.d_wtp[j]))
        terms[int(cm.d_node[j])].append(-y)
    for j in range(len(cm.r_from_node)):
        upper = float(cm.r_upper[t, j]) if np.isfinite(cm.r_upper[t, j]) else inf
        f = h.addVariable(lb=0.0, ub=upper, obj=float(cm.r_transport[j] + cm.r_specific[t, j]))
        terms[int(cm.r_from_node[j])].append(-f)
        terms[int(cm.r_to_node[j])].append(f)
        out_terms[int(cm.r_from_node[j])].append(f)
    for j in range(len(cm.k_in_node)):
        z = h.addVariable(lb=0.0, ub=float(cm.k_cap[t, j]), obj=float(cm.k_cost[j]))
        terms[int(cm.k_out_node[j])].append(z)
        terms[int(cm.k_in_node[j])].append(-float(cm.k_input_t_per_t[j]) * z)
        own_terms[int(cm.k_out_node[j])].append(z)
    for n in range(cm.n_nodes):
        h.addConstr(h.qsum(terms[n]) >= 0)
    if not cm.reexport:
        for n in range(cm.n_nodes):
            if out_terms[n]:
                h.addConstr(h.qsum(out_terms[n]) - h.qsum(own_terms[n]) <= 0)
    h.run()
    sol = h.getSolution()
    _ = (list(sol.col_value), list(sol.row_dual))
    return float(h.getInfo().objective_function_value)


def critmin_objective(run: Any) -> np.ndarray:
    """Objective per month from critmin's solution arrays (cost - willingness to pay)."""
    cm = run.cm
    return (
        run.supply @ cm.s_cost
        - run.demand @ cm.d_wtp
        + (run.flow * (cm.r_transport + cm.r_specific)).sum(axis=1)
        + run.conversion @ cm.k_cost
    )


def naive_month(cm: CompiledMarket, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Build and solve month ``t`` from scratch, element by element; (col_value, prices)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    entries: list[list[tuple[int, float]]] = [[] for _ in range(cm.n_nodes)]
    col = 0

    def add(cost: float, upper: float, coefs: list[tuple[int, float]]) -> None:
        nonlocal col
        h.addCol(cost, 0.0, upper, 0, [], [])
        for row, value in coefs:
            entries[row].append((col, value))
        col += 1

    for j in range(len(cm.s_node)):
        add(float(cm.s_cost[j]), float(cm.s_cap[t, j]), [(int(cm.s_node[j]), 1.0)])
    for j in range(len(cm.d_node)):
        add(-float(cm.d_wtp[j]), float(cm.d_qty[t, j]), [(int(cm.d_node[j]), -1.0)])
    for j in range(len(cm.r_from_node)):
        cost = float(cm.r_transport[j] + cm.r_specific[t, j])
        upper = float(cm.r_upper[t, j]) if np.isfinite(cm.r_upper[t, j]) else inf
        add(cost, upper, [(int(cm.r_from_node[j]), -1.0), (int(cm.r_to_node[j]), 1.0)])
    for j in range(len(cm.k_in_node)):
        coefs = [
            (int(cm.k_out_node[j]), 1.0),
            (int(cm.k_in_node[j]), -float(cm.k_input_t_per_t[j])),
        ]
        add(float(cm.k_cost[j]), float(cm.k_cap[t, j]), coefs)
    for row in entries:
        idx = np.array([c for c, _ in row], dtype=np.int32)
        val = np.array([v for _, v in row], dtype=np.float64)
        h.addRow(0.0, inf, len(idx), idx, val)
    if not cm.reexport:  # rules of origin rows, as critmin builds them
        for n in range(cm.n_nodes):
            coefs: list[tuple[int, float]] = []
            base_r = len(cm.s_node) + len(cm.d_node)
            base_k = base_r + len(cm.r_from_node)
            coefs += [(base_r + j, 1.0) for j in np.flatnonzero(cm.r_from_node == n)]
            coefs += [(j, -1.0) for j in np.flatnonzero(cm.s_node == n)]
            coefs += [(base_k + j, -1.0) for j in np.flatnonzero(cm.k_out_node == n)]
            idx = np.array([c for c, _ in coefs], dtype=np.int32)
            val = np.array([v for _, v in coefs], dtype=np.float64)
            h.addRow(-inf, 0.0, len(idx), idx, val)
    h.run()
    sol = h.getSolution()
    return np.array(sol.col_value), np.array(sol.row_dual)[: cm.n_nodes]


def _measure(loaded: list[LoadedScenario]) -> dict[str, Any]:
    compiled = [
        compile_market(m, ls.scenario.month_labels(), ls.scenario.shocks)
        for ls in loaded
        for m in ls.scenario.markets or []
    ]
    months = sum(len(cm.months) for cm in compiled)

    naive_s, low_s = [], []
    naive_obj: list[np.ndarray] = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        naive_obj = [
            np.array([naive_month_modelling(cm, t) for t in range(len(cm.months))])
            for cm in compiled
        ]
        naive_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for cm in compiled:
            for t in range(len(cm.months)):
                naive_month(cm, t)
        low_s.append(time.perf_counter() - t0)

    crit_s, solver_s, highs_s, engine_s = [], [], [], []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        series, _summary = run_study(loaded)
        crit_s.append(time.perf_counter() - t0)
    # solver share from an instrumented run of the engine alone (same LPs)
    from critmin.market.engine import run_market

    runs = []
    for _ in range(REPEATS):
        runs = [run_market(cm) for cm in compiled]
        solver_s.append(sum(r.solver_seconds for r in runs))
        highs_s.append(sum(r.highs_seconds for r in runs))
        engine_s.append(sum(r.total_seconds for r in runs))
    # prices can differ where duals are degenerate; the optimal objective cannot
    max_gap = max(
        float(np.abs(critmin_objective(r) - o).max() / (1.0 + np.abs(o).max()))
        for r, o in zip(runs, naive_obj, strict=True)
    )
    naive_best, crit_best, low_best = min(naive_s), min(crit_s), min(low_s)
    i = int(np.argmin(engine_s))
    return {
        "market_months": months,
        "naive_months_per_s": round(months / naive_best, 1),
        "naive_lowlevel_months_per_s": round(months / low_best, 1),
        "critmin_months_per_s": round(months / crit_best, 1),
        "ratio": round(naive_best / crit_best, 1),
        "ratio_vs_lowlevel": round(low_best / crit_best, 1),
        "critmin_engine_months_per_s": round(months / engine_s[i], 1),
        "engine_share_in_highs_run": round(solver_s[i] / engine_s[i], 3),
        "engine_share_in_highs_calls": round(highs_s[i] / engine_s[i], 3),
        "end_to_end_share_in_highs_calls": round(highs_s[i] / crit_best, 3),
        "max_rel_objective_gap_naive_vs_critmin": max_gap,
        "series_rows": len(series),
    }


def main() -> dict[str, Any]:
    """The seed study as shipped (2 scenarios x 24 months x 3 chains), then the same
    scenarios over the default horizon 2026-01..2035-12 (fixed costs amortised)."""
    loaded = load_study([])
    horizon = [
        LoadedScenario(
            ls.scenario.model_copy(update={"months": Months(start="2026-01", end="2035-12")}),
            ls.source,
            ls.inputs,
        )
        for ls in loaded
    ]
    return {
        "command": ".venv/bin/python -m benchmarks bench_market",
        "repeats": REPEATS,
        "seed_study": _measure(loaded),
        "seed_study_2026_2035": _measure(horizon),
    }


if __name__ == "__main__":
    print(main())
