"""The stockpile's market signals: export-ban flag, last month's shortage, emergency gate.

Each case is solved by hand in its docstring. Spec helper: ``tests/instruments/
test_vault_release.py::_spec`` (Vault at USA, protected demand 60 t/month, 40 t opening
stock at 50,000 usd/t, purchases capped at 50,000 usd/t up to a 40 t target, members
gm 0.6 / boeing 0.4; the ban rule releases ``ban_release_share_of_demand`` = 0.25 x 60 = 15 t).
"""

from __future__ import annotations

import numpy as np
import pytest

from critmin.policy.instrument import (
    ActiveShock,
    InstrumentReport,
    MarketContext,
    MonthView,
    SolvedMonth,
)
from critmin.stockpile import EntryKind
from critmin.stockpile.instrument import StockpileInstrument, StockpileInstrumentSpec
from tests.instruments.helpers import node, solve
from tests.instruments.test_vault_release import MONTHS, _series, _spec

BAN_WITH_LOCAL_SUPPLY = """
mineral: x
regions: [CHN, USA]
default_route_cost_usd_per_t: 1000
supply:
  - {region: CHN, qty_t: 100, cost_usd_per_t: 10000}
  - {region: USA, qty_t: 100, cost_usd_per_t: 30000}
demand: [{region: USA, qty_t: 60, wtp_usd_per_t: 120000}]
export_bans: [{exporter: CHN, start: 2026-02}]
"""

SHORTAGE = """
mineral: x
regions: [USA]
supply:
  - {region: USA, qty_t: 60, cost_usd_per_t: 30000, end: 2026-01}
  - {region: USA, qty_t: 30, cost_usd_per_t: 30000}
demand: [{region: USA, qty_t: 60, wtp_usd_per_t: 120000}]
"""


def test_ban_flag_releases_without_a_price_spike() -> None:
    """CHN 100 t at 10,000, USA 100 t at 30,000, USA bids 60 t at 120,000; route 1,000;
    CHN bans exports from 2026-02. Trigger 100,000 (price share 0.1 -> 6 t).

    2026-01: imports 60 t at 11,000; no ban, no release (and no purchase: no price yet).
    2026-02: the CHN->USA route is closed -> ``export_ban_active(product=x, importer=USA)``:
        the ban rule releases max(15, 6) = 15 t at 0 usd/t. USA serves 60 t = 15 released +
        45 local; the price is the local cost 30,000, far below the trigger (no spike, so the
        old price-only coupling released nothing). Unserved 0 with or without the Vault, so
        the shortage avoided is 0 (the release displaced local output).
    2026-03: 15 t again; 2026-04: the last 10 t. Production at USA = 45, 45, 50 t: releases
        are ``stock_release``, not production.
    """
    inst = StockpileInstrument(_spec(on_ban=True, share=0.1))
    run = solve(BAN_WITH_LOCAL_SUPPLY, MONTHS, [inst])
    assert _series(inst, "stock_releases") == pytest.approx([0, 15, 15, 10])
    assert [node(run, "price", "USA", t=t) for t in range(4)] == pytest.approx(
        [11_000, 30_000, 30_000, 30_000]
    )
    assert [node(run, "unserved", "USA", t=t) for t in range(4)] == pytest.approx([0] * 4)
    assert [node(run, "production", "USA", t=t) for t in range(4)] == pytest.approx([0, 45, 45, 50])
    assert [node(run, "stock_release", "USA", t=t) for t in range(4)] == pytest.approx(
        [0, 15, 15, 10]
    )
    rep = inst.finalize()
    assert rep.metrics["stock_releases_t_x"] == pytest.approx(40)
    assert rep.metrics["stock_shortage_avoided_t_x"] == pytest.approx(0)
    reasons = {e.reason for e in inst.stockpile.ledger if e.kind is EntryKind.RELEASE_SALE}
    assert reasons == {"release on export_ban, sold at cost"}
    assert inst.stockpile.check_balance().ok


def test_ban_rule_off_keeps_the_stock() -> None:
    """Same market, ``on_export_ban: false``: the price (30,000) never reaches the trigger,
    so nothing is released and the 40 t stay in stock."""
    inst = StockpileInstrument(_spec(on_ban=False, share=0.1))
    solve(BAN_WITH_LOCAL_SUPPLY, MONTHS, [inst])
    assert _series(inst, "stock_releases") == pytest.approx([0, 0, 0, 0])
    assert inst.stockpile.inventory_t("x") == pytest.approx(40)


def test_shortage_last_month_releases_next_month() -> None:
    """USA only: 60 t at 30,000 until 2026-01 plus 30 t at 30,000 always; bid 60 t at
    120,000. Trigger 500,000 (above every price: the price rule never acts), shortage rule on.

    2026-01: 60 t served, unserved 0. 2026-02: capacity 30 -> unserved 30 t (price 120,000);
        the shortage rule reads *last* month's unserved (0): no release.
    2026-03: last month's unserved 30 t -> need 30 t released at 0 usd/t: 30 local + 30
        released, unserved 0. Without the Vault unserved would be 30: shortage avoided 30 t.
    2026-04: last month's unserved is 0 (the release covered it) -> no release, unserved
        30 again (the rule acts on a one-month lag). The Vault's 50,000 bid is below the
        120,000 price, so it buys nothing; 10 t stay in stock.
    """
    inst = StockpileInstrument(_spec(on_shortage=True, trigger=500_000))
    run = solve(SHORTAGE, MONTHS, [inst])
    without = solve(SHORTAGE, MONTHS)
    assert [node(without, "unserved", "USA", t=t) for t in range(4)] == pytest.approx(
        [0, 30, 30, 30]
    )
    assert _series(inst, "stock_releases") == pytest.approx([0, 0, 30, 0])
    assert [node(run, "unserved", "USA", t=t) for t in range(4)] == pytest.approx([0, 30, 0, 30])
    assert _series(inst, "shortage_avoided") == pytest.approx([0, 0, 30, 0])
    assert inst.finalize().metrics["stock_shortage_avoided_t_x"] == pytest.approx(30)
    sales = [
        (e.month, e.counterparty, e.qty_t)
        for e in inst.stockpile.ledger
        if e.kind is EntryKind.RELEASE_SALE
    ]
    assert sales == [("2026-03", "gm", -18.0), ("2026-03", "boeing", -12.0)]
    assert inst.stockpile.inventory_t("x") == pytest.approx(10)


def test_emergency_gate_for_a_defence_stockpile() -> None:
    """The ban market with ``requires_emergency`` (the National Defense Stockpile rule) and
    an emergency declared from 2026-03 (instrument field ``emergency``): the ban alone
    (2026-02) releases nothing; from 2026-03 the ban rule releases 15 t a month."""
    spec = StockpileInstrumentSpec.model_validate(
        {
            "kind": "stockpile",
            "spec": _spec(on_ban=True, share=0.1, requires_emergency=True).model_dump(),
            "emergency": [{"start": "2026-03"}],
        }
    )
    inst = spec.build()
    solve(BAN_WITH_LOCAL_SUPPLY, MONTHS, [inst])
    assert _series(inst, "stock_releases") == pytest.approx([0, 0, 15, 15])
    assert inst.emergency("2026-02") is False
    assert inst.emergency("2026-03") is True


class _Probe:
    """Records what the protocol shows: shocks and ban flags in the view, unserved demand,
    price matrix and route arrays in the solution."""

    name = "probe"

    def __init__(self) -> None:
        self.shocks: list[tuple[ActiveShock, ...]] = []
        self.flags: list[tuple[bool, bool, bool]] = []
        self.unserved: list[float] = []
        self.unserved_matrix: list[np.ndarray] = []
        self.prices: list[np.ndarray] = []
        self.flows: list[float] = []

    def initialize(self, ctx: MarketContext) -> None:
        exp, imp, _ = ctx.route_index_arrays()
        self.route = int(np.flatnonzero((exp == 0) & (imp == 1))[0])  # CHN -> USA

    def before_solve(self, month: str, view: MonthView) -> None:  # noqa: ARG002
        self.shocks.append(tuple(view.active_shocks))
        self.flags.append(
            (
                view.export_ban_active(),
                view.export_ban_active(exporter="USA"),
                view.export_ban_active(product="x", importer="USA"),
            )
        )

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:  # noqa: ARG002
        self.unserved.append(result.unserved("USA", "x"))
        self.unserved_matrix.append(result.unserved_array().copy())
        self.prices.append(result.prices_array().copy())
        self.flows.append(float(result.route_arrays()[3][self.route]))

    def finalize(self) -> InstrumentReport:
        return InstrumentReport()


def test_protocol_signals_on_a_hand_solved_ban() -> None:
    """CHN 100 t at 10,000 -> USA bid 60 t at 120,000, route 1,000, ban from 2026-02 (no USA
    supply). 2026-01: flow 60, prices CHN 10,000, USA 11,000, unserved 0, no shock.
    2026-02: one active shock ``export_ban CHN, products (x,), destinations (USA,)``; the
    route carries 0, all 60 t are unserved (USA price = wtp 120,000)."""
    market = """
mineral: x
regions: [CHN, USA]
default_route_cost_usd_per_t: 1000
supply: [{region: CHN, qty_t: 100, cost_usd_per_t: 10000}]
demand: [{region: USA, qty_t: 60, wtp_usd_per_t: 120000}]
export_bans: [{exporter: CHN, start: 2026-02}]
"""
    probe = _Probe()
    solve(market, ("2026-01", "2026-02"), [probe])
    assert probe.shocks == [(), (ActiveShock("export_ban", "CHN", ("x",), ("USA",)),)]
    assert probe.flags == [(False, False, False), (True, False, True)]
    assert probe.unserved == pytest.approx([0, 60])
    assert probe.unserved_matrix[1].ravel().tolist() == pytest.approx([0.0, 60.0])
    assert probe.flows == pytest.approx([60, 0])
    assert probe.prices[0].ravel().tolist() == pytest.approx([10_000.0, 11_000.0])
    assert probe.prices[1][1, 0] == pytest.approx(120_000)
