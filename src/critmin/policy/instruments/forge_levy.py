"""FORGE border adjustment: a variable import levy on non-member imports into member regions.

Per tonne, route and month (the structure of the EU's former variable import levy)::

    levy = min(max(reference - landed, 0), bound)
    landed = exporter's clearing price (FOB) + transport_usd_per_t[product]
    bound  = bound_usd_per_t[product]            if given, else
             levy_bound_share x landed           (parameter ``<bloc>.levy_bound.ad_valorem_share``)

``reference`` is the parameter ``<bloc>.reference_price.<product>`` (usd_per_kg or usd_per_t)
in force in the month. A product without a reference price is not levied. Members trade among
themselves duty-free; imports into a member from a non-member pay the levy; non-members are
not affected. The levy applies while ``<bloc>.in_force`` is true (when that parameter exists)
and inside the instrument's ``start``/``end`` window.

The landed price depends on the solution, so the levy is a fixed point: the first solve of a
month uses the previous solution's prices (the previous month's; no levy in the first month
of a run), every next solve the prices of the last one. The month has converged when no
route's levy moves by more than ``tol_usd_per_t`` (default 1 USD/t); ``damping`` (0..1)
keeps that share of the previous levy in the next iterate. The engine stops after its
iteration cap (``critmin.market.engine.MAX_ITERATIONS`` = 50 solves per month) and flags the
month; the levy counts such months in the metric ``levy_non_converged_months``.

Membership comes from :func:`critmin.catalog.blocs.members` on the month's last day and is
mapped to market regions by :func:`member_regions`: an ISO3 region is a member when the
country is; ``EU`` is a member when the European Commission's delegation is (the EU single
market is represented in FORGE by the Commission); ``ROW`` and any other non-ISO3 region are
non-members. ``region_membership`` overrides any of these, ``members`` replaces the catalog.

Series rows (``region`` = the importer unless stated): ``levy_revenue`` (usd), ``levy_rate``
(usd_per_t, region = exporter: the levy on its exports to members; recorded for exporters
that ship the product anywhere that month, so idle nodes with meaningless duals are left
out), ``imports_from_members`` and ``imports_from_nonmembers`` (t, every member importer
and product). Metrics:
``levy_revenue_usd``, ``imports_from_members_t_<product>``,
``imports_from_nonmembers_t_<product>`` (per levied product: oxide, metal and magnet tonnes
are never added), ``levy_iterations_max``, ``levy_non_converged_months``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from critmin.errors import InputError, UnknownNameError
from critmin.periods import in_window
from critmin.policy.instrument import (
    HeadlineMetric,
    InstrumentReport,
    InstrumentSpec,
    MarketContext,
    MonthView,
    OutputVariable,
    SeriesRow,
    SolvedMonth,
    declare,
    declare_metrics,
    declare_per_product,
)
from critmin.policy.instruments._common import (
    DatedSpec,
    NonNeg,
    parameter_set,
    plain_value,
    price_usd_per_t,
)
from critmin.policy.parameters import ParameterSet, month_end, reads_traced

EU_DELEGATION = "ZZ_EU"
TOL_USD_PER_T = 1.0

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _MonthPlan:
    """What the levy needs of one month, computed once (arrays over regions / routes /
    products of the market; ``keys`` = levied (non-member exporter, product) pairs)."""

    inside: frozenset[str]
    is_member: BoolArray  # (n_regions,)
    into_members: BoolArray  # (n_routes,) non-member exporter -> member importer
    keys: BoolArray  # (n_regions, n_products)
    ref: FloatArray  # (n_products,) reference usd_per_t, NaN = not levied
    specific: FloatArray  # (n_products,) specific bound usd_per_t, NaN = ad-valorem share
    share: float  # ad-valorem bound share (0 when unused)
    key_e: npt.NDArray[np.int64]  # the levied pairs as (exporter, product) index arrays
    key_p: npt.NDArray[np.int64]


def variable_levy(reference: float, landed: float, bound: float) -> float:
    """``min(max(reference - landed, 0), bound)`` in usd_per_t (never negative)."""
    return max(min(max(reference - landed, 0.0), bound), 0.0)


@lru_cache(maxsize=256)
def bloc_membership(bloc: str, day: str) -> tuple[frozenset[str], bool]:
    """The catalog's membership of ``bloc`` on ``day`` (ISO date): the member countries'
    ISO3 codes, and whether the European Commission's delegation is a member (then the
    market region ``EU`` is inside). :func:`member_regions` depends on the month only
    through this pair, so callers mapping many months (the baseline comparison) group the
    months by it; cached, as many months share one membership."""
    from critmin.catalog import blocs

    try:
        iso = blocs.members(bloc, on=day)
        has_eu = any(m.member_iso3 == EU_DELEGATION for m in blocs.get_bloc(bloc).delegations(day))
    except UnknownNameError as exc:
        raise InputError(str(exc), where="forge_levy field 'bloc'") from None
    return iso, has_eu


def member_regions(
    bloc: str,
    regions: Iterable[str],
    month: str,
    overrides: Mapping[str, bool] | None = None,
    members: Sequence[str] | None = None,
) -> frozenset[str]:
    """The market regions inside ``bloc`` in ``month`` (see module docstring for the rule)."""
    overrides = overrides or {}
    if members is not None:
        inside = {r for r in regions if r in set(members)}
    else:
        iso, has_eu = bloc_membership(bloc, month_end(month).isoformat())
        inside = set()
        for r in regions:
            if r == "EU":
                if has_eu:
                    inside.add(r)
            elif len(r) == 3 and r.isupper() and r in iso:
                inside.add(r)
    for r, flag in overrides.items():
        if flag:
            inside.add(r)
        else:
            inside.discard(r)
    return frozenset(r for r in inside if r in set(regions) or r in overrides)


# per levied product, one summary.json key each; finalize makes the keys from these
_MEMBERS_T, _NONMEMBERS_T = _PER_PRODUCT = declare_per_product(
    "forge_levy",
    ("imports_from_members_t", "t", "imports of members from bloc members, per levied product"),
    ("imports_from_nonmembers_t", "t", "imports of members from non-members, per product"),
)


class ForgeLevySpec(InstrumentSpec, DatedSpec):
    """YAML: ``{kind: forge_levy, mineral: ndpr, transport_usd_per_t: {ndpr_oxide: 1000}}``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "forge_levy",
        ("levy_revenue", "usd", "sum", "levy x non-member imports, at the importer"),
        ("levy_rate", "usd_per_t", "mean", "levy in force on a non-member exporter's routes"),
        ("imports_from_members", "t", "sum", "imports of members from bloc members"),
        ("imports_from_nonmembers", "t", "sum", "imports of members from non-members"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "forge_levy",
        ("levy_revenue_usd", "usd", "levy paid on non-member imports into members"),
        ("levy_iterations_max", "count", "most solves any month needed for the levy's fixed point"),
        ("levy_non_converged_months", "months", "months whose levy stopped at the iteration cap"),
        *_PER_PRODUCT,
    )

    kind: str = "forge_levy"
    bloc: str = Field("forge", min_length=1, description="catalog bloc id")
    products: list[str] | None = Field(
        None, description="products to levy; None = every product with a reference price"
    )
    reference_prices_usd_per_t: dict[str, NonNeg] = Field(
        default_factory=dict, description="explicit reference prices (replace the parameters)"
    )
    bound_usd_per_t: NonNeg | dict[str, NonNeg] | None = Field(
        None, description="specific bound per tonne; None = ad-valorem share parameter"
    )
    # a share of the landed price, 0..1: a bound above the landed price is no share (for a
    # levy capped only by the reference price, give a large bound_usd_per_t instead)
    bound_share: NonNeg | None = Field(
        None,
        le=1,
        description="ad-valorem bound as a share of the landed price, 0..1 (overrides parameter)",
    )
    transport_usd_per_t: NonNeg | dict[str, NonNeg] = 0.0
    members: list[str] | None = Field(None, description="explicit member regions (no catalog)")
    region_membership: dict[str, bool] = Field(default_factory=dict)
    tol_usd_per_t: float = Field(TOL_USD_PER_T, gt=0)
    damping: float = Field(0.0, ge=0, lt=1)

    def build(self) -> ForgeLevy:
        return ForgeLevy(self)


_FROM_MEMBERS, _FROM_OTHERS = "imports_from_members", "imports_from_nonmembers"

#: month plans shared by the runs of equal levies on equal markets: a sweep builds the same
#: levy afresh for every sample, and its membership and parameter lookups cost ~5 % of a
#: managed-market sample (docs/benchmarks.md, "Third round"); a plan is a pure function of
#: the spec, the market's regions, products and routes, and the month
_PLAN_CACHE: OrderedDict[tuple[object, ...], dict[str, _MonthPlan]] = OrderedDict()
_PLAN_CACHE_SIZE = 32


def _shared_plans(
    spec: ForgeLevySpec,
    regions: Sequence[str],
    products: Sequence[str],
    routes: tuple[npt.NDArray[np.int64], ...],
) -> dict[str, _MonthPlan]:
    """The month plans of equal levies on equal markets (filled as months are planned).
    Inside a :func:`~critmin.policy.parameters.trace_reads` block every run plans afresh,
    so that the parameters it reads are all recorded (``summary.json``)."""
    if reads_traced():
        return {}
    key = (spec.model_dump_json(), tuple(regions), tuple(products), *(a.tobytes() for a in routes))
    plans = _PLAN_CACHE.get(key)
    if plans is None:
        plans = _PLAN_CACHE[key] = {}
        if len(_PLAN_CACHE) > _PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    else:
        _PLAN_CACHE.move_to_end(key)
    return plans


def _name_ranks(names: Sequence[str]) -> npt.NDArray[np.int64]:
    """Position of each name in sorted order (sorting by rank = sorting by name)."""
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return ranks


class ForgeLevy:
    """The variable levy as an :class:`~critmin.policy.instrument.Instrument`."""

    kind: ClassVar[str] = "forge_levy"

    def __init__(self, spec: ForgeLevySpec) -> None:
        self.spec = spec
        self.name = spec.name or f"forge_levy:{spec.bloc}"
        self.params: ParameterSet = parameter_set(spec.parameters, self.name)
        self._regions: list[str] = []
        self._products: list[str] = []
        self._all_products: list[str] = []
        empty_i = np.zeros(0, dtype=np.int64)
        self._exp, self._imp, self._prod = empty_i, empty_i, empty_i
        self._levied = np.zeros(0, dtype=bool)
        self._transport = np.zeros(0)
        self._applied = np.zeros((0, 0))  # (n_regions, n_products) levy in force, usd_per_t
        self._applied_keys = np.zeros((0, 0), dtype=bool)  # the levied pairs
        self._next: tuple[FloatArray, BoolArray] | None = None
        self._plans: dict[str, _MonthPlan] = {}
        self._next_month = ""
        self._converged = True
        self._iterations = 0
        self._max_iterations = 0
        self._non_converged: list[str] = []
        self._month_at: dict[str, int] = {}
        self._record = _LevyRecord.empty([], [], [])

    # ------------------------------------------------------------------ parameters
    def _ref_name(self, product: str) -> str:
        return f"{self.spec.bloc}.reference_price.{product}"

    def reference(self, product: str, month: str) -> float | None:
        """Reference price (usd_per_t) of ``product`` in ``month``; None = not levied."""
        if product in self.spec.reference_prices_usd_per_t:
            return self.spec.reference_prices_usd_per_t[product]
        name = self._ref_name(product)
        if name not in self.params:
            return None
        return price_usd_per_t(self.params, name, month)

    def _pick(self, value: float | dict[str, float] | None, product: str) -> float | None:
        if isinstance(value, dict):
            return value.get(product)
        return value

    def bound(self, product: str, month: str, landed: float) -> float:
        """The levy's upper bound (usd_per_t) for one route."""
        specific = self._pick(self.spec.bound_usd_per_t, product)
        if specific is not None:
            return specific
        share = self.spec.bound_share
        if share is None:
            name = f"{self.spec.bloc}.levy_bound.ad_valorem_share"
            if name not in self.params:
                raise InputError(
                    f"no levy bound: give bound_usd_per_t or bound_share, or define {name!r}",
                    where=f"instrument {self.name!r} field 'bound_share'",
                )
            got = plain_value(self.params, name, month)
            share = float(got) if got is not None else 0.0
        return share * max(landed, 0.0)

    def transport(self, product: str) -> float:
        return self._pick(self.spec.transport_usd_per_t, product) or 0.0

    def active(self, month: str) -> bool:
        if not in_window(month, self.spec.start, self.spec.end):
            return False
        name = f"{self.spec.bloc}.in_force"
        if name in self.params:
            return bool(plain_value(self.params, name, month))
        return True

    def members(self, month: str) -> frozenset[str]:
        return member_regions(
            self.spec.bloc, self._regions, month, self.spec.region_membership, self.spec.members
        )

    # ------------------------------------------------------------------ lifecycle
    def initialize(self, ctx: MarketContext) -> None:
        self._regions = list(ctx.regions)
        wanted = self.spec.products
        if wanted is not None:
            for p in wanted:
                if p not in ctx.products:
                    raise UnknownNameError("product", p, ctx.products)
        self._products = list(wanted if wanted is not None else ctx.products)
        for r in self.spec.region_membership:
            if r not in self._regions:
                raise UnknownNameError("region (forge_levy region_membership)", r, self._regions)
        self._all_products = list(ctx.products)
        self._exp, self._imp, self._prod = ctx.route_index_arrays()
        self._levied = np.array([p in self._products for p in self._all_products], dtype=bool)
        self._transport = np.array([self.transport(p) for p in self._all_products], dtype=float)
        shape = (len(self._regions), len(self._all_products))
        self._applied = np.zeros(shape)
        self._applied_keys = np.zeros(shape, dtype=bool)
        months = list(ctx.months)
        self._month_at = {m: t for t, m in enumerate(months)}
        self._record = _LevyRecord.empty(months, self._regions, self._all_products)
        self._plans = _shared_plans(
            self.spec, self._regions, self._all_products, (self._exp, self._imp, self._prod)
        )

    def _plan(self, month: str) -> _MonthPlan:
        """Membership, route masks and per-product parameters of ``month`` (cached)."""
        plan = self._plans.get(month)
        if plan is not None:
            return plan
        n_reg, n_prod = len(self._regions), len(self._all_products)
        active = self.active(month)
        inside = self.members(month) if active else frozenset()
        is_member = np.array([r in inside for r in self._regions], dtype=bool)
        into_members = ~is_member[self._exp] & is_member[self._imp]  # the levied direction
        ref = np.full(n_prod, np.nan)
        specific = np.full(n_prod, np.nan)
        keys = np.zeros((n_reg, n_prod), dtype=bool)
        share = 0.0
        if active:
            for j, prod in enumerate(self._all_products):
                if not self._levied[j]:
                    continue
                value = self.reference(prod, month)
                if value is None:
                    continue
                ref[j] = value
                bound = self._pick(self.spec.bound_usd_per_t, prod)
                if bound is not None:
                    specific[j] = bound
            cand = into_members & ~np.isnan(ref)[self._prod]
            keys[self._exp[cand], self._prod[cand]] = True
            if (keys & np.isnan(specific)[None, :]).any():
                share = self._share(month)
        key_e, key_p = (a.astype(np.int64) for a in np.nonzero(keys))
        arrays = (is_member, into_members, keys, ref, specific, key_e, key_p)
        for a in arrays:  # plans are shared between runs (_shared_plans): read-only
            a.flags.writeable = False
        plan = _MonthPlan(inside, is_member, into_members, keys, ref, specific, share, key_e, key_p)
        self._plans[month] = plan
        return plan

    def _share(self, month: str) -> float:
        """The ad-valorem bound share (field, else parameter) in ``month``."""
        if self.spec.bound_share is not None:
            return self.spec.bound_share
        name = f"{self.spec.bloc}.levy_bound.ad_valorem_share"
        if name not in self.params:
            raise InputError(
                f"no levy bound: give bound_usd_per_t or bound_share, or define {name!r}",
                where=f"instrument {self.name!r} field 'bound_share'",
            )
        got = plain_value(self.params, name, month)
        return float(got) if got is not None else 0.0

    def levy_matrix(self, month: str, solved: SolvedMonth | None) -> tuple[FloatArray, BoolArray]:
        """Levy (usd_per_t) per (exporter, product) at ``solved``'s prices, as a
        ``(n_regions, n_products)`` matrix, and the mask of levied (non-member exporter,
        product) pairs (all False when nothing is levied)."""
        shape = (len(self._regions), len(self._all_products))
        plan = self._plan(month)
        out = np.zeros(shape)
        if solved is None or not len(plan.key_e):
            return out, np.zeros(shape, dtype=bool)
        e, p = plan.key_e, plan.key_p
        landed = np.maximum(solved.prices_array()[e, p], 0.0) + self._transport[p]
        specific = plan.specific[p]
        bound = np.where(np.isnan(specific), plan.share * np.maximum(landed, 0.0), specific)
        out[e, p] = np.maximum(np.minimum(np.maximum(plan.ref[p] - landed, 0.0), bound), 0.0)
        return out, plan.keys

    def levies(self, month: str, solved: SolvedMonth | None) -> dict[tuple[str, str], float]:
        """Levy (usd_per_t) per (non-member exporter, product) at ``solved``'s prices."""
        levy, keys = self.levy_matrix(month, solved)
        return {
            (self._regions[e], self._all_products[p]): float(levy[e, p])
            for e, p in zip(*np.nonzero(keys), strict=True)
        }

    def before_solve(self, month: str, view: MonthView) -> None:
        if self._next is not None and self._next_month == month:
            levy, keys = self._next
        else:
            self._iterations = 0
            levy, keys = self.levy_matrix(month, view.previous)
        self._iterations += 1
        self._applied, self._applied_keys = levy, keys
        if not keys.any():
            return
        plan = self._plan(month)
        view.add_route_wedges(np.where(plan.into_members, levy[self._exp, self._prod], 0.0))

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        new, new_keys = self.levy_matrix(month, result)
        d = self.spec.damping
        nxt = (1 - d) * new + d * self._applied
        self._converged = bool(np.all(np.abs(nxt - self._applied) <= self.spec.tol_usd_per_t))
        self._next, self._next_month = (nxt, new_keys | self._applied_keys), month
        return self._converged

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        """Record the month as arrays over (region, product) cells (the rows and their
        totals are read off them in :meth:`finalize`)."""
        self._max_iterations = max(self._max_iterations, self._iterations)
        if not self._converged:
            self._non_converged.append(month)
        self._next = None
        t = self._month_at[month]
        rec = self._record
        n_prod = len(self._all_products)
        exp, imp, prod, flow = result.route_arrays()
        is_member = self._plan(month).is_member
        into = np.flatnonzero(is_member[imp])  # routes into members, in route order
        from_member = is_member[exp[into]]
        node = imp[into] * n_prod + prod[into]
        flow_in = flow[into]
        # sums in route order (bincount adds sequentially), as the per-route loop did
        code = node * 2 + from_member
        size2 = rec.imports.shape[1]
        rec.imports[t] = np.bincount(code, weights=flow_in, minlength=size2)
        rec.imported[t] = np.bincount(code, minlength=size2) > 0
        levy_r = self._applied[exp[into], prod[into]]
        taxed = ~from_member & (levy_r > 0)
        size = rec.revenue.shape[1]
        rec.revenue[t] = np.bincount(
            node[taxed], weights=levy_r[taxed] * flow_in[taxed], minlength=size
        )
        rec.levied[t] = np.bincount(node[taxed], minlength=size) > 0
        moving = flow > 1e-9
        ship = np.zeros(size, dtype=bool)
        ship[exp[moving] * n_prod + prod[moving]] = True
        rec.rate[t] = self._applied.ravel()
        rec.rated[t] = self._applied_keys.ravel() & ship

    def finalize(self) -> InstrumentReport:
        rec = self._record
        # each total adds its rows' values in row order, month after month
        metrics = {"levy_revenue_usd": _sum_in_order(rec.in_row_order("revenue"))}
        for figure, from_members in ((_MEMBERS_T, True), (_NONMEMBERS_T, False)):
            for product, values in rec.imports_by_product(from_members).items():
                metrics[figure.flat_key(product)] = _sum_in_order(values)
        metrics["levy_iterations_max"] = float(self._max_iterations)
        metrics["levy_non_converged_months"] = float(len(self._non_converged))
        return InstrumentReport(rows=rec.rows, metrics=metrics)


def _sum_in_order(values: FloatArray) -> float:
    """``0.0 + v0 + v1 + ...`` added one by one, left to right (``add.accumulate`` is
    sequential, unlike ``sum``'s pairwise summation): the total the month-by-month loop
    gave, to the bit."""
    return float(np.add.accumulate(np.r_[0.0, values])[-1])


@dataclass
class _LevyRecord:
    """The levy's months as ``(n_months, cells)`` arrays, from which its tidy rows and
    totals are read. A cell is ``region x n_products + product`` (``revenue`` by importer,
    ``rate`` by exporter), doubled for imports (``x 2 + 1`` from a member). ``order`` /
    ``order2`` list the cells as the rows are sorted: by region name, product name, and
    from non-members before members. Rows are built only when read (a sweep never does)."""

    months: list[str]
    regions: list[str]
    products: list[str]
    order: npt.NDArray[np.int64]
    order2: npt.NDArray[np.int64]
    imports: FloatArray
    imported: BoolArray
    revenue: FloatArray
    levied: BoolArray
    rate: FloatArray
    rated: BoolArray

    @classmethod
    def empty(cls, months: list[str], regions: list[str], products: list[str]) -> _LevyRecord:
        n_m, n_prod = len(months), len(products)
        size = len(regions) * n_prod
        cells = np.arange(size)
        r_rank, p_rank = _name_ranks(regions), _name_ranks(products)
        order = np.lexsort((p_rank[cells % n_prod], r_rank[cells // n_prod]))
        cells2 = np.arange(2 * size)
        node2 = cells2 // 2
        order2 = np.lexsort((cells2 % 2, p_rank[node2 % n_prod], r_rank[node2 // n_prod]))
        return cls(
            months,
            regions,
            products,
            order,
            order2,
            np.zeros((n_m, 2 * size)),
            np.zeros((n_m, 2 * size), dtype=bool),
            np.zeros((n_m, size)),
            np.zeros((n_m, size), dtype=bool),
            np.zeros((n_m, size)),
            np.zeros((n_m, size), dtype=bool),
        )

    def in_row_order(self, what: str) -> FloatArray:
        """The values of one kind of row, month by month in row order."""
        if what == "revenue":
            return self.revenue[:, self.order][self.levied[:, self.order]]
        member = self.order2 % 2 == (1 if what == "members" else 0)
        cells = self.order2[member]
        return self.imports[:, cells][self.imported[:, cells]]

    def imports_by_product(self, from_members: bool) -> dict[str, FloatArray]:
        """Per product (sorted by name), the values of the import rows from members (or from
        non-members), month by month in row order; products nobody imported are left out."""
        member = self.order2 % 2 == int(from_members)
        cells = self.order2[member]
        product_of = (cells // 2) % len(self.products)
        out: dict[str, FloatArray] = {}
        for p in sorted(range(len(self.products)), key=self.products.__getitem__):
            mine = cells[product_of == p]
            values = self.imports[:, mine][self.imported[:, mine]]
            if len(values):
                out[self.products[p]] = values
        return out

    def rows(self) -> list[SeriesRow]:
        """The tidy rows, month by month: levy revenue, levy rates, then imports."""
        out: list[SeriesRow] = []
        regions, products = self.regions, self.products
        n_prod = len(products)
        for t, month in enumerate(self.months):
            for values, mask, variable, unit in (
                (self.revenue[t], self.levied[t], "levy_revenue", "usd"),
                (self.rate[t], self.rated[t], "levy_rate", "usd_per_t"),
            ):
                cells = self.order[mask[self.order]]
                out.extend(
                    SeriesRow(month, products[c % n_prod], regions[c // n_prod], variable, v, unit)
                    for c, v in zip(cells.tolist(), values[cells].tolist(), strict=True)
                )
            cells = self.order2[self.imported[t][self.order2]]
            for c, v in zip(cells.tolist(), self.imports[t][cells].tolist(), strict=True):
                (r, p), member = divmod(c // 2, n_prod), c % 2
                variable = _FROM_MEMBERS if member else _FROM_OTHERS
                out.append(SeriesRow(month, products[p], regions[r], variable, v, "t"))
        return out
