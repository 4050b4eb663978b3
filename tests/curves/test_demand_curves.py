"""Constant-elasticity demand curves: cleared prices follow the analytic curve.

The curve ``Q(p) = Q0 (p / p0) ** e`` against a vertical supply ``S`` (one block at zero cost,
so the whole capacity is sold while the price is positive) clears analytically at::

    Q(p*) = S  =>  p* = p0 * (S / Q0) ** (1 / e)

The step blocks of :mod:`critmin.market.curves` bid the geometric middle of each grid
interval, so the LP's price (the node balance dual = the marginal block's bid) is within
``sqrt(r) - 1`` (the curve's stated ``tolerance``) of ``p*`` whenever ``p*`` is inside the
curve's price range.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.cli import main
from critmin.market.compile import compile_market
from critmin.market.curves import grid, quantity_at, steps_for, tolerance
from critmin.market.engine import run_market
from critmin.market.spec import Market

SCENARIO = """\
name: curve_hand_case
months: {start: 2026-01, end: 2026-01}
markets:
  - mineral: widget
    regions: [A]
    aggregates: {A: "a test region"}
    supply:
      - {region: A, qty_t: 60, cost_usd_per_t: 0, name: "A fixed supply"}
    demand_curves:
      - {region: A, qty_t: 100, ref_price_usd_per_t: 1000, elasticity: -0.5,
         elasticity_source: "test value", name: "A widget curve"}
"""


def _run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0)


def test_hand_solved_constant_elasticity_equilibrium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Q0 = 100 t/month at p0 = 1,000 $/t, e = -0.5, S = 60 t/month:
    p* = 1,000 x (60 / 100) ** (1 / -0.5) = 1,000 / 0.36 = 2,777.78 $/t.
    Default range 250 .. 8,000 $/t (ratio 32) in n = ceil(ln 32 / (2 ln 1.05)) = 36 intervals,
    r = 32 ** (1/36) = 1.1011, stated tolerance sqrt(r) - 1 = 4.93 %: the cleared price of
    ``critmin run`` is within 4.93 % of 2,777.78 and all 60 t are consumed."""
    path = tmp_path / "curve.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    assert _run_cli(["run", str(path), "--out", str(out), "--json"], monkeypatch) == 0
    capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    price = summary["scenarios"][0]["metrics"]["avg_price_usd_per_t"]["widget/market/A"]
    analytic = 1000.0 * (60.0 / 100.0) ** (1.0 / -0.5)
    assert analytic == pytest.approx(2777.777, rel=1e-6)
    assert abs(math.log(price / analytic)) <= math.log(1.0493) + 1e-9
    market = Market.model_validate(
        {
            "mineral": "w",
            "demand_curves": [
                {"region": "A", "qty_t": 100, "ref_price_usd_per_t": 1000, "elasticity": -0.5}
            ],
        }
    )
    assert steps_for(market.demand_curves[0]) == 36
    assert tolerance(market.demand_curves[0]) == pytest.approx(32 ** (1 / 72) - 1)


def _solve(supply_t: float, elasticity: float, tol: float) -> tuple[float, float, float]:
    market = Market.model_validate(
        {
            "mineral": "w",
            "regions": ["A"],
            "supply": [{"region": "A", "qty_t": supply_t, "cost_usd_per_t": 0}],
            "demand_curves": [
                {
                    "region": "A",
                    "qty_t": 100.0,
                    "ref_price_usd_per_t": 1000.0,
                    "elasticity": elasticity,
                    "tolerance": tol,
                }
            ],
        }
    )
    run = run_market(compile_market(market, ["2026-01"]), [])
    curve = market.demand_curves[0]
    return float(run.price[0, 0]), tolerance(curve), float(run.demand[0].sum())


@settings(max_examples=40, deadline=None)
@given(
    elasticity=st.floats(-2.0, -0.1),
    share=st.floats(0.02, 0.98),
    tol=st.sampled_from([0.02, 0.05, 0.1]),
)
def test_cleared_price_within_stated_tolerance_of_the_curve(
    elasticity: float, share: float, tol: float
) -> None:
    """For any supply strictly inside the curve's quantity range [Q(p_hi), Q(p_lo)] the cleared
    price is within the stated tolerance of p0 (S / Q0) ** (1 / e) and the supply is sold."""
    curve_market = Market.model_validate(
        {
            "mineral": "w",
            "demand_curves": [
                {"region": "A", "qty_t": 100.0, "ref_price_usd_per_t": 1000.0,
                 "elasticity": elasticity, "tolerance": tol}
            ],
        }
    )  # fmt: skip
    curve = curve_market.demand_curves[0]
    prices = grid(curve)
    q_hi, q_lo = quantity_at(curve, prices[-1]), quantity_at(curve, prices[0])
    supply = q_hi + share * (q_lo - q_hi)
    price, stated, consumed = _solve(supply, elasticity, tol)
    analytic = 1000.0 * (supply / 100.0) ** (1.0 / elasticity)
    assert stated <= tol + 1e-12
    assert abs(math.log(price / analytic)) <= math.log1p(stated) + 1e-7
    assert consumed == pytest.approx(supply, rel=1e-7)


def test_steps_add_up_to_the_curve_at_every_grid_price() -> None:
    """Cumulative bids at or above each grid price equal Q(grid price) (no tonne lost)."""
    market = Market.model_validate(
        {
            "mineral": "w",
            "demand_curves": [
                {"region": "A", "qty_t_per_year": 1200, "ref_price_usd_per_t": 50_000,
                 "elasticity": -0.3, "growth_per_year": 0.05}
            ],
        }
    )  # fmt: skip
    curve = market.demand_curves[0]
    blocks = market.demand
    assert all(b.growth_per_year == 0.05 and b.curve for b in blocks)
    assert sum(b.curve_ceiling for b in blocks) == 1
    for p in grid(curve):
        bid = sum(b.qty_t_per_year or 0 for b in blocks if b.wtp_usd_per_t >= p * (1 - 1e-12))
        assert bid == pytest.approx(quantity_at(curve, p), rel=1e-9)
    # validating the dumped market again gives the same blocks (generated ones are replaced)
    again = Market.model_validate(market.model_dump(by_alias=True))
    assert again.demand == market.demand


@settings(max_examples=60, deadline=None)
@given(
    curve=st.fixed_dictionaries(
        {
            "region": st.just("A"),
            "ref_price_usd_per_t": st.floats(1.0, 1e6),
            "elasticity": st.floats(-3.0, -0.05),
            "price_min_ratio": st.floats(0.05, 1.0),
            "price_max_ratio": st.floats(1.0, 50.0),
            "start": st.just("2026-03"),
            "source": st.just("test"),
            "estimate": st.just(True),
        }
    ),
    qty=st.floats(1e-3, 1e6),
    per_year=st.booleans(),
)
def test_generated_blocks_are_what_validating_them_gives(
    curve: dict[str, object], qty: float, per_year: bool
) -> None:
    """The curve's blocks are built without pydantic validation (speed, see expand_curve):
    each must equal the block that validating its own fields gives, field for field."""
    from critmin.market.spec import DemandBlock

    curve = {**curve, ("qty_t_per_year" if per_year else "qty_t"): qty}
    market = Market.model_validate({"mineral": "w", "demand_curves": [curve]})
    for block in market.demand:
        again = DemandBlock.model_validate(block.model_dump())
        assert again == block
        assert again.model_dump() == block.model_dump()


def test_curve_whose_steps_leave_the_numeric_range_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Q(p_lo) = 100 t x 0.01 ** -10 = 1e22 t at the grid's lowest price: above the 1e10 t
    any quantity may hold (critmin.bounds). Refused by validate with the curve named."""
    path = tmp_path / "s.yaml"
    path.write_text(
        SCENARIO.replace("elasticity: -0.5,", "elasticity: -10, price_min_ratio: 0.01,"),
        "utf-8",
    )
    assert _run_cli(["validate", str(path)], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'A widget curve'" in err
    assert "out of range (at most 1e+10 t)" in err


@settings(max_examples=60, deadline=None)
@given(
    ref_price=st.floats(1.0, 1e6),
    elasticity=st.floats(-3.0, -0.05),
    growth=st.sampled_from([0.0, -0.0, 0.03, 0.06000000000000001, 0.06]),
    qty=st.floats(1.0, 1e5),
    order=st.permutations([0, 1, 2]),
)
def test_reused_curve_blocks_equal_a_fresh_expansion(
    ref_price: float, elasticity: float, growth: float, qty: float, order: list[int]
) -> None:
    """A sweep validates the same curves sample after sample, and ``expand_all`` reuses the
    blocks of a curve it expanded lately. Markets whose curves differ in one field (growth
    by one ulp, or 0.0 against -0.0; the reference quantity) and repeat in any order must get,
    each time, exactly the blocks ``expand_curve`` builds afresh: equal fields, equal dumps
    (reprs, so -0.0 and 0.0 stay apart), in the same order."""
    from critmin.market.curves import expand_curve

    def curve(**change: float) -> dict[str, object]:
        fields: dict[str, object] = {
            "region": "A",
            "ref_price_usd_per_t": ref_price,
            "elasticity": elasticity,
            "growth_per_year": growth,
            "qty_t_per_year": qty,
        }
        return {**fields, **change}

    variants = [
        [curve(), curve(qty_t_per_year=qty * 2)],
        [curve(growth_per_year=math.nextafter(growth, 1.0)), curve()],
        [curve(), curve(growth_per_year=-growth)],
    ]
    for k in [*order, *order]:
        market = Market.model_validate({"mineral": "w", "demand_curves": variants[k]})
        fresh = [b for i, c in enumerate(market.demand_curves) for b in expand_curve(c, i)]
        assert len(market.demand) == len(fresh)
        for got, want in zip(market.demand, fresh, strict=True):
            assert got == want
            assert repr(got.model_dump()) == repr(want.model_dump())
