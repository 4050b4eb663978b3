"""Valuation: hand-checked strips, zero-cost share, and Monte Carlo against closed form."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.contracts import OfftakeContract, UpsideShare, load_contract, value_contract
from critmin.contracts.valuation import _inputs, monte_carlo
from critmin.errors import InputError

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"


def _one_month(**terms: object) -> OfftakeContract:
    """1 t in 2026-09 only (12 t/yr / 12); valued as of 2026-01 -> T = 9/12 = 0.75 yr."""
    return OfftakeContract.model_validate(
        {
            "name": "haug",
            "buyer": "b",
            "seller": "s",
            "mineral": "m",
            "volume_t_per_year": 12,
            "start": "2026-09",
            "end": "2026-09",
            **terms,
        }
    )


def test_one_month_strip_is_haug_case_times_1000_kg() -> None:
    """Floor = threshold = F = 19 $/kg, T = 0.75, r = 0.10, sigma = 0.28: Haug's put and call
    are both 1.7011 $/kg, so floor leg = 1,000 kg x 1.7011 = 1,701.1 USD; share leg at
    buyer_share 0.5 = 850.55 USD; ATM put = call, so the zero-cost share is exactly 1."""
    c = _one_month(floor_usd_per_kg=19, upside_share={"above_usd_per_kg": 19, "buyer_share": 0.5})
    v = value_contract(c, 19.0, 0.28, 0.10, as_of="2026-01")
    assert v.floor_value_usd == pytest.approx(1701.1, abs=0.05)
    assert v.share_value_usd == pytest.approx(850.55, abs=0.03)
    assert v.net_value_usd == pytest.approx(850.55, abs=0.03)
    assert v.zero_cost_share == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("cap", [None, 400.0])
def test_zero_cost_share_makes_net_value_zero(cap: float | None) -> None:
    """Re-valuing at buyer_share = zero-cost share gives net value 0 (with and without cap)."""
    base = load_contract(EXAMPLES / "lynas_japan_ndpr.yaml").model_copy(
        update={"cap_usd_per_kg": cap}
    )
    v = value_contract(base, 140.0, 0.30, 0.04)
    assert v.zero_cost_share is not None
    assert 0 < v.zero_cost_share < 1
    at_zero = base.model_copy(
        update={"upside_share": UpsideShare(above_usd_per_kg=150, buyer_share=v.zero_cost_share)}
    )
    assert value_contract(at_zero, 140.0, 0.30, 0.04).net_value_usd == pytest.approx(
        0.0, abs=1e-6 * v.floor_value_usd
    )


def test_no_share_makes_floor_free_is_reported() -> None:
    """At F = 60 $/kg (the China price quoted in the MP Materials/DoD release) the puts
    dwarf the calls above 150."""
    v = value_contract(load_contract(EXAMPLES / "lynas_japan_ndpr.yaml"), 60.0, 0.3, 0.04)
    assert v.zero_cost_share is None
    assert "no share in [0, 1]" in v.zero_cost_note


def test_floor_strip_bounds() -> None:
    """Deep in the money at zero vol the floor is the discounted top-up: DoD-MP at F = 60:
    sum over 120 months of 1300/12 t x 1000 x 50 $/kg x e^{-r T_m}; r = 0 -> 65,000,000."""
    dod = load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml")
    v = value_contract(dod, 60.0, 0.0, 0.0)
    assert v.floor_value_usd == pytest.approx(1300 * 10 * 1000 * 50)


def _mc_vs_closed(contract: OfftakeContract, fwd: float, vol: float, paths: int) -> tuple:
    v = value_contract(contract, fwd, vol, 0.04)
    mc = monte_carlo(contract, _inputs(contract, fwd, vol, 0.04, None), paths, seed=7)
    return v, mc


def test_monte_carlo_agrees_with_closed_form_by_standard_error() -> None:
    """Fast version: 20,000 paths; each leg within 4 standard errors of Black-76."""
    lynas = load_contract(EXAMPLES / "lynas_japan_ndpr.yaml")
    capped = lynas.model_copy(update={"cap_usd_per_kg": 180.0})
    for contract in (lynas, capped):
        v, mc = _mc_vs_closed(contract, 120.0, 0.30, 20_000)
        assert abs(mc.floor_value_usd - v.floor_value_usd) < 4 * mc.floor_se_usd
        assert abs(mc.share_value_usd - v.share_value_usd) < 4 * mc.share_se_usd
        assert abs(mc.net_value_usd - v.net_value_usd) < 4 * mc.net_se_usd
    assert abs(mc.cap_value_usd - v.cap_value_usd) < 4 * mc.cap_se_usd
    assert v.cap_value_usd > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fwd", "vol"),
    [("lynas_japan_ndpr.yaml", 120.0, 0.30), ("dod_mp_ndpr_floor.yaml", 80.0, 0.35)],
)
def test_monte_carlo_within_half_percent_at_200k_paths(name: str, fwd: float, vol: float) -> None:
    """The issue's acceptance: closed form and MC agree within 0.5% at 200,000 paths.

    Marked slow (5-10 s on a loaded 2-core machine); the fast test above checks the same
    agreement by standard error at 20,000 paths. Measured share-leg standard error at 200k
    paths is ~0.15% of the value (antithetic + forward control variate), so 0.5% is > 3 SE.
    """
    contract = load_contract(EXAMPLES / name)
    v, mc = _mc_vs_closed(contract, fwd, vol, 200_000)
    assert mc.paths == 200_000
    assert mc.floor_value_usd == pytest.approx(v.floor_value_usd, rel=0.005)
    if v.share_value_usd:
        assert mc.share_value_usd == pytest.approx(v.share_value_usd, rel=0.005)
    assert mc.net_value_usd == pytest.approx(v.net_value_usd, rel=0.005)


def test_monte_carlo_is_reproducible_by_seed() -> None:
    c = load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml")
    inp = _inputs(c, 80.0, 0.3, 0.04, None)
    a = monte_carlo(c, inp, 2000, seed=3)
    assert a == monte_carlo(c, inp, 2000, seed=3)
    assert a.floor_value_usd != monte_carlo(c, inp, 2000, seed=4).floor_value_usd


def test_as_of_drops_settled_months() -> None:
    dod = load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml")
    v = value_contract(dod, 80.0, 0.3, 0.04, as_of="2030-10")
    assert v.months == 60


def test_curve_file_equal_to_flat_forward_gives_same_value(tmp_path: Path) -> None:
    from critmin.contracts.prices import read_forward_curve

    dod = load_contract(EXAMPLES / "dod_mp_ndpr_floor.yaml")
    curve = tmp_path / "curve.csv"
    curve.write_text("month,forward_usd_per_kg\n" + "".join(f"{m},75\n" for m in dod.months))
    flat = value_contract(dod, 75.0, 0.3, 0.04)
    by_curve = value_contract(dod, read_forward_curve(curve), 0.3, 0.04)
    assert by_curve.floor_value_usd == pytest.approx(flat.floor_value_usd, rel=1e-12)
    short = dict.fromkeys(dod.months[:-1], 75.0)
    with pytest.raises(InputError, match="no value for 1 month"):
        value_contract(dod, short, 0.3, 0.04)
