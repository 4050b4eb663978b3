"""Per-month solve status in the public result and in summary.json.

Hand-solved case: one route, the same data every month. Month 1 is solved by HiGHS (there is
no basis yet). Months 2 and 3 have the same costs and bounds, so the kept basis is primal and
dual feasible unchanged and answers them without HiGHS (``optimal_basis_kept``). A 90 % outage in
month 2 makes the kept basis infeasible there, so HiGHS solves month 2 again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import critmin
from critmin.market import DemandBlock, Market, Route, SupplyBlock
from critmin.market.spec import OutageShock
from critmin.scenarios.outcome import SOLVE_STATUS_DTYPE, SOLVES_COLUMNS


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


def test_months_carry_status_iterations_and_highs_status() -> None:
    """The typed rows of the steady case: January is solved by HiGHS (one solve, HiGHS's
    model status ``Optimal``); February and March by the kept basis (no HiGHS run, so no
    HiGHS status)."""
    outcome = critmin.run(_scenario()).scenario("steady")
    got = [
        (m.chain, m.month, m.status, m.iterations, m.highs_runs, m.highs_model_status)
        for m in outcome.solves
    ]
    assert got == [
        ("lithium_carbonate", "2026-01", critmin.MonthStatus.OPTIMAL, 1, 1, "Optimal"),
        ("lithium_carbonate", "2026-02", critmin.MonthStatus.OPTIMAL_BASIS_KEPT, 1, 0, None),
        ("lithium_carbonate", "2026-03", critmin.MonthStatus.OPTIMAL_BASIS_KEPT, 1, 0, None),
    ]


AD_VALOREM = """\
name: ad valorem
months: {start: 2026-01, end: 2026-03}
markets:
  - mineral: lithium_carbonate
    supply: [{region: CHL, qty_t: 1000, cost_usd_per_t: 9000}]
    demand: [{region: USA, qty_t: 800, wtp_usd_per_t: 30000}]
    routes: [{from: CHL, to: USA, cost_usd_per_t: 500}]
    tariffs: [{importer: USA, ad_valorem: 0.1}]
"""


def test_solves_parquet_of_critmin_run(tmp_path: Path) -> None:
    """``critmin run`` writes each month's solve to ``solves.parquet``.

    A 10 % ad-valorem US tariff on Chilean lithium carbonate (supply 1,000 t at 9,000 USD/t,
    a US bid of 800 t at 30,000, freight 500). The wedge is 10 % of the exporter's price,
    taken from the previous solve. January, solve 1: no earlier price, wedge 0; Chile keeps
    200 t unsold, so its price is its cost, 9,000, and the wedge becomes 900 (not settled).
    Solve 2: route cost 500 + 900; the bid (30,000) still exceeds 9,000 + 1,400, so the same
    basis stays optimal and is answered without HiGHS; the exporter price is 9,000 again and
    the wedge settles: 2 solves, 1 HiGHS run. February and March start from January's price
    (wedge 900) and settle at the first solve, answered from the kept basis. The US price is
    9,000 + 500 + 900 = 10,400 every month.
    """
    scenario = tmp_path / "advalorem.yaml"
    scenario.write_text(AD_VALOREM, encoding="utf-8")
    out = tmp_path / "out"
    cli = "from critmin.cli import main; main()"
    args = [sys.executable, "-c", cli, "run", str(scenario), "--out", str(out)]
    res = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    solves = pd.read_parquet(out / "solves.parquet")
    assert list(solves.columns) == list(SOLVES_COLUMNS)
    # a month HiGHS did not run has no HiGHS status: null in the file, None in the rows
    cells = solves.astype(object).where(solves.notna(), None)
    rows = [tuple(r) for r in cells.itertuples(index=False)]
    chain = ("ad valorem", "lithium_carbonate")
    assert rows == [
        (*chain, "2026-01", "optimal", 2, 1, "Optimal"),
        (*chain, "2026-02", "optimal_basis_kept", 1, 0, None),
        (*chain, "2026-03", "optimal_basis_kept", 1, 0, None),
    ]
    series = pd.read_parquet(out / "series.parquet")
    us = series.query("variable == 'price' and region == 'USA'")["value"]
    assert us.tolist() == pytest.approx([10_400.0] * 3)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["scenarios"][0]["solve_status"] == {
        "lithium_carbonate": {"optimal": 1, "optimal_basis_kept": 2}
    }


def test_solves_table_of_the_seed_study_matches_the_summary(tmp_path: Path) -> None:
    """Every month of every chain of the seed study has one row, and the rows add up to the
    counts in summary.json; a month HiGHS ran has HiGHS's status, a kept month none."""
    result = critmin.run()
    critmin.write(result, tmp_path, report=False)
    solves = pd.read_parquet(tmp_path / "solves.parquet")
    pd.testing.assert_frame_equal(solves, result.solves())
    assert len(solves) == critmin.load().market_months
    ran = solves["highs_runs"] > 0
    assert set(solves.loc[ran, "highs_model_status"]) == {"Optimal"}
    assert solves.loc[~ran, "highs_model_status"].isna().all()
    assert (solves["iterations"] >= solves["highs_runs"]).all()
    assert (solves.loc[~ran, "status"] != "optimal").all()
    for entry in result.summary["scenarios"]:
        mine = solves[solves["scenario"] == entry["name"]]
        counts = mine.groupby(["chain", "status"]).size()
        assert {c: dict(counts[c]) for c in counts.index.levels[0] if c in counts} == entry[
            "solve_status"
        ]


def test_the_tidy_table_joins_each_rows_status(tmp_path: Path) -> None:
    """The steady case: every tidy row of January (prices, quantities, the route's flow) is
    ``optimal``, every row of February and March ``optimal_basis_kept``; the join adds one
    categorical column and keeps the rows, their order and the other columns. The same join
    on the files ``critmin run`` writes (series.parquet + solves.parquet) gives the same
    table."""
    result = critmin.run(_scenario())
    joined = result.series_with_solve_status()
    assert list(joined.columns) == [*result.series.columns, "solve_status"]
    pd.testing.assert_frame_equal(joined.drop(columns="solve_status"), result.series)
    assert joined["solve_status"].dtype == SOLVE_STATUS_DTYPE
    assert list(SOLVE_STATUS_DTYPE.categories) == [s.value for s in critmin.MonthStatus]
    by_month = joined.groupby("month")["solve_status"].agg(lambda s: set(s.astype(str)))
    assert by_month.to_dict() == {
        "2026-01": {"optimal"},
        "2026-02": {"optimal_basis_kept"},
        "2026-03": {"optimal_basis_kept"},
    }
    assert "flow" in set(joined["variable"])
    critmin.write(result, tmp_path, report=False)
    from_files = critmin.join_solve_status(
        critmin.read_series(tmp_path / "series.parquet"),
        pd.read_parquet(tmp_path / "solves.parquet"),
    )
    pd.testing.assert_frame_equal(from_files, joined)


def test_every_row_of_the_seed_study_has_its_chain_months_status() -> None:
    result = critmin.run()
    joined = result.series_with_solve_status()
    assert joined["solve_status"].notna().all()
    status = {
        (s.name, m.chain, m.month): m.status.value for s in result.scenarios for m in s.solves
    }
    keys = zip(joined["scenario"], joined["chain"], joined["month"], strict=True)
    assert joined["solve_status"].astype(str).tolist() == [status[k] for k in keys]


def test_an_older_table_without_chain_gets_no_status() -> None:
    """A table of the earlier format (one ``mineral`` column, no ``chain``) cannot say which
    chain a row is of; its rows get a missing status rather than a guessed one."""
    from critmin.market.results import upgrade_series

    result = critmin.run(_scenario())
    older = result.series.drop(columns="chain").rename(columns={"product": "mineral"})
    joined = critmin.join_solve_status(upgrade_series(older), result.solves())
    assert joined["solve_status"].isna().all()
    assert len(joined) == len(result.series)


def test_a_solves_table_without_status_is_refused() -> None:
    result = critmin.run(_scenario())
    with pytest.raises(ValueError, match="status"):
        critmin.join_solve_status(result.series, result.solves().drop(columns="status"))
    bad = result.solves().assign(status="solved")
    with pytest.raises(ValueError, match="unknown status"):
        critmin.join_solve_status(result.series, bad)


def test_an_empty_solves_table_leaves_every_status_missing() -> None:
    result = critmin.run(_scenario())
    joined = critmin.join_solve_status(result.series, result.solves().iloc[0:0])
    assert len(joined) == len(result.series)
    assert joined["solve_status"].isna().all()
