"""The month-by-month loop: create -> (per month: update, solve, assign) -> results.

:func:`run_market` drives one compiled chain through its months. Each month it

1. starts from the month's row of the compiled matrices (capacities, bids, route bounds),
2. lets every :class:`~critmin.policy.instrument.Instrument` act through a ``MonthView``,
3. sets route costs = transport + specific tariff + instrument wedges + ad-valorem wedge,
4. re-solves the one LP built at the start (warm start from the previous basis),
5. repeats 2-4 until the ad-valorem wedges move by at most ``tol_rel`` (relative, with an
   absolute floor of 1 USD/t x ``tol_rel``) and every instrument ``is_converged``, for at
   most ``max_iterations`` solves; a month that does not converge is flagged
   (:attr:`SolveStatus.ITERATION_LIMIT`), not hidden.

Ad-valorem wedge on a route = rate x max(exporter price, 0) (the FOB price at the origin
node), evaluated from the previous iteration's prices (the previous month's in the first).

A chain without instruments or ad-valorem tariffs takes the same loop: it converges after one
solve a month. (A separate batched loop for that case was measured at under 10 % of a run and
removed.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.errors import SolverError, UnknownNameError
from critmin.market.compile import CompiledMarket
from critmin.market.curves import curve_step_mask
from critmin.market.lp import ClearingLP, ColumnLayout, ExtraColumn
from critmin.market.probe import Probe
from critmin.policy.instrument import ActiveShock, Instrument, InstrumentReport

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


TOL_REL = 1e-6
MAX_ITERATIONS = 50


class SolveStatus(StrEnum):
    """How a month ended (as linopy's ``TerminationCondition`` constants: plain strings).

    A month whose LP HiGHS cannot solve to optimality does not get a status: the run stops with
    a :class:`~critmin.errors.SolverError` naming the chain, month and iteration.
    """

    #: every solve optimal, and the instruments and ad-valorem wedges settled
    OPTIMAL = "optimal"
    #: every solve optimal, but ``max_iterations`` solves did not settle the instruments or the
    #: ad-valorem wedges; the month holds the last solve
    ITERATION_LIMIT = "iteration_limit"


class MonthStatus(StrEnum):
    """How a month's answer was reached, as the results report it (``solves.parquet``):
    :class:`SolveStatus` with its optimal months split by whether HiGHS was called."""

    #: settled, and HiGHS solved at least one of the month's LPs (HiGHS's model status of
    #: the last is in :attr:`MonthSolve.highs_model_status`)
    OPTIMAL = "optimal"
    #: settled, and every solve of the month was answered from the kept basis, proved still
    #: optimal for the month's costs and bounds (:mod:`critmin.market.basis`): HiGHS not called
    OPTIMAL_BASIS_KEPT = "optimal_basis_kept"
    #: :attr:`SolveStatus.ITERATION_LIMIT`: not settled within ``max_iterations`` solves
    ITERATION_LIMIT = "iteration_limit"


@dataclass(frozen=True)
class MonthSolve:
    """How one month of one chain was solved (one row of ``solves.parquet``)."""

    chain: str  # the market (its ``mineral``)
    month: str  # YYYY-MM
    status: MonthStatus
    #: solves of the month: 1 without instruments or ad-valorem tariffs; more while the
    #: instruments and ad-valorem wedges settle (the "instrument iteration" of a SolverError)
    iterations: int
    #: of those, the solves HiGHS ran (the others were answered from the kept basis)
    highs_runs: int
    #: HiGHS's model status (``Highs.modelStatusToString``) after the month's last HiGHS run;
    #: None when HiGHS was not called. Any status but ``Optimal`` stops the run with a
    #: :class:`~critmin.errors.SolverError` instead, so a month in the results has this one
    highs_model_status: str | None


@dataclass
class MarketRun:
    """Solved months of one chain: stacked arrays, one row per month."""

    cm: CompiledMarket
    price: FloatArray  # (n_m, n_nodes) usd_per_t
    supply: FloatArray  # (n_m, n_s) t
    demand: FloatArray  # (n_m, n_d) t consumed
    flow: FloatArray  # (n_m, n_r) t
    conversion: FloatArray  # (n_m, n_k) t of output
    tariff_wedge: FloatArray  # (n_m, n_r) usd_per_t (specific + ad valorem)
    instrument_wedge: FloatArray  # (n_m, n_r) usd_per_t added by instruments
    s_cap: FloatArray  # (n_m, n_s) capacity in force after instruments
    d_qty: FloatArray  # (n_m, n_d) bids in force after instruments
    iterations: npt.NDArray[np.int64]  # solves per month
    status: tuple[SolveStatus, ...]  # per month
    reports: list[tuple[str, InstrumentReport]] = field(default_factory=list)
    # instrument columns (ctx.add_supply / add_demand), one per ExtraColumn
    extra: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (n_m, n_e) t
    extra_qty: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # (n_m, n_e) t
    extra_node: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_sign: FloatArray = field(default_factory=lambda: np.zeros(0))  # +1 supply, -1 demand
    # per instrument column: True = production (covered output), False = a stock release
    extra_production: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: per month: solves HiGHS ran, and HiGHS's model status after the last (None: no run)
    highs_runs: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    highs_status: tuple[str | None, ...] = ()
    # node variables computed once by market.results.node_table (tables and metrics share it)
    node_cache: dict[str, FloatArray] | None = field(default=None, repr=False, compare=False)

    @property
    def converged(self) -> BoolArray:
        """Per month: did it end :attr:`SolveStatus.OPTIMAL`?"""
        return np.array([s is SolveStatus.OPTIMAL for s in self.status], dtype=bool)

    def month_solves(self) -> tuple[MonthSolve, ...]:
        """Per month, in order: how it was solved (:class:`MonthSolve`)."""
        out = []
        for t, month in enumerate(self.cm.month_labels()):
            status = MonthStatus(self.status[t])
            if status is MonthStatus.OPTIMAL and self.highs_runs[t] == 0:
                status = MonthStatus.OPTIMAL_BASIS_KEPT
            out.append(
                MonthSolve(
                    chain=self.cm.mineral,
                    month=month,
                    status=status,
                    iterations=int(self.iterations[t]),
                    highs_runs=int(self.highs_runs[t]),
                    highs_model_status=self.highs_status[t],
                )
            )
        return tuple(out)


class _Context:
    """:class:`~critmin.policy.instrument.MarketContext` for one chain."""

    def __init__(self, cm: CompiledMarket) -> None:
        self.cm = cm
        self.extras: list[ExtraColumn] = []
        self.extra_production: list[bool] = []  # False: a stock release (not production)
        self._months = cm.month_labels()
        # route masks asked for by instruments, by (exporters, importers, product)
        self.route_masks: dict[tuple[Any, Any, str | None], BoolArray] = {}
        self._shocks: dict[int, tuple[ActiveShock, ...]] = {}

    # lookups are built on first use: only instruments and result accessors ask for them,
    # and a chain without instruments should not pay for ~450 route tuples

    # route endpoints as indices into regions / products (the array accessors)
    @cached_property
    def r_exp(self) -> IntArray:
        cm = self.cm
        return _frozen(cm.node_region[cm.r_from_node].astype(np.int64))

    @cached_property
    def r_imp(self) -> IntArray:
        cm = self.cm
        return _frozen(cm.node_region[cm.r_to_node].astype(np.int64))

    @cached_property
    def r_prod(self) -> IntArray:
        cm = self.cm
        return _frozen(cm.node_product[cm.r_from_node].astype(np.int64))

    @cached_property
    def region_index(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.cm.regions)}

    @cached_property
    def product_index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.cm.products)}

    @cached_property
    def _node_of(self) -> dict[tuple[str, str], int]:
        cm = self.cm
        return {
            (cm.regions[int(r)], cm.products[int(p)]): i
            for i, (r, p) in enumerate(zip(cm.node_region, cm.node_product, strict=True))
        }

    @cached_property
    def routes(self) -> tuple[tuple[str, str, str], ...]:
        """(exporter, importer, product) of every route, in route order."""
        cm = self.cm
        return tuple(
            (cm.regions[ra], cm.regions[rb], cm.products[pa])
            for ra, rb, pa in zip(
                cm.node_region[cm.r_from_node].tolist(),
                cm.node_region[cm.r_to_node].tolist(),
                cm.node_product[cm.r_from_node].tolist(),
                strict=True,
            )
        )

    @cached_property
    def route_of(self) -> dict[tuple[str, str, str], int]:
        """The first route of each (exporter, importer, product)."""
        out: dict[tuple[str, str, str], int] = {}
        for i, key in enumerate(self.routes):
            out.setdefault(key, i)
        return out

    def route_index_arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        return self.r_exp, self.r_imp, self.r_prod

    def banned(self, t: int) -> BoolArray:
        """Routes closed by an export ban in month ``t`` (compiled bound 0)."""
        return self.cm.r_upper[t] == 0.0

    def active_shocks(self, t: int) -> tuple[ActiveShock, ...]:
        """Export bans in force in month ``t``, one per banning exporter (cached)."""
        got = self._shocks.get(t)
        if got is None:
            cm = self.cm
            closed = np.flatnonzero(self.banned(t))
            by_exp: dict[int, tuple[set[str], set[str]]] = {}
            for r in closed.tolist():
                prods, dests = by_exp.setdefault(int(self.r_exp[r]), (set(), set()))
                prods.add(cm.products[self.r_prod[r]])
                dests.add(cm.regions[self.r_imp[r]])
            got = tuple(
                ActiveShock("export_ban", cm.regions[e], tuple(sorted(p)), tuple(sorted(d)))
                for e, (p, d) in sorted(by_exp.items(), key=lambda kv: cm.regions[kv[0]])
            )
            self._shocks[t] = got
        return got

    @property
    def mineral(self) -> str:
        return self.cm.mineral

    @property
    def products(self) -> Sequence[str]:
        return self.cm.products

    @property
    def regions(self) -> Sequence[str]:
        return self.cm.regions

    @property
    def months(self) -> Sequence[str]:
        return self._months

    def node(self, region: str, product: str) -> int:
        try:
            return self._node_of[(region, product)]
        except KeyError:
            raise UnknownNameError(
                "market node", f"{region}/{product}", [f"{r}/{p}" for r, p in self._node_of]
            ) from None

    def _add(
        self, region: str, product: str, name: str, sign: float, *, production: bool = True
    ) -> int:
        if (region, product) not in self._node_of:
            # a node nothing else touches: give it a row of its own
            raise UnknownNameError(
                "market node", f"{region}/{product}", [f"{r}/{p}" for r, p in self._node_of]
            )
        self.extras.append(ExtraColumn(self.node(region, product), sign, name))
        self.extra_production.append(production)
        return len(self.extras) - 1

    def add_supply(self, region: str, product: str, name: str) -> int:
        return self._add(region, product, name, 1.0)

    def add_release(self, region: str, product: str, name: str) -> int:
        return self._add(region, product, name, 1.0, production=False)

    def add_demand(self, region: str, product: str, name: str) -> int:
        return self._add(region, product, name, -1.0)


class _Solved:
    """:class:`~critmin.policy.instrument.SolvedMonth` over one solution."""

    def __init__(
        self,
        ctx: _Context,
        month: str,
        col: FloatArray,
        price: FloatArray,
        layout: ColumnLayout,
        *,
        d_qty: FloatArray,
    ) -> None:
        self._ctx = ctx
        self._month = month
        self.col = col
        self.node_price = price
        self._lay = layout
        self._d_qty = d_qty  # bids in force at this solve (copy), for unserved demand
        self._flows: list[float] | None = None  # route flows as Python floats, on first use
        self._prices: list[float] | None = None
        self._route_arrays: tuple[IntArray, IntArray, IntArray, FloatArray] | None = None
        self._price_matrix: FloatArray | None = None
        self._unserved: FloatArray | None = None

    @property
    def month(self) -> str:
        return self._month

    def price(self, region: str, product: str) -> float:
        if self._prices is None:
            self._prices = self.node_price.tolist()
        return self._prices[self._ctx.node(region, product)]

    def flow(self, exporter: str, importer: str, product: str) -> float:
        if self._flows is None:
            self._flows = self.col[self._lay.r0 : self._lay.k0].tolist()
        r = self._ctx.route_of.get((exporter, importer, product))
        if r is None:
            r = self._ctx.cm.route_index(exporter, importer, product)  # raises the error
        return self._flows[r]

    def block_value(self, handle: int) -> float:
        return float(self.col[self._lay.e0 + handle])

    def routes(self) -> Sequence[tuple[str, str, str]]:
        return self._ctx.routes

    def route_arrays(self) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        if self._route_arrays is None:
            ctx = self._ctx
            flow = _frozen(self.col[self._lay.r0 : self._lay.k0].copy())
            self._route_arrays = (ctx.r_exp, ctx.r_imp, ctx.r_prod, flow)
        return self._route_arrays

    def _node_matrix(self, values: FloatArray, fill: float) -> FloatArray:
        cm = self._ctx.cm
        mat = np.full((len(cm.regions), len(cm.products)), fill)
        mat[cm.node_region, cm.node_product] = values
        return _frozen(mat)

    def prices_array(self) -> FloatArray:
        if self._price_matrix is None:
            self._price_matrix = self._node_matrix(self.node_price, np.nan)
        return self._price_matrix

    def unserved_array(self) -> FloatArray:
        if self._unserved is None:
            cm = self._ctx.cm
            served = self.col[self._lay.d0 : self._lay.r0]
            short = np.maximum(self._d_qty - served, 0.0)
            # a demand curve's interior steps left unserved are buyers priced out, not a
            # shortage an instrument should answer (critmin.market.metrics)
            short[curve_step_mask(cm)] = 0.0
            per_node = np.bincount(cm.d_node, weights=short, minlength=cm.n_nodes).astype(float)
            self._unserved = self._node_matrix(per_node, 0.0)
        return self._unserved

    def unserved(self, region: str, product: str) -> float:
        ctx = self._ctx
        if region not in ctx.region_index:
            raise UnknownNameError("region", region, ctx.cm.regions)
        if product not in ctx.product_index:
            raise UnknownNameError("product", product, ctx.cm.products)
        return float(self.unserved_array()[ctx.region_index[region], ctx.product_index[product]])


class _View:
    """:class:`~critmin.policy.instrument.MonthView` over one month's arrays."""

    def __init__(self, ctx: _Context) -> None:
        cm = ctx.cm
        self._ctx = ctx
        self._month = ""
        self._t = 0
        self.previous: _Solved | None = None
        self.s_cap = np.zeros(len(cm.s_node))
        self.d_qty = np.zeros(len(cm.d_node))
        self.r_upper = np.zeros(len(cm.r_from_node))
        self.r_wedge = np.zeros(len(cm.r_from_node))
        n_e = len(ctx.extras)
        self.e_qty = np.zeros(n_e)
        self.e_price = np.zeros(n_e)
        self._r_exp = cm.node_region[cm.r_from_node]
        self._r_imp = cm.node_region[cm.r_to_node]
        self._r_prod = cm.node_product[cm.r_from_node]

    @property
    def month(self) -> str:
        return self._month

    def reset(self, t: int, month: str) -> None:
        cm = self._ctx.cm
        self._month = month
        self._t = t
        self.s_cap[:] = cm.s_cap[t]
        self.d_qty[:] = cm.d_qty[t]
        self.r_upper[:] = cm.r_upper[t]
        self.r_wedge[:] = 0.0
        self.e_qty[:] = 0.0
        self.e_price[:] = 0.0

    @property
    def active_shocks(self) -> Sequence[ActiveShock]:
        return self._ctx.active_shocks(self._t)

    def export_ban_active(
        self,
        exporter: str | None = None,
        product: str | None = None,
        importer: str | None = None,
    ) -> bool:
        ctx = self._ctx
        banned = ctx.banned(self._t)
        if not banned.any():
            return False
        mask = banned.copy()
        for name, arr, index in (
            (exporter, ctx.r_exp, ctx.region_index),
            (importer, ctx.r_imp, ctx.region_index),
            (product, ctx.r_prod, ctx.product_index),
        ):
            if name is not None:
                mask &= arr == index.get(name, -1)
        return bool(mask.any())

    def add_route_wedges(self, usd_per_t: FloatArray) -> None:
        if usd_per_t.shape != self.r_wedge.shape:
            raise ValueError(
                f"add_route_wedges: got {usd_per_t.shape[0] if usd_per_t.ndim else 0} values, "
                f"expected one per route ({len(self.r_wedge)})"
            )
        self.r_wedge += usd_per_t

    def set_block(self, handle: int, qty_t: float, price_usd_per_t: float) -> None:
        self.e_qty[handle] = max(qty_t, 0.0)
        self.e_price[handle] = price_usd_per_t

    def _route_mask(
        self,
        exporters: Sequence[str] | None,
        importers: Sequence[str] | None,
        product: str | None,
    ) -> BoolArray:
        key = (
            None if exporters is None else tuple(exporters),
            None if importers is None else tuple(importers),
            product,
        )
        cached = self._ctx.route_masks.get(key)
        if cached is not None:
            return cached
        cm = self._ctx.cm
        mask = np.ones(len(cm.r_from_node), dtype=bool)
        if exporters is not None:
            mask &= np.isin(
                self._r_exp, [cm.regions.index(x) for x in exporters if x in cm.regions]
            )
        if importers is not None:
            mask &= np.isin(
                self._r_imp, [cm.regions.index(x) for x in importers if x in cm.regions]
            )
        if product is not None:
            if product not in cm.products:
                raise UnknownNameError("product", product, cm.products)
            mask &= self._r_prod == cm.products.index(product)
        mask.flags.writeable = False
        self._ctx.route_masks[key] = mask
        return mask

    def add_route_wedge(
        self,
        usd_per_t: float,
        *,
        exporters: Sequence[str] | None = None,
        importers: Sequence[str] | None = None,
        product: str | None = None,
    ) -> int:
        mask = self._route_mask(exporters, importers, product)
        self.r_wedge[mask] += usd_per_t
        return int(mask.sum())

    def cap_routes(
        self,
        qty_t: float,
        *,
        exporters: Sequence[str] | None = None,
        importers: Sequence[str] | None = None,
        product: str | None = None,
    ) -> int:
        mask = self._route_mask(exporters, importers, product)
        self.r_upper[mask] = np.minimum(self.r_upper[mask], max(qty_t, 0.0))
        return int(mask.sum())

    def _node_mask(
        self, nodes: npt.NDArray[np.int64], region: str | None, product: str | None
    ) -> BoolArray:
        cm = self._ctx.cm
        mask = np.ones(len(nodes), dtype=bool)
        if region is not None:
            mask &= cm.node_region[nodes] == (
                cm.regions.index(region) if region in cm.regions else -1
            )
        if product is not None:
            mask &= cm.node_product[nodes] == (
                cm.products.index(product) if product in cm.products else -1
            )
        return mask

    def scale_supply(
        self, factor: float, *, region: str | None = None, product: str | None = None
    ) -> None:
        self.s_cap[self._node_mask(self._ctx.cm.s_node, region, product)] *= max(factor, 0.0)

    def scale_demand(
        self, factor: float, *, region: str | None = None, product: str | None = None
    ) -> None:
        self.d_qty[self._node_mask(self._ctx.cm.d_node, region, product)] *= max(factor, 0.0)


class _MonthLoop:
    """One chain's months: the LP, the instruments and the arrays every month writes into."""

    def __init__(
        self,
        ctx: _Context,
        instruments: Sequence[Instrument],
        lp: ClearingLP,
        probe: Probe | None,
    ) -> None:
        cm = ctx.cm
        self.ctx, self.cm, self.lp, self.probe = ctx, cm, lp, probe
        self.instruments = list(instruments)
        self.view = _View(ctx)
        lay = self.lay = lp.layout
        self.e_sign = np.array([e.sign for e in ctx.extras], dtype=float)
        self.has_adval = bool((cm.r_ad_valorem > 0).any())
        self.s, self.d = slice(0, lay.d0), slice(lay.d0, lay.r0)
        self.r, self.k, self.e = slice(lay.r0, lay.k0), slice(lay.k0, lay.e0), slice(lay.e0, None)
        self.cost = np.zeros(lay.n_cols)
        self.upper = np.zeros(lay.n_cols)
        self.cost[self.s] = cm.s_cost
        self.cost[self.d] = -cm.d_wtp
        self.cost[self.k] = cm.k_cost
        self.no_wedge = np.zeros(lay.n_r)
        self.previous: _Solved | None = None
        self.last_price = np.zeros(cm.n_nodes)
        # per month so far: how it ended, HiGHS runs, HiGHS's model status after the last
        self.status: list[SolveStatus] = []
        self.highs_runs: list[int] = []
        self.highs_status: list[str | None] = []

    def _tick(self) -> float:
        return time.perf_counter() if self.probe is not None else 0.0

    def _tock(self, t0: float) -> None:
        if self.probe is not None:
            self.probe.instruments_s += time.perf_counter() - t0

    def _solve(self, t: int, month: str, iteration: int, adval: FloatArray) -> _Solved:
        """Assemble month ``t``'s costs and bounds and solve: from the view the instruments
        acted on, or (no instruments) straight from the compiled rows."""
        cm, cost, upper = self.cm, self.cost, self.upper
        if self.instruments:
            view = self.view
            cost[self.r] = cm.r_transport + cm.r_specific[t] + view.r_wedge + adval
            cost[self.e] = self.e_sign * view.e_price  # supply: +price, demand: -wtp
            upper[self.s] = view.s_cap
            upper[self.d] = d_qty = view.d_qty.copy()
            upper[self.r] = view.r_upper
            upper[self.e] = view.e_qty
        else:
            base = cm.r_transport + cm.r_specific[t]
            cost[self.r] = base + adval if self.has_adval else base
            upper[self.s] = cm.s_cap[t]
            upper[self.d] = d_qty = cm.d_qty[t]
            upper[self.r] = cm.r_upper[t]
        upper[self.k] = cm.k_cap[t]
        try:
            col, price = self.lp.solve(cost, upper, cm.q_upper[t])
        except SolverError as exc:
            raise SolverError(
                f"chain {cm.mineral!r}, month {month}, instrument iteration {iteration}: {exc}",
                chain=cm.mineral,
                month=month,
                iteration=iteration,
            ) from None
        return _Solved(self.ctx, month, col, price, self.lay, d_qty=d_qty)

    def month(
        self, t: int, month: str, tol_rel: float, max_iterations: int
    ) -> tuple[_Solved, int, FloatArray]:
        """Solve month ``t`` until it settles: ``(solution, solves, ad-valorem wedge of the
        final solve)``; records how the month ended (:attr:`status`, :attr:`highs_runs`)."""
        cm, view = self.cm, self.view
        runs_before = self.lp.runs
        rate = cm.r_ad_valorem[t]
        adval = self.no_wedge
        if self.has_adval:
            adval = rate * np.maximum(self.last_price[cm.r_from_node], 0.0)
        status = SolveStatus.ITERATION_LIMIT
        for iteration in range(1, max_iterations + 1):
            if self.instruments:
                view.reset(t, month)
                view.previous = self.previous
                t0 = self._tick()
                for inst in self.instruments:
                    inst.before_solve(month, view)
                self._tock(t0)
            applied = adval
            solved = self._solve(t, month, iteration, adval)
            self.previous = solved
            done = True
            if self.has_adval:
                new = rate * np.maximum(solved.node_price[cm.r_from_node], 0.0)
                done = bool(np.all(np.abs(new - adval) <= tol_rel * np.maximum(np.abs(new), 1.0)))
                adval = new
            if self.instruments:
                t0 = self._tick()
                done = all(inst.is_converged(month, solved) for inst in self.instruments) and done
                self._tock(t0)
            if done:
                status = SolveStatus.OPTIMAL
                break
        t0 = self._tick()
        for inst in self.instruments:
            inst.after_solve(month, solved)
        self._tock(t0)
        self.last_price = solved.node_price
        self.status.append(status)
        runs = self.lp.runs - runs_before
        self.highs_runs.append(runs)
        self.highs_status.append(self.lp.model_status_text() if runs else None)
        return solved, iteration, applied


def initialize_instruments(cm: CompiledMarket, instruments: Sequence[Instrument]) -> None:
    """Run the instruments' ``initialize`` against ``cm`` without solving a month: a product,
    region or route an instrument names that the chain lacks fails here as it would in
    :func:`run_market` (``critmin validate`` calls it, so that what ``run`` refuses,
    ``validate`` refuses first)."""
    ctx = _Context(cm)
    for inst in instruments:
        inst.initialize(ctx)


def _read_only(a: FloatArray) -> FloatArray:
    view = a.view()
    view.flags.writeable = False
    return view


def run_market(
    cm: CompiledMarket,
    instruments: Sequence[Instrument] = (),
    *,
    tol_rel: float = TOL_REL,
    max_iterations: int = MAX_ITERATIONS,
    on_month: Callable[[str], None] | None = None,
    probe: Probe | None = None,
    reuse_basis: bool = True,
) -> MarketRun:
    """Solve every month of ``cm`` (see module docstring); returns stacked results.

    ``probe``, when given, receives timings and solve counts (benchmarks; see
    :mod:`critmin.market.probe`). ``reuse_basis=False`` sends every solve to HiGHS instead of
    answering the ones the kept basis provably answers (:mod:`critmin.market.basis`; the
    results agree to rounding; for verification and benchmarks).
    """
    t_start = time.perf_counter()
    ctx = _Context(cm)
    for inst in instruments:
        inst.initialize(ctx)
    lp = ClearingLP(cm, ctx.extras, probe=probe, reuse_basis=reuse_basis)
    loop = _MonthLoop(ctx, instruments, lp, probe)
    lay = lp.layout
    n_m = len(ctx.months)
    out_price = np.zeros((n_m, cm.n_nodes))
    out_col = np.zeros((n_m, lay.n_cols))
    # without ad-valorem tariffs the wedge is the compiled specific tariff (often a
    # month-constant view, see compile.month_constant): shared, not copied month by month
    out_tw = np.zeros((n_m, lay.n_r)) if loop.has_adval else _read_only(cm.r_specific)
    out_iw = np.zeros((n_m, lay.n_r))
    out_scap = np.zeros((n_m, lay.n_s))
    out_dqty = np.zeros((n_m, lay.n_d))
    out_eqty = np.zeros((n_m, lay.n_e))
    iterations = np.zeros(n_m, dtype=np.int64)
    view = loop.view
    for t, month in enumerate(ctx.months):
        solved, iterations[t], applied = loop.month(t, month, tol_rel, max_iterations)
        out_price[t] = solved.node_price
        out_col[t] = solved.col
        if loop.has_adval:
            out_tw[t] = cm.r_specific[t] + applied
        if instruments:  # what the instruments made of the month (else: the compiled rows)
            out_iw[t] = view.r_wedge
            out_scap[t] = view.s_cap
            out_dqty[t] = view.d_qty
            out_eqty[t] = view.e_qty
        if on_month is not None:
            on_month(month)
    if not instruments:
        out_scap[:] = cm.s_cap
        out_dqty[:] = cm.d_qty
    t0 = loop._tick()
    reports = [(inst.name, inst.finalize()) for inst in instruments]
    loop._tock(t0)
    if probe is not None:
        probe.engine_s += time.perf_counter() - t_start
    return MarketRun(
        cm=cm,
        price=out_price,
        supply=out_col[:, : lay.n_s],
        demand=out_col[:, lay.d0 : lay.r0],
        flow=out_col[:, lay.r0 : lay.k0],
        conversion=out_col[:, lay.k0 : lay.e0],
        tariff_wedge=out_tw,
        instrument_wedge=out_iw,
        s_cap=out_scap,
        d_qty=out_dqty,
        iterations=iterations,
        status=tuple(loop.status),
        reports=reports,
        extra=out_col[:, lay.e0 :],
        extra_qty=out_eqty,
        extra_node=np.array([e.node for e in ctx.extras], dtype=np.int64),
        extra_sign=loop.e_sign,
        extra_production=np.array(ctx.extra_production, dtype=bool),
        highs_runs=np.array(loop.highs_runs, dtype=np.int64),
        highs_status=tuple(loop.highs_status),
    )
