"""The incremental origin (one lot at a time from its inputs' origins) equals the batch
propagation (:func:`critmin.trace.origin.compute_origin`, what ``critmin trace origin`` runs)
on random networks, on the shipped examples, and when the network arrives in pieces."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import InputError
from critmin.trace.epcis import from_epcis
from critmin.trace.model import (
    Aggregation,
    Extraction,
    Facility,
    Lot,
    Quantity,
    SupplyNetwork,
    Transformation,
)
from critmin.trace.origin import (
    LotOrigin,
    Recipe,
    compute_origin,
    extend_lot_origins,
    lot_origins,
    lot_recipes,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "trace"
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
STAGE_NAMES = ["mine", "refining", "metal", "component", "product"]
COUNTRIES = ["AUS", "CHN", "MYS", "USA", "JPN"]


@st.composite
def networks(draw: st.DrawFn) -> SupplyNetwork:
    """Random networks with what the layered generator lacks: aggregations (with and without
    a facility), several outputs per transformation, transformations at a stage already
    passed (refining of a refined lot), untraced inputs, zero-mass inputs, lots without a
    declared value, the same input twice in one event."""
    facilities = [
        Facility(
            id=f"F{i}",
            name=f"plant {i}",
            operator=f"op {i % 3}",
            country=draw(st.sampled_from(COUNTRIES)),
            stage=draw(st.sampled_from(STAGE_NAMES)),
        )
        for i in range(draw(st.integers(2, 6)))
    ]
    mines = [f for f in facilities if f.stage.value == "mine"] or [facilities[0]]
    lots: list[Lot] = []
    events: list[Extraction | Transformation | Aggregation] = []
    made: list[str] = []
    with_value = draw(st.booleans())

    def new_lot() -> str:
        lid = f"L{len(lots)}"
        q = draw(st.floats(0.0, 100.0, allow_nan=False))
        value = draw(st.floats(1.0, 1e6)) if with_value or draw(st.booleans()) else None
        lots.append(Lot(id=lid, product=f"p{len(lots) % 4}", qty=q, value_usd=value))
        return lid

    for k in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["extraction", "transformation", "aggregation"]))
        if kind == "extraction" or not made:
            lid = new_lot()
            fac = draw(st.sampled_from(mines))
            events.append(
                Extraction(
                    id=f"E{k}", time=T0, facility=fac.id, outputs=(Quantity(lot=lid, qty=1.0),)
                )
            )
            made.append(lid)
            continue
        picks = draw(st.lists(st.sampled_from(made), min_size=1, max_size=4))
        if draw(st.booleans()):
            picks.append(new_lot())  # an input nothing produces: untraced
        ins = tuple(
            Quantity(lot=p, qty=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.25]))) for p in picks
        )
        if kind == "transformation":
            fac = draw(st.sampled_from(facilities))
            outs = tuple(Quantity(lot=new_lot(), qty=1.0) for _ in range(draw(st.integers(1, 2))))
            events.append(
                Transformation(id=f"T{k}", time=T0, facility=fac.id, inputs=ins, outputs=outs)
            )
            made += [q.lot for q in outs]
        else:
            fac_id = draw(st.sampled_from([None, *[f.id for f in facilities]]))
            parent = new_lot()
            events.append(
                Aggregation(id=f"A{k}", time=T0, facility=fac_id, parent=parent, children=ins)
            )
            made.append(parent)
    return SupplyNetwork(facilities=tuple(facilities), lots=tuple(lots), events=tuple(events))


def assert_equal_to_batch(net: SupplyNetwork, origins: dict[str, LotOrigin]) -> None:
    batch = compute_origin(net)
    table = batch.table()
    for lot, origin in origins.items():
        rows = origin.table(lot)
        expect = table[table["lot"] == lot].to_dict(orient="records")
        assert [(r["stage"], r["country_iso3"]) for r in rows] == [
            (r["stage"], r["country_iso3"]) for r in expect
        ]
        for got, want in zip(rows, expect, strict=True):
            assert got["share_mass"] == pytest.approx(want["share_mass"], rel=1e-9, abs=1e-12)
            if batch.arrays.value is None:
                assert math.isnan(want["share_value"])
            elif not origin.value_missing:
                # the batch switches the value basis off for the whole network when any
                # producing lot lacks a value; per lot it depends on the lot's upstream only
                assert got["share_value"] == pytest.approx(want["share_value"], rel=1e-9, abs=1e-12)
        facs = {(f["stage"], f["facility"]): f["share_mass"] for f in origin.upstream_facilities()}
        want_f = batch.upstream_facilities(lot)
        assert set(facs) == set(zip(want_f["stage"], want_f["facility"], strict=True))
        for s, f, share in zip(
            want_f["stage"], want_f["facility"], want_f["share_mass"], strict=True
        ):
            assert facs[(s, f)] == pytest.approx(share, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(networks())
def test_incremental_origin_equals_the_batch_on_random_networks(net: SupplyNetwork) -> None:
    assert_equal_to_batch(net, lot_origins(net))


@settings(max_examples=60, deadline=None)
@given(networks(), st.randoms(use_true_random=False))
def test_origins_composed_from_stored_pieces_equal_the_batch(
    net: SupplyNetwork, rnd: object
) -> None:
    """The network's producing lots registered one at a time (in topological order, as a
    registry receives documents), each composed only from the stored origins of its inputs
    after a JSON round trip (what the registry keeps): equal to the batch."""
    recipes = lot_recipes(net)
    stored: dict[str, dict[str, object]] = {}
    for lot, recipe in recipes.items():
        # the recipe and the origins go through JSON, as in the registry's tables
        again = Recipe.from_json(recipe.to_json())
        known = {i: LotOrigin.from_json(stored[i]) for i, _ in again.inputs if i in stored}
        stored[lot] = extend_lot_origins({lot: again}, known)[lot].to_json()
    assert_equal_to_batch(net, {k: LotOrigin.from_json(v) for k, v in stored.items()})


@pytest.mark.parametrize("name", ["magnet_chain.jsonld", "magnet_chain_blend.jsonld"])
def test_incremental_origin_equals_the_batch_on_the_shipped_examples(name: str) -> None:
    net = from_epcis(json.loads((EXAMPLES / name).read_text()))
    origins = lot_origins(net)
    assert len(origins) >= 5
    assert_equal_to_batch(net, origins)


def test_hand_solved_blend() -> None:
    """Two mines (AUS 3 t at 10 USD/t, CHN 1 t at 30 USD/t) refined together in MYS:
    by mass the refined lot is 3/4 AUS and 1/4 CHN at the mine stage, 100 % MYS at refining;
    by value, mine-stage weights are 0.75 x 10 = 7.5 and 0.25 x 30 = 7.5, so 1/2 each."""
    facs = (
        Facility(id="mA", country="AUS", stage="mine"),
        Facility(id="mC", country="CHN", stage="mine"),
        Facility(id="r", country="MYS", stage="refining"),
    )
    lots = (
        Lot(id="a", qty=3, value_usd=30),
        Lot(id="c", qty=1, value_usd=30),
        Lot(id="o", qty=2, value_usd=100),
    )
    events = (
        Extraction(id="e1", time=T0, facility="mA", outputs=(Quantity(lot="a", qty=3),)),
        Extraction(id="e2", time=T0, facility="mC", outputs=(Quantity(lot="c", qty=1),)),
        Transformation(
            id="t",
            time=T0,
            facility="r",
            inputs=(Quantity(lot="a", qty=3), Quantity(lot="c", qty=1)),
            outputs=(Quantity(lot="o", qty=2),),
        ),
    )
    o = lot_origins(SupplyNetwork(facilities=facs, lots=lots, events=events))["o"]
    rows = {(r["stage"], r["country_iso3"]): r for r in o.table("o")}
    assert rows["mine", "AUS"]["share_mass"] == pytest.approx(0.75)
    assert rows["mine", "CHN"]["share_value"] == pytest.approx(0.5)
    assert rows["refining", "MYS"]["share_mass"] == 1.0


def test_a_cycle_is_refused() -> None:
    facs = (Facility(id="r", country="MYS", stage="refining"),)
    lots = (Lot(id="x", qty=1), Lot(id="y", qty=1))
    events = (
        Transformation(
            id="t1",
            time=T0,
            facility="r",
            inputs=(Quantity(lot="x", qty=1),),
            outputs=(Quantity(lot="y", qty=1),),
        ),
        Transformation(
            id="t2",
            time=T0,
            facility="r",
            inputs=(Quantity(lot="y", qty=1),),
            outputs=(Quantity(lot="x", qty=1),),
        ),
    )
    with pytest.raises(InputError, match="cycle"):
        lot_recipes(SupplyNetwork(facilities=facs, lots=lots, events=events))
