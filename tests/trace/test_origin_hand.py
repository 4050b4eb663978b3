"""Hand-built chains with answers derived on paper.

Chain (critmin.trace.examples.magnet_chain): 100 t concentrate mined at Mt Weld (AUS) ->
30 t NdPr oxide separated at Kuantan (MYS) -> metal (JPN) -> magnet (JPN) -> motor (JPN).
"""

from __future__ import annotations

import pytest

from critmin.trace.examples import lot_urn, magnet_chain


def test_pure_australian_chain_is_single_origin_at_every_stage() -> None:
    """Every step has a single facility, so each stage is 100 % that facility's country."""
    res = magnet_chain(0.0).origin()
    motor = lot_urn("motor.JPN1")
    assert res.shares(motor, "mine") == pytest.approx({"AUS": 1.0})
    assert res.shares(motor, "refining") == pytest.approx({"MYS": 1.0})
    assert res.shares(motor, "metal") == pytest.approx({"JPN": 1.0})
    assert res.shares(motor, "component") == pytest.approx({"JPN": 1.0})
    assert res.shares(motor, "product") == pytest.approx({"JPN": 1.0})
    # the oxide has not been through the metal stage yet: coverage 0 there
    assert res.coverage(lot_urn("oxide.MYS1"), "metal") == 0.0
    assert res.shares(lot_urn("oxide.MYS1"), "mine") == pytest.approx({"AUS": 1.0})


def test_blend_with_30pct_chinese_separated_oxide_by_mass_and_value() -> None:
    """Metal step: 21 t MYS oxide + 9 t CHN oxide (30 % of 30 t).

    By mass, mine stage: AUS 21/30 = 0.7, CHN 9/30 = 0.3; refining: MYS 0.7, CHN 0.3; metal,
    component and product stay 100 % JPN.
    By value (unit value of the lot made at each stage): refining MYS 0.7 x 110 000 = 77 000,
    CHN 0.3 x 60 000 = 18 000 -> MYS 77/95 = 0.810526..., CHN 18/95 = 0.189473...; mine stage:
    both concentrates 10 000 USD/t -> value shares equal mass shares 0.7 / 0.3.
    """
    res = magnet_chain(9.0).origin()
    for lot in ("metal.JPN1", "magnet.JPN1", "motor.JPN1"):
        x = lot_urn(lot)
        assert res.shares(x, "mine") == pytest.approx({"AUS": 0.7, "CHN": 0.3})
        assert res.shares(x, "refining") == pytest.approx({"MYS": 0.7, "CHN": 0.3})
        assert res.shares(x, "metal") == pytest.approx({"JPN": 1.0})
        assert res.shares(x, "refining", basis="value") == pytest.approx(
            {"MYS": 77 / 95, "CHN": 18 / 95}
        )
        assert res.shares(x, "mine", basis="value") == pytest.approx({"AUS": 0.7, "CHN": 0.3})


def test_upstream_mines_and_refineries_of_the_blended_motor() -> None:
    """The motor's mines are Mt Weld (0.7) and Bayan Obo (0.3); refineries Kuantan / Baotou."""
    df = magnet_chain(9.0).origin().upstream_facilities(lot_urn("motor.JPN1"))
    got = {(r.stage, r.name): r.share_mass for r in df.itertuples()}
    assert got == pytest.approx(
        {
            ("mine", "Mt Weld"): 0.7,
            ("mine", "Bayan Obo"): 0.3,
            ("refining", "Kuantan"): 0.7,
            ("refining", "Baotou separation"): 0.3,
        }
    )


def test_value_basis_reports_missing_prices() -> None:
    """Without declared values or prices, the value basis is unavailable and says for what."""
    net = magnet_chain(9.0)
    bare = net.model_copy(
        update={"lots": tuple(lot.model_copy(update={"value_usd": None}) for lot in net.lots)}
    )
    res = bare.origin()
    assert res.arrays.value is None
    assert "ndpr_oxide" in res.value_missing
    priced = bare.origin(
        prices_usd_per_t={
            "rare_earth_concentrate": 1.0,
            "ndpr_oxide": 2.0,
            "ndpr_metal": 1.0,
            "ndfeb_magnet": 1.0,
            "traction_motor": 1.0,
        }
    )
    # same price for both oxides: value shares equal mass shares
    assert priced.shares(lot_urn("motor.JPN1"), "refining", basis="value") == pytest.approx(
        {"MYS": 0.7, "CHN": 0.3}
    )
