"""Market definitions: the frozen pydantic models that describe one mineral chain.

A *market* is one chain of products (e.g. NdPr concentrate -> NdPr oxide -> NdPr metal ->
NdFeB magnet) traded between regions. It is stated as data: supply blocks, demand bids,
conversions between products, routes, tariffs, export bans and quotas. Quantities are tonnes
**per month** (``qty_t``) or tonnes per year (``qty_t_per_year``, divided by 12); money is USD.

:func:`check_references` performs the cross-field checks (unknown product, region not in the
list, ...) and returns ``(location, message)`` pairs so that a loader can point to the line.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import UnknownNameError
from critmin.periods import MONTH_RE, Month, month_index

Loc = tuple[str | int, ...]


def _check_month(value: object) -> object:
    if isinstance(value, str) and not MONTH_RE.match(value):
        raise ValueError(f"expected a month 'YYYY-MM' (e.g. 2026-07), got {value!r}")
    return value


class _Model(BoundedNumbers, BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True
    )
    lp_prices: ClassVar[bool] = True  # (critmin.bounds: sub-cent USD/t prices refused)


NonNeg = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class _Cited(_Model):
    source: str | None = None
    estimate: bool = False


class _Dated(_Model):
    start: Month | None = None
    end: Month | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Dated:
        if self.start and self.end and month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Quantity(_Model):
    """Exactly one of ``qty_t`` (tonnes per month) or ``qty_t_per_year``."""

    qty_t: NonNeg | None = None
    qty_t_per_year: NonNeg | None = None

    @model_validator(mode="after")
    def _one_quantity(self) -> _Quantity:
        if (self.qty_t is None) == (self.qty_t_per_year is None):
            raise ValueError("give exactly one of qty_t (t per month) or qty_t_per_year")
        return self

    @property
    def qty_t_per_month(self) -> float:
        if self.qty_t is not None:
            return self.qty_t
        assert self.qty_t_per_year is not None
        return self.qty_t_per_year / 12.0


class ProductDef(_Model):
    """One product (stage) of the chain, e.g. ``{id: ndpr_oxide, stage: refining}``."""

    id: str = Field(min_length=1)
    stage: str = Field(min_length=1)
    name: str | None = None
    basis: str | None = Field(
        default=None,
        description="what a tonne of this product counts, e.g. 't NdPr oxide eq.', 't LCE'; "
        "metrics report each product in its own basis and never add across products",
    )


class SupplyBlock(_Quantity, _Dated, _Cited):
    """Capacity block: up to ``qty_t`` per month at ``cost_usd_per_t``, between start and end."""

    region: str
    product: str | None = None
    cost_usd_per_t: NonNeg
    name: str | None = None


class DemandBlock(_Quantity, _Dated, _Cited):
    """Bid: up to ``qty_t`` per month at willingness to pay ``wtp_usd_per_t``.

    ``critical`` marks defence / contracted demand (very high WTP); ``growth_per_year`` is a
    compound growth rate (0.05 = +5 % a year) counted from the market's ``base_month``.
    """

    region: str
    product: str | None = None
    wtp_usd_per_t: NonNeg
    critical: bool = False
    growth_per_year: float = Field(default=0.0, gt=-1, le=1)  # +100 %/yr: see critmin.bounds
    name: str | None = None
    curve: str | None = Field(
        default=None, description="set on blocks generated from a demand curve: the curve's label"
    )
    curve_ceiling: bool = Field(
        default=False, description="the curve's ceiling step (demand left at the top price)"
    )


class DemandCurve(_Quantity, _Dated, _Cited):
    """Constant-elasticity demand of one (region, product): ``Q(p) = Q0 (p / p0) ** e``.

    ``qty_t`` / ``qty_t_per_year`` is the reference quantity ``Q0`` bought at
    ``ref_price_usd_per_t`` (``p0``); ``elasticity`` (``e`` < 0) with its own
    ``elasticity_source`` / ``elasticity_estimate``. The curve is cut into step blocks between
    ``price_min_ratio * p0`` and ``price_max_ratio * p0`` so that a cleared price inside that
    range is within ``tolerance`` of the curve's price (:mod:`critmin.market.curves`).
    """

    region: str
    product: str | None = None
    ref_price_usd_per_t: float = Field(gt=0)
    elasticity: float = Field(lt=0, ge=-10)
    elasticity_source: str | None = None
    elasticity_estimate: bool = False
    growth_per_year: float = Field(default=0.0, gt=-1, le=1)  # +100 %/yr: see critmin.bounds
    price_min_ratio: float = Field(default=0.25, gt=0, le=1)
    price_max_ratio: float = Field(default=8.0, ge=1, le=1000)
    tolerance: float = Field(default=0.05, gt=0.001, le=0.5)
    name: str | None = None

    @property
    def ref_qty(self) -> float:
        """The reference quantity in the unit it was given (t per year or t per month)."""
        return self.qty_t_per_year if self.qty_t_per_year is not None else float(self.qty_t or 0)

    def label(self, index: int) -> str:
        return self.name or f"{self.region} {self.product or ''} demand curve {index}".replace(
            "  ", " "
        )


class Conversion(_Quantity, _Dated, _Cited):
    """Conversion in a region: ``input_t_per_t`` t of ``input`` per t of ``output``.

    The quantity (``qty_t`` / ``qty_t_per_year``) is the capacity in tonnes of output.
    """

    region: str
    input: str
    output: str
    input_t_per_t: float = Field(ge=1e-6, le=1e6)  # a ratio beyond blurs the LP's tolerances
    cost_usd_per_t: NonNeg = 0.0
    name: str | None = None


class Route(_Cited):
    """A trade route ``from`` -> ``to`` with a transport cost; ``product`` None = every product."""

    from_: str = Field(alias="from")
    to: str
    product: str | None = None
    cost_usd_per_t: NonNeg


class Tariff(_Dated, _Cited):
    """Import tariff of ``importer`` on goods from ``exporter``.

    ``importer``/``exporter`` are a region, a list of regions, ``"*"`` (everyone) or a bloc id
    (``forge``, ``eu27``, ...) resolved through the catalog. ``specific_usd_per_t`` is added to
    the route cost; ``ad_valorem`` is a 0..1 rate on the exporter's price (iterated).
    """

    importer: str | list[str] = "*"
    exporter: str | list[str] = "*"
    product: str | None = None
    specific_usd_per_t: NonNeg = 0.0
    ad_valorem: Annotated[float, Field(ge=0, le=10)] = 0.0


class ExportBan(_Dated, _Cited):
    """``exporter`` ships nothing of ``product`` (None = every product) to ``to`` (None = all)."""

    exporter: str
    product: str | list[str] | None = None
    to: list[str] | None = None


class ExportQuota(_Quantity, _Dated, _Cited):
    """Total exports of ``product`` from ``exporter`` to ``to`` (None = all) <= quantity."""

    exporter: str
    product: str | None = None
    to: list[str] | None = None


class DatasetSupply(_Cited):
    """Build supply blocks from the catalog's production table (annual production / 12)."""

    mineral: str
    stage: str = "mine"
    year: int = 2024
    product: str | None = None
    content_share: Share = 1.0
    cost_usd_per_t: NonNeg
    regions: dict[str, str] | None = Field(
        default=None, description="ISO3 -> model region; unlisted countries go to 'other'"
    )
    other: str | None = "ROW"


class Market(_Model):
    """One mineral chain: products, regions and everything that trades between them."""

    mineral: str = Field(min_length=1)
    description: str = ""
    stage: str | None = None
    products: list[ProductDef] | None = None
    regions: list[str] | None = None
    aggregates: dict[str, str] = Field(
        default={},
        description="region codes that are not ISO 3166 alpha-3 countries nor catalog "
        "aggregates (EU, ROW), each with what it stands for",
    )
    base_month: Month | None = None
    supply: list[SupplyBlock] = []
    demand: list[DemandBlock] = []
    demand_curves: list[DemandCurve] = Field(
        default=[],
        description="constant-elasticity curves, expanded into step blocks appended to demand",
    )
    conversions: list[Conversion] = []
    routes: list[Route] = []
    default_route_cost_usd_per_t: NonNeg | dict[str, NonNeg] | None = None
    default_route_source: str | None = None
    default_route_estimate: bool = False
    tariffs: list[Tariff] = []
    export_bans: list[ExportBan] = []
    export_quotas: list[ExportQuota] = []
    from_dataset: list[DatasetSupply] = []
    reexport: bool = Field(
        default=True,
        description="False = a region exports only what it produces or converts (rules of origin)",
    )

    @model_validator(mode="after")
    def _expand_curves(self) -> Market:
        """Append the curves' step blocks to ``demand`` (compile and the engine see blocks
        only). Blocks generated earlier (a dumped and re-read market) are replaced, so
        validating twice gives the same market."""
        if not self.demand_curves and not any(b.curve for b in self.demand):
            return self
        from critmin.market.curves import expand_all

        own = [b for b in self.demand if b.curve is None]
        # frozen model: set once, during validation, before anyone holds the object
        object.__setattr__(self, "demand", [*own, *expand_all(self.demand_curves)])
        return self

    def product_defs(self) -> list[ProductDef]:
        """The products of the chain (a single-product market is its own product)."""
        if self.products:
            return list(self.products)
        return [ProductDef(id=self.mineral, stage=self.stage or _default_stage(self.mineral))]

    def product_ids(self) -> list[str]:
        return [p.id for p in self.product_defs()]

    def region_list(self) -> list[str]:
        """Regions in order of first mention (or the explicit ``regions`` list)."""
        if self.regions:
            return list(self.regions)
        seen: dict[str, None] = {}
        for blocks in (self.supply, self.demand, self.conversions, self.demand_curves):
            for b in blocks:
                seen.setdefault(b.region, None)
        for r in self.routes:
            seen.setdefault(r.from_, None)
            seen.setdefault(r.to, None)
        for ds in self.from_dataset:
            for reg in (ds.regions or {}).values():
                seen.setdefault(reg, None)
            if ds.other:
                seen.setdefault(ds.other, None)
        return list(seen)


def _default_stage(product_id: str) -> str:
    """The stage of a catalog product, if the catalog knows it; else ``"market"``."""
    from critmin.catalog import minerals

    # only "no such product" means "not a catalog product"; a broken catalog file must raise,
    # not turn into the default stage
    try:
        return str(minerals.get_product(product_id).stage)
    except UnknownNameError:
        return "market"


def _is_bloc(name: str) -> bool:
    from critmin.catalog import blocs
    from critmin.errors import CritminError

    try:
        blocs.get_bloc(name)
    except (CritminError, ValueError):
        return False
    return True


def _region_code_problems(market: Market, loc: Loc) -> list[tuple[Loc, str]]:
    """Duplicate stated regions, and region codes that are neither a country, a catalog
    aggregate nor declared (a typo such as AUSTRALIA would otherwise be a new, empty region);
    each reported where the code is written."""
    problems: list[tuple[Loc, str]] = []
    stated = market.regions or []
    for i, name in enumerate(stated):
        if name in stated[:i]:
            problems.append(((*loc, "regions", i), f"duplicate region {name!r}"))
    from critmin.market.regions import region_problem

    checked: set[str] = set()
    listed = list(market.regions or [])
    for name in ("supply", "demand", "conversions", "demand_curves"):
        for block in getattr(market, name):
            if getattr(block, "curve", None) is None and block.region not in listed:
                listed.append(block.region)
    for code in listed:
        if code in checked:
            continue
        checked.add(code)
        msg = region_problem(code, market.aggregates)
        if msg is not None:
            problems.append((_where_region(market, code, loc), msg))

    return problems


def check_references(market: Market, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Cross-field checks; returns ``(location, message)`` for each problem (empty = fine)."""
    refs = _References(market, loc)
    refs.problems.extend(_region_code_problems(market, loc))
    refs.blocks()
    refs.routes()
    refs.trade_rules()
    refs.product_lists()
    return refs.problems


class _References:
    """The cross-field checks of :func:`check_references`, one method per part of a market,
    collecting ``(location, message)`` problems in the order the parts are written."""

    def __init__(self, market: Market, loc: Loc) -> None:
        self.market, self.loc = market, loc
        self.products = market.product_ids()
        self.regions = market.region_list()
        self.problems: list[tuple[Loc, str]] = []

    def at(self, *path: str | int) -> Loc:
        return (*self.loc, *path)

    def product(self, value: str | None, where: Loc, *, required: bool) -> None:
        products = self.products
        if value is None:
            if required and len(products) != 1:
                self.problems.append((where, f"a product is required; choose one of {products}"))
            return
        if value not in products:
            self.problems.append((where, f"unknown product {value!r}; expected one of {products}"))

    def region(self, value: str, where: Loc) -> None:
        if value not in self.regions:
            self.problems.append(
                (where, f"unknown region {value!r}; expected one of {self.regions}")
            )

    def party(self, value: str | list[str], where: Loc) -> None:
        """A tariff party: ``*``, a region or a catalog bloc (the rule compile applies; checked
        here so that ``validate`` finds what ``run`` would refuse)."""
        for item in [value] if isinstance(value, str) else value:
            if item != "*" and item not in self.regions and not _is_bloc(item):
                self.problems.append(
                    (
                        where,
                        f"{item!r} is neither a region of this market {self.regions} "
                        "nor a known bloc (forge, usmca, eu27, feoc, us_fta)",
                    )
                )

    def blocks(self) -> None:
        """Supply, demand, conversions and demand curves: region and product(s)."""
        for name in ("supply", "demand", "conversions", "demand_curves"):
            for i, block in enumerate(getattr(self.market, name)):
                if getattr(block, "curve", None) is not None:
                    continue  # generated from a curve: checked as the curve
                self.region(block.region, self.at(name, i, "region"))
                if name != "conversions":
                    self.product(block.product, self.at(name, i, "product"), required=True)
                    continue
                self.product(block.input, self.at(name, i, "input"), required=True)
                self.product(block.output, self.at(name, i, "output"), required=True)
                if block.input == block.output:
                    self.problems.append(
                        (self.at(name, i, "output"), "output must differ from input")
                    )

    def routes(self) -> None:
        for i, r in enumerate(self.market.routes):
            self.region(r.from_, self.at("routes", i, "from"))
            self.region(r.to, self.at("routes", i, "to"))
            if r.from_ == r.to:
                self.problems.append(
                    (self.at("routes", i, "to"), "a route needs two different regions")
                )
            self.product(r.product, self.at("routes", i, "product"), required=False)

    def trade_rules(self) -> None:
        """Tariffs, export bans and export quotas."""
        market = self.market
        for i, t in enumerate(market.tariffs):
            self.product(t.product, self.at("tariffs", i, "product"), required=False)
            self.party(t.importer, self.at("tariffs", i, "importer"))
            self.party(t.exporter, self.at("tariffs", i, "exporter"))
        for i, b in enumerate(market.export_bans):
            self.region(b.exporter, self.at("export_bans", i, "exporter"))
            for p in [b.product] if isinstance(b.product, str) else b.product or []:
                self.product(p, self.at("export_bans", i, "product"), required=False)
            for j, dest in enumerate(b.to or []):
                self.region(dest, self.at("export_bans", i, "to", j))
        for i, q in enumerate(market.export_quotas):
            self.region(q.exporter, self.at("export_quotas", i, "exporter"))
            self.product(q.product, self.at("export_quotas", i, "product"), required=True)
            for j, dest in enumerate(q.to or []):
                self.region(dest, self.at("export_quotas", i, "to", j))

    def product_lists(self) -> None:
        """Products named as keys of default route costs, declared products (no duplicate
        ids) and the products of dataset supply."""
        market = self.market
        if isinstance(market.default_route_cost_usd_per_t, dict):
            for key in market.default_route_cost_usd_per_t:
                self.product(key, self.at("default_route_cost_usd_per_t", key), required=False)
        if market.products is not None:
            ids = [p.id for p in market.products]
            for i, pid in enumerate(ids):
                if pid in ids[:i]:
                    self.problems.append(
                        (self.at("products", i, "id"), f"duplicate product {pid!r}")
                    )
        for i, ds in enumerate(market.from_dataset):
            self.product(ds.product, self.at("from_dataset", i, "product"), required=True)


def _where_region(market: Market, code: str, loc: Loc) -> Loc:
    """Where a region code is first written: the ``regions`` list, else the first block."""
    if market.regions and code in market.regions:
        return (*loc, "regions", market.regions.index(code))
    for name in ("supply", "demand", "conversions", "demand_curves"):
        for i, block in enumerate(getattr(market, name)):
            if block.region == code:
                return (*loc, name, i, "region")
    return (*loc, "regions")


class _ShockBase(_Dated, _Cited):
    mineral: str | None = Field(default=None, description="market id; None = every market")


class ExportBanShock(_ShockBase):
    """A dated export ban (see :class:`ExportBan`)."""

    kind: Literal["export_ban"]
    exporter: str
    product: str | list[str] | None = None
    to: list[str] | None = None

    def as_ban(self) -> ExportBan:
        return ExportBan(
            exporter=self.exporter, product=self.product, to=self.to, start=self.start, end=self.end
        )


class OutageShock(_ShockBase):
    """Loss of ``share`` (0..1) of supply and conversion capacity in ``region``.

    ``product`` None = every product; ``block`` names one supply block or conversion.
    """

    kind: Literal["outage"]
    region: str
    product: str | None = None
    block: str | None = None
    share: Share = 1.0


class DemandSurgeShock(_ShockBase):
    """Demand bids of ``product`` in ``region`` (None = all) scaled by ``1 + share``."""

    kind: Literal["demand_surge"]
    region: str | None = None
    product: str | None = None
    share: float = Field(gt=-1, le=10)  # at most +1,000 %; 1e15 made 1e17 t bids


Shock = Annotated[ExportBanShock | OutageShock | DemandSurgeShock, Field(discriminator="kind")]
