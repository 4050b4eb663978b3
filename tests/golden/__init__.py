"""Golden results of the built-in and example markets: compiled arrays and solved series.

What is stored (one compressed ``.npz`` per case under ``tests/golden/``): for every market of
every scenario of the case, the arrays :func:`~critmin.market.compile.compile_market` resolves
(capacities, bids, tariffs, route bounds, quota limits, node numbering) and the series
:func:`~critmin.market.engine.run_market` solves (prices, supply, demand, flows, conversions,
wedges, instrument columns, iterations) and every instrument's report (series rows and headline
metrics). ``tests/market/test_golden.py`` recomputes them and
compares: compiled arrays exactly, solved series to a tight tolerance (they are HiGHS's optima:
a different HiGHS build may move the last bits).

These replace the old-versus-new equivalence tests that pinned code which no longer exists
(a frozen copy of an older compile, the batched-versus-iterative month loop): a change that
moves a result fails here whatever code produced it.

When a change of results is intended, regenerate and commit the files with the reason::

    .venv/bin/python -m tests.golden --update

and ``.venv/bin/python -m tests.golden`` (no flag) prints how far today's results are from the
stored ones without writing anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.market.compile import CompiledMarket, compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.scenarios.loader import LoadedScenario, load_scenario
from critmin.scenarios.spec import Months

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples" / "scenarios"

#: compiled fields compared exactly (same dtype, shape and values)
COMPILED = (
    "months",
    "node_region",
    "node_product",
    "s_node",
    "s_cost",
    "s_cap",
    "d_node",
    "d_wtp",
    "d_qty",
    "d_critical",
    "k_in_node",
    "k_out_node",
    "k_input_t_per_t",
    "k_cost",
    "k_cap",
    "r_from_node",
    "r_to_node",
    "r_transport",
    "r_specific",
    "r_ad_valorem",
    "r_upper",
    "q_upper",
)
#: solved fields compared to :data:`RTOL` / :data:`ATOL`
SOLVED = (
    "price",
    "supply",
    "demand",
    "flow",
    "conversion",
    "tariff_wedge",
    "instrument_wedge",
    "s_cap",
    "d_qty",
    "extra",
    "extra_qty",
)
#: solved fields compared exactly (iteration counts, convergence flags)
SOLVED_EXACT = ("iterations", "converged")
#: instrument report fields (rows and headline metrics), values compared to the tolerance
REPORT_VALUES = ("row_values", "metric_values")
RTOL = 1e-9
ATOL = 1e-6  # t and usd_per_t: far below any figure a user reads


def cases() -> dict[str, list[LoadedScenario]]:
    """Case name -> the scenarios it runs (built-ins, the seed study over ten years, examples)."""
    out: dict[str, list[LoadedScenario]] = {}
    for name in ("ndpr_baseline", "ndpr_china_ban", "ndpr_managed_market"):
        out[f"builtin_{name}"] = [load_scenario(name)]
    ten = Months(start="2026-01", end="2035-12")
    out["seed_study_2026_2035"] = [
        dataclasses.replace(ls, scenario=ls.scenario.model_copy(update={"months": ten}))
        for ls in (load_scenario("ndpr_baseline"), load_scenario("ndpr_china_ban"))
    ]
    for path in sorted(EXAMPLES.glob("*.yaml")):
        out[f"example_{path.stem}"] = [load_scenario(str(path))]
    # a scenario written for these tests: every kind compile_market resolves, in two markets
    for path in sorted((HERE / "cases").glob("*.yaml")):
        out[f"case_{path.stem}"] = [load_scenario(str(path))]
    # the FORGE levy's variants of bound, damping, window and membership on a small market
    levy = HERE / "cases" / "levy"
    out["case_levy"] = [load_scenario(str(p)) for p in sorted(levy.glob("*.yaml"))]
    return out


def solve_case(loaded: list[LoadedScenario]) -> Iterator[tuple[str, CompiledMarket, MarketRun]]:
    """``(key, compiled, run)`` of every market of every scenario, key ``scenario/i_mineral``."""
    for ls in loaded:
        sc = ls.scenario
        specs = sc.instrument_specs()
        for i, market in enumerate(sc.markets or []):
            cm = compile_market(market, sc.month_labels(), sc.shocks)
            instruments = [s.build() for s in specs if s.mineral in (None, market.mineral)]
            yield f"{sc.name}/{i}_{market.mineral}", cm, run_market(cm, instruments)


def arrays(loaded: list[LoadedScenario]) -> dict[str, npt.NDArray[Any]]:
    """Every stored array of a case, keyed ``scenario/i_mineral/{compiled,solved}/field``."""
    out: dict[str, npt.NDArray[Any]] = {}
    for key, cm, run in solve_case(loaded):
        for name in COMPILED:
            out[f"{key}/compiled/{name}"] = np.asarray(getattr(cm, name))
        for name in SOLVED + SOLVED_EXACT:
            out[f"{key}/solved/{name}"] = np.asarray(getattr(run, name))
        for i, (inst, report) in enumerate(run.reports):
            where = f"{key}/report/{i}_{inst}"
            rows = report.rows
            out[f"{where}/row_labels"] = np.array(
                [f"{r.month}|{r.product}|{r.region}|{r.variable}|{r.unit}" for r in rows], dtype=str
            )
            out[f"{where}/row_values"] = np.array([r.value for r in rows], dtype=float)
            out[f"{where}/metric_names"] = np.array(list(report.metrics), dtype=str)
            out[f"{where}/metric_values"] = np.array(list(report.metrics.values()), dtype=float)
    return out


def path_of(case: str) -> Path:
    return HERE / f"{case}.npz"


def differences(case: str, now: dict[str, npt.NDArray[Any]]) -> list[str]:
    """What differs between ``now`` and the stored golden file of ``case`` (empty = same)."""
    with np.load(path_of(case)) as stored:
        old = {k: stored[k] for k in stored.files}
    problems = []
    for key in sorted(set(old) | set(now)):
        if key not in old or key not in now:
            problems.append(f"{key}: {'new' if key in now else 'missing'}")
            continue
        a, b = old[key], now[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: {a.dtype}{a.shape} stored, {b.dtype}{b.shape} now")
        elif key.rsplit("/", 1)[1] in (*SOLVED, *REPORT_VALUES) and "/compiled/" not in key:
            if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
                worst = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
                problems.append(f"{key}: differs by up to {worst:.3g}")
        elif not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            problems.append(f"{key}: not identical")
    return problems


def max_abs_difference(case: str, now: dict[str, npt.NDArray[Any]]) -> float:
    """Largest absolute difference of any stored value (0.0 = bit for bit the same)."""
    worst = 0.0
    with np.load(path_of(case)) as stored:
        for key in stored.files:
            if stored[key].dtype.kind not in "fiub":
                continue  # labels: compared exactly by differences()
            a, b = stored[key].astype(float), now[key].astype(float)
            if a.shape != b.shape:
                return float("inf")
            # equal values (also +-inf) and NaN beside NaN count as no difference
            moved = (a != b) & ~(np.isnan(a) & np.isnan(b))
            if moved.any():
                worst = max(worst, float(np.max(np.abs(a[moved] - b[moved]))))
    return worst
