"""Compile a :class:`~critmin.market.spec.Market` + shocks + months into arrays.

Everything that depends on the month (capacities under schedules and outages, demand under
growth and surges, route bounds under bans, specific and ad-valorem tariffs, quota limits) is
resolved here once, vectorised over months, as ``(n_months, n_items)`` matrices. The monthly
loop then only pushes rows of these matrices to the solver.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.errors import InputError, UnknownNameError
from critmin.market.spec import (
    DatasetSupply,
    DemandBlock,
    DemandSurgeShock,
    ExportBan,
    ExportBanShock,
    ExportQuota,
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


def _window(months: IntArray, start: str | None, end: str | None) -> BoolArray:
    lo = month_index(start) if start else -(10**9)
    hi = month_index(end) if end else 10**9
    return (months >= lo) & (months <= hi)


def _windows(months: IntArray, items: Sequence[Any]) -> BoolArray:
    """``(n_months, n_items)``: column ``j`` is :func:`_window` of ``items[j]``'s start/end."""
    lo = np.array([month_index(i.start) if i.start else -(10**9) for i in items], np.int64)
    hi = np.array([month_index(i.end) if i.end else 10**9 for i in items], np.int64)
    return (months[:, None] >= lo) & (months[:, None] <= hi)


def _member(codes: IntArray, wanted: Sequence[int], n: int) -> BoolArray:
    """``np.isin(codes, wanted)`` for codes in ``0..n-1`` (a lookup table: ~1 us, not ~30)."""
    table = np.zeros(n, dtype=bool)
    table[list(wanted)] = True
    return table[codes]


def resolve_parties(
    value: str | list[str], regions: Sequence[str], where: str, on: str | None = None
) -> list[str]:
    """Regions named by a tariff party: ``"*"``, a region, a list, or a catalog bloc id."""
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if item == "*":
            out.extend(regions)
        elif item in regions:
            out.append(item)
        else:
            members = _bloc_members(item, on)
            if members is None:
                raise InputError(
                    f"{item!r} is neither a region of this market {list(regions)} "
                    "nor a known bloc (forge, usmca, eu27, feoc)",
                    where=where,
                )
            out.extend(r for r in regions if r in members)
    return list(dict.fromkeys(out))


def _bloc_members(name: str, on: str | None) -> frozenset[str] | None:
    try:
        from critmin.catalog import blocs  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    try:
        when = f"{on}-01" if on else None
        return frozenset(blocs.members(name, on=when))
    except Exception:
        return None


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


@functools.lru_cache(maxsize=64)
def _month_codes(months: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Month indices of ``months`` and their ``YYYY-MM`` labels (a study compiles every chain
    of a scenario, and every scenario, over the same months)."""
    codes = tuple(month_index(m) for m in months)
    return codes, tuple(month_label(i) for i in codes)


@functools.lru_cache(maxsize=256)
def _window_at(codes: tuple[int, ...], start: str | None, end: str | None) -> BoolArray:
    """Read-only :func:`_window` of the months ``codes`` (tariffs, bans, quotas and shocks
    of a study share a few windows)."""
    out = _window(np.array(codes, dtype=np.int64), start, end)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=256)
def _growth(codes: tuple[int, ...], base: int, rate: float) -> FloatArray:
    """Read-only growth factors ``(1 + rate) ** years since base`` at months ``codes``."""
    years = (np.array(codes, dtype=np.int64) - base) / 12.0
    out: FloatArray = (1.0 + rate) ** years
    out.flags.writeable = False
    return out


def _rows(row: FloatArray, n_m: int) -> FloatArray:
    """``(n_m, len(row))``: ``row`` repeated (a fresh array; ``row * True`` without a product)."""
    out = np.empty((n_m, len(row)))
    out[...] = row
    return out


@functools.lru_cache(maxsize=64)
def _default_routes(
    n_u: int, prods: tuple[int, ...], n_p: int
) -> tuple[IntArray, IntArray, IntArray, IntArray, tuple[int, ...]]:
    """Default routes between ``n_u`` distinct regions for products ``prods`` (product,
    exporter, importer order; exporter != importer), read-only: ``(exporter, importer,
    product, keys, first_keys)``. ``keys`` are the exporters' then the importers' node keys
    (region x n_p + product; right when no region repeats), ``first_keys`` the distinct keys
    in order of first appearance."""
    pair_a, pair_b = np.nonzero(~np.eye(n_u, dtype=bool))  # a outer, b inner, a != b
    k = len(prods)
    exp = np.tile(pair_a.astype(np.int64), k)
    imp = np.tile(pair_b.astype(np.int64), k)
    prod = np.repeat(np.array(prods, dtype=np.int64), len(pair_a))
    keys = np.concatenate([exp * n_p + prod, imp * n_p + prod])
    for arr in (exp, imp, prod, keys):
        arr.flags.writeable = False
    return exp, imp, prod, keys, _first_keys(keys)


def _first_keys(keys: IntArray) -> tuple[int, ...]:
    """The distinct values of ``keys`` in order of first appearance."""
    return tuple(dict.fromkeys(keys.tolist()))


def compile_market(
    market: Market, months: Sequence[str], shocks: Sequence[Shock] = ()
) -> CompiledMarket:
    """Resolve one market over ``months`` (labels ``YYYY-MM``) with the given shocks."""
    # (speed: this runs once per scenario x chain; it reads each block's fields once, in one
    # Python pass per block kind, and builds month matrices only where something is dated)
    codes, labels = _month_codes(tuple(months))
    m_idx = np.array(codes, dtype=np.int64)
    n_m = len(codes)
    pdefs = market.product_defs()
    products = [p.id for p in pdefs]
    stages = [p.stage for p in pdefs]
    n_p = len(products)
    single = products[0] if n_p == 1 else None
    supply_blocks = list(market.supply)
    for ds in market.from_dataset:
        supply_blocks.extend(dataset_supply(ds, ds.product or products[0]))
    regions = market.region_list()
    for b in supply_blocks:
        if b.region not in regions:
            regions.append(b.region)
    own = [s for s in shocks if s.mineral in (None, market.mineral)]

    # nodes: every (region, product) that something touches, keyed region x n_p + product
    # (region code = last position of the name in ``regions``), numbered in order of use
    node_ids: dict[int, int] = {}
    region_at = {r: i for i, r in enumerate(regions)}
    product_at = {p: i for i, p in enumerate(products)}
    fallback = single or products[0]
    number = node_ids.setdefault  # number(key, len(node_ids)): the node id of a key

    # supply blocks
    s_nodes: list[int] = []
    s_costs: list[float] = []
    s_qtys: list[float] = []
    s_name: list[str] = []
    dated = False
    for j, b in enumerate(supply_blocks):
        region, product = b.region, b.product
        s_nodes.append(
            number(region_at[region] * n_p + product_at[product or fallback], len(node_ids))
        )
        s_costs.append(b.cost_usd_per_t)
        s_qtys.append(b.qty_t_per_month)
        s_name.append(b.name or f"{region} {product or single} supply {j}")
        dated = dated or bool(b.start or b.end)
    s_node = np.array(s_nodes, dtype=np.int64)
    s_cost = np.array(s_costs, dtype=float)
    s_qty = np.array(s_qtys, dtype=float)
    s_cap = s_qty * _windows(m_idx, supply_blocks) if dated else _rows(s_qty, n_m)

    # demand bids with growth
    dem: list[DemandBlock] = list(market.demand)
    d_nodes: list[int] = []
    d_wtps: list[float] = []
    d_qtys: list[float] = []
    d_crit: list[bool] = []
    d_name = []
    rate_col: dict[float, int] = {}  # bids share a few growth rates
    d_col: list[int] = []
    dated = False
    for j, db in enumerate(dem):
        region, product = db.region, db.product
        d_nodes.append(
            number(region_at[region] * n_p + product_at[product or fallback], len(node_ids))
        )
        d_wtps.append(db.wtp_usd_per_t)
        d_qtys.append(db.qty_t_per_month)
        d_crit.append(db.critical)
        d_name.append(db.name or f"{region} {product or single} demand {j}")
        d_col.append(rate_col.setdefault(db.growth_per_year, len(rate_col)))
        dated = dated or bool(db.start or db.end)
    d_node = np.array(d_nodes, dtype=np.int64)
    d_wtp = np.array(d_wtps, dtype=float)
    d_base = np.array(d_qtys, dtype=float)
    d_critical = np.array(d_crit, dtype=bool)
    if rate_col:
        base = month_index(market.base_month) if market.base_month else codes[0] if n_m else 0
        if len(rate_col) == 1:
            growth = _growth(codes, base, next(iter(rate_col)))[:, None]
        else:
            rates = np.empty((n_m, len(rate_col)))
            for rate, col in rate_col.items():
                rates[:, col] = _growth(codes, base, rate)
            growth = rates[:, d_col]
        d_qty = d_base * growth
        if dated:
            d_qty = d_qty * _windows(m_idx, dem)
    else:
        d_qty = np.empty((n_m, 0))

    # conversions
    conv = list(market.conversions)
    k_ins: list[int] = []
    k_outs: list[int] = []
    k_as: list[float] = []
    k_costs: list[float] = []
    k_qtys: list[float] = []
    k_name = []
    dated = False
    for c in conv:  # every input node first, then every output node (node numbering)
        k_ins.append(
            number(region_at[c.region] * n_p + product_at[c.input or fallback], len(node_ids))
        )
    for c in conv:
        region = c.region
        k_outs.append(
            number(region_at[region] * n_p + product_at[c.output or fallback], len(node_ids))
        )
        k_as.append(c.input_t_per_t)
        k_costs.append(c.cost_usd_per_t)
        k_qtys.append(c.qty_t_per_month)
        k_name.append(c.name or f"{region} {c.input}->{c.output}")
        dated = dated or bool(c.start or c.end)
    k_in = np.array(k_ins, dtype=np.int64)
    k_out = np.array(k_outs, dtype=np.int64)
    k_a = np.array(k_as, dtype=float)
    k_cost = np.array(k_costs, dtype=float)
    k_qty = np.array(k_qtys, dtype=float)
    k_cap = k_qty * _windows(m_idx, conv) if dated else _rows(k_qty, n_m)

    # routes: defaults for every ordered pair of distinct regions, per product with a default
    # cost (product, exporter, importer order), then the explicit routes (a stated pair
    # overrides its default cost in place, a new one is appended)
    first_at: dict[str, int] = {}  # list.index semantics, should a region repeat
    for i, name in enumerate(regions):
        first_at.setdefault(name, i)
    uniq = list(first_at)  # regions without repeats, in first-appearance order
    plain = len(uniq) == len(regions)  # no repeats: u index == first index == node code
    default = market.default_route_cost_usd_per_t
    def_prods: list[int] = []
    def_costs: list[float] = []
    if default is not None:
        for pi, p in enumerate(products):
            cost = default.get(p) if isinstance(default, dict) else default
            if cost is not None:
                def_prods.append(pi)
                def_costs.append(float(cost))
    r_exp_u, r_imp_u, r_prod, keys, first_keys = _default_routes(len(uniq), tuple(def_prods), n_p)
    r_transport = np.repeat(np.array(def_costs, dtype=float), len(r_prod) // max(len(def_prods), 1))
    if market.routes:
        u_index = {name: i for i, name in enumerate(uniq)}
        exp_l, imp_l, prod_l = r_exp_u.tolist(), r_imp_u.tolist(), r_prod.tolist()
        cost_l = r_transport.tolist()
        at = {k: i for i, k in enumerate(zip(exp_l, imp_l, prod_l, strict=True))}
        for r in market.routes:
            for p in [r.product] if r.product else products:
                key = (u_index[r.from_], u_index[r.to], product_at[p])
                i = at.setdefault(key, len(cost_l))
                if i == len(cost_l):
                    exp_l.append(key[0])
                    imp_l.append(key[1])
                    prod_l.append(key[2])
                    cost_l.append(r.cost_usd_per_t)
                else:
                    cost_l[i] = r.cost_usd_per_t
        r_exp_u = np.array(exp_l, dtype=np.int64)
        r_imp_u = np.array(imp_l, dtype=np.int64)
        r_prod = np.array(prod_l, dtype=np.int64)
        r_transport = np.array(cost_l, dtype=float)
        if plain:
            keys = np.concatenate([r_exp_u * n_p + r_prod, r_imp_u * n_p + r_prod])
            first_keys = _first_keys(keys)
    n_r = len(r_prod)
    if plain:
        r_exp, r_imp = r_exp_u, r_imp_u
    else:
        u_first = np.array([first_at[name] for name in uniq], dtype=np.int64)
        u_code = np.array([region_at[name] for name in uniq], dtype=np.int64)  # node key codes
        r_exp = u_first[r_exp_u]
        r_imp = u_first[r_imp_u]
        keys = np.concatenate([u_code[r_exp_u] * n_p + r_prod, u_code[r_imp_u] * n_p + r_prod])
        first_keys = _first_keys(keys)
    # route nodes: new (region, product) pairs get ids in first-appearance order, all
    # exporters' nodes first, then all importers', as if numbered one by one
    for nk in first_keys:
        node_ids.setdefault(nk, len(node_ids))
    node_key = np.array(list(node_ids), dtype=np.int64)  # node keys in id order
    lut = np.empty(len(regions) * n_p, dtype=np.int64)
    lut[node_key] = np.arange(len(node_key))
    ends = lut[keys]
    r_from = ends[:n_r]
    r_to = ends[n_r:]
    if n_p == 1:  # (node_key // 1, node_key % 1)
        node_region, node_product = node_key, np.zeros(len(node_key), dtype=np.int64)
    else:
        node_region, node_product = np.divmod(node_key, n_p)

    # tariffs
    r_specific = np.zeros((n_m, n_r))
    r_adval = np.zeros((n_m, n_r))
    first = months[0] if n_m else None
    for i, t in enumerate(market.tariffs):
        where = f"market {market.mineral!r} tariffs[{i}]"
        imps = resolve_parties(t.importer, regions, f"{where}.importer", first)
        exps = resolve_parties(t.exporter, regions, f"{where}.exporter", first)
        mask = _member(r_imp, [regions.index(x) for x in imps], len(regions)) & _member(
            r_exp, [regions.index(x) for x in exps], len(regions)
        )
        if t.product:
            mask &= r_prod == products.index(t.product)
        win = _window_at(codes, t.start, t.end)[:, None] & mask[None, :]
        r_specific += win * t.specific_usd_per_t
        r_adval += win * t.ad_valorem

    # bans: market-level and shocks (a ban shock has the fields of its ExportBan)
    r_upper = np.full((n_m, n_r), INF)
    bans: list[ExportBan | ExportBanShock] = list(market.export_bans)
    bans += [s for s in own if isinstance(s, ExportBanShock)]
    for ban in bans:
        if ban.exporter not in regions:
            continue
        mask = r_exp == regions.index(ban.exporter)
        if ban.to is not None:
            mask &= _member(r_imp, [regions.index(x) for x in ban.to if x in regions], len(regions))
        if ban.product is not None:
            plist = [ban.product] if isinstance(ban.product, str) else ban.product
            wanted = [products.index(p) for p in plist if p in products]
            if len(set(wanted)) < n_p:  # (a ban of every product keeps the mask)
                mask &= _member(r_prod, wanted, n_p)
        r_upper[_window_at(codes, ban.start, ban.end)[:, None] & mask[None, :]] = 0.0

    # quotas
    quotas: list[ExportQuota] = list(market.export_quotas)
    q_routes: list[IntArray] = []
    q_upper = np.full((n_m, len(quotas)), INF)
    for j, q in enumerate(quotas):
        mask = r_exp == regions.index(q.exporter)
        if q.to is not None:
            mask &= _member(r_imp, [regions.index(x) for x in q.to], len(regions))
        mask &= r_prod == products.index(q.product or products[0])
        q_routes.append(np.flatnonzero(mask).astype(np.int64))
        win = _window_at(codes, q.start, q.end)
        q_upper[win, j] = q.qty_t_per_month

    # outages and demand surges
    for shock in own:
        if isinstance(shock, OutageShock):
            if shock.region not in regions:
                continue
            win = _window_at(codes, shock.start, shock.end)
            rg = regions.index(shock.region)
            for nodes, names, cap in ((s_node, s_name, s_cap), (k_out, k_name, k_cap)):
                sel = _node_sel(
                    node_region,
                    node_product,
                    nodes,
                    region=rg,
                    product=shock.product,
                    products=products,
                )
                if shock.block is not None:
                    sel &= np.array([nm == shock.block for nm in names], dtype=bool)
                cap[np.ix_(win, sel)] *= 1.0 - shock.share
        elif isinstance(shock, DemandSurgeShock):
            rg_opt = regions.index(shock.region) if shock.region in regions else None
            if shock.region is not None and rg_opt is None:
                continue
            win = _window_at(codes, shock.start, shock.end)
            sel = _node_sel(
                node_region,
                node_product,
                d_node,
                region=rg_opt,
                product=shock.product,
                products=products,
            )
            d_qty[np.ix_(win, sel)] *= 1.0 + shock.share

    return CompiledMarket(
        mineral=market.mineral,
        products=products,
        stages=stages,
        regions=regions,
        months=m_idx,
        node_region=node_region,
        node_product=node_product,
        s_node=s_node,
        s_cost=s_cost,
        s_cap=s_cap,
        s_name=s_name,
        d_node=d_node,
        d_wtp=d_wtp,
        d_qty=d_qty,
        d_critical=d_critical,
        d_name=d_name,
        k_in_node=k_in,
        k_out_node=k_out,
        k_input_t_per_t=k_a,
        k_cost=k_cost,
        k_cap=k_cap,
        k_name=k_name,
        r_from_node=r_from,
        r_to_node=r_to,
        r_transport=r_transport,
        r_specific=r_specific,
        r_ad_valorem=r_adval,
        r_upper=r_upper,
        q_routes=q_routes,
        q_upper=q_upper,
        reexport=market.reexport,
        _cited=(market, supply_blocks),
        _labels=list(labels),
    )


def _node_sel(
    node_region: IntArray,
    node_product: IntArray,
    nodes: IntArray,
    *,
    region: int | None,
    product: str | None,
    products: list[str],
) -> BoolArray:
    """Which of ``nodes`` are in ``region`` (code; None = any) and of ``product``."""
    sel = np.ones(len(nodes), dtype=bool)
    if region is not None:
        sel &= node_region[nodes] == region
    if product is not None:
        sel &= node_product[nodes] == (products.index(product) if product in products else -1)
    return sel


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


def clear_caches() -> None:
    """Forget the value-keyed caches of :func:`compile_market` (month codes, windows, growth
    factors, default routes), as in a fresh process; the benchmark calls it before every
    timed run so that cached pieces are not carried from one repeat to the next."""
    for cached in (_month_codes, _window_at, _growth, _default_routes):
        cached.cache_clear()
