"""Stockpile-policy files: the input of ``critmin stockpile policy`` (docs/sweeps.md).

A small YAML format naming a base scenario, the stockpile (node, levels, storage cost), the
disruption (an event of a disruption study, or shocks with an annual probability), the
discount rate, the fill level of the simple rules and the simulation. It is read through
:mod:`critmin.yamlio` like every critmin format, so a problem is one
:class:`~critmin.errors.InputError` at ``file:line field '...'``; names that must match the
base scenario (region, product, mineral, the shocks) and the disruption study's event are
checked at load time, before any market run.

:func:`solve_policy_file` builds the Markov model on critmin's market
(:func:`critmin.scenarios.sweep.dp.market_markov`), solves it, prices the simple rules
exactly and simulates every rule on the same sampled paths; :func:`teisberg_result` does the
same for the GAMS Model Library's MARKOV model so the method can be checked first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError, UnknownNameError
from critmin.periods import Month, month_index, month_label
from critmin.yamlio import Document, FieldValueError, drop_extension_keys, load_yaml, validate

__all__ = [
    "MAX_PATH_YEARS",
    "Disruption",
    "LoadedPolicyFile",
    "PolicyFile",
    "check_policy_size",
    "check_simulation_size",
    "load_policy_file",
    "solve_policy_file",
    "teisberg_result",
]


class _Model(BoundedNumbers, BaseModel):
    # NaN and inf are refused in every number of the file, sizes bounded (critmin.bounds)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Stock(_Model):
    """The stockpile: where it buys and releases, its levels and what holding costs."""

    region: str = Field(min_length=1)
    product: str = Field(min_length=1)
    mineral: str | None = Field(default=None, description="default: the market of the product")
    levels_t: list[float] = Field(min_length=2, max_length=25)
    storage_usd_per_t_year: float = Field(ge=0)
    purchase_wtp_usd_per_t: float = Field(default=1.0e7, gt=0)

    @model_validator(mode="after")
    def _levels(self) -> Stock:
        lv = self.levels_t
        if lv[0] != 0:
            raise FieldValueError(
                "levels_t", f"the first level must be 0 (an empty stock), got {lv[0]}"
            )
        if any(not math.isfinite(x) for x in lv) or any(b <= a for a, b in itertools.pairwise(lv)):
            raise FieldValueError("levels_t", "levels must be finite and strictly ascending")
        return self


class Disruption(_Model):
    """The disrupted market state: ``study`` + ``event`` (a disruption study's event, its
    annual probability and shocks), or ``shocks`` + ``probability_per_year``."""

    study: str | None = Field(default=None, description="disruption study file (relative)")
    event: str | None = None
    events: list[str] | Literal["all"] | None = Field(
        default=None, description="several events of the study, a market state each, or 'all'"
    )
    shocks: list[dict[str, Any]] | None = Field(default=None, min_length=1)
    probability_per_year: float | None = Field(default=None, gt=0, lt=1)
    persistence: float | None = Field(
        default=None, ge=0, le=1, description="P(disrupted next year | disrupted this year)"
    )
    source: str | None = None
    estimate: bool = False

    @property
    def named_by(self) -> str:
        """The field that names the study's events: ``event`` or ``events`` (for messages)."""
        return "event" if self.event is not None else "events"

    @model_validator(mode="before")
    @classmethod
    def _events_shape(cls, data: Any) -> Any:
        # one message for a misspelt 'all', instead of pydantic's two (list, literal)
        events = data.get("events") if isinstance(data, dict) else None
        if events is not None and not isinstance(events, list) and events != "all":
            raise FieldValueError(
                "events", f"expected a list of the study's event names or 'all', got {events!r}"
            )
        return data

    @model_validator(mode="after")
    def _one(self) -> Disruption:
        named = self.event is not None or self.events is not None
        from_study = self.study is not None or named
        explicit = self.shocks is not None or self.probability_per_year is not None
        if from_study == explicit:
            raise FieldValueError(
                "study",
                "give either 'study' and 'event' (a disruption study's event) or 'shocks' and "
                "'probability_per_year'",
            )
        if self.event is not None and self.events is not None:
            raise FieldValueError("events", "give 'event' (one) or 'events' (several), not both")
        if isinstance(self.events, list) and not self.events:
            raise FieldValueError("events", "name at least one event, or 'all'")
        if from_study and (self.study is None or not named):
            raise FieldValueError(
                "study" if named else "event", "give both 'study' and 'event' (or 'events')"
            )
        if explicit and self.shocks is None:
            raise FieldValueError("shocks", "give the disrupted state's shocks")
        if explicit and self.probability_per_year is None:
            raise FieldValueError(
                "probability_per_year", "give the annual probability of the disruption"
            )
        return self


class Rules(_Model):
    """The simple rules compared with the optimum fill to ``fill_to_t`` in normal times."""

    fill_to_t: float | None = Field(default=None, ge=0, description="default: the top level")
    hold_days: float = Field(
        default=60.0, gt=0, le=3650, description="days of cover the hold rule keeps"
    )


class Simulation(_Model):
    """Sampled market paths: ``paths`` paths of ``years`` years from ``SeedSequence(seed)``."""

    paths: int = Field(default=2000, ge=2, le=1_000_000)
    years: int | None = Field(
        default=None, ge=1, le=10_000, description="default: until b^t < 0.001"
    )
    seed: int = Field(ge=0)


class PolicyFile(_Model):
    """A stockpile-policy problem on a critmin chain (docs/sweeps.md)."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str | None = Field(default=None, description="scenario file or builtin:NAME")
    year_start: Month | None = Field(default=None, description="first month of the solved year")
    stockpile: Stock
    disruption: Disruption
    discount_rate: float = Field(gt=0, le=1, description="per year; factor 1 / (1 + r)")
    no_buildup_when_disrupted: bool = True
    rules: Rules = Rules()
    simulation: Simulation

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        return drop_extension_keys(data)

    @model_validator(mode="after")
    def _fill(self) -> PolicyFile:
        fill = self.rules.fill_to_t
        if fill is not None and fill not in self.stockpile.levels_t:
            raise FieldValueError(
                "rules.fill_to_t", f"{fill:g} t is not one of the levels {self.stockpile.levels_t}"
            )
        if self.base is None and self.disruption.study is None:
            raise FieldValueError("base", "give the base scenario (a file or builtin:NAME)")
        return self

    @property
    def discount(self) -> float:
        return 1.0 / (1.0 + self.discount_rate)


@dataclass(frozen=True)
class LoadedPolicyFile:
    """A validated policy file and what it resolves to: the base scenario as data, the
    market chain (transition matrix, the disrupted state's shocks) and the stock."""

    spec: PolicyFile
    source: str
    base: dict[str, Any]
    #: over (normal, *disrupted states) in the order of ``states``
    transition: np.ndarray[Any, np.dtype[np.float64]]
    #: each disrupted state's shocks: one state "disrupted", or one per event of a study
    states: dict[str, list[dict[str, Any]]]
    year_start: str
    mineral: str

    @property
    def probability_per_year(self) -> float:
        """The annual probability of some disruption (1 - P(normal -> normal))."""
        return float(1.0 - self.transition[0, 0])

    @property
    def shocks(self) -> list[dict[str, Any]]:
        """Every disrupted state's shocks, in order."""
        return [s for shocks in self.states.values() for s in shocks]


def load_policy_file(path: str | Path) -> LoadedPolicyFile:
    """Read, validate and resolve a policy file; one ``InputError`` at file:line otherwise."""
    p = Path(path)
    doc = load_yaml(p, what="stockpile policy file")
    doc.require_mapping("a stockpile policy: a mapping with 'name', 'stockpile', 'disruption'")
    spec = validate(PolicyFile, doc)
    return _resolve(spec, doc, p)


def _resolve(spec: PolicyFile, doc: Document, path: Path) -> LoadedPolicyFile:
    from critmin.scenarios.loader import load_scenario
    from critmin.scenarios.sweep.evaluate import check_shock_set

    dis = spec.disruption
    study = None
    if dis.study is not None:
        from critmin.scenarios.sweep import load_study_file

        study_path = path.resolve().parent / dis.study
        if not study_path.is_file():
            raise doc.error(("disruption", "study"), f"no such study file {dis.study!r}")
        study = load_study_file(study_path)
        if study.study.disruptions is None:
            raise doc.error(
                ("disruption", "study"), "the study has no 'disruptions' section (docs/sweeps.md)"
            )
    base_ref = spec.base if spec.base is not None else study.study.base if study else None
    assert base_ref is not None  # PolicyFile._fill
    if spec.base is not None:
        anchor = None if base_ref.startswith("builtin:") else path.resolve()
    else:  # the study's base, relative to the study
        assert dis.study is not None
        anchor = None if base_ref.startswith("builtin:") else path.resolve().parent / dis.study
    try:
        base = load_scenario(base_ref, relative_to=anchor, fold_reform=False)
    except InputError as exc:
        raise doc.error(("base",) if spec.base else ("disruption", "study"), str(exc)) from None
    data: dict[str, Any] = base.scenario.model_dump(by_alias=True, exclude_none=True, mode="python")
    mineral = _check_stock(spec, doc, data)

    transition, states, default_start = _market_chain(dis, doc, study)
    # the shocks are validated before their months are read: a start of '\x00' reached
    # month_index as a ValueError traceback (issue 13)
    for shocks in states.values():
        problem = check_shock_set(data, shocks)
        if problem is not None:
            idx, msg = problem
            where = ("disruption", "shocks", idx) if study is None else ("disruption", dis.named_by)
            raise doc.error(where, msg)
    if study is None:
        shocks = states["disrupted"]
        starts = [str(s["start"]) for s in shocks if isinstance(s, dict) and s.get("start")]
        default_start = min(starts, key=month_index) if starts else None
    months = data.get("months") or {}
    year_start = str(spec.year_start or default_start or months.get("start") or "2026-01")
    for shocks in states.values():
        _check_year(doc, spec, shocks, year_start, study is None)
    return LoadedPolicyFile(
        spec=spec,
        source=str(path),
        base=data,
        transition=transition,
        states=states,
        year_start=year_start,
        mineral=mineral,
    )


def _market_chain(
    dis: Disruption, doc: Document, study: Any
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], dict[str, list[dict[str, Any]]], str | None]:
    """(transition, disrupted states' shocks, default first month) of the file's disruption:
    the study's events (one state "disrupted" for one event) or the explicit shocks."""
    from critmin.scenarios.sweep.dp import disruption_events, disruption_states

    if study is None:
        assert dis.shocks is not None
        assert dis.probability_per_year is not None
        prob = dis.probability_per_year
        stay = prob if dis.persistence is None else dis.persistence
        transition = np.array([[1.0 - prob, prob], [1.0 - stay, stay]])
        return transition, {"disrupted": [dict(s) for s in dis.shocks]}, None
    try:
        if dis.event is not None:
            events = [dis.event]
        elif dis.events == "all":
            events = disruption_events(study.study)
        else:
            assert isinstance(dis.events, list)
            events = list(dis.events)
        transition, states = disruption_states(study.study, events, dis.persistence)
    except ValueError as exc:
        raise doc.error(("disruption", dis.named_by), str(exc)) from None
    if len(states) == 1:  # one event: the two-state chain, its state named as always
        states = {"disrupted": next(iter(states.values()))}
    start = study.study.disruptions.start if study.study.disruptions else None
    return transition, states, None if start is None else str(start)


def _check_stock(spec: PolicyFile, doc: Document, data: dict[str, Any]) -> str:
    """The stock's market, product and region exist in the base: the mineral it acts in."""
    from critmin.market.spec import Market

    markets = [Market.model_validate(m) for m in data.get("markets") or []]
    st = spec.stockpile
    if st.mineral is not None:
        names = [m.mineral for m in markets]
        if st.mineral not in names:
            raise doc.error(
                ("stockpile", "mineral"), str(UnknownNameError("market", st.mineral, names))
            )
        markets = [m for m in markets if m.mineral == st.mineral]
    with_product = [m for m in markets if st.product in m.product_ids()]
    if not with_product:
        products = sorted({p for m in markets for p in m.product_ids()})
        raise doc.error(
            ("stockpile", "product"), str(UnknownNameError("product", st.product, products))
        )
    market = with_product[0]
    regions = market.region_list()
    if st.region not in regions:
        raise doc.error(
            ("stockpile", "region"), str(UnknownNameError("region", st.region, regions))
        )
    return market.mineral


def _check_year(
    doc: Document, spec: PolicyFile, shocks: list[dict[str, Any]], start: str, explicit: bool
) -> None:
    """Every shock of the disrupted state must act within the solved year, else the
    disrupted year would cost the same as a normal one without anyone noticing."""
    lo, hi = month_index(start), month_index(start) + 11
    for i, s in enumerate(shocks):
        s_lo = month_index(str(s["start"])) if s.get("start") else lo
        s_hi = month_index(str(s["end"])) if s.get("end") else hi
        if s_hi < lo or s_lo > hi:
            loc: tuple[Any, ...] = (
                ("year_start",)
                if spec.year_start is not None
                else (
                    ("disruption", "shocks", i)
                    if explicit
                    else ("disruption", spec.disruption.named_by)
                )
            )
            raise doc.error(
                loc,
                f"shock {i} acts {s.get('start') or '...'}..{s.get('end') or '...'}, outside the "
                f"solved year {start}..{month_label(hi)}; set 'year_start' inside it",
            )


# --------------------------------------------------------------------------- solving

#: most sampled path-years of a simulation: the paths' uniforms and states take 16 bytes a
#: path-year, so this bounds the simulation's memory to ~160 MB
MAX_PATH_YEARS = 10_000_000


def check_simulation_size(paths: int, years: int) -> None:
    """One ``InputError`` when ``paths x years`` would not fit in :data:`MAX_PATH_YEARS`."""
    if paths * years > MAX_PATH_YEARS:
        raise InputError(
            f"{paths:,} paths x {years:,} years = {paths * years:,} sampled path-years; at most "
            f"{MAX_PATH_YEARS:,} (fewer --paths or simulation.years)"
        )


def check_policy_size(
    loaded: LoadedPolicyFile, paths: int | None = None
) -> tuple[int, int, int, float]:
    """``(market runs, paths, years, bytes)`` of solving ``loaded``: one ``InputError`` when
    the sampled path-years are over :data:`MAX_PATH_YEARS` or the estimate is over the
    memory limit (:func:`critmin.bounds.check_memory`). The market runs are a year each, one
    at a time; the simulation holds 16 bytes a path-year for each rule compared."""
    from critmin.bounds import check_memory
    from critmin.market.compile import memory_estimate
    from critmin.market.spec import Market
    from critmin.scenarios.sweep.dp import horizon_periods

    spec = loaded.spec
    n_paths = spec.simulation.paths if paths is None else paths
    years = spec.simulation.years or horizon_periods(spec.discount)
    check_simulation_size(n_paths, years)
    levels = spec.stockpile.levels_t
    runs = (1 + len(loaded.states)) * len({b - a for a in levels for b in levels})
    run = sum(
        memory_estimate(Market.model_validate(m), 12) for m in loaded.base.get("markets") or []
    )
    total = run + 16.0 * 4 * n_paths * years + 64.0 * len(levels) ** 2
    check_memory(
        total,
        f"{loaded.source}: the policy ({runs} market runs, {n_paths:,} paths x {years:,} years)",
        hint="use fewer paths or a smaller base scenario",
    )
    return runs, n_paths, years, total


def _comparison(
    model: Any, optimal: Any, rules: dict[str, Any], *, sim_paths: int, years: int, seed: int
) -> dict[str, Any]:
    from critmin.scenarios.sweep.dp import evaluate_policy, policy_rows, simulate

    policies = {"optimal": optimal}
    for name, action in rules.items():
        policies[name] = evaluate_policy(model, action)
    sim = simulate(model, {k: p.action for k, p in policies.items()}, years, sim_paths, seed)
    best = optimal.expected_cost
    out: dict[str, Any] = {}
    for name, pol in policies.items():
        out[name] = {
            "expected_cost": pol.expected_cost,
            "cost_from_empty_normal": float(pol.value[0, 0]),
            "excess_over_optimal": pol.expected_cost - best,
            "simulated_mean": sim[name]["mean"],
            "simulated_std_error": sim[name]["std_error"],
            "simulated_p95": sim[name]["p95"],
            "policy": policy_rows(model, pol, name),
        }
    return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _model_json(model: Any) -> dict[str, Any]:
    return {
        "levels": [float(x) for x in model.levels],
        "states": list(model.states),
        "transition": model.transition.tolist(),
        "discount_factor": model.discount,
        "initial_weights": model.initial.tolist(),
        # cost[level][state][next level]; null = a forbidden action
        "period_cost": [
            [[_finite(c) for c in row] for row in per_state] for per_state in model.cost.tolist()
        ],
    }


def market_model(loaded: LoadedPolicyFile, on_run: Callable[[int, int], None] | None = None) -> Any:
    """The policy file's :class:`~critmin.scenarios.sweep.dp.MarkovModel`: its market runs
    (``on_run(done, total)`` after each)."""
    from critmin.scenarios.sweep.dp import MarketStock, market_markov

    spec = loaded.spec
    st = spec.stockpile
    stock = MarketStock(
        mineral=loaded.mineral,
        region=st.region,
        product=st.product,
        levels_t=tuple(st.levels_t),
        storage_usd_per_t_year=st.storage_usd_per_t_year,
        start=loaded.year_start,
        purchase_wtp_usd_per_t=st.purchase_wtp_usd_per_t,
        source=f"{loaded.source} (stockpile DP)",
    )
    return market_markov(
        loaded.base,
        stock,
        loaded.transition,
        loaded.states,
        spec.discount,
        no_buildup_when_disrupted=spec.no_buildup_when_disrupted,
        on_run=on_run,
    )


def fill_index(loaded: LoadedPolicyFile) -> int:
    """The index of the level the simple rules fill to (default: the top level)."""
    levels = loaded.spec.stockpile.levels_t
    fill = loaded.spec.rules.fill_to_t
    return len(levels) - 1 if fill is None else levels.index(fill)


def solve_policy_file(
    loaded: LoadedPolicyFile,
    *,
    paths: int | None = None,
    seed: int | None = None,
    on_run: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The optimal policy of a loaded policy file and its comparison with the simple rules
    (a JSON-ready dict; costs in usd, levels in tonnes)."""
    from critmin.scenarios.sweep.dp import (
        horizon_periods,
        market_rules,
        solve_lp,
        value_iteration,
    )

    spec = loaded.spec
    st = spec.stockpile
    sim = spec.simulation
    n_paths = sim.paths if paths is None else paths
    n_seed = sim.seed if seed is None else seed
    years = sim.years or horizon_periods(spec.discount)
    check_policy_size(loaded, n_paths)  # before the market runs
    model = market_model(loaded, on_run)
    lp, vi = solve_lp(model), value_iteration(model)
    target = fill_index(loaded)
    rules, rule_parameters = market_rules(model, target, spec.rules.hold_days)
    return {
        "kind": "critmin stockpile policy",
        "name": spec.name,
        "source": loaded.source,
        "units": {"level": "t", "cost": "usd"},
        "stockpile": {
            "mineral": loaded.mineral,
            "region": st.region,
            "product": st.product,
            "levels_t": list(st.levels_t),
            "storage_usd_per_t_year": st.storage_usd_per_t_year,
        },
        "year_start": loaded.year_start,
        "disruption": _disruption_json(loaded),
        "discount_rate": spec.discount_rate,
        "fill_to": st.levels_t[target],
        "rule_parameters": rule_parameters,
        "simulation": {"paths": n_paths, "years": years, "seed": n_seed},
        "lp_equals_value_iteration": bool(np.array_equal(lp.action, vi.action)),
        "model": _model_json(model),
        "rules": _comparison(model, lp, rules, sim_paths=n_paths, years=years, seed=n_seed),
    }


def _disruption_json(loaded: LoadedPolicyFile) -> dict[str, Any]:
    """The disruption as solved: the chance of some disruption, the first state's
    persistence and every state's shocks, and per state its own probability and persistence."""
    dis = loaded.spec.disruption
    return {
        "probability_per_year": loaded.probability_per_year,
        "persistence": float(loaded.transition[1, 1]),
        "shocks": loaded.shocks,
        "event": dis.event,
        "study": dis.study,
        # per disrupted state (one "disrupted", or one per event of the study)
        "states": {
            name: {
                "probability_per_year": float(loaded.transition[0, k]),
                "persistence": float(loaded.transition[k, k]),
                "shocks": shocks,
            }
            for k, (name, shocks) in enumerate(loaded.states.items(), start=1)
        },
    }


def teisberg_result(*, paths: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The GAMS MARKOV model (SEQ=82) solved both ways, with the simple rules (fill to the
    middle level, 9 million barrels) priced and simulated the same way as a market run."""
    from critmin.scenarios.sweep.dp import (
        horizon_periods,
        simple_rules,
        solve_lp,
        teisberg_markov,
        value_iteration,
    )

    model = teisberg_markov()
    years = horizon_periods(model.discount)
    check_simulation_size(paths, years)
    lp, vi = solve_lp(model), value_iteration(model)
    return {
        "kind": "GAMS Model Library MARKOV (SEQ=82), Teisberg 1981",
        "name": "teisberg_markov",
        "units": {"level": "million barrels", "cost": "model units (GAMS)"},
        "lp_equals_value_iteration": bool(np.array_equal(lp.action, vi.action)),
        "max_value_difference": float(np.max(np.abs(lp.value - vi.value))),
        "value_iteration_action": vi.action.tolist(),
        "fill_to": float(model.levels[3]),
        "simulation": {"paths": paths, "years": years, "seed": seed},
        "model": _model_json(model),
        "rules": _comparison(
            model, lp, simple_rules(len(model.levels), 3), sim_paths=paths, years=years, seed=seed
        ),
    }
