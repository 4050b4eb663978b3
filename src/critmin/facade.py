"""The public Python face of critmin: what ``critmin run`` / ``critmin validate`` do, as calls.

This module sits above :mod:`critmin.scenarios` and :mod:`critmin.reports` (the layer of
the CLI and the HTTP service, docs/architecture.md), because writing a run's outputs
composes the HTML report. Everything here is re-exported by :mod:`critmin` (see docs/api.md)::

    import critmin
    result = critmin.run("ndpr_baseline", "ndpr_managed_market")
    critmin.write(result, "out")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from critmin.fileio import OutputSet
from critmin.scenarios.loader import LoadedScenario, load_scenario, scenario_from_object
from critmin.scenarios.outcome import StudyResult
from critmin.scenarios.runner import AUTO
from critmin.scenarios.spec import Scenario
from critmin.scenarios.study import Study

__all__ = ["ScenarioCheck", "load", "run", "validate", "write"]


def load(*refs: str | Path | Scenario) -> Study:
    """A :class:`~critmin.scenarios.study.Study` from scenario files, built-in names or
    :class:`~critmin.scenarios.spec.Scenario` objects; nothing = the built-in seed study."""
    if not refs:
        return Study.load()
    return Study.of(*refs)


def run(
    *items: Study | str | Path | Scenario,
    baseline: str | None = AUTO,
    on_month: Callable[[str], None] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
) -> StudyResult:
    """Run a study (or the scenarios named/given, or the seed study when nothing is given).

    ``baseline`` names the scenario the others are compared with (default: the free-trade
    run ``baseline_free_trade`` when present; None: no comparison). ``scheduler``: None
    solves in this process; ``"local"`` or ``"tcp://HOST:PORT"`` solves the chains on a Dask
    cluster (``workers`` processes for ``"local"``), with identical results.
    """
    if len(items) == 1 and isinstance(items[0], Study):
        study = items[0]
    else:
        if any(isinstance(i, Study) for i in items):
            raise TypeError("pass one Study, or scenarios, not both")
        study = load(*items)  # type: ignore[arg-type]  # Study excluded just above
    return study.run(baseline=baseline, on_month=on_month, scheduler=scheduler, workers=workers)


def write(
    result: StudyResult, out_dir: str | Path | OutputSet, *, report: bool = True
) -> list[Path]:
    """Write ``series.parquet``, ``summary.json`` and (``report``) ``report.html`` as one
    output set: the three replace the folder's previous set together, or not at all."""
    builder = None
    if report:
        from critmin.reports import build_report

        builder = build_report
    return result.write(out_dir if isinstance(out_dir, OutputSet) else Path(out_dir), builder)


@dataclass(frozen=True)
class ScenarioCheck:
    """What ``critmin validate`` reports about one valid scenario."""

    source: str
    name: str
    markets: int
    months: tuple[str, str]
    shocks: int
    instruments: int
    loaded: LoadedScenario

    def line(self) -> str:
        return (
            f"{self.source}: ok - {self.name!r}, {self.markets} market(s), "
            f"{self.months[0]}..{self.months[1]}, {self.shocks} shock(s), "
            f"{self.instruments} instrument(s)"
        )


def validate(ref: str | Path | Scenario) -> ScenarioCheck:
    """Check a scenario file, built-in name or object without running it; a problem raises
    :class:`~critmin.errors.InputError` naming file, line and field."""
    loaded = scenario_from_object(ref) if isinstance(ref, Scenario) else load_scenario(str(ref))
    sc = loaded.scenario
    months = sc.month_labels()
    return ScenarioCheck(
        source=loaded.source,
        name=sc.name,
        markets=len(sc.markets or []),
        months=(months[0], months[-1]),
        shocks=len(sc.shocks),
        instruments=len(sc.instruments),
        loaded=loaded,
    )
