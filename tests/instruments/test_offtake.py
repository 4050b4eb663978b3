"""Offtake contracts in the market: the LP serves priority rank 1 first under a shortage,
cross-checked against :func:`critmin.contracts.allocate_by_priority`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from critmin.contracts import Claim, allocate_by_priority
from critmin.contracts.instrument import Offtake, rank_wtp
from critmin.policy.instrument import parse_instrument
from tests.instruments.helpers import node, solve


def _contract(name: str, rank: int, t_per_month: float) -> dict[str, object]:
    return {
        "region": "JPN",
        "contract": {
            "name": name,
            "buyer": "JPN-consortium",
            "seller": "Lynas",
            "mineral": "x",
            "volume_t_per_year": t_per_month * 12,
            "start": "2026-01",
            "end": "2038-12",
            "floor_usd_per_kg": 0.11,
            "priority_rank": rank,
        },
    }


def _delivered(inst: Offtake) -> list[float]:
    return [r.value for r in inst.finalize().rows if r.variable == "offtake_delivered"]


def test_rank_one_is_served_first_in_a_shortage() -> None:
    """Supply 100 t @ 10 at JPN. Bids: ordinary 50 t @ 1,000,000; contract A (rank 2) 60 t;
    contract B (rank 1) 60 t. wtp(1) = 1e7 > wtp(2) = 9.9e6 > 1e6, so the LP serves
    B 60 t, then A the 40 t left, the ordinary bid nothing (allocate_by_priority gives the
    same: rank 1 in full, rank 2 the rest). The node price is wtp(2) = 9.9e6 (A partly served);
    B's floor 110 usd/t is below the price: no top-up."""
    market = """
mineral: x
supply: [{region: JPN, qty_t: 100, cost_usd_per_t: 10}]
demand: [{region: JPN, qty_t: 50, wtp_usd_per_t: 1000000}]
"""
    spec = {"kind": "offtake", "contracts": [_contract("A", 2, 60), _contract("B", 1, 60)]}
    inst = parse_instrument(spec).build()
    assert isinstance(inst, Offtake)
    run = solve(market, ("2026-01",), [inst])
    assert _delivered(inst) == pytest.approx([40, 60])
    assert node(run, "consumption", "JPN") == pytest.approx(0)  # ordinary bid unserved
    assert node(run, "price", "JPN") == pytest.approx(rank_wtp(2))
    expected = allocate_by_priority(100, [Claim("A", 2, 60), Claim("B", 1, 60)])
    assert expected == {"A": pytest.approx(40), "B": pytest.approx(60)}
    m = inst.finalize().metrics
    assert m["offtake_shortfall_t_x"] == pytest.approx(20)  # per product (here the one, x)
    assert "offtake_shortfall_t" not in m
    assert m["offtake_floor_topup_usd"] == 0


def test_floor_topup_when_the_price_is_below_the_contract_floor() -> None:
    """Plenty of supply @ 10 usd/t: the contract (60 t) is served at p = 10; the floor is
    0.11 usd/kg = 110 usd/t, so the top-up is (110 - 10) x 60 = 6,000 usd."""
    market = "mineral: x\nsupply: [{region: JPN, qty_t: 1000, cost_usd_per_t: 10}]\n"
    inst = parse_instrument({"kind": "offtake", "contracts": [_contract("B", 1, 60)]}).build()
    assert isinstance(inst, Offtake)
    solve(market, ("2026-01",), [inst])
    assert inst.finalize().metrics["offtake_floor_topup_usd"] == pytest.approx(6000)


@given(
    supply=st.integers(0, 300),
    claims=st.lists(st.integers(0, 100), min_size=1, max_size=4),
)
def test_lp_allocation_matches_allocate_by_priority(supply: int, claims: list[int]) -> None:
    """Distinct ranks 1..n: the LP's deliveries equal the contracts layer's allocation."""
    market = f"mineral: x\nsupply: [{{region: JPN, qty_t: {supply}, cost_usd_per_t: 10}}]\n"
    entries = [_contract(f"c{i}", i + 1, q) for i, q in enumerate(claims)]
    inst = parse_instrument({"kind": "offtake", "contracts": entries}).build()
    assert isinstance(inst, Offtake)
    solve(market, ("2026-01",), [inst])
    due = {f"c{i}": q for i, q in enumerate(claims)}
    got = [r.value for r in inst.finalize().rows if r.variable == "offtake_delivered"]
    expected = allocate_by_priority(
        supply, [Claim(f"c{i}", i + 1, q) for i, q in enumerate(claims)]
    )
    want = [expected[f"c{i}"] for i, q in enumerate(claims) if due[f"c{i}"] > 0]
    assert got == pytest.approx(want, abs=1e-6)


def test_offtake_bad_input() -> None:
    with pytest.raises(ValidationError, match="exactly one of contract"):
        parse_instrument({"kind": "offtake", "contracts": [{"region": "JPN"}]})
    bad = _contract("A", 200, 10)
    with pytest.raises(ValidationError, match="priority_rank 200"):
        parse_instrument({"kind": "offtake", "contracts": [bad], "rank_step_usd_per_t": 1e5})
