"""The append-only stockpile ledger and its balance check.

Every movement of material or money is one :class:`Entry`. Amounts are exact integers:
quantities in kilograms (``qty_kg``), money in US cents. Each entry carries four signed
effects:

* ``qty_kg``   -- on the account's inventory (+ purchase, - release);
* ``cash_cents`` -- on the holder's cash (+ money in, - money out);
* ``cost_cents`` -- on the stock held at cost (+ purchase at its price, - cost basis of a
  release, FIFO);
* ``debt_cents`` -- on what the holder owes (+ loan draw or unpaid expense, - repayment).

There is no update or delete: a correction is a new ``correction`` entry that reverses an
earlier money-only entry (:meth:`Ledger.reverse`). :meth:`Ledger.check_balance` replays
the ledger independently of the stockpile's state and verifies that inventory never goes
negative, every release is matched by earlier acquisitions (FIFO lots; the recorded cost
basis must equal the replay's), cash never goes negative, and

    money in = money out + stock at cost + cash on hand

where money in = funding, fees, sale proceeds and opening stock at cost (in kind), and
money out = interest, storage, repayments and the cost basis of released material
(purchases turn cash into stock at cost and appear on neither side).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import pandas as pd

from critmin.errors import CritminError, InputError

CASH_ACCOUNT = "cash"


class LedgerError(CritminError):
    """An entry that breaks the ledger's rules (sign, order, unknown seq)."""


class EntryKind(StrEnum):
    """What an entry records."""

    OPENING_STOCK = "opening_stock"
    FUND_IN = "fund_in"
    FEE_IN = "fee_in"
    INTEREST = "interest"
    PURCHASE = "purchase"
    RELEASE_SALE = "release_sale"
    STORAGE_COST = "storage_cost"
    REPAYMENT = "repayment"
    CORRECTION = "correction"


MATERIAL_KINDS = frozenset({EntryKind.OPENING_STOCK, EntryKind.PURCHASE, EntryKind.RELEASE_SALE})


def usd_to_cents(usd: float) -> int:
    """Round US dollars to whole cents, half to even."""
    if usd == 0:
        return 0
    return _scaled(float(usd), 100, "amount in USD")


def t_to_kg(qty_t: float) -> int:
    """Round tonnes to whole kilograms, half to even."""
    if qty_t == 0:
        return 0
    return _scaled(float(qty_t), 1000, "quantity in t")


@lru_cache(maxsize=4096)
def _scaled(x: float, factor: int, what: str) -> int:
    """``x * factor`` rounded half to even from ``x``'s shortest decimal form (exact; the
    same prices, fees and quantities recur every month, so the Decimal work is cached)."""
    if not math.isfinite(x):
        raise InputError(f"expected a finite {what}, got {x!r}")
    return int((Decimal(repr(x)) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def div_round(num: int, den: int) -> int:
    """``num / den`` rounded half to even, exactly, for integers (``den > 0``)."""
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger line. Integer fields are exact; ``*_t`` / ``*_usd`` are views."""

    seq: int
    month: str
    holder: str
    account: str  # a mineral, or "cash" for money-only entries
    kind: EntryKind
    qty_kg: int
    cash_cents: int
    cost_cents: int
    debt_cents: int
    counterparty: str
    reason: str
    price_usd_per_t: float | None = None
    corrects: int | None = None

    @property
    def qty_t(self) -> float:
        return self.qty_kg / 1000

    @property
    def amount_usd(self) -> float:
        """The cash effect in USD (+ in, - out)."""
        return self.cash_cents / 100

    @property
    def cost_usd(self) -> float:
        return self.cost_cents / 100

    @property
    def debt_usd(self) -> float:
        return self.debt_cents / 100


@dataclass(frozen=True)
class BalanceReport:
    """The outcome of :meth:`Ledger.check_balance`; ``ok`` when ``problems`` is empty."""

    problems: tuple[str, ...]
    cash_cents: int
    debt_cents: int
    money_in_cents: int
    money_out_cents: int
    stock_at_cost_cents: dict[str, int] = field(default_factory=dict)
    inventory_kg: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def stock_at_cost_total_cents(self) -> int:
        return sum(self.stock_at_cost_cents.values())

    def summary(self) -> dict[str, object]:
        """Plain-JSON view (USD, t)."""
        return {
            "ok": self.ok,
            "problems": list(self.problems),
            "money_in_usd": self.money_in_cents / 100,
            "money_out_usd": self.money_out_cents / 100,
            "stock_at_cost_usd": self.stock_at_cost_total_cents / 100,
            "cash_usd": self.cash_cents / 100,
            "debt_usd": self.debt_cents / 100,
        }


class Lots:
    """FIFO lots of one account: ``(kg, cost_cents)`` pairs, oldest first."""

    def __init__(self) -> None:
        self._lots: deque[list[int]] = deque()
        # running totals (exact integers): the market coupling asks for the inventory
        # several times a month, and summing a lot per month bought grew with the run
        self._qty_kg = 0
        self._cost_cents = 0

    def add(self, qty_kg: int, cost_cents: int) -> None:
        if qty_kg > 0:
            self._lots.append([qty_kg, cost_cents])
            self._qty_kg += qty_kg
            self._cost_cents += cost_cents

    @property
    def qty_kg(self) -> int:
        return self._qty_kg

    @property
    def cost_cents(self) -> int:
        return self._cost_cents

    def take(self, qty_kg: int) -> int:
        """Remove ``qty_kg`` oldest-first; return its cost basis in cents.

        A partly used lot gives up cost in proportion (rounded half to even); the last
        kilogram of a lot takes whatever cost is left, so no cent is ever lost.
        Raises :class:`LedgerError` if there is not enough stock.
        """
        if qty_kg > self.qty_kg:
            raise LedgerError(f"release of {qty_kg} kg exceeds the {self.qty_kg} kg held")
        if qty_kg <= 0:
            return 0
        need, basis = qty_kg, 0
        self._qty_kg -= qty_kg
        while need > 0:
            lot = self._lots[0]
            if need >= lot[0]:
                need -= lot[0]
                basis += lot[1]
                self._lots.popleft()
            else:
                part = div_round(lot[1] * need, lot[0])
                lot[0] -= need
                lot[1] -= part
                basis += part
                need = 0
        self._cost_cents -= basis
        return basis


class Ledger:
    """An append-only list of :class:`Entry`; no update or delete."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(tuple(self._entries))

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def entries_from(self, start: int) -> list[Entry]:
        """The entries from position ``start`` on (copying only those)."""
        return self._entries[start:]

    def append(
        self,
        *,
        month: str,
        holder: str,
        account: str,
        kind: EntryKind,
        qty_kg: int = 0,
        cash_cents: int = 0,
        cost_cents: int = 0,
        debt_cents: int = 0,
        counterparty: str = "",
        reason: str = "",
        price_usd_per_t: float | None = None,
        corrects: int | None = None,
    ) -> Entry:
        """Add one entry at the end (months may not go backwards); return it."""
        if self._entries and month < self._entries[-1].month:
            raise LedgerError(
                f"entry for {month} after {self._entries[-1].month}: the ledger is append-only "
                "in time"
            )
        entry = Entry(
            seq=len(self._entries) + 1,
            month=month,
            holder=holder,
            account=account,
            kind=EntryKind(kind),
            qty_kg=int(qty_kg),
            cash_cents=int(cash_cents),
            cost_cents=int(cost_cents),
            debt_cents=int(debt_cents),
            counterparty=counterparty,
            reason=reason,
            price_usd_per_t=price_usd_per_t,
            corrects=corrects,
        )
        _check_signs(entry)
        self._entries.append(entry)
        return entry

    def reverse(self, seq: int, month: str, reason: str) -> Entry:
        """Append a ``correction`` that cancels money-only entry ``seq``.

        Material movements are not reversed in place: book the opposite movement instead
        (a purchase is undone by a release), so the FIFO lots stay a true history.
        """
        if not 1 <= seq <= len(self._entries):
            raise LedgerError(f"no entry with seq {seq} (ledger has {len(self._entries)})")
        orig = self._entries[seq - 1]
        if orig.kind in MATERIAL_KINDS or orig.qty_kg:
            raise LedgerError(
                f"entry {seq} ({orig.kind.value}) moves material; book the opposite movement "
                "instead of a correction"
            )
        if any(e.corrects == seq for e in self._entries):
            raise LedgerError(f"entry {seq} is already corrected")
        return self.append(
            month=month,
            holder=orig.holder,
            account=orig.account,
            kind=EntryKind.CORRECTION,
            cash_cents=-orig.cash_cents,
            cost_cents=-orig.cost_cents,
            debt_cents=-orig.debt_cents,
            counterparty=orig.counterparty,
            reason=reason,
            corrects=seq,
        )

    # -- the invariant ------------------------------------------------------------------

    def check_balance(self, *, allow_negative_cash: bool = False) -> BalanceReport:
        """Replay the ledger and verify its invariants (see the module docstring)."""
        problems: list[str] = []
        lots: dict[str, Lots] = defaultdict(Lots)
        cash = debt = money_in = money_out = 0
        for e in self._entries:
            if e.kind in (EntryKind.PURCHASE, EntryKind.OPENING_STOCK):
                lots[e.account].add(e.qty_kg, e.cost_cents)
            elif e.kind is EntryKind.RELEASE_SALE:
                held = lots[e.account].qty_kg
                if -e.qty_kg > held:
                    problems.append(
                        f"entry {e.seq}: release of {-e.qty_kg} kg {e.account} without prior "
                        f"acquisition (only {held} kg held)"
                    )
                    continue
                basis = lots[e.account].take(-e.qty_kg)
                if basis != -e.cost_cents:
                    problems.append(
                        f"entry {e.seq}: recorded cost basis {-e.cost_cents} cents, FIFO "
                        f"replay gives {basis}"
                    )
                money_out += basis
            if e.kind is EntryKind.OPENING_STOCK:
                money_in += e.cost_cents
            if e.kind is not EntryKind.PURCHASE:
                if e.cash_cents > 0:
                    money_in += e.cash_cents
                else:
                    money_out += -e.cash_cents
            cash += e.cash_cents
            debt += e.debt_cents
            if cash < 0 and not allow_negative_cash:
                problems.append(f"entry {e.seq}: cash goes negative ({cash} cents)")
            if debt < 0:
                problems.append(f"entry {e.seq}: debt goes negative ({debt} cents)")
        stock = {k: v.cost_cents for k, v in lots.items()}
        inventory = {k: v.qty_kg for k, v in lots.items()}
        recorded: dict[str, int] = defaultdict(int)
        for e in self._entries:
            if e.account != CASH_ACCOUNT:
                recorded[e.account] += e.cost_cents
        for account, cents in recorded.items():
            if cents != stock.get(account, 0):
                problems.append(
                    f"account {account}: stock at cost from entries {cents} cents != FIFO lots "
                    f"{stock.get(account, 0)}"
                )
        if money_in != money_out + sum(stock.values()) + cash:
            problems.append(
                f"money in {money_in} != money out {money_out} + stock at cost "
                f"{sum(stock.values())} + cash {cash} (cents)"
            )
        return BalanceReport(
            problems=tuple(problems),
            cash_cents=cash,
            debt_cents=debt,
            money_in_cents=money_in,
            money_out_cents=money_out,
            stock_at_cost_cents=stock,
            inventory_kg=inventory,
        )

    # -- export ---------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per entry; exact integer columns plus t / USD views."""
        cols = [
            "seq",
            "month",
            "holder",
            "account",
            "kind",
            "qty_t",
            "amount_usd",
            "cost_usd",
            "debt_usd",
            "price_usd_per_t",
            "counterparty",
            "reason",
            "corrects",
            "qty_kg",
            "cash_cents",
            "cost_cents",
            "debt_cents",
        ]
        rows = []
        for e in self._entries:
            row = asdict(e)
            row["kind"] = e.kind.value
            row.update(
                qty_t=e.qty_t, amount_usd=e.amount_usd, cost_usd=e.cost_usd, debt_usd=e.debt_usd
            )
            rows.append(row)
        df = pd.DataFrame(rows, columns=cols)
        df["corrects"] = df["corrects"].astype("Int64")
        df["price_usd_per_t"] = df["price_usd_per_t"].astype("float64")
        for c in ("seq", "qty_kg", "cash_cents", "cost_cents", "debt_cents"):
            df[c] = df[c].astype("int64")
        for c in ("qty_t", "amount_usd", "cost_usd", "debt_usd"):
            df[c] = df[c].astype("float64")
        return df

    def to_parquet(self, path: Path) -> Path:
        """Write atomically (temp file + rename)."""
        return write_atomic(self.to_frame(), Path(path), "parquet")

    def to_csv(self, path: Path) -> Path:
        """Write atomically (temp file + rename)."""
        return write_atomic(self.to_frame(), Path(path), "csv")


def write_atomic(df: pd.DataFrame, path: Path, fmt: str) -> Path:
    """Write ``df`` to a temp file beside ``path``, then rename it into place
    (:func:`critmin.fileio.atomic_write`); CSV text cells that a spreadsheet would run as
    formulas are neutralised (:func:`critmin.fileio.safe_cell`)."""
    from critmin.fileio import atomic_write, safe_frame_csv

    def _write(tmp: Path) -> None:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            tmp.write_text(safe_frame_csv(df, index=False), encoding="utf-8")

    return atomic_write(path, _write)


_SIGN_RULES: dict[EntryKind, str] = {
    EntryKind.OPENING_STOCK: "qty > 0, cost >= 0, no cash or debt",
    EntryKind.FUND_IN: "cash > 0, no material",
    EntryKind.FEE_IN: "cash > 0, no material or debt",
    EntryKind.INTEREST: "cash <= 0, debt >= 0, no material",
    EntryKind.PURCHASE: "qty > 0, cost >= 0, cash = -cost, no debt",
    EntryKind.RELEASE_SALE: "qty < 0, cost <= 0, cash >= 0, no debt",
    EntryKind.STORAGE_COST: "cash <= 0, debt >= 0, no material",
    EntryKind.REPAYMENT: "cash < 0, debt = cash",
    EntryKind.CORRECTION: "no material",
}


def _check_signs(e: Entry) -> None:
    k = e.kind
    ok: bool
    if k is EntryKind.OPENING_STOCK:
        ok = e.qty_kg > 0 and e.cost_cents >= 0 and e.cash_cents == 0 and e.debt_cents == 0
    elif k is EntryKind.FUND_IN:
        ok = e.cash_cents > 0 and e.qty_kg == 0 and e.cost_cents == 0 and e.debt_cents >= 0
    elif k is EntryKind.FEE_IN:
        ok = e.cash_cents > 0 and e.qty_kg == 0 and e.cost_cents == 0 and e.debt_cents == 0
    elif k in (EntryKind.INTEREST, EntryKind.STORAGE_COST):
        ok = e.cash_cents <= 0 and e.debt_cents >= 0 and e.qty_kg == 0 and e.cost_cents == 0
    elif k is EntryKind.PURCHASE:
        ok = e.qty_kg > 0 and e.cost_cents >= 0 and e.cash_cents == -e.cost_cents
        ok = ok and e.debt_cents == 0
    elif k is EntryKind.RELEASE_SALE:
        ok = e.qty_kg < 0 and e.cost_cents <= 0 and e.cash_cents >= 0 and e.debt_cents == 0
    elif k is EntryKind.REPAYMENT:
        ok = e.cash_cents < 0 and e.debt_cents == e.cash_cents and e.qty_kg == 0
        ok = ok and e.cost_cents == 0
    else:  # correction
        ok = e.qty_kg == 0 and e.cost_cents == 0
    if not ok:
        raise LedgerError(
            f"{k.value} entry with qty_kg={e.qty_kg}, cash_cents={e.cash_cents}, "
            f"cost_cents={e.cost_cents}, debt_cents={e.debt_cents}; expected "
            f"{_SIGN_RULES[k]}"
        )


def entries_frame(entries: Iterable[Entry]) -> pd.DataFrame:
    """A frame of some entries (e.g. one month's), same columns as :meth:`Ledger.to_frame`."""
    led = Ledger()
    led._entries = list(entries)
    return led.to_frame()
