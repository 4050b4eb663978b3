"""The typed result of a study run: :class:`StudyResult` and one :class:`ScenarioOutcome` each.

A result is plain data (a pandas frame, dicts, frozen dataclasses), so it pickles and
crosses process boundaries unchanged; it holds no solver object and no compiled arrays.
``summary`` is exactly what ``summary.json`` holds; the typed views (:attr:`metrics`,
:attr:`comparison`, :meth:`prices`, :meth:`flows`) read from the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.errors import UnknownNameError
from critmin.fileio import atomic_write, atomic_write_text
from critmin.market.results import HeadlineMetrics
from critmin.scenarios.compare import BaselineComparison, compare

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

    def write(self, out_dir: Path | str, report: ReportBuilder | None = None) -> list[Path]:
        """Write ``series.parquet`` and ``summary.json`` (and ``report.html`` through
        ``report`` when given) to ``out_dir``; each file appears whole or not at all."""
        return write_outputs(Path(out_dir), self.series, self.summary, report)


def write_outputs(
    out_dir: Path,
    series: pd.DataFrame,
    summary: dict[str, Any],
    report: ReportBuilder | None = None,
) -> list[Path]:
    """Write series.parquet, summary.json and, when ``report`` is given, report.html.

    The report is composed by the caller's layer (the CLI passes
    :func:`critmin.reports.build_report`): the scenarios layer does not import reports.
    """
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
    if report is not None:
        report_path = out_dir / "report.html"

        def _build(tmp: Path) -> None:
            report(series, summary, tmp)

        atomic_write(report_path, _build)
        written.append(report_path)
    return written
