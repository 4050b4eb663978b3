"""The instruments' sweep-speed changes keep every figure: rows built when read, totals added
in row order, contract lines settled once per run, levy month plans shared between runs.

Each check compares the instrument's output with an independent computation of the same
figure the way the month-by-month code made it (a sequential sum over the rows, a
settlement of each month on its own), on the built-in managed-market scenario (FORGE levy,
top-up floor, offtakes, a settled contract, Project Vault).
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.contracts.instrument import OfftakeSettlement
from critmin.contracts.prices import PriceSeries
from critmin.contracts.settlement import settle
from critmin.market.compile import compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.market.results import scenario_metrics
from critmin.policy.instrument import InstrumentReport, SeriesRow
from critmin.policy.parameters import trace_reads
from critmin.scenarios.loader import load_scenario
from critmin.stockpile.ledger import Lots


def _runs() -> tuple[list[MarketRun], list[list[Any]]]:
    """Each chain's run of the managed-market scenario (2026-01..2027-12) and the
    instruments that ran on it."""
    scenario = load_scenario("builtin:ndpr_managed_market").scenario
    months, specs = scenario.month_labels(), scenario.instrument_specs()
    runs, built = [], []
    for market in scenario.markets:
        shocks = [x for x in scenario.shocks if x.mineral in (None, market.mineral)]
        instruments = [s.build() for s in specs if s.mineral in (None, market.mineral)]
        runs.append(run_market(compile_market(market, months, shocks), instruments))
        built.append(instruments)
    return runs, built


@pytest.fixture(scope="module")
def managed() -> tuple[list[MarketRun], list[list[Any]]]:
    return _runs()


def _in_order(values: list[float]) -> float:
    total = 0.0
    for v in values:  # as the month loop added them, row after row
        total += v
    return total


def _reports(runs: list[MarketRun]) -> dict[str, InstrumentReport]:
    return {name: rep for run in runs for name, rep in run.reports}


def test_reports_pickle_before_their_rows_are_built() -> None:
    """A run crosses processes (a sweep's workers, ``run_variants`` pools) with its rows not
    yet built; the copy builds the same rows."""
    runs, _ = _runs()
    copies = [pickle.loads(pickle.dumps(run)) for run in runs]
    for run, copy in zip(runs, copies, strict=True):
        for (name, rep), (_, again) in zip(run.reports, copy.reports, strict=True):
            assert again.rows == rep.rows, name
            assert again.metrics == rep.metrics, name
            assert rep.rows
            assert all(isinstance(r, SeriesRow) for r in rep.rows)


def test_totals_are_the_rows_added_in_order(
    managed: tuple[list[MarketRun], list[list[Any]]],
) -> None:
    """Each headline total equals its rows' values added one by one in row order, as the
    month loop added them (the levy keeps its months as arrays and adds them with
    ``add.accumulate``; the contracts settle in ``finalize``)."""
    reports = _reports(managed[0])

    def rows(name: str, variable: str) -> list[float]:
        return [r.value for r in reports[name].rows if r.variable == variable]

    levy = reports["forge_levy"].metrics
    assert levy["levy_revenue_usd"] == _in_order(rows("forge_levy", "levy_revenue"))
    assert levy["levy_revenue_usd"] > 0
    imports = [r for r in reports["forge_levy"].rows if r.variable.startswith("imports_from_")]
    products = sorted({r.product for r in imports})
    assert len(products) >= 2  # oxide, metal, magnets: one figure each, never added
    for what in ("members", "nonmembers"):
        for product in products:
            values = [
                r.value
                for r in imports
                if r.variable == f"imports_from_{what}" and r.product == product
            ]
            key = f"imports_from_{what}_t_{product}"
            assert levy.get(key, 0.0) == _in_order(values), key
    assert "imports_from_members_t" not in levy
    settled = reports["lynas_japan_ndpr"].metrics
    for metric, variable in (
        ("settlement_volume_t", "offtake_settled_volume"),
        ("settlement_market_value_usd", "offtake_market_value"),
        ("settlement_floor_topup_usd", "offtake_floor_topup"),
        ("settlement_upside_to_buyer_usd", "offtake_upside_to_buyer"),
        ("settlement_seller_receives_usd", "offtake_seller_receives"),
    ):
        assert settled[metric] == _in_order(rows("lynas_japan_ndpr", variable)), metric
    floor = reports["dod_mp_floor"].metrics
    assert floor["floor_fiscal_cost_usd"] == _in_order(rows("dod_mp_floor", "floor_payment"))


def test_each_settled_month_equals_that_month_settled_alone(
    managed: tuple[list[MarketRun], list[list[Any]]],
) -> None:
    """The Lynas-Japan NdPr leg is settled once over its months; each month's line equals
    :func:`settle` of that month alone on its cleared price (how it was booked before),
    to the cent and to the bit."""
    runs, built = managed
    (inst,) = [i for chain in built for i in chain if isinstance(i, OfftakeSettlement)]
    (contract,) = inst.contracts
    rows = _reports(runs)[inst.name].rows
    price = {r.month: r.value for r in rows if r.variable == "offtake_settlement_price"}
    assert len(price) == 21  # 2026-04..2027-12: the contract starts in April
    got = {(r.month, r.variable): r.value for r in rows}
    for month, price_t in price.items():
        series = PriceSeries.from_mapping({month: price_t / 1000.0}, origin="alone")
        (line,) = settle(contract, series, month, month).lines
        assert got[(month, "offtake_market_value")] == line.market_value_usd
        assert got[(month, "offtake_floor_topup")] == line.floor_topup_usd
        assert got[(month, "offtake_upside_to_buyer")] == line.upside_share_usd
        assert got[(month, "offtake_seller_receives")] == line.seller_receives_usd
        assert round(line.market_value_usd * 100) == round(
            got[(month, "offtake_market_value")] * 100
        )


def test_physical_metrics_apart_change_no_other_figure(
    managed: tuple[list[MarketRun], list[list[Any]]],
) -> None:
    """A sweep asks for the physical-shortage figures only when an outcome names one; every
    other figure is the same with or without them."""
    runs = managed[0]
    full = scenario_metrics(runs)
    part = scenario_metrics(runs, physical=False)
    assert part.keys() < full.keys()
    assert "physical_shortage_months" in full.keys() - part.keys()
    assert {k: full[k] for k in part} == part
    # the sweep computes each family only when an outcome names one of its figures
    # (evaluate._Figures): the declared physical figures are exactly the ones added
    from critmin.market.metrics import PHYSICAL_FIGURES

    assert full.keys() - part.keys() == PHYSICAL_FIGURES


def test_shared_levy_plans_still_record_every_parameter_read() -> None:
    """The levy's month plans are shared by equal levies on equal markets, but inside
    ``trace_reads`` (``critmin run`` lists the parameters its instruments read) each run
    plans afresh: a run after an identical one still records the reference prices."""
    _runs()  # plans of this levy on this market now shared
    with trace_reads() as reads:
        runs, _ = _runs()
    used = {(r["parameter"], tuple(r["instruments"])) for r in reads.used()}
    assert ("forge.reference_price.ndpr_oxide", ("forge_levy",)) in used
    assert _reports(runs)["forge_levy"].metrics == _reports(_runs()[0])["forge_levy"].metrics


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 5000), st.integers(0, 10**9)),
        max_size=40,
    )
)
def test_lots_running_totals_equal_the_lots(ops: list[tuple[bool, int, int]]) -> None:
    """The FIFO lots keep their inventory and cost as running integer totals; after any
    sequence of purchases and releases they equal the sums over the lots held."""
    lots = Lots()
    for is_add, qty, cost in ops:
        if is_add:
            lots.add(qty, cost)
        elif qty <= lots.qty_kg:
            lots.take(qty)
        assert lots.qty_kg == sum(lot[0] for lot in lots._lots)
        assert lots.cost_cents == sum(lot[1] for lot in lots._lots)


def test_only_a_sweep_worker_freezes_its_heap() -> None:
    """``evaluate_plans`` freezes the heap once per Dask worker process (fewer full garbage
    collections); any other process, such as this test's or the CLI's driver, is left
    alone."""
    import gc

    from critmin.scenarios.sweep.evaluate import freeze_heap_once

    before = gc.get_freeze_count()
    assert freeze_heap_once() is False
    assert freeze_heap_once() is False
    assert gc.get_freeze_count() == before
