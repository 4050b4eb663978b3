"""The public Python face of critmin: what ``critmin run`` / ``validate`` / ``sweep`` do, as calls.

This module sits above :mod:`critmin.scenarios` and :mod:`critmin.reports` (the layer of
the CLI and the HTTP service, docs/architecture.md), because writing a run's outputs
composes the HTML report. Everything here is re-exported by :mod:`critmin` (see docs/api.md)::

    import critmin
    result = critmin.run("ndpr_baseline", "ndpr_managed_market")
    critmin.write(result, "out")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.fileio import OutputSet
from critmin.scenarios.loader import LoadedScenario, load_scenario, scenario_from_object
from critmin.scenarios.outcome import StudyResult
from critmin.scenarios.runner import AUTO
from critmin.scenarios.spec import Scenario
from critmin.scenarios.study import Study

if TYPE_CHECKING:
    import pandas as pd

    from critmin.scenarios.sweep import LoadedStudy, SweepRun

__all__ = [
    "POLICY_FILES",
    "SWEEP_FILES",
    "ScenarioCheck",
    "SweepResult",
    "load",
    "policy_frame",
    "run",
    "sweep",
    "validate",
    "write",
    "write_policy",
]

#: what ``critmin stockpile policy --out`` writes: together or not at all (OutputSet)
POLICY_FILES = ("policy.json", "policy.csv", "policy.parquet")
#: what ``critmin sweep --out`` writes as one output set (beside ``batches/`` and
#: ``sweep.json``, which ``--resume`` reads)
SWEEP_FILES = ("samples.parquet", "summary.json", "report.html")


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


def policy_frame(result: dict[str, Any]) -> pd.DataFrame:
    """A stockpile policy (:func:`critmin.scenarios.sweep.dp_file.solve_policy_file`, or
    ``teisberg_result``) as one long table, every rule's policy by state and level, unit
    suffixes in the column names (``level_t``, ``period_cost_usd``)."""
    import pandas as pd

    level_unit = "t" if result["units"]["level"] == "t" else "mbbl"
    cost_unit = "usd" if result["units"]["cost"] == "usd" else "model_units"
    rows = [row for entry in result["rules"].values() for row in entry["policy"]]
    return pd.DataFrame(rows).rename(
        columns={
            "level": f"level_{level_unit}",
            "next_level": f"next_level_{level_unit}",
            "change": f"change_{level_unit}",
            "period_cost": f"period_cost_{cost_unit}",
            "value": f"value_{cost_unit}",
        }
    )


def write_policy(result: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write a stockpile policy as ``critmin stockpile policy --out`` does: ``policy.json``
    (the whole result), ``policy.csv`` and ``policy.parquet`` (:func:`policy_frame`), as one
    output set (all three replace the folder's previous set together, or none)."""
    from critmin.fileio import safe_frame_csv

    out = Path(out_dir)
    df = policy_frame(result)
    with OutputSet(out, names=POLICY_FILES) as outs:
        text = json.dumps(result, indent=2, default=str) + "\n"
        outs.path("policy.json").write_text(text, "utf-8")
        # rule names come from the policy file: written as text, never as a formula
        outs.path("policy.csv").write_text(safe_frame_csv(df, index=False), "utf-8")
        df.to_parquet(outs.path("policy.parquet"), index=False)
    return [out / name for name in POLICY_FILES]


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` computed and wrote: ``run`` (the
    :class:`~critmin.scenarios.sweep.SweepRun`: ``table``, ``design``, timings, ``failed``),
    ``summary`` (what ``summary.json`` holds: per policy, each outcome's ``p5``, ``p50``,
    ``p95``, ``mean``...; docs/sweeps.md "Outputs") and the paths ``written``."""

    run: SweepRun
    summary: dict[str, Any]
    written: list[Path]

    @property
    def table(self) -> pd.DataFrame:
        """The sample table (``samples.parquet``): one row per sample, its inputs, lever
        values and outcomes."""
        return self.run.table


def sweep(
    study: str | Path | LoadedStudy,
    out_dir: str | Path,
    *,
    samples: int | None = None,
    scheduler: str | None = "local",
    workers: int = 2,
    client: Any = None,
    resume: bool = False,
    report: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
    time_limit_s: float = 0.0,
) -> SweepResult:
    """Run an uncertainty study (a study file or a loaded one) as ``critmin sweep`` does and
    write its output set: ``samples.parquet``, ``summary.json`` and (``report``)
    ``report.html`` replace the folder's previous set together, or not at all.

    ``samples``: scenarios drawn (default: the study's), each run under every policy of the
    lever grid; ``scheduler``: ``"local"`` (a LocalCluster of ``workers`` processes; a script
    then needs ``if __name__ == "__main__":``, as any Dask LocalCluster does),
    ``"tcp://HOST:PORT"``, or None (as ``critmin.run``'s: in this process); ``workers=0``
    (``critmin sweep --workers 0``) is in this process too: the batches one after the other,
    no cluster started, the same table; ``client``: a Dask client to use instead;
    ``on_batch(done, total)`` as samples finish; ``time_limit_s``: each chain's solving
    budget per sample (0: none)."""
    from critmin.scenarios.sweep import (
        LoadedStudy,
        load_study_file,
        run_sweep,
        summarize,
        write_summary,
    )
    from critmin.scenarios.sweep.driver import in_process

    in_process(scheduler, workers, client)  # contradictory choices fail before any file
    loaded = study if isinstance(study, LoadedStudy) else load_study_file(study)
    out = Path(out_dir)
    # one output set even without a report (a previous report.html goes: it described
    # another table); the batches and sweep.json stay where --resume reads them, and the
    # output set's lock refuses a second sweep into the same folder
    with OutputSet(out, names=SWEEP_FILES) as outs:
        assert outs.staging is not None
        ran = run_sweep(
            loaded,
            out,
            samples=samples,
            scheduler=scheduler,
            workers=workers,
            client=client,
            resume=resume,
            on_batch=on_batch,
            time_limit_s=time_limit_s,
            table_path=outs.path(SWEEP_FILES[0]),
        )
        summary = summarize(loaded, ran)
        write_summary(outs.staging, summary)
        if report:
            from critmin.scenarios.sweep.report import write_report

            write_report(outs.staging, loaded, ran, summary)
    written = [out / n for n in SWEEP_FILES if report or n != "report.html"]
    return SweepResult(ran, summary, written)
