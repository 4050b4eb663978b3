"""The fast ``compile_market`` equals, bit for bit, the simple version it replaced.

``_reference_compile`` below is ``compile_market`` as of commit fe0a774 (before the speed-up:
one numpy array per field, windows for every block, per-column growth, ``np.unique``
node numbering, ``ExportBan`` built from each ban shock). Random markets exercise every path
of the fast version: dated and undated blocks, ``qty_t`` and ``qty_t_per_year``, several
growth rates, no demand, repeated and extra regions, scalar / per-product / no default route
cost, explicit routes that override or add routes, tariffs, bans, quotas and the three kinds
of shock, over empty, short and shuffled month lists. Equality is exact: same dtype, same
shape, same values (NaN = NaN), same lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from critmin.market.compile import (
    INF,
    BoolArray,
    CompiledMarket,
    FloatArray,
    IntArray,
    _first_keys,
    _member,
    _node_sel,
    _window,
    compile_market,
    dataset_supply,
    resolve_parties,
)
from critmin.market.spec import (
    DemandBlock,
    DemandSurgeShock,
    ExportBan,
    ExportBanShock,
    ExportQuota,
    Market,
    OutageShock,
    Shock,
)
from critmin.periods import month_index, month_label


def _reference_windows(months: IntArray, items: Sequence[Any]) -> BoolArray:
    """``_windows`` as of commit fe0a774, verbatim."""
    lo = np.array([month_index(i.start) if i.start else -(10**9) for i in items], np.int64)
    hi = np.array([month_index(i.end) if i.end else 10**9 for i in items], np.int64)
    return (months[:, None] >= lo) & (months[:, None] <= hi)


def _reference_compile(
    market: Market, months: Sequence[str], shocks: Sequence[Shock] = ()
) -> CompiledMarket:
    """compile_market as it was before the speed-up (commit fe0a774), verbatim."""
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
    s_cap = s_qty * _reference_windows(m_idx, supply_blocks)
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
    d_qty = d_base * growth * _reference_windows(m_idx, dem)
    d_critical = np.array([db.critical for db in dem], dtype=bool)
    d_name = [b.name or f"{b.region} {b.product or single} demand {j}" for j, b in enumerate(dem)]

    # conversions
    conv = list(market.conversions)
    k_in = np.array([node(c.region, c.input) for c in conv], dtype=np.int64)
    k_out = np.array([node(c.region, c.output) for c in conv], dtype=np.int64)
    k_a = np.array([c.input_t_per_t for c in conv], dtype=float)
    k_cost = np.array([c.cost_usd_per_t for c in conv], dtype=float)
    k_cap = np.array([c.qty_t_per_month for c in conv], dtype=float) * _reference_windows(
        m_idx, conv
    )
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
    r_from, n_nodes = _reference_number(lut, u_code[r_exp_u] * n_p + r_prod, n_nodes)
    r_to, n_nodes = _reference_number(lut, u_code[r_imp_u] * n_p + r_prod, n_nodes)
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


def _reference_number(lut: IntArray, keys: IntArray, n_nodes: int) -> tuple[IntArray, int]:
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


POOL = ["A", "B", "C", "D", "E"]
MONTHS = [month_label(month_index("2025-10") + i) for i in range(30)]
QTY = st.sampled_from([0.0, 1.0, 7.5, 100.0, 1234.5, 1e6 / 3])
MONEY = st.sampled_from([0.0, 10.0, 99.5, 1500.0, 2e5 / 7])
SHOCKS: TypeAdapter[Shock] = TypeAdapter(Shock)


def _dated(draw: st.DrawFn) -> dict[str, str]:
    out = {}
    lo, hi = sorted(draw(st.lists(st.sampled_from(MONTHS), min_size=2, max_size=2)))
    if draw(st.integers(0, 2)) == 0:
        out["start"] = lo
    if draw(st.integers(0, 2)) == 0:
        out["end"] = hi
    return out


def _qty(draw: st.DrawFn) -> dict[str, float]:
    return {"qty_t" if draw(st.booleans()) else "qty_t_per_year": draw(QTY)}


@st.composite
def cases(draw: st.DrawFn) -> tuple[Market, list[str], list[Any]]:
    """A random market, a month list and shocks (see the module docstring)."""
    n_p = draw(st.integers(1, 3))
    products = ["ore", "oxide", "metal"][:n_p]
    regions = POOL[: draw(st.integers(1, 5))]
    prod = st.sampled_from([None, *products])
    doc: dict[str, Any] = {"mineral": "m"}
    if n_p > 1 or draw(st.booleans()):
        doc["products"] = [{"id": p, "stage": f"s{i}"} for i, p in enumerate(products)]
    else:
        doc["mineral"] = products[0]
        doc["stage"] = "mine"
    if draw(st.booleans()):  # explicit regions, sometimes with a repeat
        doc["regions"] = regions + ([regions[-1]] if draw(st.booleans()) else [])
    if draw(st.booleans()):
        doc["base_month"] = draw(st.sampled_from(MONTHS))
    supply_regions = regions + (["Z"] if "regions" in doc and draw(st.booleans()) else [])
    doc["supply"] = [
        {
            "region": draw(st.sampled_from(supply_regions)),
            "product": draw(prod),
            "cost_usd_per_t": draw(MONEY),
            **({"name": f"s{j}"} if draw(st.booleans()) else {}),
            **_qty(draw),
            **_dated(draw),
        }
        for j in range(draw(st.integers(0, 4)))
    ]
    doc["demand"] = [
        {
            "region": draw(st.sampled_from(regions)),
            "product": draw(prod),
            "wtp_usd_per_t": draw(MONEY),
            "critical": draw(st.booleans()),
            "growth_per_year": draw(st.sampled_from([0.0, 0.05, 0.06, -0.1, 0.031])),
            **_qty(draw),
            **_dated(draw),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    doc["conversions"] = [
        {
            "region": draw(st.sampled_from(regions)),
            "input": products[i],
            "output": products[i + 1],
            "input_t_per_t": draw(st.sampled_from([1.0, 1.3, 2.0])),
            "cost_usd_per_t": draw(MONEY),
            **({"name": f"k{j}"} if draw(st.booleans()) else {}),
            **_qty(draw),
            **_dated(draw),
        }
        for j in range(draw(st.integers(0, 3)) if n_p > 1 else 0)
        for i in [draw(st.integers(0, n_p - 2))]
    ]
    which = draw(st.integers(0, 2))
    if which == 1:
        doc["default_route_cost_usd_per_t"] = draw(MONEY)
    elif which == 2:
        doc["default_route_cost_usd_per_t"] = {
            p: draw(MONEY) for p in products if draw(st.booleans())
        }
    if len(regions) > 1:
        pair = st.lists(st.sampled_from(regions), min_size=2, max_size=2, unique=True)
        doc["routes"] = [
            {"from": a, "to": b, "product": draw(prod), "cost_usd_per_t": draw(MONEY)}
            for a, b in draw(st.lists(pair, max_size=4))
        ]
    # what follows names regions of the market (derived ones when no list is given)
    regions = Market.model_validate(doc).region_list()
    if not regions or ("regions" not in doc and draw(st.booleans())):
        regions = regions or ["A"]
        doc["regions"] = regions
    some = st.lists(st.sampled_from(regions), min_size=1, max_size=3, unique=True)
    party = st.one_of(st.just("*"), st.sampled_from(regions), some)
    doc["tariffs"] = [
        {
            "importer": draw(party),
            "exporter": draw(party),
            "product": draw(prod),
            "specific_usd_per_t": draw(MONEY),
            "ad_valorem": draw(st.sampled_from([0.0, 0.1, 0.25])),
            **_dated(draw),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    ban_product = st.one_of(prod, st.lists(st.sampled_from(products), min_size=1))
    to = st.one_of(st.none(), some)
    doc["export_bans"] = [
        {
            "exporter": draw(st.sampled_from([*regions, "Q"])),
            "product": draw(ban_product),
            "to": draw(to),
            **_dated(draw),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    doc["export_quotas"] = [
        {
            "exporter": draw(st.sampled_from(regions)),
            "product": draw(prod),
            "to": draw(to),
            **_qty(draw),
            **_dated(draw),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    market = Market.model_validate(doc)
    names = [b.name for b in market.supply] + [c.name for c in market.conversions]
    mineral = st.sampled_from([None, market.mineral, "other"])
    shocks = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["export_ban", "outage", "demand_surge"]))
        shock: dict[str, Any] = {"kind": kind, "mineral": draw(mineral), **_dated(draw)}
        if kind == "export_ban":
            shock |= {
                "exporter": draw(st.sampled_from([*regions, "Q"])),
                "product": draw(ban_product),
                "to": draw(to),
            }
        elif kind == "outage":
            shock |= {
                "region": draw(st.sampled_from([*regions, "Q"])),
                "product": draw(prod),
                "block": draw(st.sampled_from([None, *names])),
                "share": draw(st.sampled_from([0.25, 0.5, 1.0])),
            }
        else:
            shock |= {
                "region": draw(st.sampled_from([None, *regions, "Q"])),
                "product": draw(prod),
                "share": draw(st.sampled_from([-0.5, 0.2, 1.5])),
            }
        shocks.append(SHOCKS.validate_python(shock))
    start = draw(st.integers(0, len(MONTHS) - 1))
    months = MONTHS[start : start + draw(st.integers(0, 14))]
    if draw(st.booleans()):
        months = draw(st.permutations(months))
    return market, list(months), shocks


def _fields(cm: CompiledMarket) -> dict[str, Any]:
    out = {f.name: getattr(cm, f.name) for f in dataclasses.fields(cm) if f.name != "_cited"}
    out["assumptions"] = cm.assumptions
    out["month_labels"] = cm.month_labels()
    return out


def _assert_same(fast: CompiledMarket, ref: CompiledMarket) -> None:
    a, b = _fields(fast), _fields(ref)
    assert a.keys() == b.keys()
    for name, want in b.items():
        got = a[name]
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, name
            assert got.shape == want.shape, name
            assert np.array_equal(got, want, equal_nan=True), name
        elif name == "q_routes":
            assert len(got) == len(want), name
            for x, y in zip(got, want, strict=True):
                assert x.dtype == y.dtype, name
                assert np.array_equal(x, y), name
        else:
            assert got == want, name


@given(cases())
@settings(max_examples=300)
def test_fast_compile_equals_reference(case: tuple[Market, list[str], list[Any]]) -> None:
    market, months, shocks = case
    _assert_same(compile_market(market, months, shocks), _reference_compile(market, months, shocks))


@given(cases(), cases())
def test_caches_do_not_leak_between_compiles(
    first: tuple[Market, list[str], list[Any]], second: tuple[Market, list[str], list[Any]]
) -> None:
    """Compile one market, overwrite every array it returned (they must all be writable:
    no cached array is handed out), then compile another one and the first one again with
    the second's months and shocks: both still equal the reference."""
    cm = compile_market(*first)
    for value in _fields(cm).values():
        for arr in value if isinstance(value, list) else [value]:
            if isinstance(arr, np.ndarray) and arr.size:
                arr[...] = 7
    for market, months, shocks in (second, (first[0], second[1], second[2])):
        _assert_same(
            compile_market(market, months, shocks), _reference_compile(market, months, shocks)
        )


@given(st.lists(st.integers(0, 40), max_size=80))
def test_first_keys_in_order_of_first_appearance(keys_l: list[int]) -> None:
    """``_first_keys`` lists the distinct keys in order of first appearance (the order in
    which route nodes are numbered)."""
    keys = np.array(keys_l, dtype=np.int64)
    assert list(_first_keys(keys)) == [k for i, k in enumerate(keys_l) if k not in keys_l[:i]]
