"""A study: the scenarios run together and compared against a named baseline.

The Python face of ``critmin run``::

    from critmin import Study
    study = Study.load("ndpr_baseline", "ndpr_managed_market")   # files or built-in names
    result = study.run()                                            # StudyResult
    result.metrics("managed_market").physical_shortage_t_by_product["ndfeb_magnet"]

A study is built from scenario files (:meth:`Study.load`) or from
:class:`~critmin.scenarios.spec.Scenario` objects made in Python (:meth:`Study.of`); both
are checked the same way. :meth:`Study.run` is a pure function of the study: the same study
gives the same result, bit for bit, in any process (only ``summary["created"]`` differs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from critmin.scenarios.loader import (
    LoadedScenario,
    load_scenario,
    load_study,
    scenario_from_object,
)
from critmin.scenarios.outcome import StudyResult
from critmin.scenarios.runner import AUTO, count_months, execute
from critmin.scenarios.spec import Scenario


@dataclass(frozen=True)
class Study:
    """Validated scenarios, in run order (see module docstring)."""

    scenarios: tuple[LoadedScenario, ...]

    @classmethod
    def load(cls, *refs: str | Path) -> Study:
        """Scenario files or built-in names; none = the built-in NdPr seed study."""
        return cls(tuple(load_study([str(r) for r in refs])))

    @classmethod
    def of(cls, *items: Scenario | LoadedScenario | str | Path) -> Study:
        """Scenarios given as Python objects, already-loaded scenarios, files or names."""
        out: list[LoadedScenario] = []
        for item in items:
            if isinstance(item, LoadedScenario):
                out.append(item)
            elif isinstance(item, Scenario):
                out.append(scenario_from_object(item))
            else:
                out.append(load_scenario(str(item)))
        return cls(tuple(out))

    def __iter__(self) -> Iterator[Scenario]:
        return (ls.scenario for ls in self.scenarios)

    def __len__(self) -> int:
        return len(self.scenarios)

    @property
    def names(self) -> list[str]:
        return [ls.scenario.name for ls in self.scenarios]

    @property
    def market_months(self) -> int:
        """Chain-months to solve (for a progress bar)."""
        return count_months(self.scenarios)

    def memory_estimate(self) -> float:
        """Bytes the run may hold at once, summed over scenarios and chains (an upper bound
        from the specs: :func:`critmin.market.compile.memory_estimate`)."""
        from critmin.market.compile import memory_estimate

        return sum(
            memory_estimate(m, len(ls.scenario.month_labels()))
            for ls in self.scenarios
            for m in ls.scenario.markets or []
        )

    def check_memory(self) -> None:
        """One ``InputError`` when the run would need more than the memory limit
        (:func:`critmin.bounds.check_memory`), naming the largest scenario."""
        from critmin.bounds import check_memory
        from critmin.market.compile import memory_estimate

        total = self.memory_estimate()
        sizes = [
            (
                sum(
                    memory_estimate(m, len(ls.scenario.month_labels()))
                    for m in ls.scenario.markets or []
                ),
                ls,
            )
            for ls in self.scenarios
        ]
        _, big = max(sizes, key=lambda x: x[0])
        sc = big.scenario
        n_regions = max((len(m.region_list()) for m in sc.markets or []), default=0)
        check_memory(
            total,
            f"{big.source}: the run ({len(sc.month_labels()):,} months, up to {n_regions:,} "
            "regions a chain)",
            hint="use fewer months, regions or default routes",
        )

    def run(
        self,
        *,
        baseline: str | None = AUTO,
        on_month: Callable[[str], None] | None = None,
        scheduler: str | None = None,
        workers: int = 2,
    ) -> StudyResult:
        """Solve every scenario; compare each with the scenario named ``baseline``
        (default: ``baseline_free_trade`` when the study has it; None: no comparison).
        ``on_month`` is called after every solved chain-month (progress). ``scheduler``:
        None solves in this process; ``"local"`` (``workers`` processes) or
        ``"tcp://HOST:PORT"`` solves the chains on a Dask cluster, with identical results.
        A study over the memory limit is refused before anything is solved
        (:meth:`check_memory`)."""
        self.check_memory()
        return execute(
            self.scenarios,
            on_month=on_month,
            baseline=baseline,
            scheduler=scheduler,
            workers=workers,
        )
