"""critmin.market: the clearing LP of one mineral chain, month by month.

Public names (resolved on first use, PEP 562, so importing the package loads neither
HiGHS nor pandas): the market definition (:mod:`.spec`), compiling it to arrays
(:mod:`.compile`), running the months (:mod:`.engine`) and the tidy results
(:mod:`.results`). Most users run whole scenarios through :mod:`critmin` instead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "Market": "spec",
    "ProductDef": "spec",
    "SupplyBlock": "spec",
    "DemandBlock": "spec",
    "Conversion": "spec",
    "Route": "spec",
    "Tariff": "spec",
    "ExportBan": "spec",
    "ExportQuota": "spec",
    "DatasetSupply": "spec",
    "Shock": "spec",
    "CompiledMarket": "compile",
    "compile_market": "compile",
    "MarketRun": "engine",
    "MonthSolve": "engine",
    "MonthStatus": "engine",
    "run_market": "engine",
    "OutputVariable": "results",
    "VARIABLES": "results",
    "read_series": "results",
    "scenario_metrics": "results",
    "series_frame": "results",
}

__all__ = [
    "VARIABLES",
    "CompiledMarket",
    "Conversion",
    "DatasetSupply",
    "DemandBlock",
    "ExportBan",
    "ExportQuota",
    "Market",
    "MarketRun",
    "MonthSolve",
    "MonthStatus",
    "OutputVariable",
    "ProductDef",
    "Route",
    "Shock",
    "SupplyBlock",
    "Tariff",
    "compile_market",
    "read_series",
    "run_market",
    "scenario_metrics",
    "series_frame",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'critmin.market' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"critmin.market.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:
    from critmin.market.compile import CompiledMarket, compile_market
    from critmin.market.engine import MarketRun, MonthSolve, MonthStatus, run_market
    from critmin.market.results import (
        VARIABLES,
        OutputVariable,
        read_series,
        scenario_metrics,
        series_frame,
    )
    from critmin.market.spec import (
        Conversion,
        DatasetSupply,
        DemandBlock,
        ExportBan,
        ExportQuota,
        Market,
        ProductDef,
        Route,
        Shock,
        SupplyBlock,
        Tariff,
    )
