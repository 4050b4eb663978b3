"""Benchmark: critmin's engine vs a naive per-month LP rebuild, on two workloads.

* (A) the seed study of the issue: ``ndpr_baseline`` + ``ndpr_china_ban`` (free trade and the
  China export ban; no instruments), 2 scenarios x 3 chains x 24 months;
* (B) the full default study: A + ``ndpr_managed_market`` (FORGE levy, floors, offtakes,
  stockpile instrument), 3 scenarios x 3 chains x 24 months.

For each, best of 5 with naive and critmin alternating, plus the spread:

* naive (the baseline): the same study -- every scenario, market, month, and every instrument
  (FORGE levy iterations, floors, offtakes, stockpile) -- where each solve builds a fresh
  ``highspy.Highs`` element by element with highspy's own modelling API (``addVariable`` per
  column, ``addConstr`` of an expression per row), solves it cold and reads the primal/dual
  vectors back (:class:`NaiveLP`, driven by the same month loop). Timed: compiling the
  scenarios + the months; *not* timed: tidy tables, metrics, comparison (critmin pays those).
* critmin: :func:`critmin.scenarios.runner.run_study` end to end (compile, one LP per chain
  updated month to month with warm starts, tidy results, metrics, comparison with the
  baseline), with the time per phase; and, as ``same_scope``, critmin over exactly the naive
  side's timed scope (compile + months through :func:`run_market`).

"Inside HiGHS": ``Highs.run()`` alone, and all HiGHS calls of a solve (pushing changed
costs/bounds, ``run``, status, reading the solution), measured around the calls in
:class:`~critmin.market.lp.ClearingLP`; shares are of the wall time of the measured scope.

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


def _phase_table(best: dict[str, float], total: float) -> dict[str, float]:
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
    return table


def _objective_gap(loaded: list[LoadedScenario]) -> tuple[int, float]:
    """(solves, max relative gap) between the naive and critmin objective of every month's
    final solve (iteration counts may differ where duals are degenerate)."""
    naive_lps = _run_all(loaded, NaiveLP)
    crit_lps = _run_all(loaded, RecordingLP)
    solves = sum(len(lp.objectives) for lp, _ in crit_lps)
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
    return solves, gap


def _measure(label: str, loaded: list[LoadedScenario]) -> dict[str, Any]:
    months = count_months(loaded)
    naive_s: list[float] = []
    crit_s: list[float] = []
    phases: list[dict[str, float]] = []
    engine_s: list[tuple[float, float, float]] = []  # (wall, in Highs.run, in any HiGHS call)
    series_rows = 0
    for _ in range(REPEATS):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        _run_all(loaded, NaiveLP)
        naive_s.append(time.perf_counter() - t0)
        # critmin over the naive side's scope: compile + months (no tables, metrics, comparison)
        t0 = time.perf_counter()
        pairs = _run_all(loaded, ClearingLP)
        wall = time.perf_counter() - t0
        engine_s.append(
            (
                wall,
                sum(run.solver_seconds for _, run in pairs),
                sum(run.highs_seconds for _, run in pairs),
            )
        )
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        series, _summary = run_study(loaded, timings=timings)
        crit_s.append(time.perf_counter() - t0)
        phases.append(timings)
        series_rows = len(series)
    solves, gap = _objective_gap(loaded)
    i = int(np.argmin(crit_s))
    best, total = phases[i], crit_s[i]
    table = _phase_table(best, total)
    naive_best = min(naive_s)
    in_highs = best["highs_run"] + best["highs_other"]
    eng = min(engine_s)
    return {
        "workload": label,
        "scenarios": [ls.scenario.name for ls in loaded],
        "market_months": months,
        "solves": solves,
        "naive_months_per_s": round(months / naive_best, 1),
        "naive_spread_s": [round(min(naive_s), 4), round(max(naive_s), 4)],
        "critmin_months_per_s": round(months / total, 1),
        "critmin_spread_s": [round(min(crit_s), 4), round(max(crit_s), 4)],
        "ratio": round(naive_best / total, 2),
        "ratio_range": [round(min(naive_s) / max(crit_s), 1), round(max(naive_s) / total, 1)],
        "share_in_highs_run": round(best["highs_run"] / total, 3),
        "same_scope": {  # compile + months only, as the naive side is timed
            "critmin_months_per_s": round(months / eng[0], 1),
            "ratio": round(naive_best / eng[0], 2),
            "share_in_highs_run": round(eng[1] / eng[0], 3),
            "share_in_highs_calls": round(eng[2] / eng[0], 3),
        },
        "share_in_highs_calls": round(in_highs / total, 3),
        "share_outside_highs": round(1.0 - in_highs / total, 3),
        "engine_share_in_highs_calls": round(in_highs / best["engine"], 3),
        "time_ms": {k: round(v * 1e3, 2) for k, v in table.items()},
        "total_ms": round(total * 1e3, 2),
        "max_rel_objective_gap_naive_vs_critmin": gap,
        "series_rows": series_rows,
    }


#: workload A -- the seed study of the issue: free trade + the China export ban
SEED_STUDY = ("ndpr_baseline", "ndpr_china_ban")


def main() -> dict[str, Any]:
    """(A) the seed study of the issue (free trade + China export ban, no instruments) and
    (B) the full default study (A + the managed market with its instruments), 2026-2027,
    each end to end through :func:`run_study`."""
    seed = load_study(list(SEED_STUDY))
    default = load_study([])
    out: dict[str, Any] = {
        "command": ".venv/bin/python -m benchmarks bench_market",
        "repeats": REPEATS,
        "A_seed_study": _measure("A: seed study (free trade + China export ban)", seed),
        "B_default_study": _measure("B: default study (A + managed market, instruments)", default),
    }
    for key in ("A_seed_study", "B_default_study"):
        r = out[key]
        print(
            f"{r['workload']}: naive {r['naive_months_per_s']} months/s, "
            f"critmin {r['critmin_months_per_s']} months/s, ratio {r['ratio']}x "
            f"(range {r['ratio_range'][0]}-{r['ratio_range'][1]}x), "
            f"in Highs.run {r['share_in_highs_run']:.0%}, "
            f"in any HiGHS call {r['share_in_highs_calls']:.0%}; same scope as naive (compile + "
            f"months): {r['same_scope']['ratio']}x, "
            f"in any HiGHS call {r['same_scope']['share_in_highs_calls']:.0%}",
            flush=True,
        )
    return out


if __name__ == "__main__":
    print(main())
