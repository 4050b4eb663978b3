"""critmin.scenarios: scenario files, studies, runs and their comparison.

Public names resolve on first use (PEP 562): importing this package does not load the
engine. See docs/api.md for the whole public API (also importable from :mod:`critmin`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "Scenario": "spec",
    "Months": "spec",
    "DEFAULT_SEED": "spec",
    "LoadedScenario": "loader",
    "load_scenario": "loader",
    "load_study": "loader",
    "scenario_from_object": "loader",
    "scenario_from_data": "loader",
    "builtin_names": "loader",
    "Study": "study",
    "StudyResult": "outcome",
    "ScenarioOutcome": "outcome",
    "write_outputs": "outcome",
    "join_solve_status": "outcome",
    "BASELINE_SCENARIO": "runner",
    "execute": "runner",
    "run_study": "runner",
    "BaselineComparison": "compare",
    "HeadlineMetrics": "headline",
    "headline_metrics": "headline",
    "compare": "compare",
    "compare_to_baseline": "compare",
}

__all__ = [
    "BASELINE_SCENARIO",
    "DEFAULT_SEED",
    "BaselineComparison",
    "HeadlineMetrics",
    "LoadedScenario",
    "Months",
    "Scenario",
    "ScenarioOutcome",
    "Study",
    "StudyResult",
    "builtin_names",
    "compare",
    "compare_to_baseline",
    "execute",
    "headline_metrics",
    "join_solve_status",
    "load_scenario",
    "load_study",
    "run_study",
    "scenario_from_data",
    "scenario_from_object",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'critmin.scenarios' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"critmin.scenarios.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:
    from critmin.scenarios.compare import BaselineComparison, compare, compare_to_baseline
    from critmin.scenarios.headline import HeadlineMetrics, headline_metrics
    from critmin.scenarios.loader import (
        LoadedScenario,
        builtin_names,
        load_scenario,
        load_study,
        scenario_from_data,
        scenario_from_object,
    )
    from critmin.scenarios.outcome import (
        ScenarioOutcome,
        StudyResult,
        join_solve_status,
        write_outputs,
    )
    from critmin.scenarios.runner import BASELINE_SCENARIO, execute, run_study
    from critmin.scenarios.spec import DEFAULT_SEED, Months, Scenario
    from critmin.scenarios.study import Study
