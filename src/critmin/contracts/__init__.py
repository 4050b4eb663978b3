"""critmin.contracts: offtake and floor contracts - definition, settlement, valuation.

* :func:`load_contract` reads a contract YAML into a frozen :class:`OfftakeContract`.
* :func:`read_prices` + :func:`settle` give the month-by-month settlement statement.
* :func:`value_contract` values the floor, sharing and cap legs (Black-76 strips and
  Monte Carlo) and the zero-cost sharing fraction.
* :func:`allocate_by_priority` shares scarce supply among contracts by priority rank.
"""

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
from critmin.contracts.valuation import MonteCarloResult, Valuation, monte_carlo, value_contract

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
