"""The evaluator: one sample's values -> its scenario -> the market runs -> its outcomes.

This is the only module of the sweep that touches the engine, so that moving to a faster
path (the engine's batch re-solve of one compiled chain) changes one place. Today a sample
is evaluated the way ``critmin run`` evaluates a scenario (:func:`run_scenario`'s steps:
``compile_market`` per chain, the scenario's instruments built, ``run_market``), without the
tidy tables that a sweep does not need; the outcomes are read from the same
``node_table`` / ``scenario_metrics`` as ``summary.json``. Hence a sample equals the
deterministic run of the scenario with its sampled values written into it, bit for bit
(tests/sweep/test_equivalence.py).
"""

from __future__ import annotations

import copy
import os
import pickle
import signal
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter, ValidationError

from critmin.errors import CritminError, InputError
from critmin.market.spec import Shock
from critmin.scenarios.sweep.paths import apply, find, parse_path, remove
from critmin.scenarios.sweep.study import LoadedStudy, Outcome, Study
from critmin.yamlio import dotted

FloatArray = npt.NDArray[np.float64]

#: value of an outcome that a failed sample could not produce
MISSING = float("nan")


@dataclass(frozen=True)
class SamplePlan:
    """What a worker needs for one sample: its ids, its seed and its input values."""

    sample_id: int
    scenario_id: int
    policy_id: int
    seed: int
    values: dict[str, float | str]
    weight: float = 1.0


def base_data(loaded: LoadedStudy) -> dict[str, Any]:
    """The base scenario as written (``base`` resolved, the scenario's ``reform`` not yet
    folded into its instruments), with the study's ``months``; a plain dict."""
    from pathlib import Path

    from critmin.scenarios.loader import load_scenario

    study = loaded.study
    # the loader folds a reform into the instruments only for the top scenario; loading the
    # base as if it were inherited leaves that to build_scenario, after the sample's values
    # (which may change the reform) are written
    ref = study.base
    anchor = Path(loaded.base_dir) / "study.yaml"
    base = load_scenario(ref, ("<sweep>",), None if ref.startswith("builtin:") else anchor)
    data = base.scenario.model_dump(by_alias=True, exclude_none=True, mode="python")
    if study.months:
        months = dict(data.get("months") or {"start": "2026-01", "end": "2035-12"})
        months.update(study.months)
        data["months"] = months
    return data


_SHOCK = TypeAdapter(Shock)


def check_shock_set(
    data: dict[str, Any], shocks: Sequence[dict[str, Any]]
) -> tuple[int, str] | None:
    """``(index, message)`` of the first shock of a set that is not valid for the base."""
    markets = data.get("markets") or []
    regions = {r for m in markets for r in _regions(m)}
    products = {p for m in markets for p in _products(m)}
    minerals = {m["mineral"] for m in markets}
    for i, raw in enumerate(shocks):
        if isinstance(raw, dict) and raw.get("kind") == "export_quota":
            # an export cap (a market's export_quotas entry) carried in a shock set
            problem = _quota_problem(raw, regions, products, minerals)
            if problem is not None:
                return i, problem
            continue
        try:
            shock = _SHOCK.validate_python(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            return i, f"{dotted(err['loc'])}: {err['msg']}"
        if shock.mineral is not None and shock.mineral not in minerals:
            return i, f"unknown market {shock.mineral!r}; expected one of {sorted(minerals)}"
        prods = getattr(shock, "product", None)
        for p in [prods] if isinstance(prods, str) else prods or []:
            if p not in products:
                return i, f"unknown product {p!r}; expected one of {sorted(products)}"
        for field in ("region", "exporter"):
            reg = getattr(shock, field, None)
            if reg is not None and reg not in regions:
                return i, f"unknown region {reg!r}; expected one of {sorted(regions)}"
    return None


def _quota_problem(
    raw: dict[str, Any], regions: set[str], products: set[str], minerals: set[str]
) -> str | None:
    """What is wrong with an export cap carried in a shock set, or None."""
    from critmin.market.spec import ExportQuota

    fields = {k: v for k, v in raw.items() if k not in ("kind", "mineral")}
    mineral = raw.get("mineral")
    if mineral is not None and mineral not in minerals:
        return f"unknown market {mineral!r}; expected one of {sorted(minerals)}"
    try:
        quota = ExportQuota.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        return f"{dotted(err['loc'])}: {err['msg']}"
    if quota.exporter not in regions:
        return f"unknown region {quota.exporter!r}; expected one of {sorted(regions)}"
    if quota.product is not None and quota.product not in products:
        return f"unknown product {quota.product!r}; expected one of {sorted(products)}"
    return None


def _regions(market: dict[str, Any]) -> list[str]:
    from critmin.market.spec import Market

    return Market.model_validate(market).region_list()


def _products(market: dict[str, Any]) -> list[str]:
    from critmin.market.spec import Market

    return Market.model_validate(market).product_ids()


def _as_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def outcome_nodes_error(data: dict[str, Any], outcome: Outcome) -> tuple[str, str] | None:
    """``(field, message)`` when an outcome names a market, product or region the base
    scenario does not have."""
    if outcome.variable is None:
        return None
    markets = [m for m in data.get("markets") or [] if outcome.mineral in (None, m["mineral"])]
    if not markets:
        names = [m["mineral"] for m in data.get("markets") or []]
        return "mineral", f"unknown market {outcome.mineral!r}; expected one of {names}"
    products = {p for m in markets for p in _products(m)}
    regions = {r for m in markets for r in _regions(m)}
    for p in _as_list(outcome.product) or []:
        if p not in products:
            return "product", f"unknown product {p!r}; expected one of {sorted(products)}"
    for r in _as_list(outcome.region) or []:
        if r not in regions:
            return "region", f"unknown region {r!r}; expected one of {sorted(regions)}"
    return None


def scenario_data(loaded: LoadedStudy, base: dict[str, Any], plan: SamplePlan) -> dict[str, Any]:
    """The sample's scenario as a dict: the base with every value written in."""
    study = loaded.study
    # a pickle round trip copies the nested plain data ~4x faster than copy.deepcopy
    data: dict[str, Any] = pickle.loads(pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL))
    data["name"] = f"{study.name}__sample_{plan.sample_id}"
    data["seed"] = plan.seed
    inputs = {i.name: i for i in study.sampled_inputs()}
    added: list[dict[str, Any]] = []
    for lever in study.grid_levers():
        inputs[lever.name] = lever.as_input()
    for name, value in plan.values.items():
        item = inputs[name]
        for path in item.unset:
            remove(data, parse_path(path))
        if isinstance(value, str):  # a categorical choice among named shock sets
            added.extend(copy.deepcopy(study.shock_sets[value]))
            continue
        for steps in item.steps():
            apply(data, steps, item.op, float(value))
    add_shock_set(data, added)
    return data


def add_shock_set(data: dict[str, Any], added: Sequence[dict[str, Any]]) -> None:
    """Add a shock set's items to a scenario dict (in place): shocks to ``shocks``, the
    ``export_quota`` items (export caps) to their market's ``export_quotas``."""
    shocks = [x for x in added if x.get("kind") != "export_quota"]
    for quota in (x for x in added if x.get("kind") == "export_quota"):
        cap = {k: v for k, v in quota.items() if k not in ("kind", "mineral")}
        for market in data.get("markets") or []:
            if quota.get("mineral") in (None, market["mineral"]):
                market["export_quotas"] = [*market.get("export_quotas", []), cap]
    if shocks:
        data["shocks"] = [*data.get("shocks", []), *shocks]


def build_scenario(data: dict[str, Any], where: str) -> Any:
    """A validated :class:`~critmin.scenarios.spec.Scenario` from a sample's dict, its reform
    folded into its instruments as the loader does."""
    from critmin.scenarios.loader import _apply_reform
    from critmin.scenarios.spec import Scenario

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"{dotted(err['loc'])}: {err['msg']}", where=where) from None
    if scenario.reform:
        instruments = _apply_reform(scenario.reform, scenario.instruments, where)
        scenario = scenario.model_copy(update={"instruments": instruments})
    return scenario


@dataclass
class Evaluation:
    """Outcomes of one sample (scalars and monthly arrays) and the engine's own seconds."""

    outcomes: dict[str, float | FloatArray]
    engine_seconds: float
    solver_seconds: float


def run_sample(study: Study, scenario: Any) -> Evaluation:
    """Solve every market of ``scenario`` and read the study's outcomes from the runs."""
    from critmin.market.compile import compile_market
    from critmin.market.engine import run_market
    from critmin.market.probe import Probe

    t0 = time.perf_counter()
    probe = Probe()
    months = scenario.month_labels()
    specs = scenario.instrument_specs()
    runs = []
    for market in scenario.markets or []:
        cm = compile_market(market, months, scenario.shocks)
        instruments = [s.build() for s in specs if s.mineral in (None, market.mineral)]
        runs.append(run_market(cm, instruments, probe=probe))
    engine = time.perf_counter() - t0
    outcomes = read_outcomes(study.outcomes, runs)
    return Evaluation(outcomes, engine, probe.highs_run_s)


def read_outcomes(
    outcomes: Sequence[Outcome], runs: Sequence[Any]
) -> dict[str, float | FloatArray]:
    """Each outcome from the solved chains (definitions in :mod:`critmin.market.results`)."""
    from critmin.market.results import node_table, scenario_metrics

    metrics: dict[str, Any] | None = None
    out: dict[str, float | FloatArray] = {}
    for oc in outcomes:
        if oc.metric is not None:
            if metrics is None:
                metrics = scenario_metrics(runs)
            value = metrics.get(oc.metric)
            if not isinstance(value, int | float):
                known = sorted(k for k, v in metrics.items() if isinstance(v, int | float))
                raise InputError(
                    f"outcome {oc.name!r}: the run has no scalar metric {oc.metric!r}; "
                    f"it has {known}"
                )
            out[oc.name] = float(value)
            continue
        series = _node_series(oc, runs, node_table)
        out[oc.name] = series if oc.monthly else _reduce(series, oc.reduce)
    return out


def _node_series(oc: Outcome, runs: Sequence[Any], node_table: Any) -> FloatArray:
    products, regions = _as_list(oc.product), _as_list(oc.region)
    total: FloatArray | None = None
    count = 0
    for run in runs:
        cm = run.cm
        if oc.mineral not in (None, cm.mineral):
            continue
        prod_ok = np.array([products is None or p in products for p in cm.products])
        reg_ok = np.array([regions is None or r in regions for r in cm.regions])
        nodes = np.flatnonzero(prod_ok[cm.node_product] & reg_ok[cm.node_region])
        if not len(nodes):
            continue
        table = node_table(run)
        if oc.variable == "expenditure":
            values = table["price"][:, nodes] * table["consumption"][:, nodes]
        elif oc.variable == "stock_release" and "stock_release" not in table:
            values = np.zeros((len(run.price), len(nodes)))
        else:
            values = table[oc.variable][:, nodes]
        part = values.sum(axis=1)
        total = part if total is None else total + part
        count += len(nodes)
    if total is None:
        raise InputError(f"outcome {oc.name!r}: no market node matches its product/region")
    if oc.variable == "price":  # a price is averaged over the nodes it names
        total = total / count
    return np.asarray(total, dtype=np.float64)


def _reduce(series: FloatArray, how: str) -> float:
    if how == "sum":
        return float(series.sum())
    if how == "mean":
        return float(series.mean())
    if how == "max":
        return float(series.max())
    if how == "min":
        return float(series.min())
    if how == "last":
        return float(series[-1])
    return float(np.percentile(series, float(how[1:])))


# ----------------------------------------------------------------- worker side

#: fault injection for the fault-tolerance tests (docs/sweeps.md "Testing faults"):
#: ``kill:<sample_id>`` SIGKILLs the worker process at that sample every time;
#: ``kill-once:<sample_id>:<flag file>`` only while the flag file does not exist yet;
#: ``sleep:<sample_id>:<seconds>`` makes that sample slow (an interruptible long run)
FAULT_ENV = "CRITMIN_SWEEP_FAULT"


def _fault(sample_id: int) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    kind, _, rest = spec.partition(":")
    target, _, flag = rest.partition(":")
    if not target.isdigit() or int(target) != sample_id:
        return
    if kind == "kill-once":
        try:
            with open(flag, "x"):
                pass
        except FileExistsError:
            return
    if kind in ("kill", "kill-once"):
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "sleep":
        time.sleep(float(flag))


def evaluate_plans(
    loaded: LoadedStudy, base: dict[str, Any], plans: Sequence[SamplePlan]
) -> list[dict[str, Any]]:
    """Rows of one batch: ids, seed, status, error and outcomes (a failed sample keeps its
    row with ``status = "failed"`` and the error, its outcomes NaN). Engine and solver
    seconds and the sample's whole evaluation come back under the private keys
    ``_engine_s`` / ``_solver_s`` / ``_sample_s`` (not in the table: they vary run to run)."""
    # the study and its base scenario arrive as objects: a worker reads no file, so a
    # remote worker needs critmin installed and nothing else
    source = loaded.source
    rows = []
    for plan in plans:
        t0 = time.perf_counter()
        _fault(plan.sample_id)
        row: dict[str, Any] = {
            "sample_id": plan.sample_id,
            "scenario_id": plan.scenario_id,
            "policy_id": plan.policy_id,
            "weight": plan.weight,
            "seed": plan.seed,
            **plan.values,
        }
        try:
            data = scenario_data(loaded, base, plan)
            scenario = build_scenario(data, f"{source} sample {plan.sample_id}")
            ev = run_sample(loaded.study, scenario)
            row.update(status="ok", error="", **ev.outcomes)
            row["_engine_s"], row["_solver_s"] = ev.engine_seconds, ev.solver_seconds
        except (CritminError, ValueError, ArithmeticError) as exc:
            row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            row["_engine_s"] = row["_solver_s"] = 0.0
        except Exception as exc:  # an engine bug must not kill the batch: keep it visible
            last = traceback.format_exception_only(exc)[-1].strip()
            row.update(status="failed", error=f"{type(exc).__name__}: {last}")
            row["_engine_s"] = row["_solver_s"] = 0.0
        row["_sample_s"] = time.perf_counter() - t0
        rows.append(row)
    return rows


def find_places(data: dict[str, Any], path: str) -> int:
    """How many places of ``data`` a path names (used by ``critmin sweep --check``)."""
    return len(find(data, parse_path(path)))
