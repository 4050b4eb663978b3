"""The stockpile as a monthly state machine.

``Stockpile(spec).step(month, signal)`` runs one month and returns the ledger entries it
booked. A month is two steps, so that the market engine can sit between them:

1. :meth:`Stockpile.decide` -- from the signal and the state, how much each account
   wants to release (and why) and to buy (how much, at what price, why);
2. :meth:`Stockpile.settle` -- book what actually happened (standalone: the decision;
   coupled to the market: the cleared quantities), in this order:

   a. loan interest on the balance at the start of the month (``rate_per_year / 12``),
      before this month's draws;
   b. funding due this month (equity, appropriations, upfront loans) and members' fees;
   c. releases, allocated to members by pre-purchase rights (largest-remainder on whole
      kilograms), sold at cost or market price, cost basis FIFO;
   d. purchases, paid from cash, then from on-demand loan facilities;
   e. storage on the month-end inventory (``storage_usd_per_t_year / 12`` per t);
   f. repayments: unpaid expenses first, then loans due (``repay_month`` onwards) from
      whatever cash is left.

An expense that cash and undrawn loans cannot pay is booked as debt (payable, or
capitalised onto its loan for interest), so cash never goes negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from critmin.errors import InputError
from critmin.stockpile.ledger import (
    CASH_ACCOUNT,
    BalanceReport,
    Entry,
    EntryKind,
    Ledger,
    Lots,
    div_round,
    t_to_kg,
    usd_to_cents,
)
from critmin.stockpile.signals import MarketSignal, MineralSignal
from critmin.stockpile.spec import Account, FundingKind, FundingSource, StockpileSpec

DAYS_PER_YEAR = 365.0
PAYABLE = "payable"


def price_cents_per_t(price_usd_per_t: float) -> int:
    """A unit price in whole cents per tonne."""
    return usd_to_cents(price_usd_per_t)


def value_cents(qty_kg: int, price_usd_per_t: float) -> int:
    """``qty_kg`` at ``price_usd_per_t``, rounded half-even to a cent."""
    return div_round(qty_kg * price_cents_per_t(price_usd_per_t), 1000)


def daily_consumption_t(account: Account, signal: MineralSignal | None) -> float:
    """Daily protected consumption: the month's protected demand x 12 / 365, or the
    account's ``protected_consumption_t_per_year / 365`` when the signal has none."""
    if signal is not None:
        daily = signal.protected_demand_t * 12.0 / DAYS_PER_YEAR
        if daily > 0:
            return daily
    return account.protected_consumption_t_per_year / DAYS_PER_YEAR


@dataclass(frozen=True)
class Decision:
    """What one account wants to do this month."""

    mineral: str
    release_kg: int = 0
    triggers: tuple[str, ...] = ()
    buy_kg: int = 0
    buy_price_usd_per_t: float = 0.0
    buy_reason: str = ""


@dataclass
class AccountMonth:
    """One account's flows in the month just settled (exact integers)."""

    bought_kg: int = 0
    bought_cents: int = 0
    released_kg: int = 0
    proceeds_cents: int = 0
    basis_cents: int = 0
    storage_cents: int = 0
    shortage_kg: int = 0
    shortage_avoided_kg: int = 0
    triggers: tuple[str, ...] = ()


@dataclass
class HolderMonth:
    """The holder's money flows in the month just settled (cents)."""

    fund_in_cents: int = 0
    fee_in_cents: int = 0
    interest_cents: int = 0
    repaid_cents: int = 0
    accounts: dict[str, AccountMonth] = field(default_factory=dict)


class Stockpile:
    """A holder's accounts, cash, loans and ledger, advanced one month at a time."""

    def __init__(self, spec: StockpileSpec) -> None:
        self.spec = spec
        self.ledger = Ledger()
        self._lots: dict[str, Lots] = {a.mineral: Lots() for a in spec.accounts}
        self._cash = 0
        self._loans = [f for f in spec.funding if f.kind is FundingKind.LOAN]
        self._drawn: dict[str, int] = {f.id: 0 for f in self._loans}
        self._loan_debt: dict[str, int] = {f.id: 0 for f in self._loans}
        self._payable = 0
        self._received: set[str] = set()
        # the members' monthly fees, asked for at every decision (the spec is frozen)
        self._fees_cents = sum(usd_to_cents(m.fee_usd_per_month) for m in spec.members)
        self._spent: dict[str, int] = {a.mineral: 0 for a in spec.accounts}
        self._storage_total: dict[str, int] = {a.mineral: 0 for a in spec.accounts}
        self._month: str | None = None
        self.last: HolderMonth = HolderMonth()

    # -- views ----------------------------------------------------------------------------

    @property
    def month(self) -> str | None:
        """The last month settled."""
        return self._month

    def inventory_kg(self, mineral: str) -> int:
        return self._lots[mineral].qty_kg

    def inventory_t(self, mineral: str) -> float:
        return self._lots[mineral].qty_kg / 1000

    def stock_at_cost_usd(self, mineral: str) -> float:
        return self._lots[mineral].cost_cents / 100

    def storage_cost_total_usd(self, mineral: str) -> float:
        return self._storage_total[mineral] / 100

    def budget_spent_usd(self, mineral: str) -> float:
        return self._spent[mineral] / 100

    @property
    def cash_usd(self) -> float:
        return self._cash / 100

    @property
    def cash_cents(self) -> int:
        return self._cash

    @property
    def debt_cents(self) -> int:
        return sum(self._loan_debt.values()) + self._payable

    @property
    def debt_usd(self) -> float:
        return self.debt_cents / 100

    def days_of_cover(self, mineral: str, signal: MineralSignal | None = None) -> float:
        """Inventory / daily protected consumption (see :func:`daily_consumption_t`)."""
        acc = self.spec.account(mineral)
        return self.inventory_t(mineral) / daily_consumption_t(acc, signal)

    def cost_per_day_of_cover_usd(self, mineral: str, signal: MineralSignal | None = None) -> float:
        """(Stock at cost + storage paid so far) / days of cover; NaN with no cover."""
        days = self.days_of_cover(mineral, signal)
        if days <= 0:
            return math.nan
        cents = self._lots[mineral].cost_cents + self._storage_total[mineral]
        return cents / 100 / days

    def check_balance(self) -> BalanceReport:
        """The ledger's own check, plus: the ledger agrees with this state."""
        rep = self.ledger.check_balance()
        problems = list(rep.problems)
        if rep.cash_cents != self._cash:
            problems.append(f"cash: ledger {rep.cash_cents} cents, state {self._cash}")
        if rep.debt_cents != self.debt_cents:
            problems.append(f"debt: ledger {rep.debt_cents} cents, state {self.debt_cents}")
        for mineral, lots in self._lots.items():
            if rep.inventory_kg.get(mineral, 0) != lots.qty_kg:
                problems.append(
                    f"{mineral}: ledger inventory {rep.inventory_kg.get(mineral, 0)} kg, "
                    f"state {lots.qty_kg} kg"
                )
            if rep.stock_at_cost_cents.get(mineral, 0) != lots.cost_cents:
                problems.append(
                    f"{mineral}: ledger stock at cost {rep.stock_at_cost_cents.get(mineral, 0)}"
                    f" cents, state {lots.cost_cents}"
                )
        return BalanceReport(
            problems=tuple(problems),
            cash_cents=rep.cash_cents,
            debt_cents=rep.debt_cents,
            money_in_cents=rep.money_in_cents,
            money_out_cents=rep.money_out_cents,
            stock_at_cost_cents=rep.stock_at_cost_cents,
            inventory_kg=rep.inventory_kg,
        )

    # -- the month ------------------------------------------------------------------------

    def step(self, month: str, market: MarketSignal) -> list[Entry]:
        """Decide and settle one month as decided (the standalone simulation)."""
        return self.settle(month, market, self.decide(month, market))

    def decide(self, month: str, market: MarketSignal) -> dict[str, Decision]:
        """What each account wants to release and buy in ``month``."""
        self._check_month(month)
        funds = self._cash + self._inflows_due_cents(month) + self._undrawn_cents(month)
        out: dict[str, Decision] = {}
        for acc in self.spec.accounts:
            sig = self._signal(market, acc.mineral)
            triggers = self._triggers(acc, sig)
            release_kg = self._release_need_kg(acc, sig, triggers) if triggers else 0
            buy_kg, price, reason = (0, 0.0, "")
            if not triggers:
                buy_kg, price, reason = self._buy_plan(acc, sig, month, funds)
                funds -= value_cents(buy_kg, price)
            out[acc.mineral] = Decision(
                mineral=acc.mineral,
                release_kg=release_kg,
                triggers=triggers,
                buy_kg=buy_kg,
                buy_price_usd_per_t=price,
                buy_reason=reason,
            )
        return out

    def settle(
        self,
        month: str,
        market: MarketSignal,
        decisions: dict[str, Decision],
        executed: dict[str, tuple[int, int]] | None = None,
    ) -> list[Entry]:
        """Book ``month``. ``executed[mineral] = (bought_kg, released_kg)`` overrides the
        decisions' quantities (the market cleared less); prices stay the decisions'."""
        self._check_month(month)
        start = len(self.ledger)
        rec = HolderMonth(accounts={a.mineral: AccountMonth() for a in self.spec.accounts})
        if self._month is None:
            self._open(month)
        self._accrue_interest(month, rec)  # on the balance before this month's draws
        self._receive(month, rec)
        for acc in self.spec.accounts:
            d = decisions.get(acc.mineral, Decision(acc.mineral))
            _, released = (
                executed[acc.mineral]
                if executed and acc.mineral in executed
                else (d.buy_kg, d.release_kg)
            )
            sig = self._signal(market, acc.mineral)
            am = rec.accounts[acc.mineral]
            am.triggers = d.triggers
            am.shortage_kg = t_to_kg(sig.shortage_t)
            if released > 0:
                self._release(month, acc, sig, min(released, self.inventory_kg(acc.mineral)), am)
        for acc in self.spec.accounts:
            d = decisions.get(acc.mineral, Decision(acc.mineral))
            bought = executed[acc.mineral][0] if executed and acc.mineral in executed else d.buy_kg
            if bought > 0:
                self._buy(month, acc, d, bought, rec)
        for acc in self.spec.accounts:
            self._storage(month, acc, rec)
        self._repay(month, rec)
        self._month = month
        self.last = rec
        return self.ledger.entries_from(start)

    # -- decisions ------------------------------------------------------------------------

    def _signal(self, market: MarketSignal, mineral: str) -> MineralSignal:
        try:
            return market.minerals[mineral]
        except KeyError:
            raise InputError(
                f"month {market.month}: no market signal for stockpile account {mineral!r} "
                f"(signals carry {', '.join(sorted(market.minerals)) or 'nothing'})"
            ) from None

    @staticmethod
    def _triggers(acc: Account, sig: MineralSignal) -> tuple[str, ...]:
        rule = acc.release
        if rule.requires_emergency and not sig.emergency:
            return ()
        fired: list[str] = []
        if rule.on_export_ban and sig.export_ban:
            fired.append("export_ban")
        if rule.on_shortage and sig.shortage_t > 0:
            fired.append("shortage")
        if rule.price_above_usd_per_t is not None and sig.price_usd_per_t > (
            rule.price_above_usd_per_t
        ):
            fired.append("price")
        return tuple(fired)

    def _release_need_kg(self, acc: Account, sig: MineralSignal, triggers: tuple[str, ...]) -> int:
        rule = acc.release
        need_t = 0.0
        if "shortage" in triggers:
            need_t = max(need_t, sig.shortage_t)
        if "export_ban" in triggers:
            need_t = max(need_t, rule.ban_release_share_of_demand * sig.protected_demand_t)
        if "price" in triggers:
            need_t = max(need_t, rule.price_release_share_of_demand * sig.protected_demand_t)
        if rule.max_release_t_per_month is not None:
            need_t = min(need_t, rule.max_release_t_per_month)
        return min(math.floor(need_t * 1000 + 1e-6), self.inventory_kg(acc.mineral))

    def _buy_plan(
        self, acc: Account, sig: MineralSignal, month: str, funds_cents: int
    ) -> tuple[int, float, str]:
        rule = acc.acquisition
        if rule.from_month is not None and month < rule.from_month:
            return 0, 0.0, ""
        budget_left = usd_to_cents(rule.budget_usd) - self._spent[acc.mineral]
        money = min(budget_left, funds_cents)
        if money <= 0:
            return 0, 0.0, ""
        market = sig.price_usd_per_t
        if rule.floor_price_usd_per_t is not None and market < rule.floor_price_usd_per_t:
            price = rule.floor_price_usd_per_t
            excess_t = max(0.0, sig.available_supply_t - sig.protected_demand_t)
            cap_kg = math.floor(excess_t * 1000 + 1e-6)
            reason = f"purchase floor: market {market:g} < floor {price:g} usd/t"
        else:
            if market <= 0:
                return 0, 0.0, ""
            if rule.max_price_usd_per_t is not None and market > rule.max_price_usd_per_t:
                return 0, 0.0, ""
            price = market
            targets: list[float] = []
            if rule.target_days_of_cover is not None:
                targets.append(rule.target_days_of_cover * daily_consumption_t(acc, sig))
            if rule.target_qty_t is not None:
                targets.append(rule.target_qty_t)
            caps_t = [rule.max_share_of_supply * sig.available_supply_t]
            if targets:
                caps_t.append(max(0.0, min(targets) - self.inventory_t(acc.mineral)))
            if rule.max_buy_t_per_month is not None:
                caps_t.append(rule.max_buy_t_per_month)
            cap_kg = math.floor(min(caps_t) * 1000 + 1e-6)
            reason = "accumulate"
        pc = price_cents_per_t(price)
        if pc <= 0:
            return 0, 0.0, ""
        afford_kg = self._affordable_kg(money, pc)
        kg = max(0, min(cap_kg, afford_kg))
        return (kg, price, reason) if kg > 0 else (0, 0.0, "")

    @staticmethod
    def _affordable_kg(money_cents: int, price_cents_t: int) -> int:
        """The most kg whose half-even rounded cost stays within ``money_cents``."""
        kg = money_cents * 1000 // price_cents_t
        while kg > 0 and div_round(kg * price_cents_t, 1000) > money_cents:
            kg -= 1
        return kg

    # -- booking --------------------------------------------------------------------------

    def _check_month(self, month: str) -> None:
        if self._month is not None and month <= self._month:
            raise InputError(f"month {month} is not after the last month settled ({self._month})")
        if self._month is None and month < self.spec.start:
            raise InputError(f"month {month} is before the stockpile's start {self.spec.start}")

    def _holder(self) -> str:
        return self.spec.holder.id

    def _open(self, month: str) -> None:
        for acc in self.spec.accounts:
            kg = t_to_kg(acc.initial_qty_t)
            if kg > 0:
                cost = value_cents(kg, acc.initial_cost_usd_per_t)
                self.ledger.append(
                    month=month,
                    holder=self._holder(),
                    account=acc.mineral,
                    kind=EntryKind.OPENING_STOCK,
                    qty_kg=kg,
                    cost_cents=cost,
                    counterparty=self._holder(),
                    reason="opening stock at stated cost",
                    price_usd_per_t=acc.initial_cost_usd_per_t,
                )
                self._lots[acc.mineral].add(kg, cost)

    def _due_sources(self, month: str) -> list[FundingSource]:
        return [
            f
            for f in self.spec.funding
            if f.id not in self._received
            and f.available_from <= month
            and (f.kind is not FundingKind.LOAN or f.draw == "upfront")
        ]

    def _inflows_due_cents(self, month: str) -> int:
        total = sum(usd_to_cents(f.amount_usd) for f in self._due_sources(month))
        total += self._fees_cents
        return total

    def _undrawn_cents(self, month: str) -> int:
        return sum(
            usd_to_cents(f.amount_usd) - self._drawn[f.id]
            for f in self._loans
            if f.draw == "on_demand" and f.available_from <= month
        )

    def _receive(self, month: str, rec: HolderMonth) -> None:
        for f in self._due_sources(month):
            cents = usd_to_cents(f.amount_usd)
            is_loan = f.kind is FundingKind.LOAN
            self.ledger.append(
                month=month,
                holder=self._holder(),
                account=CASH_ACCOUNT,
                kind=EntryKind.FUND_IN,
                cash_cents=cents,
                debt_cents=cents if is_loan else 0,
                counterparty=f.counterparty or f.id,
                reason=f"{f.kind.value} {f.id}" + (" drawn in full" if is_loan else ""),
            )
            self._received.add(f.id)
            self._cash += cents
            rec.fund_in_cents += cents
            if is_loan:
                self._drawn[f.id] += cents
                self._loan_debt[f.id] += cents
        for m in self.spec.members:
            cents = usd_to_cents(m.fee_usd_per_month)
            if cents > 0:
                self.ledger.append(
                    month=month,
                    holder=self._holder(),
                    account=CASH_ACCOUNT,
                    kind=EntryKind.FEE_IN,
                    cash_cents=cents,
                    counterparty=m.id,
                    reason="member fee",
                )
                self._cash += cents
                rec.fee_in_cents += cents

    def _draw(self, month: str, need_cents: int, rec: HolderMonth) -> None:
        """Draw on-demand loan facilities (spec order) for up to ``need_cents``."""
        for f in self._loans:
            if need_cents <= 0:
                return
            if f.draw != "on_demand" or f.available_from > month:
                continue
            room = usd_to_cents(f.amount_usd) - self._drawn[f.id]
            take = min(room, need_cents)
            if take <= 0:
                continue
            self.ledger.append(
                month=month,
                holder=self._holder(),
                account=CASH_ACCOUNT,
                kind=EntryKind.FUND_IN,
                cash_cents=take,
                debt_cents=take,
                counterparty=f.counterparty or f.id,
                reason=f"loan {f.id} drawn on demand",
            )
            self._drawn[f.id] += take
            self._loan_debt[f.id] += take
            self._cash += take
            rec.fund_in_cents += take
            need_cents -= take

    def _pay_expense(
        self,
        *,
        month: str,
        kind: EntryKind,
        account: str,
        cents: int,
        counterparty: str,
        reason: str,
        rec: HolderMonth,
        loan_id: str | None = None,
    ) -> None:
        if cents <= 0:
            return
        if self._cash < cents:
            self._draw(month, cents - self._cash, rec)
        paid = min(self._cash, cents)
        unpaid = cents - paid
        self.ledger.append(
            month=month,
            holder=self._holder(),
            account=account,
            kind=kind,
            cash_cents=-paid,
            debt_cents=unpaid,
            counterparty=counterparty,
            reason=reason + (f"; {unpaid} cents unpaid, owed" if unpaid else ""),
        )
        self._cash -= paid
        if unpaid:
            if loan_id is not None:
                self._loan_debt[loan_id] += unpaid
            else:
                self._payable += unpaid

    def _accrue_interest(self, month: str, rec: HolderMonth) -> None:
        for f in self._loans:
            bal = self._loan_debt[f.id]
            if bal <= 0 or f.rate_per_year <= 0:
                continue
            due = int(
                (Decimal(bal) * Decimal(repr(f.rate_per_year)) / 12).quantize(
                    Decimal(1), rounding=ROUND_HALF_EVEN
                )
            )
            if due <= 0:
                continue
            rec.interest_cents += due
            self._pay_expense(
                month=month,
                kind=EntryKind.INTEREST,
                account=CASH_ACCOUNT,
                cents=due,
                counterparty=f.counterparty or f.id,
                reason=f"interest {f.rate_per_year:g}/yr on {bal / 100:.2f} usd",
                rec=rec,
                loan_id=f.id,
            )

    def _release(
        self, month: str, acc: Account, sig: MineralSignal, kg: int, am: AccountMonth
    ) -> None:
        if kg <= 0:
            return
        alloc = allocate_kg(kg, [(m.id, m.share) for m in self.spec.members])
        if not alloc:
            alloc = [(self.spec.holder.release_to, kg)]
        why = "+".join(am.triggers) or "release"
        for who, part in alloc:
            if part <= 0:
                continue
            basis = self._lots[acc.mineral].take(part)
            if acc.release.sale_price == "cost":
                proceeds, unit = basis, basis / part * 10  # cents/kg -> usd/t
            else:
                proceeds, unit = value_cents(part, sig.price_usd_per_t), sig.price_usd_per_t
            self.ledger.append(
                month=month,
                holder=self._holder(),
                account=acc.mineral,
                kind=EntryKind.RELEASE_SALE,
                qty_kg=-part,
                cash_cents=proceeds,
                cost_cents=-basis,
                counterparty=who,
                reason=f"release on {why}, sold at {acc.release.sale_price}",
                price_usd_per_t=unit,
            )
            self._cash += proceeds
            am.released_kg += part
            am.proceeds_cents += proceeds
            am.basis_cents += basis
        am.shortage_avoided_kg = min(am.released_kg, am.shortage_kg)

    def _buy(self, month: str, acc: Account, d: Decision, kg: int, rec: HolderMonth) -> None:
        price, reason = d.buy_price_usd_per_t, d.buy_reason
        pc = price_cents_per_t(price)
        budget_left = usd_to_cents(acc.acquisition.budget_usd) - self._spent[acc.mineral]
        money = min(budget_left, self._cash + self._undrawn_cents(month))
        kg = min(kg, self._affordable_kg(max(0, money), pc))
        if kg <= 0:
            return
        cost = div_round(kg * pc, 1000)
        if self._cash < cost:
            self._draw(month, cost - self._cash, rec)
        self.ledger.append(
            month=month,
            holder=self._holder(),
            account=acc.mineral,
            kind=EntryKind.PURCHASE,
            qty_kg=kg,
            cash_cents=-cost,
            cost_cents=cost,
            counterparty="market",
            reason=reason,
            price_usd_per_t=price,
        )
        self._cash -= cost
        self._lots[acc.mineral].add(kg, cost)
        self._spent[acc.mineral] += cost
        am = rec.accounts[acc.mineral]
        am.bought_kg += kg
        am.bought_cents += cost

    def _storage(self, month: str, acc: Account, rec: HolderMonth) -> None:
        kg = self.inventory_kg(acc.mineral)
        rate = usd_to_cents(acc.storage_usd_per_t_year)
        cents = div_round(kg * rate, 12 * 1000)
        if cents <= 0:
            return
        self._pay_expense(
            month=month,
            kind=EntryKind.STORAGE_COST,
            account=acc.mineral,
            cents=cents,
            counterparty="storage",
            reason=f"storage {acc.storage_usd_per_t_year:g} usd/t-yr on {kg / 1000:g} t",
            rec=rec,
        )
        self._storage_total[acc.mineral] += cents
        rec.accounts[acc.mineral].storage_cents += cents

    def _repay(self, month: str, rec: HolderMonth) -> None:
        if self._payable > 0 and self._cash > 0:
            amt = min(self._cash, self._payable)
            self._book_repayment(month, amt, PAYABLE, "unpaid expenses settled", rec)
            self._payable -= amt
        for f in self._loans:
            if f.repay_month is None or month < f.repay_month:
                continue
            owed = self._loan_debt[f.id]
            amt = min(self._cash, owed)
            if amt > 0:
                self._book_repayment(
                    month,
                    amt,
                    f.counterparty or f.id,
                    f"repay loan {f.id} (due {f.repay_month})",
                    rec,
                )
                self._loan_debt[f.id] -= amt

    def _book_repayment(
        self, month: str, cents: int, counterparty: str, reason: str, rec: HolderMonth
    ) -> None:
        self.ledger.append(
            month=month,
            holder=self._holder(),
            account=CASH_ACCOUNT,
            kind=EntryKind.REPAYMENT,
            cash_cents=-cents,
            debt_cents=-cents,
            counterparty=counterparty,
            reason=reason,
        )
        self._cash -= cents
        rec.repaid_cents += cents


def allocate_kg(total_kg: int, shares: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """Split ``total_kg`` whole kilograms pro rata to ``shares`` (largest remainder).

    Each member first gets ``floor(total x share)``; the kilograms left over go one each
    to the largest fractional remainders (ties: spec order). The parts always sum to
    ``total_kg`` and each is within 1 kg of the exact pro-rata amount.
    """
    if not shares or total_kg <= 0:
        return []
    weight_sum = math.fsum(s for _, s in shares)
    if weight_sum <= 0:
        return []
    scale = 10**12
    weights = [round(s / weight_sum * scale) for _, s in shares]
    wsum = sum(weights)
    base = [total_kg * w // wsum for w in weights]
    rema = [total_kg * w % wsum for w in weights]
    left = total_kg - sum(base)
    order = sorted(range(len(shares)), key=lambda i: (-rema[i], i))
    for i in order[:left]:
        base[i] += 1
    return [(shares[i][0], base[i]) for i in range(len(shares))]
