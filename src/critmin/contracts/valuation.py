"""Valuation of a contract's price clauses: Black-76 strips and Monte Carlo on paths.

Seen from the seller, a contract is the market price plus three option strips on the
monthly settlement prices P_m (one fixing per month, at the month's end, paid then):

* floor leg  = long puts struck at the floor F:        sum_m q_m DF_m Put(F_m, F, T_m)
* share leg  = short buyer_share x calls at threshold: s sum_m q_m DF_m Call(F_m, T, T_m)
* cap leg    = short (1 - s) calls at K_c = T + (C - T)/(1 - s) (K_c = C without sharing)

net value to the seller = floor - share - cap. The zero-cost share is the buyer share that
makes the floor free (net = 0): floor / call strip without a cap (solved numerically with
one); it is reported as ``None`` when no share in [0, 1] does it.

Times: the valuation date is the first day of ``as_of``; month m fixes and pays at
T_m = (months from as_of to m) + 1)/12 years; DF_m = exp(-r T_m). The averaging of
prices within a month is ignored (one fixing per month). The Monte Carlo draws one
driftless GBM path per sample under the forward measure, P_m = F_m exp(sigma W(T_m) -
sigma^2 T_m / 2), with antithetic pairs (W, -W), settles every path with the same
:func:`critmin.contracts.settlement.price_terms` as the statement, and reports the standard
error over pair means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from critmin.contracts.black76 import black76_call, black76_put
from critmin.contracts.settlement import KG_PER_T, price_terms
from critmin.contracts.spec import OfftakeContract, UpsideShare, _month_index
from critmin.errors import InputError
from critmin.policy.parameters import parse_month

__all__ = ["MonteCarloResult", "Valuation", "ValuationInputs", "monte_carlo", "value_contract"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ValuationInputs:
    """The months valued and the market inputs, as arrays aligned month by month."""

    months: tuple[str, ...]
    volume_t: FloatArray
    forward_usd_per_kg: FloatArray
    t_years: FloatArray
    discount: FloatArray
    vol: float
    rate: float
    as_of: str


@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo values (USD) and their standard errors."""

    floor_value_usd: float
    floor_se_usd: float
    share_value_usd: float
    share_se_usd: float
    cap_value_usd: float
    cap_se_usd: float
    net_value_usd: float
    net_se_usd: float
    call_strip_usd: float
    paths: int
    seed: int
    antithetic: bool = True
    control_variate: bool = True


@dataclass(frozen=True)
class Valuation:
    """Closed-form (Black-76 strip) values in USD, with the Monte Carlo check if run."""

    contract: str
    floor_value_usd: float
    share_value_usd: float
    cap_value_usd: float
    net_value_usd: float
    call_strip_usd: float
    zero_cost_share: float | None
    zero_cost_note: str
    threshold_usd_per_kg: float | None
    buyer_share: float
    forward_usd_per_kg_mean: float
    vol: float
    rate: float
    as_of: str
    months: int
    volume_t: float
    monte_carlo: MonteCarloResult | None
    method: str = "black76-strip"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.monte_carlo is not None:
            mc = self.monte_carlo
            out["mc_vs_closed_form_rel"] = {
                "floor": _rel(mc.floor_value_usd, self.floor_value_usd),
                "share": _rel(mc.share_value_usd, self.share_value_usd),
                "net": _rel(mc.net_value_usd, self.net_value_usd),
            }
        return out


def _rel(a: float, b: float) -> float | None:
    return None if b == 0 else (a - b) / abs(b)


def _inputs(
    contract: OfftakeContract,
    forward: float | Mapping[str, float],
    vol: float,
    rate: float,
    as_of: str | None,
) -> ValuationInputs:
    if not math.isfinite(vol) or vol < 0:
        raise InputError(f"expected a volatility >= 0 (e.g. 0.35), got {vol}", where="--vol")
    if not math.isfinite(rate):
        raise InputError(f"expected a finite rate, got {rate}", where="--rate")
    start = parse_month(as_of, where="--as-of") if as_of else contract.start
    months = [m for m in contract.months if m >= start]
    if not months:
        raise InputError(
            f"the contract ended {contract.end}, before the valuation month {start}",
            where="--as-of",
        )
    if isinstance(forward, Mapping):
        missing = [m for m in months if m not in forward]
        if missing:
            raise InputError(
                f"the forward curve has no value for {len(missing)} month(s), first {missing[0]}",
                where="forward curve",
            )
        fwd = np.array([float(forward[m]) for m in months])
    else:
        fwd = np.full(len(months), float(forward))
    if np.any(~np.isfinite(fwd)) or np.any(fwd <= 0):
        raise InputError("forward prices must be > 0 USD/kg", where="--forward-usd-per-kg")
    base = _month_index(start)
    t = np.array([(_month_index(m) - base + 1) / 12.0 for m in months])
    return ValuationInputs(
        months=tuple(months),
        volume_t=np.array(contract.volumes_t(months)),
        forward_usd_per_kg=fwd,
        t_years=t,
        discount=np.exp(-rate * t),
        vol=vol,
        rate=rate,
        as_of=start,
    )


def _with_threshold(contract: OfftakeContract, threshold: float | None) -> OfftakeContract:
    if threshold is None:
        return contract
    share = contract.upside_share.buyer_share if contract.upside_share else 0.0
    return contract.model_copy(
        update={"upside_share": UpsideShare(above_usd_per_kg=threshold, buyer_share=share)}
    )


def _strip(inp: ValuationInputs, strike: float, kind: str) -> float:
    kg = inp.volume_t * KG_PER_T
    fn = black76_put if kind == "put" else black76_call
    per_kg = fn(inp.forward_usd_per_kg, strike, inp.t_years, inp.rate, inp.vol)
    return float(np.sum(kg * per_kg))


def _cap_strike(contract: OfftakeContract, share: float) -> float | None:
    """Market price above which the cap binds (None if it never does)."""
    cap = contract.cap_usd_per_kg
    if cap is None:
        return None
    if contract.upside_share is None:
        return cap
    if share >= 1.0:
        return None
    threshold = contract.upside_share.above_usd_per_kg
    return threshold + (cap - threshold) / (1.0 - share)


def _legs(contract: OfftakeContract, inp: ValuationInputs, share: float) -> tuple[float, float]:
    """(share leg, cap leg) for a buyer share ``share``, closed form."""
    share_leg = 0.0
    if contract.upside_share is not None:
        share_leg = share * _strip(inp, contract.upside_share.above_usd_per_kg, "call")
    k_cap = _cap_strike(contract, share)
    cap_leg = 0.0
    if k_cap is not None:
        weight = 1.0 - share if contract.upside_share is not None else 1.0
        cap_leg = weight * _strip(inp, k_cap, "call")
    return share_leg, cap_leg


def _zero_cost(
    contract: OfftakeContract, inp: ValuationInputs, floor_value: float, call_strip: float
) -> tuple[float | None, str]:
    if contract.upside_share is None:
        return None, "no upside-sharing threshold (give --threshold to ask)"
    if floor_value == 0:
        return 0.0, "the floor is worthless: no sharing is needed"
    if contract.cap_usd_per_kg is None:
        if call_strip <= 0:
            return None, "the call strip at the threshold is worthless: no share pays for it"
        ratio = floor_value / call_strip
        if ratio > 1:
            return None, (
                f"no share in [0, 1] makes the floor free: even buyer_share = 1 pays only "
                f"{1 / ratio:.1%} of it (floor / call strip = {ratio:.3f})"
            )
        return ratio, "floor value / call-strip value at the threshold"

    def gap(s: float) -> float:
        share_leg, cap_leg = _legs(contract, inp, s)
        return share_leg + cap_leg - floor_value

    lo, hi = gap(0.0), gap(1.0)
    if lo >= 0:
        return 0.0, "the cap alone pays for the floor (share 0 is enough)"
    if hi < 0:
        return None, "no share in [0, 1] makes the floor free (cap included)"
    s_star = float(brentq(gap, 0.0, 1.0, xtol=1e-12))
    return s_star, "share leg + cap leg = floor value, solved numerically (cap included)"


def value_contract(
    contract: OfftakeContract,
    forward_usd_per_kg: float | Mapping[str, float],
    vol: float,
    rate: float,
    *,
    paths: int = 0,
    seed: int = 0,
    as_of: str | None = None,
    threshold_usd_per_kg: float | None = None,
) -> Valuation:
    """Value the floor, sharing and cap legs; with ``paths > 0`` also by Monte Carlo.

    ``forward_usd_per_kg`` is a flat forward or a ``{month: forward}`` curve;
    ``threshold_usd_per_kg`` overrides (or adds, with buyer share 0) the sharing threshold.
    """
    contract = _with_threshold(contract, threshold_usd_per_kg)
    inp = _inputs(contract, forward_usd_per_kg, vol, rate, as_of)
    floor = (
        _strip(inp, contract.floor_usd_per_kg, "put")
        if contract.floor_usd_per_kg is not None
        else 0.0
    )
    share = contract.upside_share.buyer_share if contract.upside_share else 0.0
    threshold = contract.upside_share.above_usd_per_kg if contract.upside_share else None
    call_strip = _strip(inp, threshold, "call") if threshold is not None else 0.0
    share_leg, cap_leg = _legs(contract, inp, share)
    zc, note = _zero_cost(contract, inp, floor, call_strip)
    mc = monte_carlo(contract, inp, paths, seed) if paths > 0 else None
    return Valuation(
        contract=contract.name,
        floor_value_usd=floor,
        share_value_usd=share_leg,
        cap_value_usd=cap_leg,
        net_value_usd=floor - share_leg - cap_leg,
        call_strip_usd=call_strip,
        zero_cost_share=zc,
        zero_cost_note=note,
        threshold_usd_per_kg=threshold,
        buyer_share=share,
        forward_usd_per_kg_mean=float(np.mean(inp.forward_usd_per_kg)),
        vol=vol,
        rate=rate,
        as_of=inp.as_of,
        months=len(inp.months),
        volume_t=float(np.sum(inp.volume_t)),
        monte_carlo=mc,
    )


def monte_carlo(
    contract: OfftakeContract,
    inp: ValuationInputs,
    paths: int,
    seed: int = 0,
    *,
    chunk_pairs: int = 8192,
    control_variate: bool = True,
) -> MonteCarloResult:
    """Value the legs on ``paths`` simulated price paths (antithetic pairs, seeded)."""
    if paths < 2:
        raise InputError(f"expected at least 2 paths, got {paths}", where="--paths")
    pairs = paths // 2
    rng = np.random.default_rng(seed)
    n = len(inp.months)
    dt = np.diff(np.concatenate(([0.0], inp.t_years)))
    sqrt_dt = np.sqrt(dt)
    drift = -0.5 * inp.vol**2 * inp.t_years
    weight = inp.volume_t * KG_PER_T * inp.discount  # USD per (USD/kg) per month
    threshold = contract.upside_share.above_usd_per_kg if contract.upside_share else None
    # per antithetic pair, the mean of five pathwise PVs: floor, share, cap, call strip and
    # the control sum_m weight_m P_m, whose expectation sum_m weight_m F_m is known exactly
    # (a driftless forward is a martingale): model-free, so the check is not circular.
    pair_pv = np.zeros((pairs, 5))
    done = 0
    while done < pairs:
        m = min(chunk_pairs, pairs - done)
        w = np.cumsum(rng.standard_normal((m, n)) * sqrt_dt, axis=1)
        block = pair_pv[done : done + m]
        for sign in (1.0, -1.0):
            p = inp.forward_usd_per_kg * np.exp(drift + sign * inp.vol * w)
            terms = price_terms(contract, p)
            block[:, 0] += 0.5 * (terms.floor_topup_usd_per_kg @ weight)
            block[:, 1] += 0.5 * (terms.upside_share_usd_per_kg @ weight)
            block[:, 2] += 0.5 * (terms.cap_rebate_usd_per_kg @ weight)
            if threshold is not None:
                block[:, 3] += 0.5 * (np.maximum(p - threshold, 0.0) @ weight)
            block[:, 4] += 0.5 * (p @ weight)
        done += m
    legs = np.column_stack(
        [pair_pv[:, :4], pair_pv[:, 0] - pair_pv[:, 1] - pair_pv[:, 2]]
    )  # floor, share, cap, call strip, net
    control = pair_pv[:, 4]
    control_mean = float(inp.forward_usd_per_kg @ weight)
    if control_variate and pairs > 2 and np.var(control) > 0:
        dc = control - control.mean()
        beta = (legs - legs.mean(axis=0)).T @ dc / (dc @ dc)
        adjusted = legs - np.outer(control - control_mean, beta)
    else:
        adjusted = legs
    mean = adjusted.mean(axis=0)
    se = adjusted.std(axis=0, ddof=1) / math.sqrt(pairs) if pairs > 1 else np.zeros(5)
    return MonteCarloResult(
        floor_value_usd=float(mean[0]),
        floor_se_usd=float(se[0]),
        share_value_usd=float(mean[1]),
        share_se_usd=float(se[1]),
        cap_value_usd=float(mean[2]),
        cap_se_usd=float(se[2]),
        net_value_usd=float(mean[4]),
        net_se_usd=float(se[4]),
        call_strip_usd=float(mean[3]),
        paths=2 * pairs,
        seed=seed,
        control_variate=control_variate,
    )
