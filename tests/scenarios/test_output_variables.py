"""Output variables are declared once, as data (name, unit, aggregation, description,
producer): every variable that the built-in and example scenarios write is declared, with the
unit its rows carry."""

from __future__ import annotations

from pathlib import Path

import critmin
from critmin.market.results import VARIABLES, output_variables
from critmin.policy.instrument import REGISTRY, discover

ROOT = Path(__file__).resolve().parents[2]
AGGREGATIONS = {"sum", "mean", "last"}


def test_declarations_are_complete_and_consistent() -> None:
    discover()
    seen: dict[str, tuple[str, str]] = {}
    for var in [*VARIABLES, *(v for kind in sorted(REGISTRY) for v in REGISTRY[kind].variables)]:
        assert var.aggregation in AGGREGATIONS, var
        assert var.description, var
        assert var.unit, var
        assert var.producer == "engine" or var.producer in REGISTRY, var
        # a name two producers write means the same thing to both
        assert seen.setdefault(var.name, (var.unit, var.aggregation)) == (
            var.unit,
            var.aggregation,
        ), var


def test_every_variable_written_by_the_shipped_scenarios_is_declared() -> None:
    files = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))
    declared = output_variables()
    for refs in (["ndpr_baseline", "ndpr_china_ban", "ndpr_managed_market"], *([f] for f in files)):
        series = critmin.run(*refs).series
        pairs = series[["variable", "unit"]].drop_duplicates().itertuples(index=False)
        for variable, unit in pairs:
            assert variable in declared, (refs, variable)
            assert declared[variable].unit == unit, (refs, variable, unit)
