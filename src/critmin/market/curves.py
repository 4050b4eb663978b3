"""Constant-elasticity demand curves, turned into ordinary step demand blocks.

A curve states the demand of one (region, product) by a reference quantity ``Q0`` bought at a
reference price ``p0`` and a price elasticity ``e`` (< 0)::

    Q(p) = Q0 * (p / p0) ** e                      (t per month, before growth)

The clearing LP takes step bids (quantity, willingness to pay), so the curve is cut into
steps on a geometric price grid ``p_lo = p0 * price_min_ratio < ... < p_hi = p0 *
price_max_ratio`` with ``n`` intervals of equal ratio ``r = (p_hi / p_lo) ** (1 / n)``:

* for each interval ``[p_j, p_j+1]`` one block of ``Q(p_j) - Q(p_j+1)`` tonnes bidding the
  interval's geometric mid-price ``sqrt(p_j * p_j+1)``;
* one *ceiling* block of ``Q(p_hi)`` tonnes bidding ``p_hi``: the demand still there at the top
  of the stated range. A cleared price equal to ``p_hi`` means the curve's range was exceeded
  (flagged in the outputs, see :mod:`critmin.market.metrics`); below ``p_lo`` the demand stays
  ``Q(p_lo)``.

Why the mid-price: the cumulative demand of every block bidding at least ``w_j = sqrt(p_j
p_j+1)`` is ``Q(p_j)`` (the ceiling block plus the steps above it). Against a vertical supply
``S`` with ``Q(p_j+1) < S < Q(p_j)`` the step curve clears at the marginal block's bid
``w_j``, while the analytic price ``p* = p0 * (S / Q0) ** (1 / e)`` lies in ``(p_j, p_j+1)``
because ``Q`` decreases. Both lie in the same interval and ``w_j`` is its geometric middle, so::

    |ln(p_cleared / p*)| <= ln(r) / 2      i.e.  p_cleared / p* in [1/sqrt(r), sqrt(r)]

``n`` is the smallest count that keeps ``sqrt(r) - 1 <= tolerance`` (default 5 %): the stated
tolerance of the cleared price against the curve, for any price inside ``[p_lo, p_hi]``.

The expansion runs when the market is validated (``Market.demand_curves``): compile and the
engine see only demand blocks; each generated block names its curve (``curve``) and whether
it is the ceiling step (``curve_ceiling``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from critmin import bounds
from critmin.market.spec import DemandBlock, DemandCurve

if TYPE_CHECKING:
    from critmin.market.compile import CompiledMarket

__all__ = [
    "DemandCurve",
    "curve_assumptions",
    "curve_step_mask",
    "expand_curve",
    "grid",
    "steps_for",
    "tolerance",
]


def steps_for(curve: DemandCurve) -> int:
    """Number of price intervals that keeps the cleared price within ``curve.tolerance``."""
    span = math.log(curve.price_max_ratio / curve.price_min_ratio)
    return max(1, math.ceil(span / (2.0 * math.log1p(curve.tolerance)) - 1e-12))


def tolerance(curve: DemandCurve) -> float:
    """The achieved relative tolerance ``sqrt(r) - 1`` of the curve's grid (<= requested)."""
    n = steps_for(curve)
    return math.exp(math.log(curve.price_max_ratio / curve.price_min_ratio) / (2 * n)) - 1.0


def grid(curve: DemandCurve) -> list[float]:
    """The ``n + 1`` grid prices ``p_lo .. p_hi`` (usd per t), ascending."""
    n = steps_for(curve)
    lo = curve.ref_price_usd_per_t * curve.price_min_ratio
    ratio = (curve.price_max_ratio / curve.price_min_ratio) ** (1.0 / n)
    prices = [lo * ratio**j for j in range(n + 1)]
    prices[-1] = curve.ref_price_usd_per_t * curve.price_max_ratio  # exact top, no drift
    return prices


def quantity_at(curve: DemandCurve, price_usd_per_t: float) -> float:
    """The curve's quantity (same unit as its reference quantity) at a price."""
    return curve.ref_qty * (price_usd_per_t / curve.ref_price_usd_per_t) ** curve.elasticity


def expand_curve(curve: DemandCurve, index: int) -> list[DemandBlock]:
    """The step blocks of one curve (module docstring), highest bid first.

    The blocks are built without pydantic validation (``model_construct``): every value is
    derived from the validated curve, and a sweep expands every curve of every sample, where
    validating ~700 blocks was a fifth of a sample's time. What validation would have caught
    is checked here: the largest quantity and the lowest and highest bids are in range, so
    every step (a difference of two quantities, a mid-price between two bids) is.
    """
    prices = grid(curve)
    label = curve.label(index)
    per_year = curve.qty_t_per_year is not None
    key = "qty_t_per_year" if per_year else "qty_t"
    for name, value in (
        (key, quantity_at(curve, prices[0])),
        ("wtp_usd_per_t", prices[0]),
        ("wtp_usd_per_t", prices[-1]),
    ):
        problem = bounds.check(name, value)
        if problem:
            raise ValueError(
                f"demand curve {label!r}: a generated step's {name}: {problem}; "
                "narrow price_min_ratio/price_max_ratio or check the reference values"
            )
    common: dict[str, Any] = {
        "region": curve.region,
        "product": curve.product,
        "growth_per_year": curve.growth_per_year,
        "start": curve.start,
        "end": curve.end,
        "curve": label,
        "source": curve.source,
        "estimate": curve.estimate,
    }
    common[key] = quantity_at(curve, prices[-1])
    top = DemandBlock.model_construct(
        **common, wtp_usd_per_t=prices[-1], curve_ceiling=True, name=f"{label} ceiling"
    )
    blocks = [top]
    n = len(prices) - 1
    for j in range(n - 1, -1, -1):
        lo, hi = prices[j], prices[j + 1]
        # a copy of the ceiling block with its own numbers: ~3x cheaper than constructing
        blocks.append(
            top.model_copy(
                update={
                    key: quantity_at(curve, lo) - quantity_at(curve, hi),
                    "wtp_usd_per_t": math.sqrt(lo * hi),
                    "curve_ceiling": False,
                    "name": f"{label} step {n - j}/{n}",
                }
            )
        )
    return blocks


def expand_all(curves: Iterable[DemandCurve]) -> list[DemandBlock]:
    """Blocks of every curve, in order (the blocks of a curve seen lately are reused)."""
    return [b for i, c in enumerate(curves) for b in _expand_cached(c, i)]


#: the blocks of recently expanded curves, by (index, the repr of every field): a sweep
#: validates every market of every sample, most with the same curves as the last sample
#: (~2/3 of a benchmark sample's curves; expanding them was ~4 % of a sample). Blocks are
#: frozen models, so sharing them is safe; repr tells every float apart (-0.0 from 0.0),
#: so a reused block is the one expand_curve would build, to the bit.
_RECENT: OrderedDict[tuple[Any, ...], tuple[DemandBlock, ...]] = OrderedDict()
_RECENT_MAX = 256


_RECENT_LOCK = threading.Lock()  # a Dask worker may run several samples in threads


def _expand_cached(curve: DemandCurve, index: int) -> tuple[DemandBlock, ...]:
    key = (index, *map(repr, curve.__dict__.values()))
    with _RECENT_LOCK:
        blocks = _RECENT.get(key)
        if blocks is not None:
            _RECENT.move_to_end(key)
            return blocks
    blocks = tuple(expand_curve(curve, index))  # may raise: nothing is stored then
    with _RECENT_LOCK:
        _RECENT[key] = blocks
        if len(_RECENT) > _RECENT_MAX:
            _RECENT.popitem(last=False)
    return blocks


def curve_assumptions(curves: Iterable[DemandCurve]) -> list[tuple[str, str, str, str, bool]]:
    """``(item, value, unit, source, estimate)`` rows for summary.json ``assumptions``."""
    rows: list[tuple[str, str, str, str, bool]] = []
    for i, c in enumerate(curves):
        label = c.label(i)
        per_year = c.qty_t_per_year is not None
        unit = "t/yr" if per_year else "t/month"
        src, est = c.source or "", c.estimate
        rows.append((f"{label} reference quantity", f"{c.ref_qty:g}", unit, src, est))
        price = f"{c.ref_price_usd_per_t:g}"
        rows.append((f"{label} reference price", price, "usd_per_t", src, est))
        rows.append(
            (
                f"{label} price elasticity",
                f"{c.elasticity:g}",
                "dimensionless",
                c.elasticity_source or "",
                c.elasticity_estimate,
            )
        )
        rows.append(
            (
                f"{label} price range",
                f"{c.ref_price_usd_per_t * c.price_min_ratio:g}-"
                f"{c.ref_price_usd_per_t * c.price_max_ratio:g}",
                "usd_per_t",
                f"{steps_for(c) + 1} steps, cleared price within {tolerance(c):.1%} of the curve",
                True,
            )
        )
        if c.growth_per_year:
            rows.append((f"{label} growth", f"{c.growth_per_year:g}", "per year", src, est))
    return rows


def curve_step_mask(cm: CompiledMarket) -> npt.NDArray[np.bool_]:
    """True for the demand blocks that are a curve's interior steps (price-responsive demand:
    their unmet part is never shortage). Cached on the compiled market, which the engine asks
    once per solved month."""
    cached = cm.__dict__.get("_curve_step_mask")
    if cached is None:
        cited = getattr(cm, "_cited", None)
        blocks = list(cited[0].demand) if cited else []
        cached = np.zeros(len(cm.d_wtp), dtype=bool)
        for j, block in enumerate(blocks[: len(cached)]):
            cached[j] = block.curve is not None and not block.curve_ceiling
        cached.flags.writeable = False
        cm.__dict__["_curve_step_mask"] = cached
    return cached
