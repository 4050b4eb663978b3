"""Per-month solve status and the SolverError of the engine, through ``run_market``."""

# ruff: noqa: ARG002 - protocol methods keep their full signatures

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from critmin.errors import SolverError
from critmin.market.compile import compile_market
from critmin.market.engine import SolveStatus, run_market
from critmin.market.probe import Probe
from critmin.market.spec import Market
from critmin.policy.instrument import InstrumentReport, MarketContext, MonthView, SolvedMonth
from tests.market.helpers import price, solve

MARKET = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}]
demand: [{region: IMP, qty_t: 100, wtp_usd_per_t: 100}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
"""
MONTHS = ("2026-01", "2026-02", "2026-03")


class Restless:
    """Never converged in ``bad_month``; a no-op otherwise."""

    name = "restless"

    def __init__(self, bad_month: str) -> None:
        self.bad_month = bad_month

    def initialize(self, ctx: MarketContext) -> None:
        pass

    def before_solve(self, month: str, view: MonthView) -> None:
        pass

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        return month != self.bad_month

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        pass

    def finalize(self) -> InstrumentReport:
        return InstrumentReport()


class FreeLunch(Restless):
    """From ``bad_month`` on, an unlimited supply column at a negative price: unbounded LP."""

    name = "free_lunch"

    def initialize(self, ctx: MarketContext) -> None:
        self.handle = ctx.add_supply("IMP", "x", "free lunch")

    def before_solve(self, month: str, view: MonthView) -> None:
        qty = float("inf") if month >= self.bad_month else 0.0
        view.set_block(self.handle, qty, -1.0)


def test_every_month_optimal() -> None:
    """EXP 200 t @ 10, IMP bids 100 t @ 100, route cost 5: p_IMP = 15 every month, one
    solve a month, status optimal."""
    run = solve(MARKET, MONTHS)
    assert run.status == (SolveStatus.OPTIMAL,) * 3
    assert run.status[0] == "optimal"  # a StrEnum: written to JSON/CSV as its value
    assert run.iterations.tolist() == [1, 1, 1]
    assert run.converged.all()
    assert price(run, "IMP", t=2) == pytest.approx(15)


def test_month_that_does_not_settle_is_flagged() -> None:
    """An instrument never converged in 2026-02: that month takes max_iterations solves and
    ends ITERATION_LIMIT (holding the last solve); the others stay optimal."""
    cm = compile_market(Market.model_validate(yaml.safe_load(MARKET)), list(MONTHS))
    run = run_market(cm, [Restless("2026-02")], max_iterations=4)
    assert run.status == (
        SolveStatus.OPTIMAL,
        SolveStatus.ITERATION_LIMIT,
        SolveStatus.OPTIMAL,
    )
    assert run.iterations.tolist() == [1, 4, 1]
    assert run.converged.tolist() == [True, False, True]


def test_solver_error_names_chain_month_and_iteration() -> None:
    """An unbounded month (a free, unlimited supply from 2026-03) stops the run with a
    SolverError that says which chain, month and instrument iteration, and HiGHS's status."""
    with pytest.raises(SolverError) as err:
        solve(MARKET, MONTHS, [FreeLunch("2026-03")])
    assert (err.value.chain, err.value.month, err.value.iteration) == ("x", "2026-03", 1)
    message = str(err.value)
    assert "chain 'x'" in message
    assert "month 2026-03" in message
    assert "instrument iteration 1" in message
    assert "nbounded" in message or "nfeasible" in message  # HiGHS's model status


def test_probe_counts_and_results_do_not_depend_on_it() -> None:
    """A probe sees every solve (and HiGHS's own clock); the results are the same with it."""
    cm = compile_market(Market.model_validate(yaml.safe_load(MARKET)), list(MONTHS))
    probe = Probe(objectives=[])
    with_probe = run_market(cm, probe=probe)
    without = run_market(cm)
    assert probe.solves + probe.basis_kept == 3
    assert probe.objectives is not None
    assert len(probe.objectives) == probe.solves + probe.basis_kept
    assert probe.highs_clock_s > 0
    # the parts a benchmark splits the loop into are each measured, and HiGHS's own clock
    # lies inside the wall time of the HiGHS calls around it
    assert probe.basis_check_s > 0
    assert probe.highs_calls_s >= probe.highs_run_s > 0
    assert probe.engine_s >= probe.highs_calls_s + probe.basis_check_s
    assert np.array_equal(with_probe.price, without.price)


def test_run_pickles() -> None:
    """A run crosses a process boundary: pickled and loaded, every array is the same."""
    run = solve(MARKET, MONTHS, [Restless("none")])
    back = pickle.loads(pickle.dumps(run))
    assert back.status == run.status
    assert np.array_equal(back.price, run.price)
    assert np.array_equal(back.flow, run.flow)
    assert back.cm.regions == run.cm.regions


def test_solver_error_of_a_run_names_the_scenario_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``critmin.run`` a solver failure also names the scenario file (a study runs
    several): ``<file>: chain 'x', month 2026-03, ...``, still a SolverError with its fields."""
    import critmin
    from critmin.policy.instrument import REGISTRY, InstrumentSpec

    class FreeLunchSpec(InstrumentSpec):
        kind: str = "free_lunch_test"
        bad_month: str = "2026-03"

        def build(self) -> FreeLunch:  # type: ignore[override]
            return FreeLunch(self.bad_month)

    monkeypatch.setitem(REGISTRY, "free_lunch_test", FreeLunchSpec)
    scenario = tmp_path / "lunch.yaml"
    scenario.write_text(
        """\
name: lunch
months: {start: 2026-01, end: 2026-03}
markets:
  - mineral: x
    aggregates: {EXP: exporter of the test, IMP: importer of the test}
    supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}]
    demand: [{region: IMP, qty_t: 100, wtp_usd_per_t: 100}]
    routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
instruments:
  - {kind: free_lunch_test, mineral: x}
""",
        encoding="utf-8",
    )
    with pytest.raises(SolverError) as err:
        critmin.run(str(scenario))
    assert str(err.value).startswith(f"{scenario}: chain 'x', month 2026-03")
    assert (err.value.chain, err.value.month, err.value.iteration) == ("x", "2026-03", 1)
