"""The typed result of a study run: :class:`StudyResult` and one :class:`ScenarioOutcome` each.

A result is plain data (a pandas frame, dicts, frozen dataclasses), so it pickles and
crosses process boundaries unchanged; it holds no solver object and no compiled arrays.
``summary`` is exactly what ``summary.json`` holds; the typed views (:attr:`metrics`,
:attr:`comparison`, :meth:`prices`, :meth:`flows`) read from the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.errors import UnknownNameError
from critmin.fileio import OutputSet
from critmin.market.engine import MonthSolve, MonthStatus
from critmin.scenarios.compare import BaselineComparison, compare
from critmin.scenarios.headline import HeadlineMetrics

#: writes report.html from (series, summary) to a path; supplied by the face (cli, facade)
ReportBuilder = Callable[[pd.DataFrame, dict[str, Any], Path], object]


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario of a run: where it came from, its months, seed and figures."""

    name: str
    source: str
    months: tuple[str, str]
    seed: int | None
    metrics: HeadlineMetrics
    comparison: BaselineComparison | None
    #: how each month of each chain was solved (chains in market order, months in order):
    #: status (``optimal``: HiGHS solved it; ``optimal_basis_kept``: the kept basis answered
    #: every solve of the month, HiGHS was not called; ``iteration_limit``: the instruments
    #: did not settle within the engine's cap, the month holds the last solve), solves in the
    #: month, HiGHS runs and HiGHS's model status; ``solves.parquet`` holds the same rows
    solves: tuple[MonthSolve, ...] = ()

    @property
    def solve_status(self) -> dict[str, tuple[MonthStatus, ...]]:
        """Per chain (market), each month's status in month order."""
        out: dict[str, list[MonthStatus]] = {}
        for m in self.solves:
            out.setdefault(m.chain, []).append(m.status)
        return {c: tuple(s) for c, s in out.items()}

    def status_counts(self) -> dict[str, dict[str, int]]:
        """Per chain, months per status (what summary.json ``solve_status`` holds)."""
        return status_counts(self.solves)


def status_counts(solves: Iterable[MonthSolve]) -> dict[str, dict[str, int]]:
    """Per chain, ``{status: months}`` sorted by status (summary.json ``solve_status``)."""
    counts: dict[str, dict[str, int]] = {}
    for m in solves:
        chain = counts.setdefault(m.chain, {})
        chain[m.status.value] = chain.get(m.status.value, 0) + 1
    return {c: dict(sorted(n.items())) for c, n in counts.items()}


#: the columns of ``solves.parquet`` (:meth:`StudyResult.solves`), in order
SOLVES_COLUMNS = (
    "scenario",
    "chain",
    "month",
    "status",
    "iterations",
    "highs_runs",
    "highs_model_status",
)


def solves_frame(scenarios: Iterable[ScenarioOutcome]) -> pd.DataFrame:
    """One row per scenario, chain and month (:data:`SOLVES_COLUMNS`): how it was solved."""
    rows = [
        (
            sc.name,
            m.chain,
            m.month,
            m.status.value,
            m.iterations,
            m.highs_runs,
            m.highs_model_status,
        )
        for sc in scenarios
        for m in sc.solves
    ]
    frame = pd.DataFrame(rows, columns=list(SOLVES_COLUMNS))
    return frame.astype({"iterations": "int64", "highs_runs": "int64"})


#: the ``solve_status`` column's type: one category per :class:`MonthStatus`, in its order
SOLVE_STATUS_DTYPE = pd.CategoricalDtype([s.value for s in MonthStatus])
#: what a tidy row and a row of ``solves.parquet`` have in common: one chain's month
_CHAIN_MONTH = ["scenario", "chain", "month"]


def join_solve_status(series: pd.DataFrame, solves: pd.DataFrame) -> pd.DataFrame:
    """``series`` (a tidy table, :meth:`StudyResult.series` or :func:`critmin.read_series`)
    with one more column, ``solve_status`` (categorical, :data:`SOLVE_STATUS_DTYPE`): the
    status ``solves`` (:meth:`StudyResult.solves` or ``solves.parquet``) gives the row's
    scenario, chain and month. Rows and their order are unchanged; a row whose chain and
    month ``solves`` does not list (an older table without ``chain``) gets a missing value.

    The status is joined on request rather than stored in ``series.parquet``: it is one value
    per chain and month, which the tidy table would repeat on each of the month's rows (every
    node, route and variable), and the tidy columns are the run-results contract the other
    engines (the stockpile's simulation) and the report share."""
    missing = [c for c in (*_CHAIN_MONTH, "status") if c not in solves.columns]
    if missing:
        raise ValueError(f"solves without column(s) {', '.join(missing)} (solves.parquet)")
    table = solves[[*_CHAIN_MONTH, "status"]]
    if table.duplicated(_CHAIN_MONTH).any():
        raise ValueError("solves lists a scenario, chain and month twice")
    # positions by key: an index lookup (no merge), so the rows keep their order and index
    where = pd.MultiIndex.from_frame(table[_CHAIN_MONTH].astype(str)).get_indexer(
        pd.MultiIndex.from_frame(series[_CHAIN_MONTH].astype(str))
    )
    status = table["status"].astype(str)
    known = list(SOLVE_STATUS_DTYPE.categories)
    unknown = sorted(set(status) - set(known))
    if unknown:
        raise ValueError(f"solves: unknown status {unknown}; expected one of {known}")
    # a last code -1 (missing) for the rows get_indexer did not find (position -1)
    codes = np.append(pd.Categorical(status, dtype=SOLVE_STATUS_DTYPE).codes, -1)
    out = series.copy(deep=False)
    out["solve_status"] = pd.Categorical.from_codes(codes[where], dtype=SOLVE_STATUS_DTYPE)
    return out


@dataclass(frozen=True)
class StudyResult:
    """Everything a study run produced (see module docstring).

    ``series``: the tidy table (docs/scenarios.md, run-results contract); ``summary``: the
    ``summary.json`` mapping; ``scenarios``: typed per-scenario figures, in run order;
    ``baseline``: the scenario the others were compared with (None when there was none).
    """

    series: pd.DataFrame
    summary: dict[str, Any]
    scenarios: tuple[ScenarioOutcome, ...]
    baseline: str | None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def scenario(self, name: str) -> ScenarioOutcome:
        """The outcome of the scenario called ``name`` (an unknown name says the close ones)."""
        for s in self.scenarios:
            if s.name == name:
                return s
        raise UnknownNameError("scenario", name, self.names)

    def metrics(self, name: str) -> HeadlineMetrics:
        return self.scenario(name).metrics

    def variable(self, variable: str, scenario: str | None = None) -> pd.DataFrame:
        """Rows of one output variable (all scenarios, or one), in table order."""
        s = self.series
        mask = s["variable"] == variable
        if scenario is not None:
            self.scenario(scenario)  # unknown names fail with a suggestion
            mask &= s["scenario"] == scenario
        return s.loc[mask].reset_index(drop=True)

    def prices(self, scenario: str | None = None) -> pd.DataFrame:
        """Node prices (usd_per_t) as rows: scenario, month, product, stage, region, value."""
        return self.variable("price", scenario)

    def flows(self, scenario: str | None = None) -> pd.DataFrame:
        """Route flows (t); ``region`` is ``"EXPORTER->IMPORTER"``."""
        return self.variable("flow", scenario)

    def solves(self) -> pd.DataFrame:
        """How each month of each chain of each scenario was solved (``solves.parquet``)."""
        return solves_frame(self.scenarios)

    def series_with_solve_status(self) -> pd.DataFrame:
        """:attr:`series` with a ``solve_status`` column: each row's chain-month status
        (:func:`join_solve_status`)."""
        return join_solve_status(self.series, self.solves())

    def compare(self, baseline: str) -> dict[str, BaselineComparison]:
        """Every scenario against the scenario named ``baseline`` (which must be in the run)."""
        return compare(self.series, baseline)

    def write(
        self, out_dir: Path | str | OutputSet, report: ReportBuilder | None = None
    ) -> list[Path]:
        """Write ``series.parquet``, ``solves.parquet`` and ``summary.json`` (and
        ``report.html`` through ``report`` when given) to ``out_dir`` as one output set: all
        appear at once, or none."""
        return write_outputs(out_dir, self.series, self.summary, report, solves=self.solves())


#: the files of a run's output set (critmin.fileio.OutputSet): they appear together or not at all
RUN_FILES = ("series.parquet", "solves.parquet", "summary.json", "report.html")


def write_outputs(
    out_dir: Path | str | OutputSet,
    series: pd.DataFrame,
    summary: dict[str, Any],
    report: ReportBuilder | None = None,
    *,
    solves: pd.DataFrame | None = None,
) -> list[Path]:
    """Write series.parquet, summary.json and, when given, solves.parquet (``solves``, see
    :data:`SOLVES_COLUMNS`) and report.html (``report``), as one output set
    (:class:`critmin.fileio.OutputSet`): the folder is locked against a second writer and the
    files replace the previous set together, or not at all.

    Pass an open :class:`OutputSet` to hold the lock for longer (the CLI holds it for the
    whole run, so a second run into the same folder is refused at once). The report is
    composed by the caller's layer (the CLI passes :func:`critmin.reports.build_report`): the
    scenarios layer does not import reports.
    """
    if not isinstance(out_dir, OutputSet):
        with OutputSet(out_dir, names=RUN_FILES) as outs:
            write_outputs(outs, series, summary, report, solves=solves)
        return outs.written
    outs = out_dir
    series.to_parquet(outs.path("series.parquet"), index=False)
    if solves is not None:
        solves.to_parquet(outs.path("solves.parquet"), index=False)
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=False)
    outs.path("summary.json").write_text(text + "\n", encoding="utf-8")
    if report is not None:
        report(series, summary, outs.path("report.html"))
    return [outs.folder / n for n in RUN_FILES if outs.path(n).exists()]
