"""Benchmark: the seed study through critmin's engine vs a naive per-month LP rebuild.

* naive (the baseline): the same study -- every scenario, market, month, and every instrument
  (FORGE levy iterations, floors, offtakes, stockpile) -- where each solve builds a fresh
  ``highspy.Highs`` element by element with highspy's own modelling API (``addVariable`` per
  column, ``addConstr`` of an expression per row), solves it cold and reads the primal/dual
  vectors back (:class:`NaiveLP`, driven by the same month loop). Timed: compiling the
  scenarios + the months; *not* timed: tidy tables, metrics, comparison (critmin pays those).
* critmin: :func:`critmin.scenarios.runner.run_study` end to end (compile, one LP per chain
  updated month to month with warm starts, tidy results, metrics, comparison with the
  baseline), with the time per phase.

The optimal objective of every solve's final iteration is checked against the naive one.
Run: ``.venv/bin/python -m benchmarks bench_market`` (or ``make bench``).
"""

from __future__ import annotations

import time
from typing import Any

import highspy
import numpy as np

from critmin.market.compile import CompiledMarket, compile_market
from critmin.market.engine import run_market
from critmin.market.lp import ClearingLP, ColumnLayout, ExtraColumn
from critmin.scenarios.loader import LoadedScenario, load_study
from critmin.scenarios.runner import count_months, run_study
from critmin.scenarios.spec import Months

REPEATS = 5


class NaiveLP:
    """Same interface as :class:`critmin.market.lp.ClearingLP`; every ``solve`` rebuilds the
    model from scratch with highspy's modelling API and solves it cold."""

    def __init__(self, cm: CompiledMarket, extras: list[ExtraColumn]) -> None:
        self.cm, self.extras = cm, extras
        self.layout = _layout(cm, extras)
        self.objectives: list[float] = []
        self.solver_seconds = self.highs_seconds = self.update_seconds = 0.0

    def solve(
        self, cost: np.ndarray, upper: np.ndarray, quota_upper: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        cm, lay = self.cm, self.layout
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        x = [
            h.addVariable(
                lb=0.0, ub=float(upper[j]) if np.isfinite(upper[j]) else inf, obj=float(cost[j])
            )
            for j in range(lay.n_cols)
        ]
        terms: list[list[Any]] = [[] for _ in range(cm.n_nodes)]
        origin: list[list[Any]] = [[] for _ in range(cm.n_nodes)]
        for j, n in enumerate(cm.s_node):
            terms[int(n)].append(x[j])
            origin[int(n)].append(-x[j])
        for j, n in enumerate(cm.d_node):
            terms[int(n)].append(-x[lay.d0 + j])
        for j, (a, b) in enumerate(zip(cm.r_from_node, cm.r_to_node, strict=True)):
            terms[int(a)].append(-x[lay.r0 + j])
            terms[int(b)].append(x[lay.r0 + j])
            origin[int(a)].append(x[lay.r0 + j])
        for j, (a, b) in enumerate(zip(cm.k_in_node, cm.k_out_node, strict=True)):
            terms[int(b)].append(x[lay.k0 + j])
            terms[int(a)].append(-float(cm.k_input_t_per_t[j]) * x[lay.k0 + j])
            origin[int(b)].append(-x[lay.k0 + j])
        for j, e in enumerate(self.extras):
            terms[e.node].append(e.sign * x[lay.e0 + j])
            if e.sign > 0:
                origin[e.node].append(-x[lay.e0 + j])
        for n in range(cm.n_nodes):
            h.addConstr(h.qsum(terms[n]) >= 0)
        for q, routes in enumerate(cm.q_routes):
            limit = float(quota_upper[q]) if quota_upper is not None else inf
            h.addConstr(h.qsum([x[lay.r0 + int(r)] for r in routes]) <= limit)
        if not cm.reexport:
            for n in range(cm.n_nodes):
                h.addConstr(h.qsum(origin[n]) <= 0)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError("naive LP not optimal")
        sol = h.getSolution()
        self.objectives.append(float(h.getInfo().objective_function_value))
        return np.array(sol.col_value), np.array(sol.row_dual)[: cm.n_nodes]


def _layout(cm: CompiledMarket, extras: list[ExtraColumn]) -> ColumnLayout:
    return ColumnLayout(
        len(cm.s_node), len(cm.d_node), len(cm.r_from_node), len(cm.k_in_node), len(extras)
    )


class RecordingLP(ClearingLP):
    """critmin's LP recording each solve's objective (verification only, never timed)."""

    def __init__(self, cm: CompiledMarket, extras: list[ExtraColumn]) -> None:
        super().__init__(cm, extras)
        self.objectives: list[float] = []

    def solve(
        self, cost: np.ndarray, upper: np.ndarray, quota_upper: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        out = super().solve(cost, upper, quota_upper)
        self.objectives.append(float(self.highs.getInfo().objective_function_value))
        return out


def _markets(loaded: list[LoadedScenario]) -> list[tuple[CompiledMarket, list[Any]]]:
    out = []
    for ls in loaded:
        sc = ls.scenario
        specs = sc.instrument_specs()
        for m in sc.markets or []:
            cm = compile_market(m, sc.month_labels(), sc.shocks)
            out.append((cm, [s.build() for s in specs if s.mineral in (None, m.mineral)]))
    return out


def _run_all(loaded: list[LoadedScenario], factory: Any) -> list[tuple[Any, Any]]:
    """Compile every market and run it with ``factory``; returns (LP object, run) pairs."""
    lps: list[Any] = []
    runs: list[Any] = []

    def make(cm: CompiledMarket, extras: list[ExtraColumn]) -> Any:
        lps.append(factory(cm, extras))
        return lps[-1]

    for cm, instruments in _markets(loaded):
        runs.append(run_market(cm, instruments, lp_factory=make))
    return list(zip(lps, runs, strict=True))


def _measure(loaded: list[LoadedScenario]) -> dict[str, Any]:
    months = count_months(loaded)
    naive_s: list[float] = []
    crit_s: list[float] = []
    phases: list[dict[str, float]] = []
    for _ in range(REPEATS):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        _run_all(loaded, NaiveLP)
        naive_s.append(time.perf_counter() - t0)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        series, _summary = run_study(loaded, timings=timings)
        crit_s.append(time.perf_counter() - t0)
        phases.append(timings)
    # same solves, same optima: compare the objective of every final iteration
    naive_lps = _run_all(loaded, NaiveLP)
    crit_lps = _run_all(loaded, RecordingLP)
    solves = sum(len(lp.objectives) for lp, _ in crit_lps)
    # the final iteration of each month (iteration counts may differ where duals are degenerate)
    gap = max(
        float(np.max(np.abs(a - b) / (1.0 + np.abs(a))))
        for (n_lp, n_run), (c_lp, c_run) in zip(naive_lps, crit_lps, strict=True)
        for a, b in [
            (
                np.array(n_lp.objectives)[np.cumsum(n_run.iterations) - 1],
                np.array(c_lp.objectives)[np.cumsum(c_run.iterations) - 1],
            )
        ]
    )
    i = int(np.argmin(crit_s))
    best = phases[i]
    total = crit_s[i]
    engine_py = best["engine"] - best["highs_run"] - best["highs_other"] - best["instruments"]
    table = {
        "highs_run": best["highs_run"],
        "highs_other": best["highs_other"],
        "engine_python": engine_py,
        "instruments": best["instruments"],
        "compile": best["compile"],
        "tables": best["tables"],
        "metrics": best["metrics"],
        "comparison": best.get("comparison", 0.0),
    }
    table["unaccounted"] = total - sum(table.values())
    naive_best = min(naive_s)
    return {
        "market_months": months,
        "solves": solves,
        "naive_months_per_s": round(months / naive_best, 1),
        "naive_spread_s": [round(min(naive_s), 4), round(max(naive_s), 4)],
        "critmin_months_per_s": round(months / total, 1),
        "critmin_spread_s": [round(min(crit_s), 4), round(max(crit_s), 4)],
        "ratio": round(naive_best / total, 2),
        "ratio_without_comparison": round(naive_best / (total - table["comparison"]), 2),
        "share_in_highs_run": round(best["highs_run"] / total, 3),
        "share_in_highs_calls": round((best["highs_run"] + best["highs_other"]) / total, 3),
        "engine_share_in_highs_calls": round(
            (best["highs_run"] + best["highs_other"]) / best["engine"], 3
        ),
        "time_ms": {k: round(v * 1e3, 2) for k, v in table.items()},
        "max_rel_objective_gap_naive_vs_critmin": gap,
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
