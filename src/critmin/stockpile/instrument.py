"""The stockpile as a market :class:`~critmin.policy.instrument.Instrument`.

Scenario YAML::

    instruments:
      - kind: stockpile
        mineral: rare_earths            # the market it acts on (None = every market)
        spec_file: examples/stockpile/project_vault.yaml
        signals_file: examples/stockpile/signals_ban_2027.csv   # optional
        products: {ndpr_oxide: ndpr_oxide}                       # account -> product id

Lifecycle: ``initialize`` reserves, per account whose product is in the market, a supply
column (releases) and a demand column (purchases) at the holder's region. Each month
``before_solve`` builds the stockpile's :class:`MarketSignal` -- price = the last solved
price at the holder's node (the previous month; the signals file's price in the first
month), the flags, protected demand, shortage and supply from the signals file (without
one: protected demand = consumption / 12, supply = protected demand, no ban, no
emergency) -- asks :meth:`Stockpile.decide`, and offers the release at 0 usd/t (it always
clears) and bids the purchase at the account's maximum price (accumulation) or at the
floor (purchase floor: the whole amount the budget and funds buy at the floor, so the
market price cannot fall below the floor while they last). ``after_solve`` books the
cleared quantities at the solved price via :meth:`Stockpile.settle`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pydantic import Field

from critmin.policy.instrument import (
    InstrumentReport,
    InstrumentSpec,
    MarketContext,
    MonthView,
    SeriesRow,
    SolvedMonth,
    register,
)
from critmin.stockpile.ledger import t_to_kg
from critmin.stockpile.signals import MarketSignal, MineralSignal, load_signals
from critmin.stockpile.spec import StockpileSpec, load_spec
from critmin.stockpile.state import Decision, Stockpile, price_cents_per_t


@register("stockpile")
class StockpileInstrumentSpec(InstrumentSpec):
    """YAML form: ``spec_file`` (or inline ``spec``), optional ``signals_file``, ``products``."""

    kind: str = "stockpile"
    spec_file: str | None = None
    spec: StockpileSpec | None = None
    signals_file: str | None = None
    products: dict[str, str] = Field(default_factory=dict)

    def build(self) -> StockpileInstrument:
        if self.spec is not None:
            spec = self.spec
        elif self.spec_file is not None:
            spec = load_spec(Path(self.spec_file))
        else:
            raise ValueError("a stockpile instrument needs spec_file or spec")
        table: dict[tuple[str, str], MineralSignal] = {}
        if self.signals_file is not None:
            df = load_signals(Path(self.signals_file))
            for r in df.itertuples(index=False):
                table[(str(r.month), str(r.mineral))] = MineralSignal(
                    price_usd_per_t=float(r.price_usd_per_t),  # type: ignore[arg-type]
                    available_supply_t=float(r.available_supply_t),  # type: ignore[arg-type]
                    protected_demand_t=float(r.protected_demand_t),  # type: ignore[arg-type]
                    shortage_t=float(r.shortage_t),  # type: ignore[arg-type]
                    export_ban=bool(r.export_ban),
                    emergency=bool(r.emergency),
                )
        return StockpileInstrument(spec, table, dict(self.products), self.name)


class StockpileInstrument:
    """Adapts a :class:`Stockpile` to the market's instrument lifecycle."""

    def __init__(
        self,
        spec: StockpileSpec,
        signals: dict[tuple[str, str], MineralSignal] | None = None,
        products: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or f"stockpile:{spec.name}"
        self.stockpile = Stockpile(spec)
        self._spec = spec
        self._signals = signals or {}
        self._products = products or {}
        self._region = spec.holder.region
        self._handles: dict[str, tuple[int, int]] = {}  # mineral -> (release, buy)
        self._pending: dict[str, tuple[MarketSignal, dict[str, Decision]]] = {}
        self._rows: list[SeriesRow] = []
        self._shortage_avoided_t = 0.0

    def product(self, mineral: str) -> str:
        return self._products.get(mineral, mineral)

    def initialize(self, ctx: MarketContext) -> None:
        if self._region not in ctx.regions:
            return
        for acc in self._spec.accounts:
            prod = self.product(acc.mineral)
            if prod in ctx.products:
                self._handles[acc.mineral] = (
                    ctx.add_supply(self._region, prod, f"{self.name}:{acc.mineral}:release"),
                    ctx.add_demand(self._region, prod, f"{self.name}:{acc.mineral}:buy"),
                )

    def _signal(self, month: str, previous: SolvedMonth | None) -> MarketSignal:
        sigs: dict[str, MineralSignal] = {}
        for acc in self._spec.accounts:
            base = self._signals.get((month, acc.mineral))
            if base is None:
                demand = acc.protected_consumption_t_per_year / 12
                base = MineralSignal(0.0, demand, demand)
            if previous is not None and acc.mineral in self._handles:
                price = previous.price(self._region, self.product(acc.mineral))
                base = replace(base, price_usd_per_t=max(price, 0.0))
            sigs[acc.mineral] = base
        return MarketSignal(month=month, minerals=sigs)

    def before_solve(self, month: str, view: MonthView) -> None:
        if not self._handles:
            return
        signal = self._signal(month, view.previous)
        decisions = self.stockpile.decide(month, signal)
        for mineral, (rel_h, buy_h) in self._handles.items():
            d = decisions[mineral]
            acc = self._spec.account(mineral)
            view.set_block(rel_h, d.release_kg / 1000, 0.0)
            floor = acc.acquisition.floor_price_usd_per_t
            if d.triggers:
                view.set_block(buy_h, 0.0, 0.0)
            elif floor is not None:
                view.set_block(buy_h, self._floor_bid_t(mineral, month, floor), floor)
            else:
                cap = acc.acquisition.max_price_usd_per_t
                view.set_block(buy_h, d.buy_kg / 1000, cap or d.buy_price_usd_per_t)
        self._pending[month] = (signal, decisions)

    def _floor_bid_t(self, mineral: str, month: str, floor: float) -> float:
        sp = self.stockpile
        acc = self._spec.account(mineral)
        budget_left = round(acc.acquisition.budget_usd * 100) - round(
            sp.budget_spent_usd(mineral) * 100
        )
        funds = sp.cash_cents + sp._inflows_due_cents(month) + sp._undrawn_cents(month)
        money = max(0, min(budget_left, funds))
        return sp._affordable_kg(money, price_cents_per_t(floor)) / 1000

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        if month not in self._pending:
            return
        signal, decisions = self._pending.pop(month)
        sigs = dict(signal.minerals)
        booked: dict[str, Decision] = {}
        for mineral, d in decisions.items():
            if mineral not in self._handles:
                booked[mineral] = replace(d, buy_kg=0)
                continue
            rel_h, buy_h = self._handles[mineral]
            price = max(result.price(self._region, self.product(mineral)), 0.0)
            sigs[mineral] = replace(sigs[mineral], price_usd_per_t=price)
            booked[mineral] = replace(
                d,
                release_kg=min(d.release_kg, t_to_kg(result.block_value(rel_h))),
                buy_kg=t_to_kg(result.block_value(buy_h)),
                buy_price_usd_per_t=price,
                buy_reason=d.buy_reason or "market bid",
            )
        market = MarketSignal(month=month, minerals=sigs)
        self.stockpile.settle(month, market, booked)
        rec = self.stockpile.last
        for mineral in self._handles:
            prod = self.product(mineral)
            am = rec.accounts[mineral]
            self._shortage_avoided_t += am.shortage_avoided_kg / 1000
            for var, val, unit in (
                ("stock_inventory", self.stockpile.inventory_t(mineral), "t"),
                ("days_of_cover", self.stockpile.days_of_cover(mineral, sigs[mineral]), "days"),
                ("stock_purchases", am.bought_kg / 1000, "t"),
                ("stock_releases", am.released_kg / 1000, "t"),
            ):
                self._rows.append(SeriesRow(month, prod, self._region, var, float(val), unit))
        self._rows.append(
            SeriesRow(month, "all", self._region, "stock_cash", self.stockpile.cash_usd, "usd")
        )

    def finalize(self) -> InstrumentReport:
        bal = self.stockpile.check_balance()
        return InstrumentReport(
            rows=list(self._rows),
            metrics={
                "stock_shortage_avoided_t": self._shortage_avoided_t,
                "stock_cash_usd": self.stockpile.cash_usd,
                "stock_debt_usd": self.stockpile.debt_usd,
                "stock_ledger_balanced": 1.0 if bal.ok else 0.0,
            },
        )
