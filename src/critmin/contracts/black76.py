"""Black-76 prices of European options on a forward (vectorised).

Black (1976), "The pricing of commodity contracts", J. Financial Economics 3: with forward
F, strike K, time to expiry T (years), continuously compounded rate r and volatility sigma,

    d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt(T)),  d2 = d1 - sigma sqrt(T)
    call = exp(-rT) (F N(d1) - K N(d2)),  put = exp(-rT) (K N(-d2) - F N(-d1)).

At T = 0 or sigma = 0 the price is the discounted intrinsic value.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

__all__ = ["black76_call", "black76_put"]

FloatArray = npt.NDArray[np.float64]


def _prices(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    rate: float,
    sigma: float,
) -> tuple[FloatArray, FloatArray]:
    f, k, t = np.broadcast_arrays(
        np.asarray(forward, dtype=np.float64),
        np.asarray(strike, dtype=np.float64),
        np.asarray(t_years, dtype=np.float64),
    )
    if sigma < 0:
        raise ValueError(f"volatility must be >= 0, got {sigma}")
    if np.any(f < 0) or np.any(k < 0) or np.any(t < 0):
        raise ValueError("forward, strike and time must be >= 0")
    shape = f.shape
    f, k, t = f.ravel(), k.ravel(), t.ravel()
    disc = np.exp(-rate * t)
    sd = sigma * np.sqrt(t)
    live = (sd > 1e-12) & (f > 0) & (k > 0)
    call = disc * np.maximum(f - k, 0.0)
    put = disc * np.maximum(k - f, 0.0)
    if np.any(live):
        fl, kl, sdl, dl = f[live], k[live], sd[live], disc[live]
        d1 = (np.log(fl / kl) + 0.5 * sdl**2) / sdl
        d2 = d1 - sdl
        call[live] = dl * (fl * ndtr(d1) - kl * ndtr(d2))
        put[live] = dl * (kl * ndtr(-d2) - fl * ndtr(-d1))
    return call.reshape(shape), put.reshape(shape)


def black76_call(
    forward: npt.ArrayLike, strike: npt.ArrayLike, t_years: npt.ArrayLike, rate: float, sigma: float
) -> FloatArray:
    """Black-76 European call on a forward (per unit of underlying)."""
    return _prices(forward, strike, t_years, rate, sigma)[0]


def black76_put(
    forward: npt.ArrayLike, strike: npt.ArrayLike, t_years: npt.ArrayLike, rate: float, sigma: float
) -> FloatArray:
    """Black-76 European put on a forward (per unit of underlying)."""
    return _prices(forward, strike, t_years, rate, sigma)[1]
