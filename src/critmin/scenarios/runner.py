"""Run scenarios through the market engine and write the run-results contract.

``run_study`` -> for each scenario, each market: compile, build instruments, run the months;
collect tidy series and headline metrics; ``write_outputs`` writes ``series.parquet``,
``summary.json`` and (when :mod:`critmin.reports` provides ``build_report``) ``report.html``,
each to a temporary file renamed into place.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from critmin import __version__
from critmin.errors import UnknownNameError
from critmin.fileio import atomic_write, atomic_write_text
from critmin.market.compile import compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.market.metrics import compare_physical
from critmin.market.results import SeriesParts, merge, scenario_metrics, series_columns
from critmin.scenarios.compare import compare_to_baseline
from critmin.scenarios.loader import LoadedScenario
from critmin.scenarios.plugins import reform_changes

#: the free-trade run other scenarios are compared with (security premium, trade diversion)
BASELINE_SCENARIO = "baseline_free_trade"


@dataclass
class ScenarioResult:
    """Series and metrics of one scenario (all its markets)."""

    loaded: LoadedScenario
    series_parts: list[SeriesParts]
    metrics: dict[str, Any]
    runs: list[MarketRun] = field(default_factory=list)
    assumptions: list[dict[str, Any]] = field(default_factory=list)


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


def run_scenario(
    loaded: LoadedScenario,
    on_month: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> ScenarioResult:
    """Solve every market of one scenario over its months (``timings``: see
    :data:`TIMED_PHASES`)."""
    clock = time.perf_counter
    sc = loaded.scenario
    months = sc.month_labels()
    specs = sc.instrument_specs()
    runs: list[MarketRun] = []
    parts: list[SeriesParts] = []
    assumptions: list[dict[str, Any]] = []
    for market in sc.markets or []:
        t0 = clock()
        cm = compile_market(market, months, sc.shocks)
        instruments = [s.build() for s in specs if s.mineral in (None, market.mineral)]
        t1 = clock()
        run = run_market(cm, instruments, on_month=on_month)
        t2 = clock()
        runs.append(run)
        parts.append(series_columns(sc.name, run))
        assumptions.extend(cm.assumptions)
        _add(timings, "compile", t1 - t0)
        _add(timings, "engine", t2 - t1)
        _add(timings, "highs_run", run.solver_seconds)
        _add(timings, "highs_other", run.highs_seconds - run.solver_seconds)
        _add(timings, "instruments", run.instrument_seconds)
        _add(timings, "tables", clock() - t2)
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
    metrics = scenario_metrics(runs)
    _add(timings, "metrics", clock() - t0)
    return ScenarioResult(loaded, parts, metrics, runs, assumptions)


def summary_dict(results: Sequence[ScenarioResult]) -> dict[str, Any]:
    """``summary.json`` content (see the run-results contract)."""
    # the shipped baseline, parsed once per process (the instruments share the same cache):
    # re-parsing its YAML took ~15 ms of every run
    from critmin.policy.instruments._common import _baseline as baseline
    from critmin.policy.parameters import month_end

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
    base = baseline()

    def parameters_used(instruments: Sequence[Any], first: str, last: str) -> list[dict[str, Any]]:
        # baseline parameters an instrument reads: one its YAML names (floor_parameter, a reform
        # key), and for a bloc instrument (forge_levy) <bloc>.in_force, .levy_bound.* unless a
        # bound is given, .reference_price.* of its products unless given explicitly
        users: dict[str, list[str]] = {}
        for i, item in enumerate(instruments):
            if not isinstance(item, dict):
                continue
            label = str(item.get("name") or f"{item.get('kind', 'instrument')}[{i}]")
            names = {v for v in item.values() if isinstance(v, str) and v in base}
            names.update(k for k in item.get("parameters") or {} if k in base)
            bloc = item.get("bloc")
            if isinstance(bloc, str):
                names.add(f"{bloc}.in_force")
                if item.get("bound_share") is None and item.get("bound_usd_per_t") is None:
                    names.add(f"{bloc}.levy_bound.ad_valorem_share")
                given, wanted = item.get("reference_prices_usd_per_t") or {}, item.get("products")
                names.update(
                    n
                    for n in base
                    if n.startswith(f"{bloc}.reference_price.")
                    and (wanted is None or n.rsplit(".", 1)[1] in wanted)
                    and n.rsplit(".", 1)[1] not in given
                )
            for name in names & set(base):
                users.setdefault(name, []).append(label)
        rows: list[dict[str, Any]] = []
        start, end = month_end(first), month_end(last)
        for name in sorted(users):
            param = base[name]
            for pv in param.values:  # values in force at some time of the run
                nxt = next((v.start for v in param.values if v.start > pv.start), None)
                if pv.start <= end and (nxt is None or nxt > start):
                    value = list(pv.value) if isinstance(pv.value, tuple) else pv.value
                    rows.append(
                        {
                            "parameter": name,
                            "description": param.description,
                            "from": pv.start.isoformat(),
                            "value": value,
                            "unit": param.unit,
                            "reference": pv.reference,
                            "estimate": pv.estimate,
                            "instruments": sorted(set(users[name])),
                        }
                    )
        return rows

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
                "parameters_used": parameters_used(res.loaded.scenario.instruments, m[0], m[-1]),
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

    ``timings``, when given, receives the seconds spent per phase (:data:`TIMED_PHASES`).
    ``baseline`` names the scenario the others are compared with (default: the free-trade
    run :data:`BASELINE_SCENARIO` when present, else the first scenario).
    """
    names_in_order = [ls.scenario.name for ls in loaded]
    if baseline is not None and baseline not in names_in_order:
        raise UnknownNameError("baseline scenario", baseline, names_in_order)
    clock = time.perf_counter
    results = [run_scenario(ls, on_month, timings) for ls in loaded]
    t0 = clock()
    whole = merge([part for r in results for part in r.series_parts])
    coded = whole.coded()  # the string columns' codes, shared by the frame and the comparison
    series = whole.frame(coded)
    t1 = clock()
    summary = summary_dict(results)
    t2 = clock()
    _add(timings, "tables", t1 - t0)
    _add(timings, "metrics", t2 - t1)
    names = {r.loaded.scenario.name for r in results}
    if baseline is None:
        baseline = BASELINE_SCENARIO if BASELINE_SCENARIO in names else names_in_order[0]
    if len(names) > 1:
        # the managed-market figures join each scenario's metrics, so the report compares them
        t0 = clock()
        comparison = compare_to_baseline(series, baseline, coded=coded)
        _add(timings, "comparison", clock() - t0)
        base_metrics = next(e["metrics"] for e in summary["scenarios"] if e["name"] == baseline)
        for entry in summary["scenarios"]:
            entry["metrics"].update(comparison.get(entry["name"], {}))
            entry["metrics"].update(compare_physical(base_metrics, entry["metrics"]))
        summary["baseline_scenario"] = baseline
    return series, summary


def write_outputs(out_dir: Path, series: pd.DataFrame, summary: dict[str, Any]) -> list[Path]:
    """Write series.parquet, summary.json and report.html (if the report layer is present)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    series_path = out_dir / "series.parquet"

    def _parquet(tmp: Path) -> None:
        series.to_parquet(tmp, index=False)

    atomic_write(series_path, _parquet)
    written.append(series_path)
    summary_path = out_dir / "summary.json"
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=False)

    atomic_write_text(summary_path, text + "\n")
    written.append(summary_path)
    build_report = _report_builder()
    if build_report is not None:
        report_path = out_dir / "report.html"

        def _build(tmp: Path) -> None:
            build_report(series, summary, tmp)

        atomic_write(report_path, _build)
        written.append(report_path)
    return written


def _report_builder() -> Callable[[pd.DataFrame, dict[str, Any], Path], Path] | None:
    try:
        from critmin import reports
    except ImportError:  # pragma: no cover - the package always exists
        return None
    builder = getattr(reports, "build_report", None)
    return builder if callable(builder) else None
