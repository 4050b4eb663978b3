"""Helpers for instrument tests: solve a small market written as YAML text."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from critmin.market.compile import compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.market.results import node_table
from critmin.market.spec import Market
from critmin.policy.instrument import Instrument
from critmin.scenarios.plugins import load_instruments

load_instruments()


def solve(
    text: str, months: Sequence[str] = ("2026-03",), instruments: Sequence[Instrument] = ()
) -> MarketRun:
    market = Market.model_validate(yaml.safe_load(text))
    return run_market(compile_market(market, list(months)), instruments)


def node(
    run: MarketRun, variable: str, region: str, product: str | None = None, t: int = 0
) -> float:
    cm = run.cm
    n = cm.node_index(region, product or cm.products[0])
    return float(node_table(run)[variable][t, n])


def price(run: MarketRun, region: str, product: str | None = None, t: int = 0) -> float:
    return node(run, "price", region, product, t)


def flow(
    run: MarketRun, exporter: str, importer: str, product: str | None = None, t: int = 0
) -> float:
    cm = run.cm
    return float(run.flow[t, cm.route_index(exporter, importer, product or cm.products[0])])
