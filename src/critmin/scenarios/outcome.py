"""The typed result of a study run: :class:`StudyResult` and one :class:`ScenarioOutcome` each.

A result is plain data (a pandas frame, dicts, frozen dataclasses), so it pickles and
crosses process boundaries unchanged; it holds no solver object and no compiled arrays.
``summary`` is exactly what ``summary.json`` holds; the typed views (:attr:`metrics`,
:attr:`comparison`, :meth:`prices`, :meth:`flows`) read from the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.errors import UnknownNameError
from critmin.fileio import OutputSet
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
    #: per chain (market), how each month was solved, in month order: ``optimal`` (HiGHS
    #: solved it), ``optimal_basis_kept`` (the kept basis answered every solve of the month,
    #: HiGHS was not called), ``iteration_limit`` (the instruments did not settle within the
    #: engine's cap; the month holds the last solve); summary.json has the counts
    solve_status: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def status_counts(self) -> dict[str, dict[str, int]]:
        """Per chain, months per status (what summary.json ``solve_status`` holds)."""
        out: dict[str, dict[str, int]] = {}
        for chain, months in self.solve_status.items():
            counts = out.setdefault(chain, {})
            for s in months:
                counts[s] = counts.get(s, 0) + 1
        return {c: dict(sorted(n.items())) for c, n in out.items()}


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

    def compare(self, baseline: str) -> dict[str, BaselineComparison]:
        """Every scenario against the scenario named ``baseline`` (which must be in the run)."""
        return compare(self.series, baseline)

    def write(
        self, out_dir: Path | str | OutputSet, report: ReportBuilder | None = None
    ) -> list[Path]:
        """Write ``series.parquet`` and ``summary.json`` (and ``report.html`` through
        ``report`` when given) to ``out_dir`` as one output set: all appear at once, or none."""
        return write_outputs(out_dir, self.series, self.summary, report)


#: the files of a run's output set (critmin.fileio.OutputSet): they appear together or not at all
RUN_FILES = ("series.parquet", "summary.json", "report.html")


def write_outputs(
    out_dir: Path | str | OutputSet,
    series: pd.DataFrame,
    summary: dict[str, Any],
    report: ReportBuilder | None = None,
) -> list[Path]:
    """Write series.parquet, summary.json and, when ``report`` is given, report.html, as one
    output set (:class:`critmin.fileio.OutputSet`): the folder is locked against a second
    writer and the files replace the previous set together, or not at all.

    Pass an open :class:`OutputSet` to hold the lock for longer (the CLI holds it for the
    whole run, so a second run into the same folder is refused at once). The report is
    composed by the caller's layer (the CLI passes :func:`critmin.reports.build_report`): the
    scenarios layer does not import reports.
    """
    if not isinstance(out_dir, OutputSet):
        with OutputSet(out_dir, names=RUN_FILES) as outs:
            write_outputs(outs, series, summary, report)
        return outs.written
    outs = out_dir
    series.to_parquet(outs.path("series.parquet"), index=False)
    text = json.dumps(summary, indent=2, sort_keys=False, allow_nan=False)
    outs.path("summary.json").write_text(text + "\n", encoding="utf-8")
    if report is not None:
        report(series, summary, outs.path("report.html"))
    return [outs.folder / n for n in RUN_FILES if outs.path(n).exists()]
