"""The stockpile as a market :class:`~critmin.policy.instrument.Instrument`.

Scenario YAML::

    instruments:
      - kind: stockpile
        mineral: rare_earths            # the market it acts on (None = every market)
        spec_file: examples/stockpile/project_vault.yaml
        signals_file: examples/stockpile/signals_ban_2027.csv   # optional
        products: {ndpr_oxide: ndpr_oxide}                       # account -> product id
        emergency: [{start: 2027-04, end: 2027-09}]              # optional, for the NDS

Lifecycle: ``initialize`` reserves, per account whose product is in the market, a release
column (``ctx.add_release``: supply from stock, reported as ``stock_release``, not as
production) and a demand column (purchases) at the holder's region. Before the spec's
``start`` the instrument is inactive (both columns closed, nothing booked).

Each active month ``before_solve`` derives the stockpile's :class:`MarketSignal` from the
market itself: price = the last solved price at the holder's node (``view.previous``: the
previous month's, one month of lag; it steers purchases), protected demand =
``protected_consumption_t_per_year / 12``, supply = protected demand, and the release flags:

* ``export_ban`` = ``view.export_ban_active(product=<account product>, importer=<holder
  region>)``: a ban closes a route carrying the product into the holder's region this month;
* ``shortage_t`` = last month's unserved demand at the holder's node (``result.unserved``
  after the month's final solve; below 1e-3 t counts as none);
* ``emergency`` = a declared emergency window (instrument field ``emergency: [{start, end}]``)
  covers the month; an account with ``requires_emergency`` (the NDS) releases nothing,
  on any rule, without one.

Release rules, in the documented order **ban / shortage / price**:

1. **ban or shortage** (the account's ``on_export_ban`` / ``on_shortage``): the stockpile's own
   rule sizes the need (:meth:`Stockpile.decide`: ``ban_release_share_of_demand`` x protected
   demand, or the shortage tonnes; the largest need, with the price rule's quantity too when
   the account has a price trigger), capped by ``max_release_t_per_month`` and the inventory,
   and it is offered at 0 usd/t: released whatever the price. No purchases that month.
2. **price** (``release.price_above_usd_per_t``), when no rule of 1. fired: the release column
   is offered at the trigger for ``price_release_share_of_demand`` x protected demand (capped
   likewise). The LP takes it exactly when the node price *without* the release would exceed
   the trigger, so the release happens in the month the shock hits and holds the node price at
   the trigger while the stock lasts (a buffer-stock ceiling). The purchase bid is below the
   trigger (enforced), so the LP never buys and releases in the same month.

A ``signals_file`` row for (month, account) replaces the market signal (its flags fire the
rules; its need is offered at 0 usd/t, as in the standalone simulation).

Purchases: bid at the account's maximum price (accumulation) or at the floor (purchase
floor: the whole amount the budget and funds buy at the floor, so the market price cannot
fall below the floor while they last). ``after_solve`` books the cleared quantities at the
solved price via :meth:`Stockpile.settle`; releases are allocated to members by their
pre-purchase rights.

Shortage avoided (``shortage_avoided``, ``stock_shortage_avoided_t_<product>``), a first-order
measure (no re-solve without the release): a release taken at the price trigger counts in full (each
tonne went to a buyer the market could not serve at or below the trigger); a ban or shortage
release counts in full when the node still rations demand after it (unserved > 0: each
released tonne served a bid that would otherwise go unserved), else up to last month's
unserved tonnes; a release that only displaced other supply (no rationing before or after)
avoids nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError
from critmin.periods import Month
from critmin.policy.instrument import (
    HeadlineMetric,
    InstrumentReport,
    InstrumentSpec,
    MarketContext,
    MonthView,
    OutputVariable,
    PendingRows,
    SolvedMonth,
    declare,
    declare_metrics,
    declare_per_product,
)
from critmin.stockpile.ledger import t_to_kg
from critmin.stockpile.signals import MarketSignal, MineralSignal, load_signals
from critmin.stockpile.spec import StockpileSpec, load_spec
from critmin.stockpile.state import Decision, Stockpile, price_cents_per_t

SHORTAGE_TOL_T = 1e-3  # unserved tonnes below this are not a shortage (as in the results)

# per product, one summary.json key each (stock_releases_t_ndfeb_magnet), which a sweep can
# name as its metric; finalize makes the keys from these declarations
_COVER_END, _SHORTAGE_AVOIDED, _RELEASES, _PURCHASES = _PER_PRODUCT = declare_per_product(
    "stockpile",
    ("stock_days_of_cover_end", "days", "days of cover of each account in the last month"),
    ("stock_shortage_avoided_t", "t", "unserved demand the releases avoided"),
    ("stock_releases_t", "t", "tonnes released"),
    ("stock_purchases_t", "t", "tonnes bought"),
)


class EmergencyWindow(BoundedNumbers, BaseModel):
    """A declared emergency (national-defence determination): ``{start: 2026-07, end: ...}``
    (``end`` None = open). Only in these months may a ``requires_emergency`` account release."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: Month
    end: Month | None = None

    def covers(self, month: str) -> bool:
        return self.start <= month and (self.end is None or month <= self.end)


class StockpileInstrumentSpec(InstrumentSpec):
    """YAML form: ``spec_file`` (or inline ``spec``), optional ``signals_file``, ``products``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "stockpile",
        ("stock_inventory", "t", "last", "tonnes held at the month's end"),
        ("days_of_cover", "days", "last", "inventory / daily protected demand"),
        ("stock_purchases", "t", "sum", "tonnes bought"),
        ("stock_releases", "t", "sum", "tonnes released"),
        ("shortage_avoided", "t", "sum", "unserved demand the releases avoided"),
        ("stock_cash", "usd", "last", "cash of the stockpile's holder"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "stockpile",
        ("stock_cash_usd", "usd", "cash of the holder at the end"),
        ("stock_debt_usd", "usd", "debt of the holder at the end"),
        ("stock_ledger_balanced", "flag", "1 when the holder's ledger balances, else 0"),
        *_PER_PRODUCT,
    )

    kind: str = "stockpile"
    spec_file: str | None = None
    spec: StockpileSpec | None = None
    signals_file: str | None = None
    products: dict[str, str] = Field(default_factory=dict)
    emergency: list[EmergencyWindow] = Field(
        default_factory=list,
        description="declared emergencies (months start..end); gate requires_emergency rules",
    )

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
        return StockpileInstrument(
            spec, table, dict(self.products), self.name, emergency=list(self.emergency)
        )


def _signal_with(
    sig: MineralSignal,
    *,
    price_usd_per_t: float | None = None,
    shortage_t: float | None = None,
) -> MineralSignal:
    """``sig`` with a new price or shortage (a direct constructor call: the month loop runs
    this per account and solve, where ``dataclasses.replace`` cost ~10 us)."""
    return MineralSignal(
        sig.price_usd_per_t if price_usd_per_t is None else price_usd_per_t,
        sig.available_supply_t,
        sig.protected_demand_t,
        sig.shortage_t if shortage_t is None else shortage_t,
        sig.export_ban,
        sig.emergency,
    )


class StockpileInstrument:
    """Adapts a :class:`Stockpile` to the market's instrument lifecycle."""

    def __init__(
        self,
        spec: StockpileSpec,
        signals: dict[tuple[str, str], MineralSignal] | None = None,
        products: dict[str, str] | None = None,
        name: str | None = None,
        *,
        emergency: list[EmergencyWindow] | None = None,
    ) -> None:
        self.name = name or f"stockpile:{spec.name}"
        self._emergency = list(emergency or [])
        # unserved demand (t) at the holder's node in the last settled month, per account
        self._last_unserved: dict[str, float] = {}
        self._bans: dict[tuple[str, str], bool] = {}  # (month, product) -> ban in force
        self.stockpile = Stockpile(spec)
        self._spec = spec
        self._signals = signals or {}
        self._products = products or {}
        self._region = spec.holder.region
        self._handles: dict[str, tuple[int, int]] = {}  # mineral -> (release, buy)
        self._pending: dict[str, tuple[MarketSignal, dict[str, Decision], dict[str, float]]] = {}
        self._rows = PendingRows()  # SeriesRow fields, built only when read
        # per product: an account of oxide and one of magnets hold different goods, whose
        # tonnes are never added (docs/market.md, "Headline quantities")
        self._shortage_avoided_t: dict[str, float] = {}
        self._released_t: dict[str, float] = {}
        self._bought_t: dict[str, float] = {}
        self._cover: dict[str, float] = {}
        for acc in spec.accounts:
            trigger = acc.release.price_above_usd_per_t
            cap = acc.acquisition.max_price_usd_per_t
            floor = acc.acquisition.floor_price_usd_per_t
            bid = floor if floor is not None else cap
            if trigger is not None and bid is not None and bid >= trigger:
                raise InputError(
                    f"account {acc.mineral!r}: purchase price {bid:g} usd/t must be below the "
                    f"release trigger {trigger:g} usd/t (else the market would buy and release "
                    "in the same month)",
                    where=f"stockpile {spec.name} accounts[{acc.mineral}]",
                )

    def product(self, mineral: str) -> str:
        return self._products.get(mineral, mineral)

    def initialize(self, ctx: MarketContext) -> None:
        if self._region not in ctx.regions:
            return
        # a release is supply from stock, not production (contexts that predate
        # add_release, such as minimal test doubles, get an ordinary supply column)
        add_release = getattr(ctx, "add_release", ctx.add_supply)
        for acc in self._spec.accounts:
            prod = self.product(acc.mineral)
            if prod in ctx.products:
                self._handles[acc.mineral] = (
                    add_release(self._region, prod, f"{self.name}:{acc.mineral}:release"),
                    ctx.add_demand(self._region, prod, f"{self.name}:{acc.mineral}:buy"),
                )

    def emergency(self, month: str) -> bool:
        """True when a declared emergency window covers ``month``."""
        return any(w.covers(month) for w in self._emergency)

    def _signal(self, month: str, view: MonthView) -> MarketSignal:
        previous = view.previous
        ban_active = getattr(view, "export_ban_active", None)
        sigs: dict[str, MineralSignal] = {}
        for acc in self._spec.accounts:
            base = self._signals.get((month, acc.mineral))
            from_file = base is not None
            if base is None:
                demand = acc.protected_consumption_t_per_year / 12
                base = MineralSignal(0.0, demand, demand)
            prod = self.product(acc.mineral)
            price = base.price_usd_per_t
            if previous is not None and acc.mineral in self._handles:
                price = max(previous.price(self._region, prod), 0.0)
            shortage, ban, emergency = base.shortage_t, base.export_ban, base.emergency
            trigger = acc.release.price_above_usd_per_t
            if not from_file:
                # market signals: a ban closing imports of the product into the holder's
                # region this month, last month's unserved demand at the holder's node, a
                # declared emergency
                ban = ban_active is not None and self._ban(month, prod, ban_active)
                short = self._last_unserved.get(acc.mineral, 0.0)
                shortage = short if short > SHORTAGE_TOL_T else 0.0
                emergency = self.emergency(month)
                if trigger is not None:
                    # the price rule acts in the LP this month (see module docstring); the
                    # lagged price only steers purchases, so it must not fire the rule twice
                    price = min(price, trigger)
            # one constructor call (dataclasses.replace took ~10 us a field set)
            base = MineralSignal(
                price, base.available_supply_t, base.protected_demand_t, shortage, ban, emergency
            )
            sigs[acc.mineral] = base
        return MarketSignal(month=month, minerals=sigs)

    def _ban(self, month: str, product: str, ban_active: Callable[..., bool]) -> bool:
        """Whether a ban closes imports of ``product`` into the holder's region in ``month``
        (asked once a month: the month's route bounds do not change between its solves)."""
        key = (month, product)
        if key not in self._bans:
            self._bans[key] = bool(ban_active(product=product, importer=self._region))
        return self._bans[key]

    def _active(self, month: str) -> bool:
        return month >= self._spec.start

    def before_solve(self, month: str, view: MonthView) -> None:
        if not self._handles:
            return
        if not self._active(month):
            for rel_h, buy_h in self._handles.values():
                view.set_block(rel_h, 0.0, 0.0)
                view.set_block(buy_h, 0.0, 0.0)
            return
        signal = self._signal(month, view)
        decisions = self.stockpile.decide(month, signal)
        offers: dict[str, float] = {}
        for mineral, (rel_h, buy_h) in self._handles.items():
            d = decisions[mineral]
            acc = self._spec.account(mineral)
            sig = signal.minerals[mineral]
            floor = acc.acquisition.floor_price_usd_per_t
            trigger = acc.release.price_above_usd_per_t
            price_rule = (
                trigger is not None
                and (month, mineral) not in self._signals
                and (not acc.release.requires_emergency or sig.emergency)
            )
            if d.triggers:
                # a rule fired (ban, shortage; or the signals file's flags): the need is
                # released whatever the price (offered at 0 usd/t); with a price trigger the
                # price rule's quantity counts too (the larger need is offered)
                need_kg = d.release_kg
                if price_rule:
                    need_kg = max(
                        need_kg, self.stockpile._release_need_kg(acc, sig, (*d.triggers, "price"))
                    )
                view.set_block(rel_h, need_kg / 1000, 0.0)
                view.set_block(buy_h, 0.0, 0.0)
                offers[mineral] = need_kg / 1000
                continue
            if trigger is not None and price_rule:
                offer_kg = self.stockpile._release_need_kg(acc, sig, ("price",))
                offers[mineral] = offer_kg / 1000
                view.set_block(rel_h, offer_kg / 1000, trigger)
            else:
                view.set_block(rel_h, 0.0, 0.0)
            if floor is not None:
                view.set_block(buy_h, self._floor_bid_t(mineral, month, floor), floor)
            else:
                cap = acc.acquisition.max_price_usd_per_t
                view.set_block(buy_h, d.buy_kg / 1000, cap or d.buy_price_usd_per_t)
        self._pending[month] = (signal, decisions, offers)

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
        return True  # the release offer is priced into the LP: one solve decides it

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        if month not in self._pending:
            return
        signal, decisions, offers = self._pending.pop(month)
        sigs = dict(signal.minerals)
        booked: dict[str, Decision] = {}
        for mineral, d in decisions.items():
            if mineral not in self._handles:
                booked[mineral] = replace(d, buy_kg=0)
                continue
            rel_h, buy_h = self._handles[mineral]
            price = max(result.price(self._region, self.product(mineral)), 0.0)
            sigs[mineral] = _signal_with(sigs[mineral], price_usd_per_t=price)
            taken_kg = t_to_kg(max(result.block_value(rel_h), 0.0))
            release_kg = min(taken_kg, t_to_kg(offers.get(mineral, d.release_kg / 1000)))
            triggers = d.triggers or (("price",) if release_kg > 0 else ())
            unserved_fn = getattr(result, "unserved", None)
            unserved_now = (
                float(unserved_fn(self._region, self.product(mineral)))
                if unserved_fn is not None
                else 0.0
            )
            if release_kg > 0 and (month, mineral) not in self._signals:
                released_t = release_kg / 1000
                if d.triggers:
                    # a ban / shortage release (offered at 0 usd/t): it avoided shortage only
                    # where the node still rations demand after it (each released tonne then
                    # served a bid that would otherwise go unserved, to first order) or up to
                    # last month's unserved tonnes; a release that only displaced other
                    # supply avoids nothing
                    last = self._last_unserved.get(mineral, 0.0)
                    avoided_t = (
                        released_t if unserved_now > SHORTAGE_TOL_T else min(released_t, last)
                    )
                else:
                    # taken at >= the price trigger: demand the market could not serve at or
                    # below the trigger (exact while the node still rations demand)
                    avoided_t = released_t
                sigs[mineral] = _signal_with(sigs[mineral], shortage_t=avoided_t)
            self._last_unserved[mineral] = unserved_now
            booked[mineral] = Decision(
                mineral=d.mineral,
                release_kg=release_kg,
                triggers=triggers,
                buy_kg=t_to_kg(max(result.block_value(buy_h), 0.0)),
                buy_price_usd_per_t=price,
                buy_reason=d.buy_reason or "market bid",
            )
        market = MarketSignal(month=month, minerals=sigs)
        self.stockpile.settle(month, market, booked)
        rec = self.stockpile.last
        for mineral in self._handles:
            prod = self.product(mineral)
            am = rec.accounts[mineral]
            for total, kg in (
                (self._shortage_avoided_t, am.shortage_avoided_kg),
                (self._released_t, am.released_kg),
                (self._bought_t, am.bought_kg),
            ):
                total[prod] = total.get(prod, 0.0) + kg / 1000
            cover = self.stockpile.days_of_cover(mineral, sigs[mineral])
            self._cover[mineral] = cover
            for var, val, unit in (
                ("stock_inventory", self.stockpile.inventory_t(mineral), "t"),
                ("days_of_cover", cover, "days"),
                ("stock_purchases", am.bought_kg / 1000, "t"),
                ("stock_releases", am.released_kg / 1000, "t"),
                ("shortage_avoided", am.shortage_avoided_kg / 1000, "t"),
            ):
                self._rows.add(month, prod, self._region, var, float(val), unit)
        self._rows.add(month, "all", self._region, "stock_cash", self.stockpile.cash_usd, "usd")

    def finalize(self) -> InstrumentReport:
        bal = self.stockpile.check_balance()
        metrics = {
            "stock_cash_usd": self.stockpile.cash_usd,
            "stock_debt_usd": self.stockpile.debt_usd,
            "stock_ledger_balanced": 1.0 if bal.ok else 0.0,
        }
        for mineral, cover in self._cover.items():
            metrics[_COVER_END.flat_key(self.product(mineral))] = cover
        for figure, totals in (
            (_SHORTAGE_AVOIDED, self._shortage_avoided_t),
            (_RELEASES, self._released_t),
            (_PURCHASES, self._bought_t),
        ):
            for prod, value in totals.items():
                metrics[figure.flat_key(prod)] = value
        return InstrumentReport(rows=self._rows.build, metrics=metrics)
