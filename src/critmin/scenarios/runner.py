"""Run scenarios through the market engine and write the run-results contract.

``execute`` -> for each scenario, each market: compile, build instruments, run the months;
collect tidy series and headline metrics, compare with the named baseline; returns a
:class:`~critmin.scenarios.outcome.StudyResult` (``run_study`` is its untyped form).
Writing the files (and composing the report) is :func:`~critmin.scenarios.outcome.write_outputs`,
called by the face.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from critmin import __version__
from critmin.bounds import TimeLimit, current_time_limit, stage, time_limit
from critmin.errors import SolverError, UnknownNameError
from critmin.market.compile import compile_market
from critmin.market.engine import MarketRun, MonthSolve, run_market
from critmin.market.metrics import compare_physical
from critmin.market.probe import Probe
from critmin.market.results import (
    SeriesParts,
    merge,
    release_routes,
    scenario_metrics,
    series_columns,
)
from critmin.policy.parameters import ParameterReads, trace_reads
from critmin.scenarios.compare import BaselineComparison, compare_to_baseline
from critmin.scenarios.headline import HeadlineMetrics
from critmin.scenarios.loader import SMALLER_SCENARIO, LoadedScenario
from critmin.scenarios.outcome import (
    ScenarioOutcome,
    StudyResult,
    status_counts,
    write_outputs,
)
from critmin.scenarios.plugins import reform_changes

__all__ = ["BASELINE_SCENARIO", "execute", "run_scenario", "run_study", "write_outputs"]

#: the free-trade run other scenarios are compared with (security premium, trade diversion)
BASELINE_SCENARIO = "baseline_free_trade"


@dataclass
class ScenarioResult:
    """Series and metrics of one scenario (all its markets)."""

    loaded: LoadedScenario
    series_parts: list[SeriesParts]
    metrics: dict[str, Any]
    #: each chain's run as its metrics read it: node table, shape, reports, convergence; the
    #: per-route month arrays are released (:func:`~critmin.market.results.release_routes`)
    runs: list[MarketRun] = field(default_factory=list)
    assumptions: list[dict[str, Any]] = field(default_factory=list)
    #: the dated parameters the instruments read while running (policy.parameters tracer)
    parameter_reads: ParameterReads = field(default_factory=ParameterReads)
    #: how each month of each chain was solved, chains in market order
    solves: list[MonthSolve] = field(default_factory=list)


def count_months(loaded: Sequence[LoadedScenario]) -> int:
    """Market-months to solve (for a progress bar)."""
    return sum(len(ls.scenario.month_labels()) * len(ls.scenario.markets or []) for ls in loaded)


#: phases of :func:`run_study` timed when a ``timings`` dict is passed (seconds, summed)
TIMED_PHASES = (
    "compile",  # scenario -> month arrays
    "engine",  # run_market: LP build + month loop (includes the next four)
    "highs_run",  # inside Highs.run()
    "highs_other",  # other HiGHS calls: pushing changed costs/bounds, status, solution read
    "instruments",  # the instruments' lifecycle methods
    "tables",  # tidy series columns and the one DataFrame
    "metrics",  # headline metrics per scenario, summary dict
    "comparison",  # compare_to_baseline
)


def _add(timings: dict[str, float] | None, key: str, seconds: float) -> None:
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + seconds


@dataclass(frozen=True)
class ChainTask:
    """One chain of a scenario to solve: everything :func:`solve_chain` needs, as data (a
    Dask worker receives it pickled and reads no file)."""

    source: str  # the scenario's file, for error messages
    scenario: str  # the scenario's name (the tidy table's ``scenario`` column)
    market: Any  # critmin.market.spec.Market
    months: list[str]
    shocks: list[Any]
    instruments: list[Any]  # the instrument specs that apply to this market
    timed: bool = False  # report the engine's phases (timings requested)
    #: on a cluster: ``critmin run --time-limit-s``'s budget, ``(seconds, already spent)``
    #: when the chain was sent (a worker has its own clock; in process the budget is shared)
    time_limit: tuple[float, float] | None = None


@dataclass
class ChainRun:
    """What one chain gives its scenario: tidy rows, the run as the metrics read it (route
    arrays released), assumptions, parameter reads and the phases' seconds."""

    parts: SeriesParts
    run: MarketRun
    assumptions: list[dict[str, Any]]
    reads: dict[Any, set[str]]
    seconds: dict[str, float]
    #: per month: how it was solved
    solves: tuple[MonthSolve, ...]


def solve_chain(task: ChainTask, on_month: Callable[[str], None] | None = None) -> ChainRun:
    """Compile one chain, build its instruments, run its months and build its tidy rows: a
    pure function of ``task`` (the same in any process)."""
    budget: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if task.time_limit is not None:
        limit_s, spent_s = task.time_limit
        budget = time_limit(TimeLimit(limit_s, started=time.monotonic() - spent_s))
    with budget:
        return _solve_chain(task, on_month)


def _solve_chain(task: ChainTask, on_month: Callable[[str], None] | None) -> ChainRun:
    """:func:`solve_chain` under its budget: each step is a stage of ``--time-limit-s``."""
    clock = time.perf_counter
    t0 = clock()
    chain = f"chain {task.market.mineral!r}"
    with stage(
        f"compiling {chain} ({len(task.months):,} months)",
        where=task.source,
        hint=SMALLER_SCENARIO,
    ):
        cm = compile_market(task.market, task.months, task.shocks)
    # every parameter an instrument reads while it is built and run is recorded, so the
    # summary lists what was used without the runner knowing any instrument; the clearing
    # LP stops at the time limit itself and names the chain, month and iteration
    with (
        stage(f"solving {chain}", where=task.source, interruptible=False),
        trace_reads() as market_reads,
    ):
        instruments = [s.build() for s in task.instruments]
        t1 = clock()
        probe = Probe() if task.timed else None
        try:
            run = run_market(cm, instruments, on_month=on_month, probe=probe)
        except SolverError as exc:
            # the engine names chain, month and iteration; the study also needs the file
            raise SolverError(
                f"{task.source}: {exc}",
                chain=exc.chain,
                month=exc.month,
                iteration=exc.iteration,
            ) from None
    t2 = clock()
    seconds = {"compile": t1 - t0, "engine": t2 - t1}
    if probe is not None:
        seconds["highs_run"] = probe.highs_run_s
        seconds["highs_other"] = probe.highs_calls_s - probe.highs_run_s
        seconds["instruments"] = probe.instruments_s
    with stage(f"building the tables of {chain}", where=task.source, hint=SMALLER_SCENARIO):
        parts = series_columns(task.scenario, run)
        # keep what the headline metrics read and release the chain's per-route month arrays
        # (a 60-chain study held every chain's ~30 MB of them until the end)
        kept = release_routes(run)
    seconds["tables"] = clock() - t2
    solves = run.month_solves()
    return ChainRun(parts, kept, list(cm.assumptions), dict(market_reads.months), seconds, solves)


def chain_tasks(loaded: LoadedScenario, *, timed: bool = False) -> list[ChainTask]:
    """The chains of one scenario, in market order."""
    sc = loaded.scenario
    months, specs = sc.month_labels(), sc.instrument_specs()
    return [
        ChainTask(
            source=loaded.source,
            scenario=sc.name,
            market=market,
            months=months,
            shocks=list(sc.shocks),
            instruments=[s for s in specs if s.mineral in (None, market.mineral)],
            timed=timed,
        )
        for market in sc.markets or []
    ]


#: runs chains: ``(tasks, on_month) -> ChainRun`` for each task, in order (see ``execute``)
ChainMap = Callable[[list[ChainTask], Callable[[str], None] | None], Iterable[ChainRun]]


def _in_process(
    tasks: list[ChainTask], on_month: Callable[[str], None] | None
) -> Iterator[ChainRun]:
    return (solve_chain(task, on_month) for task in tasks)


@contextlib.contextmanager
def _on_cluster(scheduler: str, workers: int) -> Iterator[ChainMap]:
    """A :data:`ChainMap` that solves chains on a Dask cluster (closed on leaving)."""
    from critmin.scenarios.cluster import connect, ordered_map

    client, cluster = connect(scheduler, workers)

    def chains(
        tasks: list[ChainTask], on_month: Callable[[str], None] | None
    ) -> Iterator[ChainRun]:
        finished: Callable[[ChainTask], None] | None = None
        if on_month is not None:
            tell = on_month

            def finished(task: ChainTask) -> None:
                # progress by chain, as each finishes (workers do not call back per month)
                for month in task.months:
                    tell(month)

        sent = (_with_budget(task) for task in tasks)  # stamped as each is submitted
        # a few chains ahead per worker: enough to keep them busy, while the driver holds
        # only those chains' tables
        yield from ordered_map(
            client,
            solve_chain,
            sent,
            window=2 * workers,
            on_done=finished,
        )

    try:
        yield chains
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _with_budget(task: ChainTask) -> ChainTask:
    """``task`` carrying what is left of the run's time budget, for a worker to enforce."""
    limit = current_time_limit()
    if limit is None:
        return task
    return dataclasses.replace(task, time_limit=(limit.seconds, limit.seconds - limit.remaining()))


def run_scenario(
    loaded: LoadedScenario,
    on_month: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    chains: ChainMap = _in_process,
) -> ScenarioResult:
    """Solve every market of one scenario over its months (``timings``: see
    :data:`TIMED_PHASES`; ``chains``: where the chains run, see :func:`execute`)."""
    clock = time.perf_counter
    sc = loaded.scenario
    runs: list[MarketRun] = []
    parts: list[SeriesParts] = []
    assumptions: list[dict[str, Any]] = []
    reads = ParameterReads()
    solves: list[MonthSolve] = []
    for chain in chains(chain_tasks(loaded, timed=timings is not None), on_month):
        for key, seen in chain.reads.items():
            reads.months.setdefault(key, set()).update(seen)
        parts.append(chain.parts)
        assumptions.extend(chain.assumptions)
        for phase, seconds in chain.seconds.items():
            _add(timings, phase, seconds)
        solves.extend(chain.solves)
        runs.append(chain.run)
    for shock in sc.shocks:
        if shock.source or shock.estimate:
            what = shock.model_dump(
                exclude={"source", "estimate", "start", "end"}, exclude_none=True
            )
            # "export_ban shock: exporter CHN, product ndpr_oxide/ndpr_metal" rather than a
            # Python dict repr in the report's assumptions table
            kind = what.pop("kind", "shock")
            details = ", ".join(
                f"{k} {'/'.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in what.items()
            )
            assumptions.append(
                {
                    "item": f"{sc.name}: {kind} shock ({details})",
                    "value": f"{shock.start or 'start'}..{shock.end or 'end'}",
                    "unit": "months",
                    "source": shock.source or "",
                    "estimate": shock.estimate,
                }
            )
    t0 = clock()
    with stage(
        f"building the metrics of scenario {sc.name!r}", where=loaded.source, hint=SMALLER_SCENARIO
    ):
        metrics = scenario_metrics(runs)
    _add(timings, "metrics", clock() - t0)
    return ScenarioResult(loaded, parts, metrics, runs, assumptions, reads, solves)


def summary_dict(results: Sequence[ScenarioResult]) -> dict[str, Any]:
    """``summary.json`` content (see the run-results contract)."""
    inputs: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    assumptions: list[dict[str, Any]] = []
    for res in results:
        inputs.update(res.loaded.inputs)
        for row in res.assumptions:
            key = (row["item"], row["value"])
            if key not in seen:
                seen.add(key)
                assumptions.append(row)
    seeds = {res.loaded.scenario.seed for res in results} - {None}
    months = [res.loaded.scenario.month_labels() for res in results]
    return {
        "critmin_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": next(iter(seeds)) if len(seeds) == 1 else None,
        "inputs": inputs,
        "scenarios": [
            {
                "name": res.loaded.scenario.name,
                "description": res.loaded.scenario.description,
                "source": res.loaded.source,
                "months": {"start": m[0], "end": m[-1]},
                "metrics": res.metrics,
                "reform_changes": reform_changes(res.loaded.scenario.instruments),
                "parameters_used": res.parameter_reads.used(),
                "solve_status": status_counts(res.solves),
            }
            for res, m in zip(results, months, strict=True)
        ],
        "assumptions": assumptions,
    }


def run_study(
    loaded: Sequence[LoadedScenario],
    on_month: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    baseline: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run every scenario; returns (tidy series of all scenarios, summary dict).

    The untyped form of :func:`execute`; ``baseline`` None picks as :data:`AUTO` does.
    ``timings``, when given, receives the seconds spent per phase (:data:`TIMED_PHASES`).
    """
    result = execute(loaded, on_month, timings, AUTO if baseline is None else baseline)
    return result.series, result.summary


#: ``baseline=`` of :func:`execute`: the free-trade run when the study has it
AUTO = "auto"


def _pick_baseline(names: list[str], baseline: str | None) -> str | None:
    if baseline == AUTO:
        if len(set(names)) < 2:
            return None  # nothing to compare
        return BASELINE_SCENARIO if BASELINE_SCENARIO in names else names[0]
    if baseline is not None and baseline not in names:
        raise UnknownNameError("baseline scenario", baseline, names)
    return baseline


def execute(
    loaded: Sequence[LoadedScenario],
    on_month: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    baseline: str | None = AUTO,
    *,
    scheduler: str | None = None,
    workers: int = 2,
) -> StudyResult:
    """Run every scenario and compare them with ``baseline`` (a scenario name of the study;
    :data:`AUTO`: ``baseline_free_trade`` when present, else the first scenario, when the
    study has two or more; None: no comparison).

    ``scheduler``: None solves the chains in this process; ``local`` (a LocalCluster of
    ``workers`` processes) or a scheduler's address solves them on a Dask cluster
    (:mod:`critmin.scenarios.cluster`). Each chain is a pure function of its inputs, so the
    results are identical either way (``tests/scenarios/test_chains_on_dask.py``)."""
    names = [ls.scenario.name for ls in loaded]
    base = _pick_baseline(names, baseline)
    if scheduler is None:
        results = [run_scenario(ls, on_month, timings) for ls in loaded]
    else:
        # each worker enforces what is left of the budget (_with_budget) and names the stage,
        # the chain and the month; the timer here would only say "waiting"
        with (
            stage("solving on the cluster", where=sources_line(loaded), interruptible=False),
            _on_cluster(scheduler, workers) as chains,
        ):
            results = [run_scenario(ls, on_month, timings, chains) for ls in loaded]
    with stage("building the study's tables", where=sources_line(loaded), hint=SMALLER_SCENARIO):
        return _tables(results, base, timings)


def sources_line(loaded: Sequence[LoadedScenario]) -> str:
    """The study's files for a message (``a.yaml, b.yaml, c.yaml and 2 more``)."""
    names = list(dict.fromkeys(ls.source for ls in loaded))
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _tables(
    results: list[ScenarioResult], base: str | None, timings: dict[str, float] | None
) -> StudyResult:
    """The study's series, summary and comparison with ``base`` from its scenarios' runs."""
    clock = time.perf_counter
    t0 = clock()
    series = merge([part for r in results for part in r.series_parts]).frame()
    t1 = clock()
    summary = summary_dict(results)
    t2 = clock()
    _add(timings, "tables", t1 - t0)
    _add(timings, "metrics", t2 - t1)
    figures: dict[str, dict[str, Any]] = {}
    if base is not None:
        # the managed-market figures join each scenario's metrics, so the report compares them
        figures = compare_to_baseline(series, base)
        _add(timings, "comparison", clock() - t2)
        base_metrics = next(e["metrics"] for e in summary["scenarios"] if e["name"] == base)
        physical = {
            e["name"]: compare_physical(base_metrics, e["metrics"]) for e in summary["scenarios"]
        }
        for entry in summary["scenarios"]:
            entry["metrics"].update(figures.get(entry["name"], {}))
            entry["metrics"].update(physical[entry["name"]])
        summary["baseline_scenario"] = base
    outcomes = tuple(
        ScenarioOutcome(
            name=r.loaded.scenario.name,
            source=r.loaded.source,
            months=(entry["months"]["start"], entry["months"]["end"]),
            seed=r.loaded.scenario.seed,
            metrics=HeadlineMetrics.from_dict(r.metrics),
            solves=tuple(r.solves),
            comparison=(
                BaselineComparison.from_dict(base, figures[r.loaded.scenario.name])
                if base is not None
                else None
            ),
        )
        for r, entry in zip(results, summary["scenarios"], strict=True)
    )
    return StudyResult(series, summary, outcomes, base)
