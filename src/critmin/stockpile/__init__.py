"""critmin.stockpile: strategic stockpiles as accounts, rules and an append-only ledger.

A :class:`StockpileSpec` (holder, funding, members with pre-purchase rights, one account
per mineral with its acquisition and release rules) is loaded from YAML with
:func:`load_spec`; :class:`Stockpile` advances it month by month against a
:class:`MarketSignal`, booking every movement of material and money in a :class:`Ledger`
whose :meth:`Ledger.check_balance` is the public invariant; :func:`simulate` runs a whole
signal table and returns a :class:`StockpileResult` (ledger + tidy series + metrics).
"""

from critmin.stockpile import instrument as _instrument  # registers kind "stockpile"
from critmin.stockpile.ledger import (
    BalanceReport,
    Entry,
    EntryKind,
    Ledger,
    LedgerError,
)
from critmin.stockpile.signals import MarketSignal, MineralSignal, load_signals
from critmin.stockpile.simulate import StockpileResult, simulate
from critmin.stockpile.spec import (
    Account,
    AcquisitionRule,
    FundingKind,
    FundingSource,
    Holder,
    Member,
    ReleaseRule,
    StockpileSpec,
    load_spec,
)
from critmin.stockpile.state import Decision, Stockpile, allocate_kg

del _instrument

__all__ = [
    "Account",
    "AcquisitionRule",
    "BalanceReport",
    "Decision",
    "Entry",
    "EntryKind",
    "FundingKind",
    "FundingSource",
    "Holder",
    "Ledger",
    "LedgerError",
    "MarketSignal",
    "Member",
    "MineralSignal",
    "ReleaseRule",
    "Stockpile",
    "StockpileResult",
    "StockpileSpec",
    "allocate_kg",
    "load_signals",
    "load_spec",
    "simulate",
]
