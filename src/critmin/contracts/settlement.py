"""Settlement: what each party pays in each month of an offtake contract, line by line.

Per month with market (settlement) price P, floor F, threshold T, buyer share s, cap C,
all in USD/kg, and volume q in t (money = price x q x 1000 kg/t):

* floor top-up per kg        = max(F - P, 0)                 (paid by ``floor_payer``)
* upside kept by the buyer   = s x max(P - T, 0)             (credit to the buyer)
* cap rebate per kg          = max(P + top-up - upside - C, 0)
* effective price            = P + top-up - upside - cap rebate
  = max(F, P) for P <= T, and T + (1 - s)(P - T) above T, never above C.

The buyer pays the market value P x q less its upside share and the cap rebate, plus the
top-up if it is itself the floor payer; a third-party floor payer (e.g. the DoD) pays the
top-up. The seller receives effective price x q = everything paid (checked by
:meth:`SettlementStatement.check_balance`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.contracts.prices import PriceSeries
from critmin.contracts.spec import OfftakeContract, month_range
from critmin.errors import InputError
from critmin.policy.parameters import parse_month

__all__ = ["PriceTerms", "SettlementLine", "SettlementStatement", "price_terms", "settle"]

KG_PER_T = 1000.0
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriceTerms:
    """Per-kg components of the contract price at market prices ``P`` (arrays or floats)."""

    market_usd_per_kg: FloatArray
    floor_topup_usd_per_kg: FloatArray
    upside_share_usd_per_kg: FloatArray
    cap_rebate_usd_per_kg: FloatArray

    @property
    def effective_usd_per_kg(self) -> FloatArray:
        return (
            self.market_usd_per_kg
            + self.floor_topup_usd_per_kg
            - self.upside_share_usd_per_kg
            - self.cap_rebate_usd_per_kg
        )


def price_terms(contract: OfftakeContract, market_usd_per_kg: npt.ArrayLike) -> PriceTerms:
    """Split the contract price at market price(s) P into its components (vectorised)."""
    p = np.asarray(market_usd_per_kg, dtype=np.float64)
    zero = np.zeros_like(p)
    topup = (
        np.maximum(contract.floor_usd_per_kg - p, 0.0)
        if contract.floor_usd_per_kg is not None
        else zero
    )
    if contract.upside_share is not None:
        up = contract.upside_share
        upside = up.buyer_share * np.maximum(p - up.above_usd_per_kg, 0.0)
    else:
        upside = zero
    if contract.cap_usd_per_kg is not None:
        rebate = np.maximum(p + topup - upside - contract.cap_usd_per_kg, 0.0)
    else:
        rebate = zero
    return PriceTerms(p, topup, upside, rebate)


@dataclass(frozen=True)
class SettlementLine:
    """One month of the statement. Money in USD, prices in USD/kg, volume in t."""

    month: str
    volume_t: float
    market_price_usd_per_kg: float
    effective_price_usd_per_kg: float
    market_value_usd: float
    floor_topup_usd: float
    upside_share_usd: float
    cap_rebate_usd: float
    buyer_pays_usd: float
    floor_payer_pays_usd: float
    seller_receives_usd: float
    floor_payer: str
    explanation: str


@dataclass(frozen=True)
class SettlementStatement:
    """The settlement of a contract over a run of months."""

    contract: OfftakeContract
    lines: tuple[SettlementLine, ...]
    prices_origin: str

    def totals(self) -> dict[str, float]:
        """Sums of the money and volume columns."""
        keys = (
            "volume_t",
            "market_value_usd",
            "floor_topup_usd",
            "upside_share_usd",
            "cap_rebate_usd",
            "buyer_pays_usd",
            "floor_payer_pays_usd",
            "seller_receives_usd",
        )
        return {k: float(sum(getattr(line, k) for line in self.lines)) for k in keys}

    def check_balance(self, rel_tol: float = 1e-9) -> None:
        """Invariant: per line, seller receives = buyer pays + floor payer pays."""
        for line in self.lines:
            paid = line.buyer_pays_usd + line.floor_payer_pays_usd
            if not math.isclose(paid, line.seller_receives_usd, rel_tol=rel_tol, abs_tol=1e-6):
                raise AssertionError(
                    f"{line.month}: paid {paid} != received {line.seller_receives_usd}"
                )

    def to_frame(self) -> pd.DataFrame:
        """One row per month (the columns of :class:`SettlementLine`)."""
        return pd.DataFrame([asdict(line) for line in self.lines])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: contract name, parties, lines and totals."""
        return {
            "contract": self.contract.name,
            "buyer": self.contract.buyer,
            "seller": self.contract.seller,
            "floor_payer": self.contract.payer_of_floor,
            "mineral": self.contract.mineral,
            "prices": self.prices_origin,
            "lines": [asdict(line) for line in self.lines],
            "totals": self.totals(),
        }


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _explain(contract: OfftakeContract, q: float, p: float, terms: PriceTerms, idx: int) -> str:
    topup = float(terms.floor_topup_usd_per_kg[idx])
    upside = float(terms.upside_share_usd_per_kg[idx])
    rebate = float(terms.cap_rebate_usd_per_kg[idx])
    eff = float(terms.effective_usd_per_kg[idx])
    kg = q * KG_PER_T
    parts = [f"{q:,.3f} t at market {p:.2f} $/kg = market value {_money(p * kg)} USD"]
    if topup > 0:
        parts.append(
            f"below floor {contract.floor_usd_per_kg:.2f}: {contract.payer_of_floor} tops up "
            f"{topup:.2f} $/kg = {_money(topup * kg)} USD"
        )
    if upside > 0 and contract.upside_share is not None:
        up = contract.upside_share
        parts.append(
            f"above threshold {up.above_usd_per_kg:.2f}: buyer keeps {up.buyer_share:g} x "
            f"{p - up.above_usd_per_kg:.2f} = {upside:.2f} $/kg = {_money(upside * kg)} USD"
        )
    if rebate > 0:
        parts.append(
            f"capped at {contract.cap_usd_per_kg:.2f}: rebate {rebate:.2f} $/kg = "
            f"{_money(rebate * kg)} USD"
        )
    if len(parts) == 1:
        parts.append("no floor, sharing or cap applies")
    parts.append(f"seller gets {eff:.2f} $/kg = {_money(eff * kg)} USD")
    return "; ".join(parts)


def settle(
    contract: OfftakeContract,
    prices: PriceSeries,
    first_month: str | None = None,
    last_month: str | None = None,
) -> SettlementStatement:
    """Settle ``contract`` month by month on ``prices``.

    The months run from ``first_month`` (default: contract start) to ``last_month``
    (default: the earlier of the contract end and the last month with a price). Every
    month in that run must have a price, else :class:`InputError` names the gap.
    """
    where = prices.origin
    if not prices.by_month:
        raise InputError("no prices", where=where)
    first = parse_month(first_month) if first_month else contract.start
    last_price = prices.months[-1]
    last = parse_month(last_month) if last_month else min(contract.end, last_price)
    first = max(first, contract.start)
    last = min(last, contract.end)
    if last < first:
        raise InputError(
            f"nothing to settle: the prices end {last_price} but the contract "
            f"{contract.name!r} runs {contract.start} to {contract.end}"
            + (f" (requested {first_month} to {last_month})" if first_month or last_month else ""),
            where=where,
        )
    months = month_range(first, last)
    missing = [m for m in months if m not in prices.by_month]
    if missing:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        raise InputError(
            f"no price for {len(missing)} contract month(s): {shown}; every month from "
            f"{first} to {last} needs at least one row month,price_usd_per_kg",
            where=where,
        )
    p = np.array([prices.price(m) for m in months])
    terms = price_terms(contract, p)
    payer = contract.payer_of_floor
    third_party = payer != contract.buyer
    lines: list[SettlementLine] = []
    for i, month in enumerate(months):
        q = contract.volume_t(month)
        kg = q * KG_PER_T
        market_value = float(p[i]) * kg
        topup = float(terms.floor_topup_usd_per_kg[i]) * kg
        upside = float(terms.upside_share_usd_per_kg[i]) * kg
        rebate = float(terms.cap_rebate_usd_per_kg[i]) * kg
        buyer = market_value - upside - rebate + (0.0 if third_party else topup)
        lines.append(
            SettlementLine(
                month=month,
                volume_t=q,
                market_price_usd_per_kg=float(p[i]),
                effective_price_usd_per_kg=float(terms.effective_usd_per_kg[i]),
                market_value_usd=market_value,
                floor_topup_usd=topup,
                upside_share_usd=upside,
                cap_rebate_usd=rebate,
                buyer_pays_usd=buyer,
                floor_payer_pays_usd=topup if third_party else 0.0,
                seller_receives_usd=float(terms.effective_usd_per_kg[i]) * kg,
                floor_payer=payer,
                explanation=_explain(contract, q, float(p[i]), terms, i),
            )
        )
    statement = SettlementStatement(contract, tuple(lines), where)
    statement.check_balance()
    return statement
