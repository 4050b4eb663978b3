"""Many variants of one compiled chain, solved without compiling again (the sweep path).

A :class:`Variant` states what differs from the compiled chain: multipliers on its cost,
capacity, demand and tariff arrays (a scalar, one value per item, or a ``(n_months, n_items)``
matrix) and extra shocks (export bans, outages, demand surges, applied by the same steps as
:func:`~critmin.market.compile.compile_market`). :func:`run_variants` solves each with
:func:`~critmin.market.engine.run_market`; a variant's run is the run of
``variant.apply(cm)`` -- the same in this process, another process, or a batch
(``tests/market/test_variants.py``). Variants, compiled chains and runs pickle, so a pool of
processes or a cluster can take them.

Each variant builds its own LP: building one (matrix + ``passModel``) costs ~0.2 ms against
several ms for a chain's months, and sharing a HiGHS instance between variants would start
each from another variant's basis, which can pick another of several optimal solutions
where the LP is degenerate -- results would then depend on the order of the batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from critmin.errors import InputError
from critmin.market.compile import CompiledMarket, apply_shocks
from critmin.market.engine import MarketRun, run_market
from critmin.market.probe import Probe
from critmin.market.spec import Shock
from critmin.policy.instrument import Instrument

FloatArray = npt.NDArray[np.float64]

#: the arrays a variant may scale: name -> what it is (the compiled field of the same name)
SCALABLE = {
    "s_cost": "supply cost, usd_per_t (per block)",
    "s_cap": "supply capacity, t per month (months x blocks)",
    "d_wtp": "willingness to pay, usd_per_t (per bid)",
    "d_qty": "demand bid quantity, t per month (months x bids)",
    "k_cost": "conversion cost, usd_per_t of output (per conversion)",
    "k_cap": "conversion capacity, t of output per month (months x conversions)",
    "r_transport": "transport cost, usd_per_t (per route)",
    "r_specific": "specific tariff, usd_per_t (months x routes)",
    "r_ad_valorem": "ad-valorem tariff rate (months x routes)",
    "q_upper": "export quota limit, t per month (months x quotas)",
}


@dataclass(frozen=True)
class Variant:
    """One variant of a compiled chain: ``scale`` multiplies arrays named in
    :data:`SCALABLE`; ``shocks`` are added to the chain's own."""

    name: str = ""
    scale: Mapping[str, float | FloatArray] = field(default_factory=dict)
    shocks: Sequence[Shock] = ()

    def apply(self, cm: CompiledMarket) -> CompiledMarket:
        """``cm`` with this variant's changes (``cm`` itself is not modified)."""
        changed: dict[str, FloatArray] = {}
        for key, factor in self.scale.items():
            if key not in SCALABLE:
                raise InputError(
                    f"cannot scale {key!r}; expected one of {sorted(SCALABLE)}",
                    where=f"variant {self.name!r} scale",
                )
            base: FloatArray = getattr(cm, key)
            f = np.asarray(factor, dtype=float)
            try:
                scaled = np.broadcast_to(base * f, base.shape)
            except ValueError:
                raise InputError(
                    f"{key} has shape {base.shape}; a factor of shape {f.shape} does not fit "
                    "(give a number, one value per item, or a months x items matrix)",
                    where=f"variant {self.name!r} scale",
                ) from None
            if not np.all(np.isfinite(f)) or np.any(f < 0):
                raise InputError(
                    f"{key} factor must be finite and >= 0", where=f"variant {self.name!r} scale"
                )
            changed[key] = np.array(scaled)
        out = dataclasses.replace(cm, **changed) if changed else cm  # type: ignore[arg-type]
        return apply_shocks(out, self.shocks) if self.shocks else out


def run_variants(
    cm: CompiledMarket,
    variants: Iterable[Variant],
    instruments: Callable[[], Sequence[Instrument]] = tuple,
    *,
    probe: Probe | None = None,
) -> Iterator[MarketRun]:
    """Solve ``cm`` once per variant, in order, yielding each run as it is done (so a caller
    can stream results instead of holding them all). ``instruments`` builds a fresh set of
    instruments for each variant (instruments keep state over a run)."""
    for variant in variants:
        yield run_market(variant.apply(cm), instruments(), probe=probe)


def solve_variants(
    cm: CompiledMarket,
    variants: Sequence[Variant],
    instruments: Callable[[], Sequence[Instrument]] = tuple,
) -> list[MarketRun]:
    """:func:`run_variants` as a list: the unit of work to hand to a process pool or a cluster
    (a module-level function, so it pickles by name; so must ``instruments``)."""
    return list(run_variants(cm, variants, instruments))
