"""Compile a :class:`~critmin.market.spec.Market` + shocks + months into arrays.

Everything that depends on the month (capacities under schedules and outages, demand under
growth and surges, route bounds under bans, specific and ad-valorem tariffs, quota limits) is
resolved here once, vectorised over months, as ``(n_months, n_items)`` matrices. The monthly
loop then only pushes rows of these matrices to the solver.

:func:`compile_market` is a sequence of named steps, one per kind of input, in the manner of
PyPSA's ``define_*`` functions: :func:`define_supply`, :func:`define_demand`,
:func:`define_conversions`, :func:`define_routes`, :func:`define_tariffs`, :func:`define_bans`,
:func:`define_quotas`, then the shocks (:func:`apply_outages`, :func:`apply_demand_surges`).
Each reads the market and the :class:`Frame` (months, regions, products, node numbering) and
returns its own arrays. Nodes -- the (region, product) pairs something touches -- are numbered
in one place, :class:`NodeNumbering`, in order of first use: supply, demand, conversion inputs,
conversion outputs, route exporters, route importers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.errors import InputError, UnknownNameError
from critmin.market.spec import (
    DatasetSupply,
    DemandSurgeShock,
    ExportBan,
    ExportBanShock,
    Market,
    OutageShock,
    Shock,
    SupplyBlock,
)
from critmin.periods import month_index, month_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

INF = float("inf")


@dataclass
class CompiledMarket:
    """Arrays describing one chain over a range of months (see module docstring)."""

    mineral: str
    products: list[str]
    stages: list[str]
    regions: list[str]
    months: IntArray
    node_region: IntArray
    node_product: IntArray
    # supply blocks
    s_node: IntArray
    s_cost: FloatArray
    s_cap: FloatArray  # (n_months, n_s)
    s_name: list[str]
    # demand bids
    d_node: IntArray
    d_wtp: FloatArray
    d_qty: FloatArray  # (n_months, n_d)
    d_critical: BoolArray
    d_name: list[str]
    # conversions
    k_in_node: IntArray
    k_out_node: IntArray
    k_input_t_per_t: FloatArray
    k_cost: FloatArray
    k_cap: FloatArray  # (n_months, n_k)
    k_name: list[str]
    # routes
    r_from_node: IntArray
    r_to_node: IntArray
    r_transport: FloatArray
    r_specific: FloatArray  # (n_months, n_r)
    r_ad_valorem: FloatArray  # (n_months, n_r)
    r_upper: FloatArray  # (n_months, n_r) 0 when banned, inf otherwise
    # export quotas: each a set of routes with a monthly limit
    q_routes: list[IntArray]
    q_upper: FloatArray  # (n_months, n_q)
    reexport: bool = True
    #: what :attr:`assumptions` is made from (the market and its resolved supply blocks); the
    #: rows are only needed for ``summary.json``, so they are built on first use, not per run
    _cited: tuple[Market, list[SupplyBlock]] | None = field(default=None, repr=False)
    #: the ``YYYY-MM`` labels of :attr:`months` when compiled from labels (else derived)
    _labels: list[str] | None = field(default=None, repr=False)

    @functools.cached_property
    def assumptions(self) -> list[dict[str, Any]]:
        """Every cited number of the market, as ``summary.json`` ``assumptions`` rows."""
        return [] if self._cited is None else market_assumptions(*self._cited)

    @property
    def n_nodes(self) -> int:
        return len(self.node_region)

    def month_labels(self) -> list[str]:
        if self._labels is not None:
            return list(self._labels)
        return [month_label(int(m)) for m in self.months]

    @functools.cached_property
    def _node_lookup(self) -> dict[tuple[str, str], int]:
        return {
            (self.regions[int(r)], self.products[int(p)]): i
            for i, (r, p) in enumerate(zip(self.node_region, self.node_product, strict=True))
        }

    @functools.cached_property
    def _route_lookup(self) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        for i, (a, b) in enumerate(
            zip(self.r_from_node.tolist(), self.r_to_node.tolist(), strict=True)
        ):
            out.setdefault((a, b), i)  # the first route between two nodes, as before
        return out

    def node_index(self, region: str, product: str) -> int:
        """Index of the node (region, product); raises UnknownNameError when absent."""
        if region not in self.regions or product not in self.products:
            raise ValueError(f"{region!r} or {product!r} is not in this market")
        try:
            return self._node_lookup[(region, product)]
        except KeyError:
            raise UnknownNameError("node", f"{region}/{product}", []) from None

    def route_index(self, exporter: str, importer: str, product: str) -> int:
        src = self.node_index(exporter, product)
        dst = self.node_index(importer, product)
        try:
            return self._route_lookup[(src, dst)]
        except KeyError:
            raise UnknownNameError("route", f"{exporter}->{importer} {product}", []) from None


# --- the frame every step reads --------------------------------------------------------------


class NodeNumbering:
    """The nodes of a chain: every (region, product) that something touches, numbered in order
    of first use. A node's key is ``region code x n_products + product code``."""

    def __init__(self, n_products: int) -> None:
        self.n_products = n_products
        self._ids: dict[int, int] = {}  # key -> node id, in id order

    def number_all(self, region: IntArray, product: IntArray) -> IntArray:
        """The node ids of the pairs (region code, product code), numbering new ones in turn."""
        keys = region * self.n_products + product
        for key in dict.fromkeys(keys.tolist()):
            self._ids.setdefault(key, len(self._ids))
        return self.lookup()[keys]

    def lookup(self) -> IntArray:
        """Node id by key (-1 for keys not numbered)."""
        keys = np.array(list(self._ids), dtype=np.int64)
        size = int(keys.max()) + 1 if len(keys) else 0
        out = np.full(size, -1, dtype=np.int64)
        out[keys] = np.arange(len(keys))
        return out

    def region_product(self) -> tuple[IntArray, IntArray]:
        """``(node_region, node_product)`` codes of every node, in id order."""
        keys = np.array(list(self._ids), dtype=np.int64)
        region, product = np.divmod(keys, self.n_products)
        return region, product


@dataclass
class Frame:
    """What every step of :func:`compile_market` reads: the market, its months, regions and
    products (names and codes), the shocks that apply to it, and the node numbering."""

    market: Market
    months: IntArray  # month indices (periods.month_index)
    labels: list[str]  # the same as YYYY-MM
    regions: list[str]
    products: list[str]
    shocks: list[Shock]
    nodes: NodeNumbering

    @property
    def n_months(self) -> int:
        return len(self.months)

    def region(self, name: str) -> int:
        return self.regions.index(name)

    def product(self, name: str | None) -> int:
        """Code of a product; ``None`` = the single product of a one-product market (or the
        first: :func:`~critmin.market.spec.check_references` rejects it elsewhere)."""
        return self.products.index(name) if name is not None else 0

    def window(self, start: str | None, end: str | None) -> BoolArray:
        """``(n_months,)``: months from ``start`` to ``end`` inclusive (None = open)."""
        lo = month_index(start) if start else -(10**9)
        hi = month_index(end) if end else 10**9
        return (self.months >= lo) & (self.months <= hi)

    def windows(self, items: Sequence[Any]) -> BoolArray:
        """``(n_months, n_items)``: column ``j`` is :meth:`window` of ``items[j]``."""
        lo = np.array([month_index(i.start) if i.start else -(10**9) for i in items], np.int64)
        hi = np.array([month_index(i.end) if i.end else 10**9 for i in items], np.int64)
        return (self.months[:, None] >= lo) & (self.months[:, None] <= hi)


def make_frame(market: Market, months: Sequence[str], shocks: Sequence[Shock]) -> Frame:
    """The frame of ``market`` over ``months`` with the shocks that name it (or every market)."""
    codes = np.array([month_index(m) for m in months], dtype=np.int64)
    products = market.product_ids()
    regions = list(dict.fromkeys(market.region_list()))
    return Frame(
        market=market,
        months=codes,
        labels=[month_label(int(m)) for m in codes],
        regions=regions,
        products=products,
        shocks=[s for s in shocks if s.mineral in (None, market.mineral)],
        nodes=NodeNumbering(len(products)),
    )


# --- one step per kind ------------------------------------------------------------------------


@dataclass
class Blocks:
    """Supply blocks, demand bids or conversions: one column each, a monthly bound matrix."""

    node: IntArray  # the node a block feeds (supply, conversion output) or draws from (demand)
    region: IntArray  # region code of ``node``
    product: IntArray  # product code of ``node``
    price: FloatArray  # cost (supply, conversion) or willingness to pay (demand), usd_per_t
    qty: FloatArray  # (n_months, n) t per month
    name: list[str]


def define_supply(frame: Frame, blocks: Sequence[SupplyBlock]) -> Blocks:
    """Supply blocks: capacity ``qty_t_per_month`` within each block's dates, 0 outside."""
    single = frame.products[0] if len(frame.products) == 1 else None
    region = np.array([frame.region(b.region) for b in blocks], dtype=np.int64)
    product = np.array([frame.product(b.product) for b in blocks], dtype=np.int64)
    qty = np.array([b.qty_t_per_month for b in blocks], dtype=float)
    return Blocks(
        node=frame.nodes.number_all(region, product),
        region=region,
        product=product,
        price=np.array([b.cost_usd_per_t for b in blocks], dtype=float),
        qty=qty * frame.windows(blocks),
        name=[
            b.name or f"{b.region} {b.product or single} supply {j}" for j, b in enumerate(blocks)
        ],
    )


def define_demand(frame: Frame) -> tuple[Blocks, BoolArray]:
    """Demand bids with growth ``(1 + growth_per_year) ** (years since base_month)`` (base:
    the market's ``base_month``, else the first month), within each bid's dates; and which
    bids are critical."""
    bids = frame.market.demand
    single = frame.products[0] if len(frame.products) == 1 else None
    region = np.array([frame.region(b.region) for b in bids], dtype=np.int64)
    product = np.array([frame.product(b.product) for b in bids], dtype=np.int64)
    base_month = frame.market.base_month
    base = month_index(base_month) if base_month else int(frame.months[0]) if frame.n_months else 0
    years = (frame.months - base) / 12.0
    rate = np.array([b.growth_per_year for b in bids], dtype=float)
    qty = np.array([b.qty_t_per_month for b in bids], dtype=float)
    growth = (1.0 + rate)[None, :] ** years[:, None]
    demand = Blocks(
        node=frame.nodes.number_all(region, product),
        region=region,
        product=product,
        price=np.array([b.wtp_usd_per_t for b in bids], dtype=float),
        qty=qty * growth * frame.windows(bids),
        name=[b.name or f"{b.region} {b.product or single} demand {j}" for j, b in enumerate(bids)],
    )
    return demand, np.array([b.critical for b in bids], dtype=bool)


def define_conversions(frame: Frame) -> tuple[Blocks, IntArray, FloatArray]:
    """Conversions (a stage: input product -> output product in one region), capacity in t of
    output within their dates: ``(blocks at the output node, input node, t input per t)``.
    Every input node is numbered before every output node."""
    conv = frame.market.conversions
    region = np.array([frame.region(c.region) for c in conv], dtype=np.int64)
    p_in = np.array([frame.product(c.input) for c in conv], dtype=np.int64)
    p_out = np.array([frame.product(c.output) for c in conv], dtype=np.int64)
    node_in = frame.nodes.number_all(region, p_in)
    node_out = frame.nodes.number_all(region, p_out)
    qty = np.array([c.qty_t_per_month for c in conv], dtype=float)
    blocks = Blocks(
        node=node_out,
        region=region,
        product=p_out,
        price=np.array([c.cost_usd_per_t for c in conv], dtype=float),
        qty=qty * frame.windows(conv),
        name=[c.name or f"{c.region} {c.input}->{c.output}" for c in conv],
    )
    return blocks, node_in, np.array([c.input_t_per_t for c in conv], dtype=float)


@dataclass
class Routes:
    """Routes (exporter -> importer, one product): region and product codes, transport cost,
    and the end nodes."""

    exporter: IntArray
    importer: IntArray
    product: IntArray
    transport: FloatArray  # usd_per_t
    from_node: IntArray
    to_node: IntArray

    def __len__(self) -> int:
        return len(self.product)

    def select(
        self,
        exporters: Sequence[str] | None,
        importers: Sequence[str] | None,
        products: Sequence[str] | None,
        frame: Frame,
    ) -> BoolArray:
        """Routes from any of ``exporters`` to any of ``importers`` carrying any of
        ``products`` (None = any; names not in the market match nothing)."""
        mask = np.ones(len(self), dtype=bool)
        for names, codes, known in (
            (exporters, self.exporter, frame.regions),
            (importers, self.importer, frame.regions),
            (products, self.product, frame.products),
        ):
            if names is not None:
                mask &= np.isin(codes, [known.index(n) for n in names if n in known])
        return mask


#: float arrays of months x routes a solved chain may hold at once: the specific and
#: ad-valorem tariffs and the ban bounds (when the chain has tariffs or bans), the flows and
#: the tariff and instrument wedges of the run, and the series' route columns (issue 13)
_ROUTE_ARRAYS = 8
#: float arrays of months x nodes: prices, the node table's ~15 variables, the series frame
_NODE_ARRAYS = 40
#: the LP of one month: HiGHS's copy of the columns, rows and ~3 non-zeros a route (bytes)
_LP_BYTES_PER_ROUTE = 200


def memory_estimate(market: Market, n_months: int) -> float:
    """Bytes a run of ``market`` over ``n_months`` may hold at once, counted from the spec
    without compiling it: an upper bound, so that a valid but enormous chain (hundreds of
    regions, every route between them, a century of months) is refused before it fills the
    machine's memory. The routes dominate: one per ordered region pair and product with a
    default cost, ``_ROUTE_ARRAYS`` month arrays each."""
    n_regions = len(market.region_list())
    products = market.product_ids()
    default = market.default_route_cost_usd_per_t
    priced = (
        0
        if default is None
        else sum(1 for p in products if default.get(p) is not None)
        if isinstance(default, dict)
        else len(products)
    )
    routes = priced * n_regions * max(n_regions - 1, 0)
    routes += sum(1 if r.product else len(products) for r in market.routes)
    nodes = len(products) * n_regions
    blocks = len(market.supply) + len(market.demand) + len(market.conversions)
    # a demand curve becomes price steps within its tolerance (critmin.market.curves): ~64
    blocks += 64 * len(market.demand_curves) + 256 * len(market.from_dataset)
    per_month = 8.0 * (_ROUTE_ARRAYS * routes + _NODE_ARRAYS * nodes + 6 * blocks)
    return n_months * per_month + _LP_BYTES_PER_ROUTE * (routes + blocks)


def define_routes(frame: Frame) -> Routes:
    """Default routes for every ordered pair of distinct regions, per product with a default
    cost (product, exporter, importer order), then the explicit routes: a stated pair
    overrides its default cost in place, a new one is appended. Numbers the route nodes
    (every exporter's node, then every importer's)."""
    market, products = frame.market, frame.products
    default = market.default_route_cost_usd_per_t
    by_key: dict[tuple[int, int, int], float] = {}  # (exporter, importer, product) -> cost
    if default is not None:
        n_u = len(frame.regions)
        pairs = [(a, b) for a in range(n_u) for b in range(n_u) if a != b]
        for p, name in enumerate(products):
            cost = default.get(name) if isinstance(default, dict) else default
            if cost is not None:
                by_key.update({(a, b, p): float(cost) for a, b in pairs})
    for r in market.routes:
        for name in [r.product] if r.product else products:
            by_key[(frame.region(r.from_), frame.region(r.to), frame.product(name))] = (
                r.cost_usd_per_t
            )
    keys = np.array(list(by_key), dtype=np.int64).reshape(-1, 3)
    exporter, importer, product = keys[:, 0], keys[:, 1], keys[:, 2]
    ends = frame.nodes.number_all(
        np.concatenate([exporter, importer]), np.concatenate([product, product])
    )
    return Routes(
        exporter=exporter,
        importer=importer,
        product=product,
        transport=np.array(list(by_key.values()), dtype=float),
        from_node=ends[: len(product)],
        to_node=ends[len(product) :],
    )


def define_tariffs(frame: Frame, routes: Routes) -> tuple[FloatArray, FloatArray]:
    """``(specific usd_per_t, ad-valorem rate)``, each ``(n_months, n_routes)``: the sum of
    every tariff in force on a route in a month. Parties are regions, lists, ``"*"`` or
    catalog blocs (membership on the first month)."""
    market = frame.market
    shape = (frame.n_months, len(routes))
    if not market.tariffs:
        return month_constant(np.zeros(len(routes)), shape), month_constant(
            np.zeros(len(routes)), shape
        )
    specific = np.zeros(shape)
    ad_valorem = np.zeros(shape)
    on = frame.labels[0] if frame.n_months else None
    for i, t in enumerate(market.tariffs):
        where = f"market {market.mineral!r} tariffs[{i}]"
        importers = resolve_parties(t.importer, frame.regions, f"{where}.importer", on)
        exporters = resolve_parties(t.exporter, frame.regions, f"{where}.exporter", on)
        mask = routes.select(
            exporters, importers, None if t.product is None else [t.product], frame
        )
        in_force = frame.window(t.start, t.end)[:, None] & mask[None, :]
        specific += in_force * t.specific_usd_per_t
        ad_valorem += in_force * t.ad_valorem
    return specific, ad_valorem


def define_bans(frame: Frame, routes: Routes) -> FloatArray:
    """``(n_months, n_routes)`` route upper bounds: 0 where a ban (the market's or an
    ``export_ban`` shock's) is in force, unbounded elsewhere."""
    bans = [*frame.market.export_bans, *frame.shocks]
    shape = (frame.n_months, len(routes))
    if not any(isinstance(b, ExportBan | ExportBanShock) for b in bans):
        return month_constant(np.full(len(routes), INF), shape)
    upper = np.full(shape, INF)
    apply_bans(frame, routes, bans, upper)
    return upper


def month_constant(row: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """A ``(n_months, n)`` array whose every month is ``row``, without the memory: a read-only
    broadcast view. A chain with no tariff or ban (the usual case) holds three route arrays
    of months x routes; a 200-region chain over 600 months has 79,600 routes, ~380 MB each.
    Callers read rows (``a[t]``) and never write in place (a write raises)."""
    return np.broadcast_to(row, shape)


def apply_bans(
    frame: Frame, routes: Routes, bans: Sequence[ExportBan | Shock], upper: FloatArray
) -> None:
    """Set ``upper`` to 0 on the routes each ban (``ExportBan`` or ``export_ban`` shock; other
    shocks are skipped) closes in its months. A ban naming an exporter outside the market
    does nothing."""
    for ban in bans:
        if not isinstance(ban, ExportBan | ExportBanShock) or ban.exporter not in frame.regions:
            continue
        products = [ban.product] if isinstance(ban.product, str) else ban.product
        mask = routes.select([ban.exporter], ban.to, products, frame)
        upper[frame.window(ban.start, ban.end)[:, None] & mask[None, :]] = 0.0


def define_quotas(frame: Frame, routes: Routes) -> tuple[list[IntArray], FloatArray]:
    """Export quotas: the routes each covers and its ``(n_months, n_quotas)`` limit in t per
    month (unbounded outside its dates)."""
    quotas = frame.market.export_quotas
    members: list[IntArray] = []
    upper = np.full((frame.n_months, len(quotas)), INF)
    for j, q in enumerate(quotas):
        product = q.product or frame.products[0]
        mask = routes.select([q.exporter], q.to, [product], frame)
        members.append(np.flatnonzero(mask).astype(np.int64))
        upper[frame.window(q.start, q.end), j] = q.qty_t_per_month
    return members, upper


def _matches(blocks: Blocks, frame: Frame, region: str | None, product: str | None) -> BoolArray:
    """Which blocks sit at a node of ``region`` and ``product`` (None = any; unknown names
    match nothing)."""
    sel = np.ones(len(blocks.node), dtype=bool)
    if region is not None:
        sel &= blocks.region == (frame.region(region) if region in frame.regions else -1)
    if product is not None:
        sel &= blocks.product == (frame.product(product) if product in frame.products else -1)
    return sel


def apply_outages(frame: Frame, supply: Blocks, conversions: Blocks) -> None:
    """Outage shocks: capacity of the supply blocks and conversions (by output node) of a
    region (and product, and block name) times ``1 - share`` in the shock's months."""
    for shock in frame.shocks:
        if not isinstance(shock, OutageShock) or shock.region not in frame.regions:
            continue
        in_force = frame.window(shock.start, shock.end)
        for blocks in (supply, conversions):
            sel = _matches(blocks, frame, shock.region, shock.product)
            if shock.block is not None:
                sel &= np.array([name == shock.block for name in blocks.name], dtype=bool)
            blocks.qty[np.ix_(in_force, sel)] *= 1.0 - shock.share


def apply_demand_surges(frame: Frame, demand: Blocks) -> None:
    """Demand surge shocks: bids of a region (None = every region) and product times
    ``1 + share`` in the shock's months; a surge naming a region outside the market does
    nothing."""
    for shock in frame.shocks:
        if not isinstance(shock, DemandSurgeShock):
            continue
        if shock.region is not None and shock.region not in frame.regions:
            continue
        sel = _matches(demand, frame, shock.region, shock.product)
        demand.qty[np.ix_(frame.window(shock.start, shock.end), sel)] *= 1.0 + shock.share


def compile_market(
    market: Market, months: Sequence[str], shocks: Sequence[Shock] = ()
) -> CompiledMarket:
    """Resolve one market over ``months`` (labels ``YYYY-MM``) with the given shocks."""
    frame = make_frame(market, months, shocks)
    supply_blocks = list(market.supply)
    for ds in market.from_dataset:
        supply_blocks.extend(dataset_supply(ds, ds.product or frame.products[0]))
    for b in supply_blocks:  # dataset regions the market does not name
        if b.region not in frame.regions:
            frame.regions.append(b.region)
    # the order of these steps is the order nodes are numbered in
    supply = define_supply(frame, supply_blocks)
    demand, critical = define_demand(frame)
    conversions, k_in_node, k_input = define_conversions(frame)
    routes = define_routes(frame)
    specific, ad_valorem = define_tariffs(frame, routes)
    r_upper = define_bans(frame, routes)
    q_routes, q_upper = define_quotas(frame, routes)
    apply_outages(frame, supply, conversions)
    apply_demand_surges(frame, demand)
    node_region, node_product = frame.nodes.region_product()
    return CompiledMarket(
        mineral=market.mineral,
        products=frame.products,
        stages=[p.stage for p in market.product_defs()],
        regions=frame.regions,
        months=frame.months,
        node_region=node_region,
        node_product=node_product,
        s_node=supply.node,
        s_cost=supply.price,
        s_cap=supply.qty,
        s_name=supply.name,
        d_node=demand.node,
        d_wtp=demand.price,
        d_qty=demand.qty,
        d_critical=critical,
        d_name=demand.name,
        k_in_node=k_in_node,
        k_out_node=conversions.node,
        k_input_t_per_t=k_input,
        k_cost=conversions.price,
        k_cap=conversions.qty,
        k_name=conversions.name,
        r_from_node=routes.from_node,
        r_to_node=routes.to_node,
        r_transport=routes.transport,
        r_specific=specific,
        r_ad_valorem=ad_valorem,
        r_upper=r_upper,
        q_routes=q_routes,
        q_upper=q_upper,
        reexport=market.reexport,
        _cited=(market, supply_blocks),
        _labels=frame.labels,
    )


def apply_shocks(cm: CompiledMarket, shocks: Sequence[Shock]) -> CompiledMarket:
    """``cm`` with more shocks, without compiling again: the same steps as
    :func:`compile_market` (bans, then outages, then demand surges) on copies of its arrays;
    shocks for another mineral are skipped. Equal to compiling with the market's shocks
    followed by ``shocks``, bit for bit (``tests/market/test_variants.py``)."""
    market = Market(mineral=cm.mineral)  # the steps below read no market field
    frame = Frame(
        market=market,
        months=cm.months,
        labels=cm.month_labels(),
        regions=list(cm.regions),
        products=list(cm.products),
        shocks=[s for s in shocks if s.mineral in (None, cm.mineral)],
        nodes=NodeNumbering(len(cm.products)),
    )
    routes = Routes(
        exporter=cm.node_region[cm.r_from_node],
        importer=cm.node_region[cm.r_to_node],
        product=cm.node_product[cm.r_from_node],
        transport=cm.r_transport,
        from_node=cm.r_from_node,
        to_node=cm.r_to_node,
    )
    r_upper = cm.r_upper.copy()
    apply_bans(frame, routes, frame.shocks, r_upper)
    supply = _compiled_blocks(cm, cm.s_node, cm.s_cost, cm.s_cap, cm.s_name)
    conversions = _compiled_blocks(cm, cm.k_out_node, cm.k_cost, cm.k_cap, cm.k_name)
    demand = _compiled_blocks(cm, cm.d_node, cm.d_wtp, cm.d_qty, cm.d_name)
    apply_outages(frame, supply, conversions)
    apply_demand_surges(frame, demand)
    return dataclasses.replace(
        cm, s_cap=supply.qty, k_cap=conversions.qty, d_qty=demand.qty, r_upper=r_upper
    )


def _compiled_blocks(
    cm: CompiledMarket, node: IntArray, price: FloatArray, qty: FloatArray, name: list[str]
) -> Blocks:
    """A compiled block kind as :class:`Blocks` (quantities copied: the shocks scale them)."""
    return Blocks(
        node=node,
        region=cm.node_region[node],
        product=cm.node_product[node],
        price=price,
        qty=qty.copy(),
        name=name,
    )


def resolve_parties(
    value: str | list[str], regions: Sequence[str], where: str, on: str | None = None
) -> list[str]:
    """Regions named by a tariff party: ``"*"``, a region, a list, or a catalog bloc id
    (members on month ``on``, ``YYYY-MM``)."""
    from critmin.catalog import blocs

    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if item == "*":
            out.extend(regions)
        elif item in regions:
            out.append(item)
        else:
            # only "no such bloc" means "not a bloc"; a broken bloc table must not read as one
            try:
                members = blocs.members(item, on=f"{on}-01" if on else None)
            except UnknownNameError:
                raise InputError(
                    f"{item!r} is neither a region of this market {list(regions)} "
                    f"nor a known bloc ({', '.join(b.id for b in blocs.list_blocs())})",
                    where=where,
                ) from None
            out.extend(r for r in regions if r in members)
    return list(dict.fromkeys(out))


def dataset_supply(ds: DatasetSupply, product: str) -> list[SupplyBlock]:
    """Supply blocks from the catalog production table (annual quantity x content share)."""
    try:
        from critmin.catalog import production  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise InputError(
            "from_dataset needs critmin.catalog.production, which is not available; "
            "state the supply blocks explicitly",
            where="from_dataset",
        ) from exc
    table = production.production(ds.mineral, stage=ds.stage, year=ds.year)
    qty_by_region: dict[str, float] = {}
    for row in table.itertuples():
        iso3 = str(row.country_iso3)
        qty = float(row.qty)  # type: ignore[arg-type]
        if not np.isfinite(qty) or qty <= 0:
            continue
        region = (ds.regions or {}).get(iso3, iso3 if ds.regions is None else ds.other)
        if region is None:
            continue
        qty_by_region[region] = qty_by_region.get(region, 0.0) + qty * ds.content_share
    origin = str(table["source"].iloc[0]) if "source" in table and len(table) else "catalog"
    source = ds.source or (
        f"{origin} via critmin.catalog.production({ds.mineral!r}, {ds.stage!r}, {ds.year})"
        f" x content share {ds.content_share:g}"
    )
    return [
        SupplyBlock(
            region=region,
            product=product,
            qty_t_per_year=qty,
            cost_usd_per_t=ds.cost_usd_per_t,
            name=f"{region} {ds.mineral} {ds.stage} {ds.year}",
            source=source,
            estimate=ds.estimate,
        )
        for region, qty in qty_by_region.items()
    ]


def market_assumptions(market: Market, supply: Sequence[SupplyBlock]) -> list[dict[str, Any]]:
    """Every cited number of a market, as summary.json ``assumptions`` rows."""
    rows: list[dict[str, Any]] = []
    mk = market.mineral

    def add(item: str, value: str, unit: str, source: str | None, estimate: bool) -> None:
        if source is None and not estimate:
            return
        rows.append(
            {
                "item": f"{mk}: {item}",
                "value": value,
                "unit": unit,
                "source": source or "",
                "estimate": estimate,
            }
        )

    for b in supply:
        qty = b.qty_t_per_year if b.qty_t_per_year is not None else b.qty_t
        unit = "t/yr" if b.qty_t_per_year is not None else "t/month"
        label = b.name or f"{b.region} {b.product or mk} supply"
        add(f"{label} capacity", f"{qty:g}", unit, b.source, b.estimate)
        add(f"{label} cost", f"{b.cost_usd_per_t:g}", "usd_per_t", b.source, b.estimate)
    for d in market.demand:
        if d.curve is not None:
            continue  # a curve's steps: the curve's own rows below say where they come from
        qty = d.qty_t_per_year if d.qty_t_per_year is not None else d.qty_t
        unit = "t/yr" if d.qty_t_per_year is not None else "t/month"
        label = d.name or f"{d.region} {d.product or mk} demand"
        add(f"{label} quantity", f"{qty:g}", unit, d.source, d.estimate)
        add(
            f"{label} willingness to pay", f"{d.wtp_usd_per_t:g}", "usd_per_t", d.source, d.estimate
        )
        if d.growth_per_year:
            add(f"{label} growth", f"{d.growth_per_year:g}", "per year", d.source, d.estimate)
    if market.demand_curves:
        from critmin.market.curves import curve_assumptions

        for row in curve_assumptions(market.demand_curves):
            add(*row)
    for c in market.conversions:
        qty = c.qty_t_per_year if c.qty_t_per_year is not None else c.qty_t
        unit = "t/yr" if c.qty_t_per_year is not None else "t/month"
        label = c.name or f"{c.region} {c.input}->{c.output}"
        add(f"{label} capacity", f"{qty:g}", unit, c.source, c.estimate)
        add(f"{label} input", f"{c.input_t_per_t:g}", "t input per t output", c.source, c.estimate)
        add(f"{label} cost", f"{c.cost_usd_per_t:g}", "usd_per_t", c.source, c.estimate)
    for r in market.routes:
        add(f"route {r.from_}->{r.to}", f"{r.cost_usd_per_t:g}", "usd_per_t", r.source, r.estimate)
    default = market.default_route_cost_usd_per_t
    if default is not None:
        costs = default if isinstance(default, dict) else {"every product": default}
        for prod, cost in costs.items():
            add(
                f"default route cost {prod}",
                f"{cost:g}",
                "usd_per_t",
                market.default_route_source,
                market.default_route_estimate,
            )
    for t in market.tariffs:
        label = f"tariff {t.exporter}->{t.importer} {t.product or 'all products'}"
        value = f"specific {t.specific_usd_per_t:g} usd_per_t, ad valorem {t.ad_valorem:g}"
        add(label, value, "", t.source, t.estimate)
    return rows
