"""critmin.policy: dated parameters and the ``Instrument`` protocol."""

from critmin.policy.instrument import (
    REGISTRY,
    Instrument,
    InstrumentReport,
    InstrumentSpec,
    MarketContext,
    MonthView,
    SeriesRow,
    SolvedMonth,
    register,
)

__all__ = [
    "REGISTRY",
    "Instrument",
    "InstrumentReport",
    "InstrumentSpec",
    "MarketContext",
    "MonthView",
    "SeriesRow",
    "SolvedMonth",
    "register",
]
