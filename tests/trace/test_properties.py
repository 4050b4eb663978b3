"""Property tests on random supply networks (critmin.trace.generate.random_network)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.trace.generate import random_graph, random_network
from critmin.trace.graph import build_graph
from critmin.trace.model import Extraction, Transformation
from critmin.trace.naive import naive_origin
from critmin.trace.origin import origin_arrays

seeds = st.integers(min_value=0, max_value=2**31 - 1)
shapes = st.tuples(
    st.integers(2, 8), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3)
)


@given(seed=seeds, shape=shapes, fan_in=st.integers(1, 4))
def test_shares_sum_to_one_per_upstream_stage(
    seed: int, shape: tuple[int, ...], fan_in: int
) -> None:
    """In a layered network every lot of stage k went through stages 0..k: the shares of each
    of those stages sum to 1 (mass and value); later stages sum to 0."""
    net = random_network(seed, lots_per_stage=shape, max_inputs=fan_in)
    res = net.origin()
    arr = res.arrays
    assert arr.value is not None
    mass, value = arr.mass.toarray(), arr.value.toarray()
    for i, lot in enumerate(net.lots):
        k = int(lot.product.rsplit("-", 1)[1])
        for s, (lo, hi) in enumerate(arr.blocks):
            expect = 1.0 if s <= k else 0.0
            assert mass[i, lo:hi].sum() == pytest.approx(expect, abs=1e-9)
            if lot.qty > 0:  # an empty lot has no value shares
                assert value[i, lo:hi].sum() == pytest.approx(expect, abs=1e-9)
        assert (mass[i] >= -1e-12).all()


@given(seed=seeds, shape=shapes)
def test_mass_is_conserved(seed: int, shape: tuple[int, ...]) -> None:
    """No lot is drawn beyond its quantity and no transformation makes more than inputs x
    yield, so the checker finds nothing; and total mass never grows stage over stage."""
    net = random_network(seed, lots_per_stage=shape)
    assert net.check_mass_balance() == []
    by_stage: dict[int, float] = {}
    for lot in net.lots:
        k = int(lot.product.rsplit("-", 1)[1])
        by_stage[k] = by_stage.get(k, 0.0) + lot.qty_t
    totals = [by_stage[k] for k in sorted(by_stage)]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(totals))


@given(seed=seeds, shape=shapes)
def test_violation_is_found_when_an_output_is_inflated(seed: int, shape: tuple[int, ...]) -> None:
    net = random_network(seed, lots_per_stage=shape)
    tr = [e for e in net.events if isinstance(e, Transformation)]
    if not tr:
        return
    ev = tr[0]
    bigger = tuple(q.model_copy(update={"qty": q.qty * 2 + 1}) for q in ev.outputs)
    evs = tuple(
        e.model_copy(update={"outputs": bigger}) if e.id == ev.id else e for e in net.events
    )
    v = net.model_copy(update={"events": evs}).check_mass_balance()
    assert any(x.kind == "yield_exceeded" and x.events == (ev.id,) for x in v)


@given(seed=seeds, shape=shapes, order_seed=st.integers(0, 10_000))
def test_origin_does_not_depend_on_recording_order(
    seed: int, shape: tuple[int, ...], order_seed: int
) -> None:
    net = random_network(seed, lots_per_stage=shape)
    rnd = random.Random(order_seed)
    events = list(net.events)
    lots = list(net.lots)
    facs = list(net.facilities)
    for x in (events, lots, facs):
        rnd.shuffle(x)
    shuffled = net.model_copy(
        update={"events": tuple(events), "lots": tuple(lots), "facilities": tuple(facs)}
    )
    a = net.origin().table().sort_values(["lot", "stage", "country_iso3"]).reset_index(drop=True)
    b = (
        shuffled.origin()
        .table()
        .sort_values(["lot", "stage", "country_iso3"])
        .reset_index(drop=True)
    )
    assert a[["lot", "stage", "country_iso3"]].equals(b[["lot", "stage", "country_iso3"]])
    np.testing.assert_allclose(a["share_mass"], b["share_mass"], atol=1e-12)
    np.testing.assert_allclose(a["share_value"], b["share_value"], atol=1e-12)


@given(seed=seeds, shape=shapes, fan_in=st.integers(1, 4))
def test_vectorised_equals_per_lot_recursion(
    seed: int, shape: tuple[int, ...], fan_in: int
) -> None:
    net = random_network(seed, lots_per_stage=shape, max_inputs=fan_in)
    g = build_graph(net)
    arr = origin_arrays(g)
    for i in range(g.n):
        ref = naive_origin(g, i)
        got = {arr.columns[j]: v for j, v in arr.row(int(i)).items() if v > 1e-15}
        assert set(got) == set(ref)
        for key, v in ref.items():
            assert got[key] == pytest.approx(v, abs=1e-12)


def test_vectorised_equals_recursion_on_a_generated_array_network() -> None:
    """The benchmark's generator at small scale: 2 000 lots, 8 000 edges, 5 stages."""
    g = random_graph(2_000, 8_000, seed=7)
    arr = origin_arrays(g)
    for i in np.random.default_rng(1).choice(g.n, 40, replace=False):
        ref = naive_origin(g, int(i))
        got = {arr.columns[j]: v for j, v in arr.row(int(i)).items() if v > 1e-15}
        assert set(got) == set(ref)
        for key, v in ref.items():
            assert got[key] == pytest.approx(v, abs=1e-12)


def test_generator_is_reproducible() -> None:
    a, b = random_network(5), random_network(5)
    assert a == b
    assert any(isinstance(e, Extraction) for e in a.events)
