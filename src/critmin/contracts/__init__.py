"""critmin.contracts: offtake and floor contracts - definition, settlement, valuation.

* :func:`load_contract` reads a contract YAML into a frozen :class:`OfftakeContract`.
* :func:`read_prices` + :func:`settle` give the month-by-month settlement statement.
* :func:`value_contract` values the floor, sharing and cap legs (Black-76 strips and
  Monte Carlo) and the zero-cost sharing fraction.
* :func:`allocate_by_priority` shares scarce supply among contracts by priority rank.

The names are imported from their modules on first use (PEP 562): the scenario runner loads
``critmin.contracts.instrument`` for every run, and importing the valuation modules (SciPy,
~1 s) with it would slow every ``critmin`` command that never values a contract.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the module that defines it
_WHERE = {
    "Claim": "allocation",
    "allocate_by_priority": "allocation",
    "black76_call": "black76",
    "black76_put": "black76",
    "MonthlyPrice": "prices",
    "PriceSeries": "prices",
    "read_prices": "prices",
    "PriceTerms": "settlement",
    "SettlementLine": "settlement",
    "SettlementStatement": "settlement",
    "price_terms": "settlement",
    "settle": "settlement",
    "OfftakeContract": "spec",
    "UpsideShare": "spec",
    "load_contract": "spec",
    "month_range": "spec",
    "MonteCarloResult": "valuation",
    "Valuation": "valuation",
    "monte_carlo": "valuation",
    "value_contract": "valuation",
}

__all__ = [
    "Claim",
    "MonteCarloResult",
    "MonthlyPrice",
    "OfftakeContract",
    "PriceSeries",
    "PriceTerms",
    "SettlementLine",
    "SettlementStatement",
    "UpsideShare",
    "Valuation",
    "allocate_by_priority",
    "black76_call",
    "black76_put",
    "load_contract",
    "monte_carlo",
    "month_range",
    "price_terms",
    "read_prices",
    "settle",
    "value_contract",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'critmin.contracts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"critmin.contracts.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:  # what type checkers and IDEs see: the eager imports
    from critmin.contracts.allocation import Claim, allocate_by_priority
    from critmin.contracts.black76 import black76_call, black76_put
    from critmin.contracts.prices import MonthlyPrice, PriceSeries, read_prices
    from critmin.contracts.settlement import (
        PriceTerms,
        SettlementLine,
        SettlementStatement,
        price_terms,
        settle,
    )
    from critmin.contracts.spec import OfftakeContract, UpsideShare, load_contract, month_range
    from critmin.contracts.valuation import (
        MonteCarloResult,
        Valuation,
        monte_carlo,
        value_contract,
    )
