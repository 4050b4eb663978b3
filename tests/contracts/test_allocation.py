"""Priority allocation under shortage: hand cases and property tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.contracts import Claim, allocate_by_priority
from critmin.errors import InputError


def test_hand_case_rank_one_first_then_pro_rata() -> None:
    """900 t for A (rank 1, 500 t), B (rank 2, 600 t), C (rank 2, 200 t), D (rank 3, 50 t):
    A gets 500; 400 t left for rank 2 wanting 800 -> half each: B 300, C 100; D nothing."""
    out = allocate_by_priority(
        900,
        [Claim("A", 1, 500), Claim("B", 2, 600), Claim("C", 2, 200), Claim("D", 3, 50)],
    )
    assert out == pytest.approx({"A": 500, "B": 300, "C": 100, "D": 0})


def test_plenty_serves_everyone() -> None:
    assert allocate_by_priority(1e6, [Claim("A", 2, 5), Claim("B", 1, 7)]) == {"A": 5, "B": 7}


def test_duplicate_names_and_negative_input_are_errors() -> None:
    with pytest.raises(InputError, match="two claims are named 'A'"):
        allocate_by_priority(10, [Claim("A", 1, 1), Claim("A", 2, 1)])
    with pytest.raises(InputError, match="available tonnes"):
        allocate_by_priority(-1, [])


claims_st = st.lists(
    # claims are 0 or at least a gram: a subnormal claim (5e-324 t) times a pro-rata fraction
    # underflows to 0 and would break the equal-fraction check for no physical reason
    st.tuples(st.integers(1, 4), st.one_of(st.just(0.0), st.floats(1e-6, 1e4))),
    min_size=0,
    max_size=8,
).map(lambda xs: [Claim(f"c{i}", r, q) for i, (r, q) in enumerate(xs)])


@given(available=st.floats(0, 3e4, allow_nan=False), claims=claims_st)
def test_allocation_invariants(available: float, claims: list[Claim]) -> None:
    out = allocate_by_priority(available, claims)
    total = math.fsum(out.values())
    assert total <= available * (1 + 1e-12) + 1e-9
    for c in claims:
        assert -1e-12 <= out[c.name] <= c.qty_t * (1 + 1e-12) + 1e-12
    # a lower rank gets something only if every higher rank is fully served
    for low in claims:
        if out[low.name] > 1e-9:
            for high in claims:
                if high.priority_rank < low.priority_rank:
                    assert out[high.name] == pytest.approx(high.qty_t, rel=1e-9, abs=1e-9)
    # within a rank, pro rata: equal fill fraction
    for a in claims:
        for b in claims:
            if a.priority_rank == b.priority_rank and a.qty_t > 0 and b.qty_t > 0:
                assert out[a.name] / a.qty_t == pytest.approx(out[b.name] / b.qty_t, rel=1e-9)
    # nothing is left idle while a claim is short
    wanted = math.fsum(c.qty_t for c in claims)
    assert total == pytest.approx(min(available, wanted), rel=1e-9, abs=1e-6)
