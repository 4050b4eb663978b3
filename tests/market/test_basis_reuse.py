"""Solves answered from the kept basis (:mod:`critmin.market.basis`) equal always solving.

On random markets over six months -- growing and dated demand, ad-valorem tariffs (several
solves a month), bans, outages and demand surges switching on and off -- the engine with
``reuse_basis`` (the default) and with every solve handed to HiGHS give the same iterations
and statuses and the same series to rounding; the same with export quotas and rules-of-origin
rows (rows held at their limit in the kept basis); and the reuse is exercised (some solves are
answered from the kept basis, some go to HiGHS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.market.compile import compile_market
from critmin.market.engine import MarketRun, run_market
from critmin.market.probe import Probe
from critmin.market.spec import Market, Shock
from tests.golden import SOLVED
from tests.market.test_properties import markets
from tests.market.test_variants import shocks

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
TOTALS = {"kept": 0, "highs": 0}


def _run(market: Market, own: list[Shock], *, reuse: bool) -> tuple[MarketRun, Probe]:
    probe = Probe()
    cm = compile_market(market, MONTHS, own)
    return run_market(cm, probe=probe, reuse_basis=reuse), probe


@settings(max_examples=80, deadline=None)
@given(
    markets(),
    shocks(),
    st.lists(st.sampled_from([0.0, 0.05, 0.3]), min_size=1, max_size=1),
    st.booleans(),
)
def test_kept_basis_answers_equal_always_solving(
    market: Market, own: list[Shock], growth: list[float], dated: bool
) -> None:
    bids = [
        b.model_copy(
            update={
                "growth_per_year": growth[0] * (1 + j % 2),
                "start": "2026-03" if dated and j == 0 else None,
            }
        )
        for j, b in enumerate(market.demand)
    ]
    market = market.model_copy(update={"demand": bids, "base_month": "2025-06"})
    kept, kept_probe = _run(market, own, reuse=True)
    always, always_probe = _run(market, own, reuse=False)
    assert always_probe.basis_kept == 0
    assert kept.iterations.tolist() == always.iterations.tolist()
    assert kept.status == always.status
    for name in SOLVED:
        a, b = getattr(kept, name), getattr(always, name)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-7, err_msg=name)
    TOTALS["kept"] += kept_probe.basis_kept
    TOTALS["highs"] += kept_probe.solves


@settings(max_examples=60, deadline=None)
@given(markets(), st.data())
def test_kept_basis_with_quota_and_origin_rows_equals_always_solving(
    market: Market, data: st.DataObject
) -> None:
    """The same comparison on markets whose LP has rows with only an upper bound: export
    quotas (tight or loose, switching on and off by date) and, when re-export is off, the
    rules-of-origin rows. A kept basis then holds such rows nonbasic at their limit, and a
    quota that lifts or moves changes the basic solution through them."""
    regions = sorted({b.region for b in market.supply})
    products = sorted({b.product for b in market.supply} | {b.product for b in market.demand})
    quotas = [
        {
            "exporter": data.draw(st.sampled_from(regions)),
            "product": data.draw(st.sampled_from(products)),
            "to": data.draw(st.one_of(st.none(), st.lists(st.sampled_from(regions), min_size=1))),
            "qty_t": data.draw(st.sampled_from([0.0, 5.0, 20.0, 60.0])),
            "start": data.draw(st.sampled_from([None, "2026-02", "2026-04"])),
            "end": data.draw(st.sampled_from([None, "2026-03", "2026-05"])),
        }
        for _ in range(data.draw(st.integers(1, 2)))
    ]
    quotas = [q for q in quotas if not (q["start"] and q["end"] and q["start"] > q["end"])]
    bids = [
        b.model_copy(update={"growth_per_year": 0.3 * (j % 2)}) for j, b in enumerate(market.demand)
    ]
    market = Market.model_validate(
        {
            **market.model_dump(exclude_defaults=True, by_alias=True),
            "demand": [b.model_dump(exclude_defaults=True, by_alias=True) for b in bids],
            "base_month": "2025-06",
            "export_quotas": quotas,
            "reexport": data.draw(st.booleans()),
        }
    )
    kept, kept_probe = _run(market, [], reuse=True)
    always, _ = _run(market, [], reuse=False)
    assert kept.iterations.tolist() == always.iterations.tolist()
    for name in SOLVED:
        a, b = getattr(kept, name), getattr(always, name)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-7, err_msg=name)
    TOTALS["kept"] += kept_probe.basis_kept
    TOTALS["highs"] += kept_probe.solves


def test_reuse_was_exercised() -> None:
    """Runs after the property test (same module, in order): across its examples some solves
    were answered from the kept basis and some went to HiGHS, so both branches were
    compared. (Alone, it runs a small market itself.)"""
    if not TOTALS["kept"]:
        market = Market.model_validate(
            {
                "mineral": "x",
                "supply": [{"region": "A", "qty_t": 100, "cost_usd_per_t": 10}],
                "demand": [
                    {"region": "B", "qty_t": 50, "wtp_usd_per_t": 100, "growth_per_year": 0.1}
                ],
                "routes": [{"from": "A", "to": "B", "cost_usd_per_t": 1}],
            }
        )
        _run(market, [], reuse=True)
        probe = _run(market, [], reuse=True)[1]
        TOTALS["kept"] += probe.basis_kept
        TOTALS["highs"] += probe.solves
    assert TOTALS["kept"] > 0
    assert TOTALS["highs"] > 0


def test_managed_market_with_instruments_equals_always_solving() -> None:
    """The built-in managed market (FORGE levy iterations, floors, offtakes, Project Vault
    columns) with kept-basis answers equals every solve sent to HiGHS: iterations, statuses,
    series and every instrument's report (rows and metrics) to rounding."""
    from critmin.scenarios.loader import load_scenario

    sc = load_scenario("ndpr_managed_market").scenario
    specs = sc.instrument_specs()
    for market in sc.markets or []:
        cm = compile_market(market, sc.month_labels(), sc.shocks)

        def build(m: Market = market) -> list[Any]:
            return [s.build() for s in specs if s.mineral in (None, m.mineral)]

        probe = Probe()
        kept = run_market(cm, build(), probe=probe)
        always = run_market(cm, build(), reuse_basis=False)
        assert kept.iterations.tolist() == always.iterations.tolist()
        assert kept.status == always.status
        for name in SOLVED:
            np.testing.assert_allclose(
                getattr(kept, name), getattr(always, name), rtol=1e-9, atol=1e-6, err_msg=name
            )
        for (name_a, a), (name_b, b) in zip(kept.reports, always.reports, strict=True):
            assert name_a == name_b
            assert [(r.month, r.region, r.variable) for r in a.rows] == [
                (r.month, r.region, r.variable) for r in b.rows
            ]
            np.testing.assert_allclose(
                [r.value for r in a.rows], [r.value for r in b.rows], rtol=1e-9, atol=1e-6
            )
            assert a.metrics.keys() == b.metrics.keys()
            for key in a.metrics:
                assert a.metrics[key] == pytest.approx(b.metrics[key], rel=1e-9, abs=1e-6)
        if market.mineral == "ndpr":
            assert probe.basis_kept > 0  # the instruments' months were answered too


BID_BLOCKS = Path(__file__).resolve().parents[2] / "benchmarks/studies/seed_study_bid_blocks"


@pytest.mark.parametrize(
    ("paths", "sent_to_highs"),
    [
        pytest.param(
            [BID_BLOCKS / "ndpr_baseline.yaml", BID_BLOCKS / "ndpr_china_ban.yaml"],
            44,
            id="bid-blocks",
        ),
        pytest.param(["ndpr_baseline", "ndpr_china_ban"], 320, id="demand-curves"),
    ],
)
def test_months_sent_to_highs_on_the_two_seed_study_workloads(
    paths: list[Any], sent_to_highs: int
) -> None:
    """Why the month-loop benchmark has two workloads (docs/benchmarks.md). Over 2026-2035
    (6 chains x 120 months = 720 market-months) the seed study as issue 9 measured it (commit
    c0be33f: three bid blocks per region, ``benchmarks/studies/seed_study_bid_blocks``) sends
    44 months to HiGHS; today's seed study sends 320, because its demand curves' steps grow
    every month and move the marginal step: a month whose basis changes cannot be answered
    from the kept basis. On both, the kept-basis answers equal always solving."""
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.spec import Months

    sent = months = 0
    for loaded in load_study([str(p) for p in paths]):
        sc = loaded.scenario.model_copy(update={"months": Months(start="2026-01", end="2035-12")})
        for market in sc.markets or []:
            cm = compile_market(market, sc.month_labels(), sc.shocks)
            probe = Probe()
            kept = run_market(cm, probe=probe)
            always = run_market(cm, reuse_basis=False)
            for name in SOLVED:
                np.testing.assert_allclose(
                    getattr(kept, name), getattr(always, name), rtol=1e-9, atol=1e-6
                )
            sent += probe.solves
            months += len(cm.months)
    assert months == 720
    assert sent == sent_to_highs
