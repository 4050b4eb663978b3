"""Per-month solve status in the public result and in summary.json.

Hand-solved case: one route, the same data every month. Month 1 is solved by HiGHS (there is
no basis yet). Months 2 and 3 have the same costs and bounds, so the kept basis is primal and
dual feasible unchanged and answers them without HiGHS (``optimal_basis_kept``). A 90 % outage in
month 2 makes the kept basis infeasible there, so HiGHS solves month 2 again.
"""

from __future__ import annotations

import json
from pathlib import Path

import critmin
from critmin.market import DemandBlock, Market, Route, SupplyBlock
from critmin.market.spec import OutageShock


def _scenario(shocks: list[OutageShock] | None = None) -> critmin.Scenario:
    market = Market(
        mineral="lithium_carbonate",
        supply=[SupplyBlock(region="CHL", qty_t=1_000, cost_usd_per_t=9_000)],
        demand=[DemandBlock(region="USA", qty_t=800, wtp_usd_per_t=30_000)],
        routes=[Route(from_="CHL", to="USA", cost_usd_per_t=500)],
    )
    return critmin.Scenario(
        name="steady",
        months=critmin.Months(start="2026-01", end="2026-03"),
        markets=[market],
        shocks=shocks or [],
    )


def test_steady_months_are_answered_from_the_kept_basis(tmp_path: Path) -> None:
    result = critmin.run(_scenario())
    outcome = result.scenario("steady")
    assert outcome.solve_status == {
        "lithium_carbonate": ("optimal", "optimal_basis_kept", "optimal_basis_kept")
    }
    counts = {"lithium_carbonate": {"optimal": 1, "optimal_basis_kept": 2}}
    assert outcome.status_counts() == counts
    critmin.write(result, tmp_path, report=False)
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert summary["scenarios"][0]["solve_status"] == counts


def test_a_changed_month_is_solved_by_highs() -> None:
    # an outage of 90 % in February: 100 t of supply left for an 800 t bid, so the binding
    # constraint changes and the kept basis is no longer primal feasible
    outage = OutageShock(kind="outage", region="CHL", share=0.9, start="2026-02", end="2026-02")
    outcome = critmin.run(_scenario([outage])).scenario("steady")
    assert outcome.solve_status["lithium_carbonate"][:2] == ("optimal", "optimal")


def test_every_month_of_the_seed_study_has_a_status() -> None:
    result = critmin.run()
    for entry, outcome in zip(result.summary["scenarios"], result.scenarios, strict=True):
        months = len(critmin.load().scenarios[0].scenario.month_labels())
        assert set(entry["solve_status"]) == {"ndpr", "dysprosium_oxide", "terbium_oxide"}
        for chain, counts in entry["solve_status"].items():
            assert sum(counts.values()) == months, (entry["name"], chain)
            assert set(counts) <= {"optimal", "optimal_basis_kept", "iteration_limit"}
        assert entry["solve_status"] == outcome.status_counts()
