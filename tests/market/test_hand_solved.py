"""Hand-solved equilibria; each docstring gives the derivation the numbers come from."""

# ruff: noqa: E501 - market tables read best one block per line

from __future__ import annotations

import pytest

from tests.market.helpers import flow, node, price, solve


def test_one_region_price_is_marginal_block_cost() -> None:
    """One region: blocks A 100 t @ 10, B 100 t @ 30; one bid 150 t @ 50.

    Merit order: A fully (100 t), then 50 t of B; B is partly used, so price = 30.
    Consumption 150, unserved 0. CS = (50 - 30) x 150 = 3000; PS = (30 - 10) x 100 = 2000.
    """
    run = solve(
        """
        mineral: x
        supply: [{region: R, qty_t: 100, cost_usd_per_t: 10}, {region: R, qty_t: 100, cost_usd_per_t: 30}]
        demand: [{region: R, qty_t: 150, wtp_usd_per_t: 50}]
        """
    )
    assert price(run, "R") == pytest.approx(30)
    assert node(run, "production", "R") == pytest.approx(150)
    assert node(run, "consumption", "R") == pytest.approx(150)
    assert node(run, "unserved", "R") == pytest.approx(0)
    assert node(run, "consumer_surplus", "R") == pytest.approx(3000)
    assert node(run, "producer_surplus", "R") == pytest.approx(2000)


def test_one_region_short_supply_price_is_willingness_to_pay() -> None:
    """Supply 100 t @ 10, bids 80 t @ 200 (critical) and 60 t @ 50.

    The critical bid is served first (80 t), the 20 t left go to the 50-bid, which is then
    partly served: price = 50, unserved = 40 t, none of it critical.
    """
    run = solve(
        """
        mineral: x
        supply: [{region: R, qty_t: 100, cost_usd_per_t: 10}]
        demand: [{region: R, qty_t: 80, wtp_usd_per_t: 200, critical: true},
                 {region: R, qty_t: 60, wtp_usd_per_t: 50}]
        """
    )
    assert price(run, "R") == pytest.approx(50)
    assert node(run, "unserved", "R") == pytest.approx(40)
    assert node(run, "unserved_critical", "R") == pytest.approx(0)


TWO_REGIONS = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}, {region: IMP, qty_t: %(imp_qty)s, cost_usd_per_t: 40}]
demand: [{region: IMP, qty_t: 150, wtp_usd_per_t: 100}, {region: EXP, qty_t: 10, wtp_usd_per_t: 100}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
"""


def test_two_regions_price_gap_equals_transport_cost() -> None:
    """EXP: 200 t @ 10 (+10 t local bid); IMP: 100 t @ 40, bid 150 t @ 100; route cost 5.

    Landed EXP material costs 10 + 5 = 15 < 40, and EXP has 190 t spare: IMP imports 150 t,
    its own supply stays idle. EXP supply is partly used (160 of 200) so p_EXP = 10 and
    p_IMP = 10 + 5 = 15: the gap equals the transport cost where trade flows.
    """
    run = solve(TWO_REGIONS % {"imp_qty": 100})
    assert price(run, "EXP") == pytest.approx(10)
    assert price(run, "IMP") == pytest.approx(15)
    assert flow(run, "EXP", "IMP") == pytest.approx(150)
    assert node(run, "production", "IMP") == pytest.approx(0)


def test_binding_export_quota_creates_a_rent() -> None:
    """As above with an export quota of 60 t/month on EXP -> IMP.

    IMP gets 60 t from EXP and must produce 90 t itself at 40 (100 t available, partly used),
    so p_IMP = 40 while p_EXP = 10: the gap 30 exceeds transport (5) by the quota rent 25.
    """
    text = (
        TWO_REGIONS % {"imp_qty": 100} + "export_quotas: [{exporter: EXP, to: [IMP], qty_t: 60}]\n"
    )
    run = solve(text)
    assert flow(run, "EXP", "IMP") == pytest.approx(60)
    assert price(run, "IMP") == pytest.approx(40)
    assert price(run, "EXP") == pytest.approx(10)
    assert node(run, "production", "IMP") == pytest.approx(90)


def test_prohibitive_tariff_stops_trade() -> None:
    """As the two-region case with IMP supply 200 t @ 40 and a specific tariff of 50 $/t.

    Landed cost 10 + 5 + 50 = 65 > 40: IMP serves its 150 t bid from its own supply
    (partly used) so p_IMP = 40, nothing flows and no tariff revenue is collected.
    """
    text = TWO_REGIONS % {"imp_qty": 200} + (
        "tariffs: [{importer: IMP, exporter: EXP, specific_usd_per_t: 50}]\n"
    )
    run = solve(text)
    assert flow(run, "EXP", "IMP") == pytest.approx(0)
    assert price(run, "IMP") == pytest.approx(40)
    assert node(run, "tariff_revenue", "IMP") == pytest.approx(0)


def test_ad_valorem_tariff_converges_to_rate_times_exporter_price() -> None:
    """Two regions, IMP supply 100 t @ 40, ad-valorem tariff 0.5 on EXP -> IMP.

    Wedge = 0.5 x p_EXP = 0.5 x 10 = 5, landed = 10 + 5 + 5 = 20 < 40: IMP imports 150 t,
    p_IMP = 20, tariff revenue = 5 x 150 = 750. The wedge is found by iteration: the first
    solve uses p_EXP = 0 (no previous month), the second uses 10 and the third confirms.
    """
    text = TWO_REGIONS % {"imp_qty": 100} + (
        "tariffs: [{importer: IMP, exporter: EXP, ad_valorem: 0.5}]\n"
    )
    run = solve(text)
    assert price(run, "IMP") == pytest.approx(20)
    assert node(run, "tariff_revenue", "IMP") == pytest.approx(750)
    assert bool(run.converged[0])
    assert 2 <= int(run.iterations[0]) <= 3


CHAIN = """
mineral: chain
products: [{id: ore, stage: mine}, {id: metal, stage: metal}]
supply: [{region: R, product: ore, qty_t: 1000, cost_usd_per_t: 10}]
conversions: [{region: R, input: ore, output: metal, input_t_per_t: 4, qty_t: 100, cost_usd_per_t: 20}]
demand: [{region: R, product: metal, qty_t: %(qty)s, wtp_usd_per_t: 1000}]
"""


def test_two_stage_chain_price_carries_conversion_coefficient() -> None:
    """Ore 1000 t @ 10; 4 t ore per t metal, capacity 100 t, cost 20; metal bid 50 t @ 1000.

    Ore is partly used (200 of 1000 t) so p_ore = 10; the converter is partly used (50 of 100)
    so p_metal = 4 x 10 + 20 = 60. Ore production 200 t = conversion input 4 x 50.
    """
    run = solve(CHAIN % {"qty": 50})
    assert price(run, "R", "ore") == pytest.approx(10)
    assert price(run, "R", "metal") == pytest.approx(60)
    assert node(run, "production", "R", "ore") == pytest.approx(200)
    assert node(run, "conversion_input", "R", "ore") == pytest.approx(200)
    assert node(run, "production", "R", "metal") == pytest.approx(50)


def test_two_stage_chain_capacity_binds() -> None:
    """Same chain, metal bid 150 t: conversion capacity (100 t) binds.

    Metal consumption 100 t, unserved 50 t; the bid is partly served so p_metal = 1000;
    ore stays partly used so p_ore = 10; the converter earns 1000 - 40 - 20 = 940 $/t.
    """
    run = solve(CHAIN % {"qty": 150})
    assert price(run, "R", "metal") == pytest.approx(1000)
    assert price(run, "R", "ore") == pytest.approx(10)
    assert node(run, "unserved", "R", "metal") == pytest.approx(50)
    assert node(run, "producer_surplus", "R", "metal") == pytest.approx(940 * 100)


def test_export_ban_creates_unserved_demand() -> None:
    """EXP 200 t @ 10 (+10 t bid); IMP 30 t @ 300, bid 100 t @ 500; route cost 5.

    Without the ban IMP imports 100 t at p_IMP = 15. With EXP banned from shipping to IMP
    from 2026-02, IMP uses its 30 t and 70 t stay unserved; the bid is partly served so
    p_IMP = 500.
    """
    run = solve(
        """
        mineral: x
        supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}, {region: IMP, qty_t: 30, cost_usd_per_t: 300}]
        demand: [{region: IMP, qty_t: 100, wtp_usd_per_t: 500}, {region: EXP, qty_t: 10, wtp_usd_per_t: 100}]
        routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
        export_bans: [{exporter: EXP, to: [IMP], start: 2026-02}]
        """,
        months=("2026-01", "2026-02"),
    )
    assert price(run, "IMP", t=0) == pytest.approx(15)
    assert node(run, "unserved", "IMP", t=0) == pytest.approx(0)
    assert flow(run, "EXP", "IMP", t=1) == pytest.approx(0)
    assert node(run, "unserved", "IMP", t=1) == pytest.approx(70)
    assert price(run, "IMP", t=1) == pytest.approx(500)


def test_capacity_schedule_outage_and_growth() -> None:
    """Schedules and shocks resolve per month.

    Block A 100 t/month from 2026-01, block B 60 t/month from 2026-03; outage of 50 % of R in
    2026-02; bid 120 t/month growing 12 %/yr from base 2026-01 -> 120 x 1.12^(2/12) in March.
    Capacity: Jan 100, Feb 50, Mar 160.
    """
    from critmin.market.compile import compile_market
    from critmin.market.spec import Market, OutageShock

    market = Market.model_validate(
        {
            "mineral": "x",
            "supply": [
                {"region": "R", "qty_t": 100, "cost_usd_per_t": 10},
                {"region": "R", "qty_t": 60, "cost_usd_per_t": 20, "start": "2026-03"},
            ],
            "demand": [{"region": "R", "qty_t": 120, "wtp_usd_per_t": 99, "growth_per_year": 0.12}],
        }
    )
    shock = OutageShock(kind="outage", region="R", share=0.5, start="2026-02", end="2026-02")
    cm = compile_market(market, ["2026-01", "2026-02", "2026-03"], [shock])
    assert cm.s_cap.sum(axis=1).tolist() == pytest.approx([100, 50, 160])
    assert cm.d_qty[2, 0] == pytest.approx(120 * 1.12 ** (2 / 12))


TRANSSHIP = """
mineral: x
regions: [CHN, MYS, USA]
supply: [{region: CHN, qty_t: 100, cost_usd_per_t: 10}, {region: MYS, qty_t: 100, cost_usd_per_t: 40}]
demand: [{region: USA, qty_t: 50, wtp_usd_per_t: 500}, {region: CHN, qty_t: 10, wtp_usd_per_t: 500}]
default_route_cost_usd_per_t: 2
tariffs: [{importer: USA, exporter: CHN, specific_usd_per_t: 100}]
reexport: %(reexport)s
"""


def test_transshipment_dodges_a_tariff_unless_reexport_is_off() -> None:
    """CHN 100 t @ 10, MYS 100 t @ 40, USA bid 50 t; every route costs 2; USA taxes CHN 100.

    reexport true: CHN -> MYS -> USA costs 10 + 2 + 2 = 14 < 10 + 2 + 100 and < 40 + 2:
    p_USA = 14, the tariff collects nothing. reexport false (rules of origin): MYS can only
    export its own 40-$ supply, landed 42 < 112, so p_USA = 42 (MYS partly used).
    """
    free = solve(TRANSSHIP % {"reexport": "true"})
    assert price(free, "USA") == pytest.approx(14)
    assert flow(free, "CHN", "MYS") == pytest.approx(50)
    origin = solve(TRANSSHIP % {"reexport": "false"})
    assert price(origin, "USA") == pytest.approx(42)
    assert flow(origin, "CHN", "MYS") == pytest.approx(0)
    assert flow(origin, "MYS", "USA") == pytest.approx(50)


QUOTA_MARKET = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}, {region: IMP, qty_t: 100, cost_usd_per_t: 40}]
demand: [{region: IMP, qty_t: 150, wtp_usd_per_t: 100}, {region: EXP, qty_t: 10, wtp_usd_per_t: 100}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
export_quotas: [{exporter: EXP, to: [IMP], qty_t: 60, start: 2026-02, end: 2026-02}]
"""


def test_quota_in_force_for_one_month() -> None:
    """EXP 200 t @ 10 (+10 t local bid), IMP 100 t @ 40 with a 150 t bid @ 100, route cost 5;
    an export quota of 60 t in 2026-02 only.

    2026-01 and 2026-03: IMP imports all 150 t (landed 15 < 40), p_IMP = 10 + 5 = 15.
    2026-02: 60 t cross, IMP produces 90 t of its own 100 t (partly used) so p_IMP = 40 and
    p_EXP = 10. The quota row's limit must be pushed and lifted again month by month.
    """
    run = solve(QUOTA_MARKET, ("2026-01", "2026-02", "2026-03"))
    for t, (f, p_imp) in enumerate([(150, 15), (60, 40), (150, 15)]):
        assert flow(run, "EXP", "IMP", t=t) == pytest.approx(f)
        assert price(run, "IMP", t=t) == pytest.approx(p_imp)
        assert price(run, "EXP", t=t) == pytest.approx(10)
