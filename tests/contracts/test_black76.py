"""Black-76 against published reference values, plus parity and limit properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.contracts import black76_call, black76_put


def test_haug_black76_example() -> None:
    """Haug, The Complete Guide to Option Pricing Formulas, 2nd ed., sec. 1.1.2 (Black-76).

    F = 19, X = 19, T = 0.75, r = 0.10, sigma = 0.28: call = put = 1.7011.
    By hand: d1 = (0 + 0.0392 x 0.75) / (0.28 sqrt(0.75)) = 0.0294 / 0.24249 = 0.12124,
    d2 = -0.12124; put = e^-0.075 x 19 x (N(0.12124) - N(-0.12124)) = 0.92774 x 19 x 0.09650.
    """
    assert float(black76_put(19, 19, 0.75, 0.10, 0.28)) == pytest.approx(1.7011, abs=5e-5)
    assert float(black76_call(19, 19, 0.75, 0.10, 0.28)) == pytest.approx(1.7011, abs=5e-5)


def test_hull_futures_put_example() -> None:
    """Hull, Options, Futures, and Other Derivatives (European put on crude-oil futures):
    F = K = 20, T = 4/12, r = 0.09, sigma = 0.25 -> p = 1.12 (as printed, 2 decimals)."""
    assert float(black76_put(20, 20, 4 / 12, 0.09, 0.25)) == pytest.approx(1.12, abs=5e-3)


def test_zero_time_or_zero_vol_is_discounted_intrinsic() -> None:
    assert float(black76_put(60, 110, 0.0, 0.05, 0.3)) == pytest.approx(50.0)
    assert float(black76_call(160, 150, 2.0, 0.05, 0.0)) == pytest.approx(10 * math.exp(-0.1))
    assert float(black76_call(100, 150, 2.0, 0.05, 0.0)) == 0.0


@given(
    f=st.floats(1, 500),
    k=st.floats(1, 500),
    t=st.floats(0, 20),
    r=st.floats(-0.02, 0.15),
    sigma=st.floats(0, 1.5),
)
def test_put_call_parity(f: float, k: float, t: float, r: float, sigma: float) -> None:
    """call - put = e^{-rT} (F - K) for every input (Black 1976)."""
    c = float(black76_call(f, k, t, r, sigma))
    p = float(black76_put(f, k, t, r, sigma))
    assert c - p == pytest.approx(math.exp(-r * t) * (f - k), rel=1e-9, abs=1e-9 * max(f, k))
    assert c >= -1e-12
    assert p >= -1e-12


@given(f=st.floats(10, 200), t=st.floats(0.05, 10), sigma=st.floats(0.05, 1.0))
def test_put_increases_with_strike(f: float, t: float, sigma: float) -> None:
    lo, hi = black76_put(f, [0.8 * f, 1.2 * f], t, 0.03, sigma)
    assert hi > lo
