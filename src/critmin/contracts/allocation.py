"""Allocation of scarce supply among contracts by priority rank (rank 1 first).

Within a rank, what is left is shared pro rata to the contracted tonnes. A rank is fully
served before the next one gets anything. The engine calls this each month with the
tonnes available and the contracts' claims (:meth:`Claim.from_contract`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from critmin.contracts.spec import OfftakeContract
from critmin.errors import InputError

__all__ = ["Claim", "allocate_by_priority"]


@dataclass(frozen=True)
class Claim:
    """A contract's claim on supply in one period: ``qty_t`` at ``priority_rank``."""

    name: str
    priority_rank: int
    qty_t: float

    @classmethod
    def from_contract(cls, contract: OfftakeContract, month: str) -> Claim:
        """The contract's volume due in ``month`` (0 outside its term)."""
        return cls(contract.name, contract.priority_rank, contract.volume_t(month))


def allocate_by_priority(
    available_t: float, contracts: Iterable[Claim | OfftakeContract], month: str | None = None
) -> dict[str, float]:
    """Tonnes allocated to each contract: rank 1 first, pro rata within a rank.

    ``contracts`` are :class:`Claim` s, or :class:`OfftakeContract` s with ``month`` given
    (their volume that month is the claim). The result never exceeds ``available_t`` in
    total, nor any claim; a rank is fully served before a lower one (larger number) gets
    anything.
    """
    if not math.isfinite(available_t) or available_t < 0:
        raise InputError(f"available tonnes must be finite and >= 0, got {available_t}")
    claims: list[Claim] = []
    for c in contracts:
        if isinstance(c, OfftakeContract):
            if month is None:
                raise InputError("allocating OfftakeContracts needs the month")
            claims.append(Claim.from_contract(c, month))
        else:
            claims.append(c)
    out: dict[str, float] = {}
    for c in claims:
        if c.name in out:
            raise InputError(f"two claims are named {c.name!r}; names must be unique")
        if not math.isfinite(c.qty_t) or c.qty_t < 0:
            raise InputError(f"claim {c.name!r}: qty_t must be finite and >= 0, got {c.qty_t}")
        out[c.name] = 0.0
    left = float(available_t)
    ordered = sorted(claims, key=lambda c: c.priority_rank)
    for _, group in groupby(ordered, key=lambda c: c.priority_rank):
        members = list(group)
        wanted = math.fsum(c.qty_t for c in members)
        if wanted <= 0:
            continue
        if wanted <= left:
            for c in members:
                out[c.name] = c.qty_t
            left = max(left - wanted, 0.0)
            continue
        fraction = left / wanted
        for c in members:
            out[c.name] = min(c.qty_t * fraction, c.qty_t)
        left = 0.0
        break
    return out
