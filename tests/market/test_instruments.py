"""The Instrument protocol driven by the engine: a tariff, an iterating levy, a reserved column."""

# ruff: noqa: E501, ARG002 - protocol methods keep their full signatures

from __future__ import annotations

import pytest

from critmin.policy.instrument import (
    ImportTariff,
    ImportTariffSpec,
    Instrument,
    InstrumentReport,
    MarketContext,
    MonthView,
    SeriesRow,
    SolvedMonth,
    parse_instrument,
)
from tests.market.helpers import flow, node, price, solve

MARKET = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}]
demand: [{region: IMP, qty_t: 100, wtp_usd_per_t: 100}, {region: EXP, qty_t: 10, wtp_usd_per_t: 100}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
"""


def test_import_tariff_instrument_adds_a_wedge_and_records_revenue() -> None:
    """EXP 200 t @ 10, route cost 5, instrument tariff 7 $/t on EXP -> IMP from 2026-02.

    Jan: p_IMP = 10 + 5 = 15. Feb: p_IMP = 10 + 5 + 7 = 22, revenue 7 x 100 = 700 usd.
    """
    spec = parse_instrument(
        {"kind": "import_tariff", "importers": ["IMP"], "specific_usd_per_t": 7, "start": "2026-02"}
    )
    assert isinstance(spec, ImportTariffSpec)
    inst = spec.build()
    assert isinstance(inst, Instrument)
    run = solve(MARKET, months=("2026-01", "2026-02"), instruments=[inst])
    assert price(run, "IMP", t=0) == pytest.approx(15)
    assert price(run, "IMP", t=1) == pytest.approx(22)
    ((name, report),) = run.reports
    assert name == "import_tariff"
    assert report.rows == [SeriesRow("2026-02", "x", "IMP", "import_tariff_revenue", 700.0, "usd")]
    assert report.metrics["import_tariff_revenue_usd"] == pytest.approx(700)


class VariableLevy:
    """levy = min(max(ref - landed, 0), bound), landed = p_EXP + transport (from the last solve)."""

    name = "variable_levy"

    def __init__(self, ref: float, bound: float, transport: float) -> None:
        self.ref, self.bound, self.transport = ref, bound, transport
        self.levy = 0.0
        self.calls: list[str] = []

    def initialize(self, ctx: MarketContext) -> None:
        self.calls.append("initialize")

    def _target(self, result: SolvedMonth) -> float:
        landed = result.price("EXP", "x") + self.transport
        return min(max(self.ref - landed, 0.0), self.bound)

    def before_solve(self, month: str, view: MonthView) -> None:
        if view.previous is not None:
            self.levy = self._target(view.previous)
        view.add_route_wedge(self.levy, exporters=["EXP"], importers=["IMP"])

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        return abs(self._target(result) - self.levy) < 1e-9

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        self.calls.append(f"after {month} levy={self.levy:g}")

    def finalize(self) -> InstrumentReport:
        self.calls.append("finalize")
        return InstrumentReport(metrics={"levy_usd_per_t": self.levy})


def test_iterating_levy_converges_to_reference_price() -> None:
    """ref 25, bound 100, transport 5: landed = 10 + 5 = 15 -> levy 10 -> p_IMP = 25.

    The first solve has no previous result (levy 0); the second applies 10; is_converged
    then holds. Lifecycle order: initialize, after_solve per month, finalize.
    """
    levy = VariableLevy(ref=25, bound=100, transport=5)
    run = solve(MARKET, instruments=[levy])
    assert price(run, "IMP") == pytest.approx(25)
    assert int(run.iterations[0]) == 2
    assert run.instrument_wedge[0].tolist() == pytest.approx([10.0])
    assert levy.calls == ["initialize", "after 2026-01 levy=10", "finalize"]


def test_levy_bound_caps_the_wedge() -> None:
    """ref 100, bound 30: levy = min(100 - 15, 30) = 30 -> p_IMP = 45."""
    run = solve(MARKET, instruments=[VariableLevy(ref=100, bound=30, transport=5)])
    assert price(run, "IMP") == pytest.approx(45)


class StockpileBuyer:
    """Reserves a demand column at IMP and bids 30 t at 50 $/t each month."""

    name = "buyer"

    def initialize(self, ctx: MarketContext) -> None:
        self.handle = ctx.add_demand("IMP", "x", "stockpile purchase")
        self.bought: list[float] = []

    def before_solve(self, month: str, view: MonthView) -> None:
        view.set_block(self.handle, 30, 50)

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        self.bought.append(result.block_value(self.handle))

    def finalize(self) -> InstrumentReport:
        return InstrumentReport()


def test_reserved_demand_column() -> None:
    """The buyer's 30 t @ 50 clears (landed 15 < 50): imports 100 + 30 = 130 t, p_IMP = 15."""
    buyer = StockpileBuyer()
    run = solve(MARKET, instruments=[buyer])
    assert buyer.bought == pytest.approx([30])
    assert flow(run, "EXP", "IMP") == pytest.approx(130)
    assert price(run, "IMP") == pytest.approx(15)


def test_unknown_instrument_kind_suggests() -> None:
    with pytest.raises(ValueError, match="did you mean import_tariff"):
        parse_instrument({"kind": "import_tarif"})


def test_direct_construction() -> None:
    inst = ImportTariff(ImportTariffSpec(specific_usd_per_t=1.0))
    assert inst.name == "import_tariff"


class CoveredProducer:
    """Reserves a supply column at IMP: 30 t offered at 0 $/t each month (a covered block)."""

    name = "covered"

    def initialize(self, ctx: MarketContext) -> None:
        self.handle = ctx.add_supply("IMP", "x", "covered block")

    def before_solve(self, month: str, view: MonthView) -> None:
        view.set_block(self.handle, 30, 0)

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        pass

    def finalize(self) -> InstrumentReport:
        return InstrumentReport()


def test_instrument_supply_column_counts_as_production() -> None:
    """IMP wants 100 t @ 100, EXP 10 t @ 100; EXP offers 200 t @ 10 (+5 transport); the
    covered block offers 30 t at IMP @ 0. Cheapest first: the covered 30 t serve IMP, the
    other 70 t come from EXP (landed 15 < 100), EXP serves itself 10 t.
    Production: IMP = 30 (covered column), EXP = 70 + 10 = 80; capacity IMP = 30, EXP = 200;
    prices: EXP 10 (marginal block), IMP 15 (landed)."""
    run = solve(MARKET, instruments=[CoveredProducer()])
    assert node(run, "production", "IMP") == pytest.approx(30)
    assert node(run, "supply_capacity", "IMP") == pytest.approx(30)
    assert node(run, "production", "EXP") == pytest.approx(80)
    assert node(run, "supply_capacity", "EXP") == pytest.approx(200)
    assert flow(run, "EXP", "IMP") == pytest.approx(70)
    assert price(run, "IMP") == pytest.approx(15)


def test_instrument_demand_column_is_not_production() -> None:
    """The buyer's reserved demand column (30 t @ 50 at IMP) adds no production at IMP (0 t)
    and leaves EXP producing 100 + 30 + 10 = 140 t."""
    run = solve(MARKET, instruments=[StockpileBuyer()])
    assert node(run, "production", "IMP") == pytest.approx(0)
    assert node(run, "production", "EXP") == pytest.approx(140)
