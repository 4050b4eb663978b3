"""Variants of one compiled chain (:mod:`critmin.market.variants`): equal to compiling the
changes in, and to separate runs, in this process or another."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from critmin.errors import InputError
from critmin.market.compile import apply_shocks, compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.market.spec import Market, Shock
from critmin.market.variants import Variant, run_variants, solve_variants
from critmin.scenarios.loader import load_scenario
from tests.golden import COMPILED, SOLVED, SOLVED_EXACT
from tests.market.test_properties import REGIONS, markets

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
SHOCK = TypeAdapter(Shock)


@st.composite
def shocks(draw: st.DrawFn) -> list[Shock]:
    month = st.sampled_from([None, *MONTHS])
    out = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["export_ban", "outage", "demand_surge"]))
        start, end = draw(month), draw(month)
        if start and end and end < start:
            start, end = end, start
        when = {"start": start, "end": end}
        region = draw(st.sampled_from(REGIONS))
        if kind == "export_ban":
            item: dict[str, Any] = {"exporter": region, "to": [draw(st.sampled_from(REGIONS))]}
        elif kind == "outage":
            item = {"region": region, "share": draw(st.sampled_from([0.25, 0.5, 1.0]))}
        else:
            item = {"region": draw(st.sampled_from([None, region])), "share": 0.3}
        if draw(st.booleans()):
            item["product"] = draw(st.sampled_from(["ore", "metal", "x"]))
        out.append(SHOCK.validate_python({"kind": kind, **when, **item}))
    return out


def _same_compiled(a: Any, b: Any) -> None:
    for name in COMPILED:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


def _same_run(a: MarketRun, b: MarketRun) -> None:
    for name in SOLVED + SOLVED_EXACT:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@settings(max_examples=60, deadline=None)
@given(markets(), shocks(), shocks())
def test_shocks_on_a_compiled_chain_equal_compiling_them(
    market: Market, own: list[Shock], more: list[Shock]
) -> None:
    """Shocks added to a compiled chain give, bit for bit, the arrays of compiling the market
    with its own shocks followed by those (every kind, dated or not, known or unknown
    regions and products)."""
    compiled = compile_market(market, MONTHS, own)
    _same_compiled(apply_shocks(compiled, more), compile_market(market, MONTHS, [*own, *more]))
    # the compiled chain the variant started from is untouched
    _same_compiled(compiled, compile_market(market, MONTHS, own))


def test_scaled_costs_equal_a_market_written_with_them() -> None:
    """Supply costs x 1.1 and transport x 2 on the compiled chain are the arrays (and the
    run) of the market written with those costs: c x 1.1 is the same float either way."""
    ls = load_scenario("ndpr_china_ban")
    sc = ls.scenario
    (market, *_rest) = sc.markets or []
    base = compile_market(market, sc.month_labels(), sc.shocks)
    variant = Variant("dear", scale={"s_cost": 1.1, "r_transport": 2.0})
    written = market.model_copy(
        update={
            "supply": [
                b.model_copy(update={"cost_usd_per_t": b.cost_usd_per_t * 1.1})
                for b in market.supply
            ],
            "routes": [
                r.model_copy(update={"cost_usd_per_t": r.cost_usd_per_t * 2.0})
                for r in market.routes
            ],
            "default_route_cost_usd_per_t": (
                {k: v * 2.0 for k, v in market.default_route_cost_usd_per_t.items()}
                if isinstance(market.default_route_cost_usd_per_t, dict)
                else (market.default_route_cost_usd_per_t or 0.0) * 2.0
            ),
        }
    )
    want = compile_market(written, sc.month_labels(), sc.shocks)
    _same_compiled(variant.apply(base), want)
    _same_run(run_market(variant.apply(base)), run_market(want))


def _variants() -> list[Variant]:
    months = 24
    return [
        Variant("as compiled"),
        Variant("demand +20 %", scale={"d_qty": 1.2}),
        Variant("ramp", scale={"s_cap": np.linspace(1.0, 0.5, months)[:, None]}),
        Variant(
            "ban",
            shocks=[SHOCK.validate_python({"kind": "export_ban", "exporter": "CHN"})],
        ),
        Variant(
            "outage",
            shocks=[
                SHOCK.validate_python(
                    {"kind": "outage", "region": "AUS", "share": 0.5, "start": "2026-06"}
                )
            ],
            scale={"d_wtp": 0.9},
        ),
    ]


def test_batch_equals_separate_runs_in_any_process() -> None:
    """Five variants of the NdPr chain (demand, capacity ramp, a ban, an outage with lower
    bids): the batch gives each variant's separate run bit for bit, and so does the batch
    run in a fresh worker process (chain, variants and runs crossing as pickles)."""
    sc = load_scenario("ndpr_baseline").scenario
    (market, *_rest) = sc.markets or []
    cm = compile_market(market, sc.month_labels(), sc.shocks)
    variants = _variants()
    batch = list(run_variants(cm, variants))
    for variant, run in zip(variants, batch, strict=True):
        _same_run(run, run_market(variant.apply(cm)))
    # the variants differ from each other (the batch does not just repeat one run)
    assert not np.array_equal(batch[0].price, batch[3].price)
    assert not np.array_equal(batch[0].demand, batch[1].demand)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, no inherited state
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        remote = pool.submit(solve_variants, cm, variants).result()
    for a, b in zip(batch, remote, strict=True):
        _same_run(a, b)


def test_bad_variant_is_an_input_error() -> None:
    sc = load_scenario("ndpr_baseline").scenario
    cm = compile_market((sc.markets or [])[0], sc.month_labels())
    with pytest.raises(InputError, match="cannot scale 'price'"):
        Variant("x", scale={"price": 2.0}).apply(cm)
    with pytest.raises(InputError, match="does not fit"):
        Variant("x", scale={"s_cost": np.ones(3)}).apply(cm)
    with pytest.raises(InputError, match="finite and >= 0"):
        Variant("x", scale={"d_qty": -1.0}).apply(cm)
