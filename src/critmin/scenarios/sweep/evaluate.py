"""The evaluator: one sample's values -> its scenario -> the market runs -> its outcomes.

This is the only module of the sweep that touches the engine, and it does so through public
entry points: the loader's ``load_scenario(fold_reform=False)`` / ``scenario_from_data``, and
the market's ``compile_market``, ``run_market`` and batch re-solve path ``run_variants``
(:func:`run_samples` says which chains share a compile or a run). The outcomes are read from
the same ``node_table`` / ``scenario_metrics`` as ``summary.json``, without the tidy tables a
sweep does not need. Hence a sample equals the deterministic run of the scenario with its
sampled values written into it, bit for bit, batched or not (tests/sweep/test_equivalence.py).
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter, ValidationError

from critmin.bounds import TimeLimit, time_limit
from critmin.errors import CritminError, InputError
from critmin.market.spec import Shock
from critmin.scenarios.sweep.paths import PathError, apply, find, parse_path, remove
from critmin.scenarios.sweep.rules import (
    RULE_COLUMN,
    STOCK_METRICS,
    StockRules,
    apply_rule,
    path_years,
    stock_outcomes,
)
from critmin.scenarios.sweep.study import LoadedStudy, Outcome, Study
from critmin.yamlio import dotted, error_loc, error_text

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
    # the base's reform stays data (fold_reform=False): build_scenario folds it after the
    # sample's values (which may change the reform) are written
    ref = study.base
    anchor = None if ref.startswith("builtin:") else Path(loaded.base_dir) / "study.yaml"
    base = load_scenario(ref, relative_to=anchor, fold_reform=False)
    data = base.scenario.model_dump(by_alias=True, exclude_none=True, mode="python")
    for market in data.get("markets") or []:
        # the blocks a demand curve generated are rebuilt from the curve whenever the market
        # is validated: a path that reached them (demand[*].growth_per_year) would write
        # values the sample's scenario then drops. Paths see the market as written; a curve
        # is changed through demand_curves[...]
        market["demand"] = [b for b in market.get("demand") or [] if not b.get("curve")]
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
    regions = {r for m in markets for r in market_regions(m)}
    products = {p for m in markets for p in market_products(m)}
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
            return i, f"{dotted(error_loc(err))}: {error_text(err)}"
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
        return f"{dotted(error_loc(err))}: {error_text(err)}"
    if quota.exporter not in regions:
        return f"unknown region {quota.exporter!r}; expected one of {sorted(regions)}"
    if quota.product is not None and quota.product not in products:
        return f"unknown product {quota.product!r}; expected one of {sorted(products)}"
    return None


def market_regions(market: dict[str, Any]) -> list[str]:
    from critmin.market.spec import Market

    return Market.model_validate(market).region_list()


def market_products(market: dict[str, Any]) -> list[str]:
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
    products = {p for m in markets for p in market_products(m)}
    regions = {r for m in markets for r in market_regions(m)}
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
        if name == RULE_COLUMN:  # played below, once the sampled values are written
            continue
        item = inputs[name]
        for path in item.unset:
            remove(data, parse_path(path))
        if isinstance(value, str):  # a categorical choice among named shock sets
            added.extend(copy.deepcopy(study.shock_sets[value]))
            continue
        for steps in item.steps():
            apply(data, steps, item.op, float(value))
    add_shock_set(data, added)
    rule = plan.values.get(RULE_COLUMN)
    if rule is not None:
        apply_rule(data, _stock_rules(loaded), str(rule), sample_path(loaded, plan, base))
    return data


def stock_reader(loaded: LoadedStudy, base: dict[str, Any], plan: SamplePlan) -> StockReader:
    """How to read a sample's stockpile-rule outcomes (None: the study plays no rule)."""
    if RULE_COLUMN not in plan.values:
        return None
    rules, path = _stock_rules(loaded), sample_path(loaded, plan, base)
    return lambda runs: stock_outcomes(rules, runs, path)


def _stock_rules(loaded: LoadedStudy) -> StockRules:
    if loaded.stock_rules is None:
        raise ValueError("the study's stockpile_rules are not solved: call prepare_study first")
    return cast(StockRules, loaded.stock_rules)


def sample_path(loaded: LoadedStudy, plan: SamplePlan, base: dict[str, Any]) -> list[int]:
    """The yearly market states a sample's stockpile rule is played on, from the policy's
    first year to the base's last month: the same for every policy of a scenario
    (:meth:`~critmin.scenarios.sweep.rules.StockRules.state_path`)."""
    rules = _stock_rules(loaded)
    end = str((base.get("months") or {}).get("end") or "2035-12")
    return rules.state_path(loaded.study.seed, plan.scenario_id, path_years(rules, end))


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


def build_scenario(data: dict[str, Any], where: str, compiled: dict[int, Any] | None = None) -> Any:
    """A validated :class:`~critmin.scenarios.spec.Scenario` from a sample's dict, checked as
    a scenario file is, its reform folded in (the loader's public ``scenario_from_data``).

    ``compiled`` (optional) receives the markets the check compiled to initialise the
    instruments against (by market index): :func:`run_samples` runs those instead of
    compiling each instrumented chain a second time. The input hash a run records is not
    computed: a sweep records the sample's values."""
    from critmin.scenarios.loader import scenario_from_data

    return scenario_from_data(data, where, compiled=compiled, record_inputs=False).scenario


def check_samples(loaded: LoadedStudy, n: int | None = None) -> int:
    """Build and validate, as a scenario file is, the scenarios that bound what the study's
    samples can write: sample 0 under policies that together use every value of every grid
    lever, and the scenarios of every sampled input at the lowest and at the highest value
    its distribution can give (categorical inputs: their first and last shock set). One
    ``InputError`` naming the study and the values on the first problem. Then sample 0 is
    solved over its first month, so that every outcome is read once. The number of
    scenarios built is returned (``critmin sweep --check``)."""
    from critmin.scenarios.sweep.design import make_design
    from critmin.scenarios.sweep.distributions import Categorical
    from critmin.scenarios.sweep.study import prepare_study

    loaded = prepare_study(loaded)  # the policy of stockpile_rules is solved to be checked
    study = loaded.study
    design = make_design(study, n)
    base = base_data(loaded)
    plans: list[tuple[str, SamplePlan]] = []
    grid = study.grid_levers()
    rules = study.stockpile_rules.rules if study.stockpile_rules is not None else [None]
    widest = max([len(rules), *(len(lv.values or []) for lv in grid)])
    for k in range(widest):
        # policy ids count the grid in lexicographic order of the levers' values, the
        # stockpile rules innermost
        pid = 0
        for lv in grid:
            pid = pid * len(lv.values or []) + k % len(lv.values or [])
        pid = pid * len(rules) + k % len(rules)
        plan = design.plan(pid)
        plans.append((f"sample {pid}", plan))
    first = design.plan(0)
    for end, pick in (("lowest", np.argmin), ("highest", np.argmax)):
        values = dict(first.values)
        for inp in study.sampled_inputs():
            drawn = design.values[inp.name]
            if isinstance(inp.distribution, Categorical):
                present = [c for c in inp.distribution.choices if c in set(drawn.tolist())]
                values[inp.name] = present[0 if end == "lowest" else -1]
            elif len(drawn):
                values[inp.name] = float(drawn[int(pick(drawn))])
        plans.append((f"the {end} drawn values", dataclasses.replace(first, values=values)))
    for label, plan in plans:
        try:
            data = scenario_data(loaded, base, plan)
            build_scenario(data, f"{loaded.source} {label}")
        except InputError:
            raise
        except (PathError, ValueError, OverflowError, TypeError) as exc:
            raise InputError(
                f"{label} ({', '.join(f'{k}={v}' for k, v in plan.values.items())}): {exc}",
                where=loaded.source,
            ) from None
    _check_first_month(loaded, base, first)
    return len(plans)


def _check_first_month(loaded: LoadedStudy, base: dict[str, Any], plan: SamplePlan) -> None:
    """Solve sample 0 over its first month only (~20 ms) and read every outcome: a metric
    the run does not have (``metric: unserved_tonnes``) is found by ``--check``, not by
    every sample of the run failing. The problem is reported at the outcome's line."""
    from critmin.yamlio import parse_yaml

    data = scenario_data(loaded, base, plan)
    first = str((data.get("months") or {}).get("start") or "2026-01")
    data["months"] = {"start": first, "end": first}
    scenario = build_scenario(data, f"{loaded.source} sample 0")
    try:
        run_sample(loaded.study, scenario, stock_reader(loaded, base, plan))
    except InputError as exc:
        names = [o.name for o in loaded.study.outcomes]
        msg = str(exc)
        for i, name in enumerate(names):
            if msg.startswith(f"outcome {name!r}:"):
                doc = parse_yaml(loaded.text, loaded.source)
                raise doc.error(("outcomes", i, "metric"), msg) from None
        raise InputError(f"sample 0 over {first}: {msg}", where=loaded.source) from None


@dataclass
class Evaluation:
    """Outcomes of one sample (scalars and monthly arrays) and the engine's own seconds."""

    outcomes: dict[str, float | FloatArray]
    engine_seconds: float
    solver_seconds: float


def run_sample(study: Study, scenario: Any, stock: StockReader = None) -> Evaluation:
    """Solve every market of ``scenario`` and read the study's outcomes from the runs (one
    sample alone: each chain compiled for it, as ``critmin run`` does)."""
    (result,) = run_samples(study, [scenario], batch=False, stock=[stock])
    if isinstance(result, BaseException):
        raise result
    return result


@dataclass
class _Chain:
    """One chain (a market of one sample's scenario) waiting to be solved."""

    sample: int  # index into the batch's scenarios
    market: Any  # critmin.market.spec.Market
    months: list[str]
    shocks: list[Any]
    instruments: Callable[[], list[Any]]
    #: the chain compiled by the scenario check (build_scenario), or None: compile it
    compiled: Any
    #: chains with equal keys have the same market, months, shocks and instruments: the
    #: same run (run_market is a pure function of them; the sample's seed drives nothing)
    run_key: Any


def run_samples(
    study: Study,
    scenarios: Sequence[Any],
    *,
    batch: bool = True,
    time_limit_s: float = 0.0,
    compiled: Sequence[dict[int, Any]] | None = None,
    stock: Sequence[StockReader] | None = None,
    built_s: Sequence[float] | None = None,
    shared: SharedRuns | None = None,
) -> list[Evaluation | BaseException]:
    """Each scenario's runs and outcomes (or the exception that stopped it), in order.

    With ``batch``, chains of different samples that have the same market (as data) over the
    same months are compiled once and solved with the engine's batch re-solve path
    (:func:`~critmin.market.variants.run_variants`): the chain is compiled with the shocks
    all of them start with, and each sample's further shocks come as its
    :class:`~critmin.market.variants.Variant`. That is what a lever grid over instruments
    (every policy of a sampled future) and sampled shock sets give. A variant's run equals
    compiling its shocks in, bit for bit (``apply_shocks``; ``tests/market/test_variants.py``),
    and instruments are built afresh for every sample, so a batched sample equals its own
    run (``tests/sweep/test_equivalence.py``). Sampled market numbers (a capacity, a
    growth rate, a cost) change the compiled arrays by other roundings than a variant's
    ``scale`` (``q x f / 12`` is not ``q / 12 x f`` in floating point), so samples that differ
    there are compiled one by one.

    ``time_limit_s`` (0: none) bounds compiling and solving each chain of each sample
    (``critmin sweep --time-limit-s``), less the seconds its sample took to build
    (``built_s``, one per scenario: :func:`evaluate_plans`): a sample whose chain runs over
    it fails with the time-limit message, and the others go on.

    ``compiled`` (optional, one dict per scenario): chains :func:`build_scenario` already
    compiled, by market index; a chain solved on its own runs that instead of compiling
    again (``compile_market`` is a pure function of the market, the months and the shocks
    that name it, and the run does not change what it compiled).

    ``stock`` (optional, one per scenario): how to read its stockpile rule's outcomes.

    ``shared`` (optional, with ``batch``): the runs an earlier batch shared between its
    samples (:class:`SharedRuns`); a chain with the same market, months, shocks and
    instruments takes that run instead of solving it again, and on return ``shared`` holds
    the runs this batch shared, for the next.
    """
    chains: list[_Chain] = []
    groups: dict[Any, list[int]] = {}
    for i, sc in enumerate(scenarios):
        months, specs = sc.month_labels(), sc.instrument_specs()
        done = compiled[i] if compiled is not None else {}
        for index, market in enumerate(sc.markets or []):
            mine = [k for k, s in enumerate(specs) if s.mineral in (None, market.mineral)]
            # only the shocks for this market (or every market) reach its chain: compiling
            # with these is compiling with all (compile_market's frame keeps the same ones)
            shocks = [x for x in sc.shocks if x.mineral in (None, market.mineral)]
            run_key: Any = len(chains)  # without batch: every chain its own
            if batch:
                chain = (_market_key(market), tuple(months))
                given = json.dumps([sc.instruments[k] for k in mine], sort_keys=True, default=repr)
                run_key = (chain, json.dumps([x.model_dump(mode="json") for x in shocks]), given)
            groups.setdefault(run_key[0] if batch else run_key, []).append(len(chains))
            builder = _builder([specs[k] for k in mine])
            chains.append(_Chain(i, market, months, shocks, builder, done.get(index), run_key))
    solver = _Solver(chains, len(scenarios), time_limit_s, built_s)
    solver.solve_all(list(groups.values()), shared if batch else None)
    runs, failed = solver.runs, solver.failed
    out: list[Evaluation | BaseException] = []
    for i in range(len(scenarios)):
        if i in failed:
            out.append(failed[i])
            continue
        mine = [runs[j] for j, ch in enumerate(chains) if ch.sample == i]
        try:
            outcomes = read_outcomes(study.outcomes, mine, stock[i] if stock else None)
            out.append(Evaluation(outcomes, solver.engine[i], solver.highs[i]))
        except Exception as exc:  # reported in the sample's row, like an engine error
            out.append(exc)
    return out


def _market_key(market: Any) -> str:
    """The market as JSON without the blocks its demand curves generate: those are a function
    of the curves (``Market._expand_curves`` rebuilds them on every validation), so equal keys
    are equal markets, and the key is ~15 times shorter on a market with curves."""
    own = [b for b in market.demand if b.curve is None]
    if len(own) == len(market.demand):
        return str(market.model_dump_json())
    return str(market.model_copy(update={"demand": own}).model_dump_json())


@dataclass
class SharedRuns:
    """The runs one batch shared between its samples (chains with the same market, months,
    shocks and instruments: ``run_market`` is a pure function of them), by run key, offered to
    the next batch on the same worker. The benchmark study's Tb chain (its market sampled by
    nothing, its export ban 3-24 months long) is five runs, solved ~5 times a batch before:
    ~3 % of a sample. Only runs a batch shared are kept, so a worker holds no more runs between
    batches than during one."""

    runs: dict[Any, Any] = dataclasses.field(default_factory=dict)


#: this process's :class:`SharedRuns` when it is a Dask worker (:func:`evaluate_plans`)
_WORKER_RUNS = SharedRuns()


def _builder(specs: list[Any]) -> Callable[[], list[Any]]:
    return lambda: [s.build() for s in specs]


class _Solver:
    """The runs of a batch's chains, with each sample's engine and HiGHS seconds and the
    error of each sample that failed."""

    def __init__(
        self,
        chains: list[_Chain],
        n_samples: int,
        time_limit_s: float = 0.0,
        built_s: Sequence[float] | None = None,
    ) -> None:
        from critmin.market.probe import Probe

        self.chains = chains
        self.time_limit_s = time_limit_s  # a fresh budget for each chain's run
        self.built_s = built_s  # ... less what its sample's scenario took to build
        self.runs: list[Any] = [None] * len(chains)
        self.engine = [0.0] * n_samples
        self.highs = [0.0] * n_samples
        self.failed: dict[int, BaseException] = {}
        self.probe = Probe()
        self.earlier: dict[Any, Any] = {}  # runs an earlier batch shared, by run key
        self.shared: dict[Any, Any] = {}  # runs this batch shared (or took from earlier)

    def solve_all(self, groups: list[list[int]], shared: SharedRuns | None) -> None:
        """Solve each group of chains (:meth:`solve`); with ``shared``, take the runs an
        earlier batch shared, and leave there the runs this batch shared."""
        if shared is not None:
            self.earlier = shared.runs
        for members in groups:
            self.solve(members)
        if shared is not None:
            shared.runs = self.shared  # replaced whole: another thread may be reading it

    def solve(self, members: list[int]) -> None:
        """Solve chains that share a market: compiled once and :func:`run_variants` when
        there are several, else compiled and run as ``critmin run`` does."""
        first: dict[Any, int] = {}
        same: list[tuple[int, int]] = []
        unique: list[int] = []
        for j in members:
            key = self.chains[j].run_key
            earlier = self.earlier.get(key)
            if earlier is not None:  # solved by an earlier batch: no seconds counted
                self.runs[j] = self.shared[key] = earlier
                continue
            k = first.setdefault(key, j)
            if k == j:
                unique.append(j)
            else:
                same.append((j, k))
        if len(unique) > 1:
            unique = unique[self._batched(unique) :]
        for j in unique:
            self._one(j)
        for j, k in same:  # solved once: the run is shared, its seconds counted once
            sample, solved = self.chains[j].sample, self.chains[k].sample
            if solved in self.failed:
                self.failed.setdefault(sample, self.failed[solved])
            self.runs[j] = self.runs[k]
            if self.runs[k] is not None:  # None: its chain failed
                self.shared[self.chains[k].run_key] = self.runs[k]

    def _budget(self, sample: int) -> float | TimeLimit:
        """A chain's budget: ``--time-limit-s`` from when its sample started building."""
        if self.time_limit_s <= 0 or self.built_s is None:
            return self.time_limit_s
        return TimeLimit(self.time_limit_s, started=time.monotonic() - self.built_s[sample])

    def _batched(self, members: list[int]) -> int:
        """How many of ``members`` the batch path solved (the rest go one by one: a
        sample that fails ends the batch's generator)."""
        from critmin.market.compile import compile_market
        from critmin.market.variants import Variant, run_variants

        group = [self.chains[j] for j in members]
        t0 = time.perf_counter()
        common = _common_prefix([ch.shocks for ch in group])
        try:
            cm = compile_market(group[0].market, group[0].months, common)
        except Exception:  # let each sample meet (and report) the problem on its own
            return 0
        share = (time.perf_counter() - t0) / len(group)
        variants = [Variant(shocks=tuple(ch.shocks[len(common) :])) for ch in group]
        builders = iter([ch.instruments for ch in group])

        def fresh() -> list[Any]:
            # run_variants asks for one fresh set of instruments per variant, in order:
            # this hands it each sample's own (the policies of a lever grid differ there)
            return next(builders)()

        solved = run_variants(cm, variants, fresh, probe=self.probe)
        done = 0
        for j, ch in zip(members, group, strict=True):
            t1, h1 = time.perf_counter(), self.probe.highs_run_s
            try:
                with time_limit(self._budget(ch.sample)):
                    self.runs[j] = next(solved)
            except Exception:
                # an error ends the generator: _one solves this sample and the rest one by
                # one, and keeps the error of the sample that failed
                return done
            self.engine[ch.sample] += share + time.perf_counter() - t1
            self.highs[ch.sample] += self.probe.highs_run_s - h1
            done += 1
        return done

    def _one(self, j: int) -> None:
        from critmin.market.compile import compile_market
        from critmin.market.engine import run_market

        # solved even when its sample failed in another chain: other samples may share
        # this run
        ch = self.chains[j]
        t1, h1 = time.perf_counter(), self.probe.highs_run_s
        try:
            with time_limit(self._budget(ch.sample)):
                cm = ch.compiled
                if cm is None:
                    cm = compile_market(ch.market, ch.months, ch.shocks)
                self.runs[j] = run_market(cm, ch.instruments(), probe=self.probe)
        except Exception as exc:
            self.failed.setdefault(ch.sample, exc)
        self.engine[ch.sample] += time.perf_counter() - t1
        self.highs[ch.sample] += self.probe.highs_run_s - h1


def _common_prefix(lists: Sequence[list[Any]]) -> list[Any]:
    """The shocks every list starts with (compiled into the shared chain)."""
    first = lists[0]
    n = len(first)
    for other in lists[1:]:
        n = min(n, len(other))
        n = next((k for k in range(n) if other[k] != first[k]), n)
    return list(first[:n])


#: a sample's stockpile-rule outcomes from its solved chains (None: no stockpile_rules)
StockReader = Callable[[Sequence[Any]], dict[str, float]] | None


def read_outcomes(
    outcomes: Sequence[Outcome], runs: Sequence[Any], stock: StockReader = None
) -> dict[str, float | FloatArray]:
    """Each outcome from the solved chains (definitions in :mod:`critmin.market.results`;
    the stockpile rules' metrics from ``stock``:
    :func:`~critmin.scenarios.sweep.rules.stock_outcomes`)."""
    from critmin.market.results import node_table

    figures = _Figures(runs)
    stocked: dict[str, float] | None = None
    out: dict[str, float | FloatArray] = {}
    for oc in outcomes:
        if oc.metric in STOCK_METRICS:
            if stock is None:
                raise InputError(
                    f"outcome {oc.name!r}: metric {oc.metric!r} needs a 'stockpile_rules' section"
                )
            stocked = stock(runs) if stocked is None else stocked
            out[oc.name] = stocked[oc.metric]
            continue
        if oc.metric is not None:
            out[oc.name] = _scalar_metric(oc, figures.having(oc.metric.split(".", 1)[0]))
            continue
        series = _node_series(oc, runs, node_table)
        out[oc.name] = series if oc.monthly else _reduce(series, oc.reduce)
    return out


class _Figures:
    """A sample's headline figures (``summary.json``'s ``scenario_metrics``), each family
    computed when an outcome first names one of its figures: the physical-shortage figures
    (:func:`~critmin.market.metrics.physical_metrics`) apart from the others (prices,
    surpluses, the instruments' own). A study reading only physical shortage then computes
    neither the per-node price figures nor the node tables of chains no series outcome
    reads (~40 % of reading the benchmark study's outcomes)."""

    def __init__(self, runs: Sequence[Any]) -> None:
        self.runs = runs
        self._headline: dict[str, Any] | None = None
        self._physical: dict[str, Any] | None = None

    def headline(self) -> dict[str, Any]:
        from critmin.market.results import scenario_metrics

        if self._headline is None:
            self._headline = scenario_metrics(self.runs, physical=False)
        return self._headline

    def physical(self) -> dict[str, Any]:
        from critmin.market.metrics import physical_metrics

        if self._physical is None:
            self._physical = physical_metrics(self.runs)
        return self._physical

    def having(self, name: str) -> dict[str, Any]:
        """The figures holding ``name``; a name neither family has gets both, so that the
        error lists every figure the run has."""
        from critmin.market.metrics import PHYSICAL_FIGURES

        if name in PHYSICAL_FIGURES:
            return self.physical()
        headline = self.headline()
        return headline if name in headline else {**headline, **self.physical()}


def _scalar_metric(oc: Outcome, metrics: dict[str, Any]) -> float:
    """``metric: name`` (a scalar figure) or ``metric: name.key`` (one entry of a per-product
    or per-node figure: ``physical_shortage_t_by_product.ndfeb_magnet``, or an instrument's
    ``stock_releases_t_by_product.ndfeb_magnet``, the same as its flat
    ``stock_releases_t_ndfeb_magnet``). A key the figure
    does not list is an error (a typo must not read as 0); a removed name (``unserved_t``)
    says what replaces it."""
    from critmin.scenarios.headline import per_product_key, removed_metric_hint

    name, _, key = str(oc.metric).partition(".")
    flat = per_product_key(name, key) if key else None
    if flat is not None:
        # an instrument's per-product figure (stock_releases_t_by_product.ndfeb_magnet) is
        # written flat in summary.json: read its flat key (stock_releases_t_ndfeb_magnet)
        name, key = flat, ""
    value = metrics.get(name)
    if key and isinstance(value, dict):
        if key in value and isinstance(value[key], int | float):
            return float(value[key])
        raise InputError(
            f"outcome {oc.name!r}: {name!r} has no entry {key!r}; it has {sorted(value)}"
        )
    if not key and isinstance(value, int | float):
        return float(value)
    hint = removed_metric_hint(name)
    if hint:
        raise InputError(f"outcome {oc.name!r}: metric {hint}")
    known = sorted(k for k, v in metrics.items() if isinstance(v, int | float))
    per = sorted(k for k, v in metrics.items() if isinstance(v, dict) and "_by_" in k)
    raise InputError(
        f"outcome {oc.name!r}: the run has no scalar metric {oc.metric!r}; it has {known}, "
        f"and per product or node (as name.key) {per}"
    )


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


_HEAP_FROZEN: set[int] = set()  # the pid, once this process froze (or chose not to)


def _in_worker() -> bool:
    """Is this process a Dask worker (running a task)?"""
    distributed = sys.modules.get("distributed")  # not imported: not a worker
    try:
        distributed.get_worker()  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        return False
    return True


def freeze_heap_once() -> bool:
    """Once per Dask worker process: collect, then move every object alive (imported
    modules, pydantic schemas, the catalog, the study and its base) into the collector's
    permanent generation (:func:`gc.freeze`). Each full collection otherwise walks those
    ~120,000 long-lived objects again: ~10 % of a managed-market sample's time, whose
    instruments and ledger allocate enough to trigger one every ~10 samples
    (docs/benchmarks.md, "Third round"). Frozen objects are still freed by reference
    counting; only cycles among them would stay, and they were loaded to stay. Other
    processes (the CLI's driver, tests) are left alone. Returns whether it froze now."""
    if os.getpid() in _HEAP_FROZEN:
        return False
    _HEAP_FROZEN.add(os.getpid())
    if not _in_worker():
        return False
    gc.collect()
    gc.freeze()
    return True


def evaluate_plans(
    loaded: LoadedStudy,
    base: dict[str, Any],
    plans: Sequence[SamplePlan],
    *,
    batch: bool = True,
    time_limit_s: float = 0.0,
    shared: SharedRuns | None = None,
) -> list[dict[str, Any]]:
    """Rows of one batch: ids, seed, status, error and outcomes (a failed sample keeps its
    row with ``status = "failed"`` and the error, its outcomes NaN). Engine and solver
    seconds and the sample's whole evaluation come back under the private keys
    ``_engine_s`` / ``_solver_s`` / ``_sample_s`` (not in the table: they vary run to run).

    ``shared``: the runs earlier batches shared (:func:`run_samples`); default: in a Dask
    worker the worker's own, kept from one of its batches to the next, elsewhere none (the
    CLI's driver and tests evaluate each batch on its own unless they pass one)."""
    freeze_heap_once()
    if shared is None and _in_worker():
        shared = _WORKER_RUNS
    # the study and its base scenario arrive as objects: a worker reads no file, so a
    # remote worker needs critmin installed and nothing else
    source = loaded.source
    rows: list[dict[str, Any]] = []
    built: list[tuple[dict[str, Any], Any, dict[int, Any], StockReader]] = []
    built_s: list[float] = []  # seconds each built sample took: part of its time budget
    for plan in plans:
        t0 = time.perf_counter()
        t_build = time.monotonic()  # (a fault's sleep counts, as a slow build would)
        _fault(plan.sample_id)
        row: dict[str, Any] = {
            "sample_id": plan.sample_id,
            "scenario_id": plan.scenario_id,
            "policy_id": plan.policy_id,
            "weight": plan.weight,
            "seed": plan.seed,
            **plan.values,
            "_engine_s": 0.0,
            "_solver_s": 0.0,
        }
        try:
            # checked between the build's stages; the clock started with the sample's
            with time_limit(TimeLimit(time_limit_s, started=t_build) if time_limit_s else 0):
                data = scenario_data(loaded, base, plan)
                compiled: dict[int, Any] = {}
                scenario = build_scenario(data, f"{source} sample {plan.sample_id}", compiled)
            built.append((row, scenario, compiled, stock_reader(loaded, base, plan)))
            built_s.append(time.monotonic() - t_build)
        except Exception as exc:
            _failed(row, exc)
        row["_sample_s"] = time.perf_counter() - t0
        rows.append(row)
    t0 = time.perf_counter()
    results = run_samples(
        loaded.study,
        [sc for _, sc, _, _ in built],
        batch=batch,
        time_limit_s=time_limit_s,
        compiled=[cms for _, _, cms, _ in built],
        stock=[reader for _, _, _, reader in built],
        built_s=built_s,
        shared=shared,
    )
    # the batch's engine and outcome time, shared out by each sample's own engine time
    spent = time.perf_counter() - t0
    total = sum(r.engine_seconds for r in results if isinstance(r, Evaluation)) or 1.0
    for (row, _, _, _), result in zip(built, results, strict=True):
        if isinstance(result, BaseException):
            _failed(row, result)
            row["_sample_s"] += spent / len(built)
            continue
        row.update(status="ok", error="", **result.outcomes)
        row["_engine_s"], row["_solver_s"] = result.engine_seconds, result.solver_seconds
        row["_sample_s"] += spent * result.engine_seconds / total
    return rows


def _failed(row: dict[str, Any], exc: BaseException) -> None:
    if isinstance(exc, CritminError | ValueError | ArithmeticError):
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return
    # an engine bug must not kill the batch: keep it visible
    last = traceback.format_exception_only(exc)[-1].strip()
    row.update(status="failed", error=f"{type(exc).__name__}: {last}")


def find_places(data: dict[str, Any], path: str) -> int:
    """How many places of ``data`` a path names (used by ``critmin sweep --check``)."""
    return len(find(data, parse_path(path)))
