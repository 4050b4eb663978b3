"""The headline metrics of a scenario, declared once as data and typed.

A scenario's ``metrics`` (``summary.json``) come from three producers: the engine
(:func:`critmin.market.results.scenario_metrics`, with the physical-shortage figures of
:mod:`critmin.market.metrics`), each instrument's report (declared on its spec class,
``InstrumentSpec.headline``) and, when the study has a baseline, the comparison with it
(:func:`critmin.scenarios.compare.compare_to_baseline` and
:func:`critmin.market.metrics.compare_physical`). :data:`METRICS` declares the engine's and
the comparison's; :func:`headline_metrics` adds every registered instrument's.

:class:`HeadlineMetrics` has one typed field per declared figure of critmin's own producers,
written out (not generated from :data:`METRICS`) so that type checkers see them. A test
checks the fields against the declaration (names, required for the engine's figures only,
types against units) and every figure the shipped scenarios write against both, so a
renamed metric fails a test instead of drifting into ``other``. An instrument's per-product
figures keep their flat ``summary.json`` keys, one per product
(``stock_releases_t_ndfeb_magnet``, which a sweep names as its metric), and are one typed
mapping by product (``stock_releases_t_by_product``, typed :data:`FlatByProduct`); the key
comes from that name by one rule (``stock_releases_t_{product}``:
:func:`~critmin.policy.instrument.flat_key_pattern`), which the declaration
(``declare_per_product``, ``HeadlineMetric.key``) uses too. A tonne total of floors or
settled contracts (``floor_kept_t``) is one number while they count one product; on several
products it is None and its split (``floor_kept_t_by_product``, one ``summary.json`` key
holding ``{product: t}``; :func:`~critmin.policy.instrument.declare_tonnes`) is a typed
field too. Figures nobody declared (a plug-in instrument's, an older summary's totals) stay
readable through ``other`` and ``metrics[name]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, get_type_hints

from critmin.policy.instrument import (
    REGISTRY,
    HeadlineMetric,
    declare_metrics,
    flat_key_pattern,
)

#: what marks a figure written flat (below)
_FLAT = "written flat in summary.json, one key per product"
#: the type of an instrument's per-product figure written flat in ``summary.json``, one key
#: per product: the field ``<stem>_by_product`` holds the keys ``<stem>_<product>``
#: (:func:`~critmin.policy.instrument.flat_key_pattern`, as ``declare_per_product`` declares
#: them); to a type checker, ``dict[str, float] | None``
FlatByProduct = Annotated[dict[str, float] | None, _FLAT]

#: the engine's figures (every scenario has them), then the comparison's (only with a baseline)
METRICS: tuple[HeadlineMetric, ...] = (
    *declare_metrics(
        "engine",
        ("avg_price_usd_per_t", "usd_per_t", "mean node price by product/stage/region"),
        ("peak_price_usd_per_t", "usd_per_t", "highest node price by product/stage/region"),
        ("tariff_revenue_usd", "usd", "(specific + ad-valorem wedge) x flow"),
        ("consumer_surplus_usd", "usd", "sum of (wtp - price) x consumed"),
        ("producer_surplus_usd", "usd", "supply and conversion margins"),
        ("non_converged_months", "months", "months whose instruments did not converge"),
        ("product_basis", "text", "what a tonne of each product counts"),
        ("physical_shortage_t_by_product", "t", "demand no allowed price could serve"),
        ("physical_shortage_critical_t_by_product", "t", "physical shortage of critical bids"),
        ("physical_shortage_months", "months", "months with physical shortage in some product"),
        ("physical_shortage_months_by_product", "months", "the same per product"),
        ("consumption_t_by_product", "t", "final demand served per product"),
        ("physical_shortage_t_by_node", "t", "physical shortage per product/region"),
        ("consumption_t_by_node", "t", "consumption per product/region"),
        ("price_set_by_demand_ceiling", "rows", "node-months priced at an unserved bid"),
        ("chains", "text", "each market's products in chain order"),
    ),
    *declare_metrics(
        "comparison",
        ("avg_price_inside_forge_usd_per_t", "usd_per_t", "mean price at member nodes"),
        ("avg_price_outside_forge_usd_per_t", "usd_per_t", "mean price at non-member nodes"),
        (
            "trade_diversion_from_members_t_by_product",
            "t",
            "imports of members from members minus the baseline's",
        ),
        (
            "trade_diversion_from_nonmembers_t_by_product",
            "t",
            "imports of members from non-members minus the baseline's",
        ),
        ("oem_security_premium_usd", "usd", "(price - baseline price) x consumption"),
        ("oem_security_premium_usd_by_product", "usd", "the premium by product"),
        (
            "oem_security_premium_usd_per_t_by_product",
            "usd_per_t",
            "each product's premium per tonne of it consumed",
        ),
        ("subsidy_kept_usd_per_t", "usd_per_t", "floor fiscal cost / kept tonnes"),
        ("production_change_t_by_product", "t", "per product, production minus the baseline's"),
        ("days_of_cover_last", "days", "stock cover in the last month, by product/region"),
        ("days_of_cover_min", "days", "lowest stock cover, by product/region"),
        ("demand_reduction_by_price_t_by_product", "t", "consumption cut by price, not shortage"),
        ("physical_shortage_change_t_by_product", "t", "physical shortage minus the baseline's"),
    ),
)


#: Figures of earlier versions that added tonnes of different products (concentrate, oxide,
#: metal, magnet: not additive) or counted bids priced out as shortage, and what to read
#: instead. ``critmin sweep --check`` and ``metrics[name]`` say this for an old name.
REMOVED_METRICS: dict[str, str] = {
    "unserved_t": (
        "it added unserved bids of every product (tonnes of concentrate, oxide, metal and magnet) "
        "and counted buyers priced out as unserved; use physical_shortage_t_by_product.<product> "
        "(e.g. physical_shortage_t_by_product.ndfeb_magnet), per product in its own tonnes"
    ),
    "unserved_t_by_region": (
        "it added the tonnes of every product of a region; use "
        "physical_shortage_t_by_node.<product>/<region> (e.g. "
        "physical_shortage_t_by_node.ndfeb_magnet/USA)"
    ),
    "unserved_critical_t": (
        "it added critical bids of every product; use "
        "physical_shortage_critical_t_by_product.<product>"
    ),
    "shortage_months": (
        "it counted months with any unserved bid, buyers priced out included; use "
        "physical_shortage_months (months with physical shortage in some product) or "
        "physical_shortage_months_by_product.<product>"
    ),
    "production_change_t": (
        "it added the production of every stage; use production_change_t_by_product.<product>"
    ),
    "stock_releases_t": (
        "it added the tonnes released from every account (oxide and magnets); use "
        "stock_releases_t_<product> (e.g. stock_releases_t_ndfeb_magnet)"
    ),
    "stock_purchases_t": (
        "it added the tonnes bought for every account; use stock_purchases_t_<product>"
    ),
    "stock_shortage_avoided_t": (
        "it added the shortage avoided in every product; use stock_shortage_avoided_t_<product>"
    ),
    "imports_from_members_t": (
        "it added the oxide, metal and magnet tonnes members import from members; use the "
        "levy's imports_from_members_t_<product> or, against a baseline, "
        "trade_diversion_from_members_t_by_product.<product>"
    ),
    "imports_from_nonmembers_t": (
        "it added the tonnes of every product; use the levy's "
        "imports_from_nonmembers_t_<product> or, against a baseline, "
        "trade_diversion_from_nonmembers_t_by_product.<product>"
    ),
    "trade_diversion_t": (
        "it added the tonnes of every product; use "
        "trade_diversion_from_members_t_by_product.<product> and "
        "trade_diversion_from_nonmembers_t_by_product.<product>"
    ),
    "offtake_delivered_t": (
        "it added the tonnes of every contract's product (Dy and Tb oxide); use "
        "offtake_delivered_t_<product>"
    ),
    "offtake_shortfall_t": (
        "it added the tonnes of every contract's product; use offtake_shortfall_t_<product>"
    ),
    "oem_security_premium_usd_per_t": (
        "it divided by the tonnes of every product consumed; use "
        "oem_security_premium_usd_per_t_by_product.<product> or oem_security_premium_usd"
    ),
}


def removed_metric_hint(name: str) -> str | None:
    """One clause for a metric name of an earlier version ("'unserved_t' was removed: ..."),
    or None when ``name`` was never a critmin figure."""
    why = REMOVED_METRICS.get(name)
    return None if why is None else f"{name!r} was removed: {why}"


def headline_metrics() -> dict[str, HeadlineMetric]:
    """Every declared headline figure by name: :data:`METRICS` and each registered instrument
    kind's ``headline``. A figure two producers write (the comparison recomputes
    ``levy_revenue_usd`` from the series) keeps its first declaration."""
    out = {m.name: m for m in METRICS}
    for kind in sorted(REGISTRY):
        for m in REGISTRY[kind].headline:
            out.setdefault(m.name, m)
    return out


@dataclass(frozen=True)
class HeadlineMetrics:
    """The headline metrics of one scenario, typed: one field per declared figure.

    Engine figures are always there. Instrument and comparison figures are None when the
    scenario has no such instrument or the study no baseline. An instrument's per-product
    figures are written flat in ``summary.json``, one key per product
    (``stock_releases_t_ndfeb_magnet``), and held here as one mapping by product
    (``stock_releases_t_by_product["ndfeb_magnet"]``; such a field is typed
    :data:`FlatByProduct`). ``other`` holds every figure not declared here, so nothing is
    dropped on the way to ``summary.json``; ``m["name"]`` reads any figure by its
    ``summary.json`` name (or a per-product field by its own name), and :meth:`to_dict`
    gives back exactly (same keys, same order) the mapping :meth:`from_dict` read.
    """

    # engine (critmin.market.results.scenario_metrics)
    avg_price_usd_per_t: dict[str, float]
    peak_price_usd_per_t: dict[str, float]
    tariff_revenue_usd: float
    consumer_surplus_usd: float
    producer_surplus_usd: float
    non_converged_months: int
    # engine, physical shortage (critmin.market.metrics.physical_metrics)
    product_basis: dict[str, str]
    physical_shortage_t_by_product: dict[str, float]
    physical_shortage_critical_t_by_product: dict[str, float]
    physical_shortage_months: int
    physical_shortage_months_by_product: dict[str, int]
    consumption_t_by_product: dict[str, float]
    physical_shortage_t_by_node: dict[str, float]
    consumption_t_by_node: dict[str, float]
    price_set_by_demand_ceiling: list[dict[str, Any]]
    chains: dict[str, list[str]]
    # instruments (InstrumentSpec.headline of each kind); a per-product figure written flat,
    # one summary.json key per product, is typed FlatByProduct: its key comes from its name
    # (flat_key_pattern, the rule declare_per_product uses; a test checks the two agree)
    import_tariff_revenue_usd: float | None = None
    levy_revenue_usd: float | None = None
    levy_iterations_max: float | None = None
    levy_non_converged_months: float | None = None
    imports_from_members_t_by_product: FlatByProduct = None
    imports_from_nonmembers_t_by_product: FlatByProduct = None
    floor_fiscal_cost_usd: float | None = None
    # a tonne total an instrument splits by product (declare_tonnes): with floors (or settled
    # contracts) on several products the total is None and its split, one summary.json key
    # holding {product: t}, is set instead
    floor_kept_t: float | None = None
    floor_kept_t_by_product: dict[str, float] | None = None
    floor_covered_output_t: float | None = None
    floor_covered_output_t_by_product: dict[str, float] | None = None
    floor_purchases_t: float | None = None
    floor_purchases_t_by_product: dict[str, float] | None = None
    offtake_floor_topup_usd: float | None = None
    offtake_delivered_t_by_product: FlatByProduct = None
    offtake_shortfall_t_by_product: FlatByProduct = None
    settlement_volume_t: float | None = None
    settlement_volume_t_by_product: dict[str, float] | None = None
    settlement_market_value_usd: float | None = None
    settlement_floor_topup_usd: float | None = None
    settlement_upside_to_buyer_usd: float | None = None
    settlement_seller_receives_usd: float | None = None
    stock_cash_usd: float | None = None
    stock_debt_usd: float | None = None
    stock_ledger_balanced: float | None = None
    stock_days_of_cover_end_by_product: FlatByProduct = None
    stock_shortage_avoided_t_by_product: FlatByProduct = None
    stock_releases_t_by_product: FlatByProduct = None
    stock_purchases_t_by_product: FlatByProduct = None
    # comparison with the baseline (critmin.scenarios.compare, compare_physical)
    avg_price_inside_forge_usd_per_t: dict[str, float] | None = None
    avg_price_outside_forge_usd_per_t: dict[str, float] | None = None
    trade_diversion_from_members_t_by_product: dict[str, float] | None = None
    trade_diversion_from_nonmembers_t_by_product: dict[str, float] | None = None
    oem_security_premium_usd: float | None = None
    oem_security_premium_usd_by_product: dict[str, float] | None = None
    oem_security_premium_usd_per_t_by_product: dict[str, float] | None = None
    subsidy_kept_usd_per_t: float | None = None
    production_change_t_by_product: dict[str, float] | None = None
    days_of_cover_last: dict[str, float] | None = None
    days_of_cover_min: dict[str, float] | None = None
    demand_reduction_by_price_t_by_product: dict[str, float] | None = None
    physical_shortage_change_t_by_product: dict[str, float] | None = None
    other: dict[str, Any] = field(default_factory=dict)
    #: the figures' names in the order they were read (so :meth:`to_dict` keeps it)
    order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def declared(cls) -> tuple[str, ...]:
        """The names of the typed figures, in field order."""
        return tuple(f.name for f in fields(cls) if f.name not in {"other", "order"})

    @classmethod
    def flat_keys(cls) -> dict[str, str]:
        """The per-product fields written flat (typed ``FlatByProduct``): field name ->
        ``summary.json`` key with ``{product}`` (``stock_releases_t_by_product`` ->
        ``stock_releases_t_{product}``, :func:`~critmin.policy.instrument.flat_key_pattern`)."""
        hints = get_type_hints(cls, include_extras=True)
        return {
            name: flat_key_pattern(name)
            for name in cls.declared()
            if _FLAT in getattr(hints[name], "__metadata__", ())
        }

    @classmethod
    def from_dict(cls, metrics: Mapping[str, Any]) -> HeadlineMetrics:
        """From the ``metrics`` mapping of a scenario (as in ``summary.json``); a missing
        engine figure raises ``KeyError`` naming it. A per-product key
        (``stock_releases_t_ndfeb_magnet``) goes into its field's mapping; any key not
        declared, into ``other``."""
        names = set(cls.declared())
        required = [f.name for f in fields(cls) if f.name in names and f.default is not None]
        missing = [n for n in required if n not in metrics]
        if missing:
            raise KeyError(f"headline metrics without {', '.join(missing)}")
        known: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for key, value in metrics.items():
            flat = None if key in names else split_per_product(key)
            if flat is None:
                (known if key in names else rest)[key] = value
            else:
                name, product = flat
                known.setdefault(name, {})[product] = value
        return cls(**known, other=rest, order=tuple(metrics))

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics`` mapping of ``summary.json``, keys in the order read (an object
        built in Python: declared figures that are set, each per-product one flat in its
        products' order, then ``other``)."""
        if self.order:
            return {name: self[name] for name in self.order}
        flat = _FLAT_KEYS
        out: dict[str, Any] = {}
        for name in self.declared():
            value = getattr(self, name)
            if value is None:
                continue
            if name in flat:
                out.update({flat[name].format(product=p): v for p, v in value.items()})
            else:
                out[name] = value
        out.update(self.other)
        return out

    def __getitem__(self, name: str) -> Any:
        """``metrics["levy_revenue_usd"]``: any figure by its ``summary.json`` name, a
        product's entry of a per-product figure by its flat key
        (``metrics["stock_releases_t_ndfeb_magnet"]``) and that figure's whole mapping by its
        field name. A declared figure the scenario does not have raises ``KeyError``, as a
        name nobody wrote does (a removed name's error says what replaced it)."""
        if name in self.other:
            return self.other[name]
        if name in _DECLARED:
            value = getattr(self, name)
            if value is not None or name in self.order:  # summary.json may hold a null
                return value
        elif (flat := split_per_product(name)) is not None:
            values = getattr(self, flat[0])
            if values is not None and flat[1] in values:
                return values[flat[1]]
        raise KeyError(removed_metric_hint(name) or name)


_DECLARED = frozenset(HeadlineMetrics.declared())
#: (flat key prefix, field), longest prefix first, so that a prefix that begins another
#: (none today) cannot take the other's keys
_FLAT_KEYS = HeadlineMetrics.flat_keys()
_FLAT_PREFIXES = sorted(
    ((key.removesuffix("{product}"), name) for name, key in _FLAT_KEYS.items()),
    key=lambda pair: -len(pair[0]),
)


def per_product_key(name: str, product: str) -> str | None:
    """``("stock_releases_t_by_product", "ndfeb_magnet")`` -> ``stock_releases_t_ndfeb_magnet``,
    the flat ``summary.json`` key (the inverse of :func:`split_per_product`); None when
    ``name`` is no per-product field."""
    key = _FLAT_KEYS.get(name)
    return None if key is None else key.format(product=product)


def split_per_product(key: str) -> tuple[str, str] | None:
    """``stock_releases_t_ndfeb_magnet`` -> ``("stock_releases_t_by_product",
    "ndfeb_magnet")``; None when ``key`` is no declared per-product figure's (the
    declarations of :meth:`HeadlineMetrics.flat_keys`, read by the report and the sweep)."""
    for prefix, name in _FLAT_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return name, key[len(prefix) :]
    return None
