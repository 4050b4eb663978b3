"""Mass balance: violations reported with event and lot ids, never fixed."""

from __future__ import annotations

import datetime as dt

import pytest

from critmin.errors import InputError
from critmin.trace.examples import lot_urn, magnet_chain
from critmin.trace.graph import build_graph
from critmin.trace.model import Quantity, Transformation


def _replace_event(net, event_id: str, **update):  # type: ignore[no-untyped-def]
    evs = tuple(e.model_copy(update=update) if e.id == event_id else e for e in net.events)
    return net.model_copy(update={"events": evs})


def test_clean_chain_has_no_violations() -> None:
    assert magnet_chain(9.0).check_mass_balance() == []


def test_yield_exceeded_names_event_and_excess() -> None:
    """T1 declares yield 0.3 on 100 t; claiming 0.35 makes 30 t exceed 100 x 0.35? no -- we
    lower the yield to 0.25: limit 25 t, outputs 30 t, excess 5 t."""
    net = _replace_event(magnet_chain(0.0), "T1", yield_share=0.25)
    v = net.check_mass_balance()
    assert [x.kind for x in v] == ["yield_exceeded"]
    assert v[0].events == ("T1",)
    assert v[0].excess_t == pytest.approx(5.0)


def test_tolerance_is_relative() -> None:
    """Outputs 30 t vs limit 100 x 0.2999 = 29.99 t: excess 0.01 t = 0.033 % of the limit."""
    net = _replace_event(magnet_chain(0.0), "T1", yield_share=0.2999)
    assert net.check_mass_balance(tol=1e-3) == []
    assert [x.kind for x in net.check_mass_balance(tol=1e-4)] == ["yield_exceeded"]


def test_lot_consumed_twice() -> None:
    """A second transformation drawing the full 30 t MYS oxide again: 60 t used of 30 t."""
    net = magnet_chain(0.0)
    again = Transformation(
        id="T9",
        time=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
        facility=net.events[2].facility,  # type: ignore[union-attr]
        inputs=(Quantity(lot=lot_urn("oxide.MYS1"), qty=30),),
        outputs=(),
    )
    v = net.model_copy(update={"events": (*net.events, again)}).check_mass_balance()
    over = [x for x in v if x.kind == "over_consumed"]
    assert len(over) == 1
    assert over[0].lots == (lot_urn("oxide.MYS1"),)
    assert set(over[0].events) == {"T2", "T9"}
    assert over[0].excess_t == pytest.approx(30.0)


def test_produced_twice_and_unknown_lot() -> None:
    net = magnet_chain(0.0)
    dup = net.events[0].model_copy(update={"id": "E1-dup"})
    ghost = _replace_event(net, "T3", inputs=(Quantity(lot="urn:ghost", qty=1),))
    kinds = {
        x.kind for x in net.model_copy(update={"events": (*net.events, dup)}).check_mass_balance()
    }
    assert "produced_twice" in kinds
    assert {x.kind for x in ghost.check_mass_balance()} >= {"unknown_lot"}
    with pytest.raises(InputError, match="produced twice"):
        build_graph(net.model_copy(update={"events": (*net.events, dup)}))


def test_consumed_before_produced() -> None:
    net = _replace_event(magnet_chain(0.0), "T2", time=dt.datetime(2027, 3, 2, tzinfo=dt.UTC))
    assert "consumed_before_produced" in {x.kind for x in net.check_mass_balance()}


def test_cycle_is_an_error_naming_the_lots() -> None:
    """The magnet is fed back into the metal step: metal -> magnet -> metal."""
    net = magnet_chain(0.0)
    t2 = next(e for e in net.events if e.id == "T2")
    assert isinstance(t2, Transformation)
    cyc = _replace_event(
        net, "T2", inputs=(*t2.inputs, Quantity(lot=lot_urn("magnet.JPN1"), qty=1))
    )
    with pytest.raises(InputError, match="cycle") as exc:
        cyc.origin()
    assert lot_urn("metal.JPN1") in str(exc.value)
