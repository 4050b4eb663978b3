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


def compile_market(
    market: Market, months: Sequence[str], shocks: Sequence[Shock] = ()
) -> CompiledMarket:
    """Resolve one market over ``months`` (labels ``YYYY-MM``) with the given shocks."""
    m_idx = np.array([month_index(m) for m in months], dtype=np.int64)
    n_m = len(m_idx)
    pdefs = market.product_defs()
    products = [p.id for p in pdefs]
    stages = [p.stage for p in pdefs]
    single = products[0] if len(products) == 1 else None
    supply_blocks = list(market.supply)
    for ds in market.from_dataset:
        supply_blocks.extend(dataset_supply(ds, ds.product or products[0]))
    regions = market.region_list()
    for b in supply_blocks:
        if b.region not in regions:
            regions.append(b.region)
    own = [s for s in shocks if s.mineral in (None, market.mineral)]

    # nodes: every (region, product) that something touches
    node_ids: dict[tuple[int, int], int] = {}

    region_at = {r: i for i, r in enumerate(regions)}
    product_at = {p: i for i, p in enumerate(products)}

    def node(region: str, product: str | None) -> int:
        key = (region_at[region], product_at[product or single or products[0]])
        return node_ids.setdefault(key, len(node_ids))

    base = month_index(market.base_month) if market.base_month else int(m_idx[0]) if n_m else 0

    # supply blocks
    s_node = np.array([node(b.region, b.product) for b in supply_blocks], dtype=np.int64)
    s_cost = np.array([b.cost_usd_per_t for b in supply_blocks], dtype=float)
    s_qty = np.array([b.qty_t_per_month for b in supply_blocks], dtype=float)
    s_cap = s_qty * _windows(m_idx, supply_blocks)
    s_name = [
        b.name or f"{b.region} {b.product or single} supply {j}"
        for j, b in enumerate(supply_blocks)
    ]

    # demand bids with growth
    dem: list[DemandBlock] = list(market.demand)
    d_node = np.array([node(db.region, db.product) for db in dem], dtype=np.int64)
    d_wtp = np.array([db.wtp_usd_per_t for db in dem], dtype=float)
    years = (m_idx - base) / 12.0
    growth_of: dict[float, FloatArray] = {}  # bids share a few growth rates
    growth = np.empty((n_m, len(dem)))
    for j, db in enumerate(dem):
        g = growth_of.get(db.growth_per_year)
        if g is None:
            g = growth_of[db.growth_per_year] = (1.0 + db.growth_per_year) ** years
        growth[:, j] = g
    d_base = np.array([db.qty_t_per_month for db in dem], dtype=float)
    d_qty = d_base * growth * _windows(m_idx, dem)
    d_critical = np.array([db.critical for db in dem], dtype=bool)
    d_name = [b.name or f"{b.region} {b.product or single} demand {j}" for j, b in enumerate(dem)]

    # conversions
    conv = list(market.conversions)
    k_in = np.array([node(c.region, c.input) for c in conv], dtype=np.int64)
    k_out = np.array([node(c.region, c.output) for c in conv], dtype=np.int64)
    k_a = np.array([c.input_t_per_t for c in conv], dtype=float)
    k_cost = np.array([c.cost_usd_per_t for c in conv], dtype=float)
    k_cap = np.array([c.qty_t_per_month for c in conv], dtype=float) * _windows(m_idx, conv)
    k_name = [c.name or f"{c.region} {c.input}->{c.output}" for c in conv]

    # routes: defaults for every ordered pair of distinct regions, per product with a default
    # cost (product, exporter, importer order), then the explicit routes (a stated pair
    # overrides its default cost in place, a new one is appended)
    first_at: dict[str, int] = {}  # list.index semantics, should a region repeat
    for i, name in enumerate(regions):
        first_at.setdefault(name, i)
    uniq = list(first_at)  # regions without repeats, in first-appearance order
    u_index = {name: i for i, name in enumerate(uniq)}
    pair_a, pair_b = np.nonzero(~np.eye(len(uniq), dtype=bool))  # a outer, b inner, a != b
    exp_parts: list[IntArray] = []
    prod_parts: list[IntArray] = []
    cost_parts: list[FloatArray] = []
    imp_parts: list[IntArray] = []
    default = market.default_route_cost_usd_per_t
    if default is not None:
        for pi, p in enumerate(products):
            cost = default.get(p) if isinstance(default, dict) else default
            if cost is None:
                continue
            exp_parts.append(pair_a)
            imp_parts.append(pair_b)
            prod_parts.append(np.full(len(pair_a), pi, dtype=np.int64))
            cost_parts.append(np.full(len(pair_a), float(cost)))
    r_exp_u = np.concatenate([np.zeros(0, np.int64), *exp_parts]).astype(np.int64)
    r_imp_u = np.concatenate([np.zeros(0, np.int64), *imp_parts]).astype(np.int64)
    r_prod = np.concatenate([np.zeros(0, np.int64), *prod_parts]).astype(np.int64)
    r_transport = np.concatenate([np.zeros(0), *cost_parts])
    if market.routes:
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
    n_r = len(r_prod)
    u_first = np.array([first_at[name] for name in uniq], dtype=np.int64)
    u_code = np.array([region_at[name] for name in uniq], dtype=np.int64)  # as node() codes
    r_exp = u_first[r_exp_u]
    r_imp = u_first[r_imp_u]
    # route nodes: new (region, product) pairs get ids in first-appearance order, all
    # exporters' nodes first, then all importers', as node() would number them one by one
    n_p = len(products)
    lut = np.full(len(regions) * n_p, -1, dtype=np.int64)
    for (rg, pi), i in node_ids.items():
        lut[rg * n_p + pi] = i
    n_nodes = len(node_ids)
    r_from, n_nodes = _number(lut, u_code[r_exp_u] * n_p + r_prod, n_nodes)
    r_to, n_nodes = _number(lut, u_code[r_imp_u] * n_p + r_prod, n_nodes)
    node_key = np.empty(n_nodes, dtype=np.int64)
    known = np.flatnonzero(lut >= 0)
    node_key[lut[known]] = known
    node_region = node_key // n_p
    node_product = node_key % n_p

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
        win = _window(m_idx, t.start, t.end)[:, None] & mask[None, :]
        r_specific += win * t.specific_usd_per_t
        r_adval += win * t.ad_valorem

    # bans: market-level and shocks
    r_upper = np.full((n_m, n_r), INF)
    bans: list[ExportBan] = list(market.export_bans)
    bans += [s.as_ban() for s in own if isinstance(s, ExportBanShock)]
    for ban in bans:
        if ban.exporter not in regions:
            continue
        mask = r_exp == regions.index(ban.exporter)
        if ban.to is not None:
            mask &= _member(r_imp, [regions.index(x) for x in ban.to if x in regions], len(regions))
        if ban.product is not None:
            plist = [ban.product] if isinstance(ban.product, str) else ban.product
            mask &= _member(r_prod, [products.index(p) for p in plist if p in products], n_p)
        r_upper[_window(m_idx, ban.start, ban.end)[:, None] & mask[None, :]] = 0.0

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
        win = _window(m_idx, q.start, q.end)
        q_upper[win, j] = q.qty_t_per_month

    # outages and demand surges
    for shock in own:
        win = _window(m_idx, shock.start, shock.end)
        if isinstance(shock, OutageShock):
            if shock.region not in regions:
                continue
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
        _labels=[month_label(i) for i in m_idx.tolist()],
    )


def _number(lut: IntArray, keys: IntArray, n_nodes: int) -> tuple[IntArray, int]:
    """Node ids of ``keys`` (region code x n_products + product) through ``lut``; keys not
    numbered yet get ids ``n_nodes, n_nodes + 1, ...`` in order of first appearance.
    Returns (ids, new node count)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), n_nodes
    keys_u, first = np.unique(keys, return_index=True)
    new = lut[keys_u] < 0
    fresh = keys_u[new][np.argsort(first[new], kind="stable")]
    lut[fresh] = np.arange(n_nodes, n_nodes + len(fresh))
    return lut[keys], n_nodes + len(fresh)


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
        qty = d.qty_t_per_year if d.qty_t_per_year is not None else d.qty_t
        unit = "t/yr" if d.qty_t_per_year is not None else "t/month"
        label = d.name or f"{d.region} {d.product or mk} demand"
        add(f"{label} quantity", f"{qty:g}", unit, d.source, d.estimate)
        add(
            f"{label} willingness to pay", f"{d.wtp_usd_per_t:g}", "usd_per_t", d.source, d.estimate
        )
        if d.growth_per_year:
            add(f"{label} growth", f"{d.growth_per_year:g}", "per year", d.source, d.estimate)
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
