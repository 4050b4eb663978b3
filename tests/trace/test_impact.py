"""'Who is hit if X stops' on the hand-built blend (21 t MYS + 9 t CHN oxide -> 21.6 t motors)."""

from __future__ import annotations

import pytest

from critmin.errors import InputError, UnknownNameError
from critmin.trace.examples import location_urn, lot_urn, magnet_chain


def test_china_stops() -> None:
    """30 % of the metal, magnets and motors went through China: 0.3 x 21.6 = 6.48 t of motors,
    all shipped to US Auto, so the buyer loses 6.48 of 21.6 t received (share 0.3)."""
    rep = magnet_chain(9.0).impact(country="CN")
    shares = dict(zip(rep.lots["lot"], rep.lots["share"], strict=True))
    assert shares[lot_urn("motor.JPN1")] == pytest.approx(0.3)
    assert shares[lot_urn("oxide.CHN1")] == pytest.approx(1.0)
    assert lot_urn("oxide.MYS1") not in shares
    motors = rep.products.set_index("product").loc["traction_motor"]
    assert motors["affected_t"] == pytest.approx(6.48)
    assert motors["share"] == pytest.approx(0.3)
    buyer = rep.buyers.set_index("buyer").loc["US Auto"]
    assert (buyer["affected_t"], buyer["share"]) == (pytest.approx(6.48), pytest.approx(0.3))


def test_facility_stops_and_stage_filter() -> None:
    """Kuantan separated 21 of the 30 t of oxide behind the motors -> 0.7. Japan at the mine
    stage hits nothing (no Japanese mine)."""
    net = magnet_chain(9.0)
    rep = net.impact(facility=location_urn("00002"))
    assert dict(zip(rep.lots["lot"], rep.lots["share"], strict=True))[
        lot_urn("motor.JPN1")
    ] == pytest.approx(0.7)
    assert net.impact(country="JPN", stage="mine").lots.empty
    assert net.impact(country="JPN", stage="metal").lots["share"].max() == pytest.approx(1.0)


def test_errors() -> None:
    net = magnet_chain(0.0)
    with pytest.raises(InputError):
        net.impact()
    with pytest.raises(UnknownNameError, match="unknown facility"):
        net.impact(facility="urn:epc:id:sgln:0614141.00003.1")
