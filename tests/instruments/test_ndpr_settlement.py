"""The Lynas-Japan NdPr leg: a contract settled on the market's own cleared price."""

from __future__ import annotations

import pytest

from critmin.contracts.instrument import OfftakeSettlement
from critmin.policy.instrument import parse_instrument
from tests.instruments.helpers import price, solve

# One region; a single supply block per month sets the price (the bid is only partly met
# by nobody else: the block is partly used, so price = its cost).
PATH_MARKET = """
mineral: ndpr_oxide
regions: [JPN]
supply:
  - {region: JPN, qty_t: 100, cost_usd_per_t: 80000, end: 2026-04}
  - {region: JPN, qty_t: 100, cost_usd_per_t: 130000, start: 2026-05, end: 2026-05}
  - {region: JPN, qty_t: 100, cost_usd_per_t: 170000, start: 2026-06}
demand: [{region: JPN, qty_t: 50, wtp_usd_per_t: 500000}]
"""

CONTRACT = {
    "name": "Lynas-Japan NdPr",
    "buyer": "JPN-consortium",
    "seller": "Lynas",
    "mineral": "ndpr_oxide",
    "volume_t_per_year": 1200,
    "start": "2026-04",
    "end": "2038-12",
    "floor_usd_per_kg": 110,
    "upside_share": {"above_usd_per_kg": 150, "buyer_share": 0.5},
}


def test_floor_topup_and_upside_on_a_hand_solved_price_path() -> None:
    """Prices: the partly used block prices the node at its cost: 80,000 (2026-03, 2026-04),
    130,000 (2026-05), 170,000 usd/t (2026-06) = 80 / 130 / 170 usd/kg. Contract from 2026-04,
    1,200 t/yr = 100 t = 100,000 kg a month, floor F = 110, upside above T = 150 at s = 0.5.

    2026-03: before the contract, no rows.
    2026-04: P = 80:  top-up = max(110 - 80, 0) x 100,000 = 3,000,000; upside 0;
             market value 8,000,000; seller receives 110 x 100,000 = 11,000,000.
    2026-05: P = 130: top-up 0 (above the floor, below T); upside 0; value 13,000,000.
    2026-06: P = 170: top-up 0; upside = 0.5 x (170 - 150) x 100,000 = 1,000,000;
             value 17,000,000; seller receives (170 - 10) x 100,000 = 16,000,000.
    """
    months = ("2026-03", "2026-04", "2026-05", "2026-06")
    inst = parse_instrument(
        {"kind": "offtake_settlement", "contracts": [{"region": "JPN", "contract": CONTRACT}]}
    ).build()
    assert isinstance(inst, OfftakeSettlement)
    run = solve(PATH_MARKET, months, [inst])
    assert [price(run, "JPN", t=t) for t in range(4)] == pytest.approx(
        [80_000, 80_000, 130_000, 170_000]
    )
    rep = inst.finalize()

    def rows(var: str) -> list[tuple[str, float]]:
        return [(r.month, r.value) for r in rep.rows if r.variable == var]

    assert rows("offtake_floor_topup") == [
        ("2026-04", pytest.approx(3_000_000)),
        ("2026-05", pytest.approx(0)),
        ("2026-06", pytest.approx(0)),
    ]
    assert [v for _, v in rows("offtake_upside_to_buyer")] == pytest.approx([0, 0, 1_000_000])
    assert [v for _, v in rows("offtake_market_value")] == pytest.approx(
        [8_000_000, 13_000_000, 17_000_000]
    )
    assert [v for _, v in rows("offtake_seller_receives")] == pytest.approx(
        [11_000_000, 13_000_000, 16_000_000]
    )
    assert {r.region for r in rep.rows} == {"JPN"}
    # the floor top-up is max(F - P, 0) x monthly volume on the cleared price, every month
    for (_, topup), (_, p_t) in zip(
        rows("offtake_floor_topup"), rows("offtake_settlement_price"), strict=True
    ):
        assert topup == pytest.approx(max(110.0 - p_t / 1000, 0.0) * 100 * 1000)
    assert rep.metrics["settlement_floor_topup_usd"] == pytest.approx(3_000_000)
    assert rep.metrics["settlement_upside_to_buyer_usd"] == pytest.approx(1_000_000)
    assert rep.metrics["settlement_volume_t"] == pytest.approx(300)
