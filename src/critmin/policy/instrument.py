"""The ``Instrument`` protocol: how floors, levies, quotas and stockpiles act on a month.

The market engine knows nothing about any particular instrument. It drives every instrument
through one lifecycle, modelled on pandapower's controllers::

    initialize(ctx)                      once per market, before the first month
    for each month:
        repeat (at most ``max_iterations``):
            before_solve(month, view)    modify this month's problem through ``view``
            <engine solves the clearing LP>
        until is_converged(month, result) for every instrument (and ad-valorem wedges)
        after_solve(month, result)       read prices / flows, record series rows
    finalize() -> InstrumentReport       series rows + headline metrics

``view`` starts from the market's own data every iteration, so ``before_solve`` states the
instrument's full effect for the month (idempotent); ``view.previous`` is the last solution
(previous iteration of this month, or the previous month) for instruments that iterate, such
as a variable levy ``min(max(ref - landed, 0), bound)``.

Structure is fixed when the problem is built (the LP is built once and only its costs and
bounds change), so an instrument that needs its own supply or demand column (a stockpile
release, a stockpile purchase, an offtake) asks for it in ``initialize`` with
``ctx.add_supply`` / ``ctx.add_demand`` and sets its quantity and price each month with
``view.set_block``. Instruments are built from scenario YAML by ``kind``: an
:class:`InstrumentSpec` subclass registers its kind when it is defined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from critmin.bounds import BoundedNumbers
from critmin.periods import Month, in_window

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ActiveShock:
    """A shock in force in a month, as the market sees it (``MonthView.active_shocks``).

    Only export bans are reported (``kind = "export_ban"``), derived from the month's route
    bounds (market-level ``export_bans`` and ``export_ban`` shocks alike): ``exporter`` is the
    banning region, ``products`` the products whose export routes are closed, ``destinations``
    the importers those closed routes lead to (sorted names).
    """

    kind: str
    exporter: str
    products: tuple[str, ...]
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class SeriesRow:
    """One tidy output row recorded by an instrument (see the run-results contract)."""

    month: str
    product: str
    region: str
    variable: str
    value: float
    unit: str


@dataclass(frozen=True)
class OutputVariable:
    """One output variable of the tidy table, declared once: its ``unit``, how it adds up
    over months and regions (``aggregation``: ``sum`` for flows of tonnes and money,
    ``mean`` for prices and rates, ``last`` for stocks), what it means and who writes it
    (``producer``: ``engine`` or an instrument kind)."""

    name: str
    unit: str
    aggregation: str
    description: str
    producer: str = "engine"


def declare(producer: str, *rows: tuple[str, str, str, str]) -> tuple[OutputVariable, ...]:
    """``(name, unit, aggregation, description)`` rows as :class:`OutputVariable` s."""
    return tuple(OutputVariable(n, u, a, d, producer) for n, u, a, d in rows)


@dataclass(frozen=True)
class HeadlineMetric:
    """One headline figure of a scenario (``summary.json`` ``metrics``), declared once: its
    ``unit`` (``usd``, ``t``, ``usd_per_t``, ``months``, ``count``, ``flag``, ``text``),
    what it means, and who computes it (``producer``: ``engine``, ``comparison`` or an
    instrument kind). The typed :class:`critmin.scenarios.headline.HeadlineMetrics` has one
    field per declared figure (a test checks it).

    ``key`` is set for a per-product figure written flat, one ``summary.json`` key per
    product, the product id in the key (``stock_releases_t_ndfeb_magnet``: one scalar each,
    which a sweep names as its metric): the key with ``{product}`` for the product id
    (``stock_releases_t_{product}``). ``name`` (``stock_releases_t_by_product``) is then the
    typed field that holds them as ``{product: value}``; an instrument makes each key with
    :meth:`flat_key`, never by spelling it."""

    name: str
    unit: str
    description: str
    producer: str = "engine"
    key: str | None = None

    def flat_key(self, product: str) -> str:
        """This per-product figure's ``summary.json`` key for ``product``
        (``stock_releases_t_ndfeb_magnet``); ``TypeError`` for a figure that is not per
        product."""
        if self.key is None:
            raise TypeError(f"{self.name} is one figure, not one per product")
        return self.key.format(product=product)


def declare_metrics(
    producer: str, *rows: tuple[str, str, str] | HeadlineMetric
) -> tuple[HeadlineMetric, ...]:
    """``(name, unit, description)`` rows as :class:`HeadlineMetric` s; a row already
    declared (an instrument's per-product figures, bound to names) is kept as it is."""
    return tuple(r if isinstance(r, HeadlineMetric) else HeadlineMetric(*r, producer) for r in rows)


def flat_key_pattern(name: str) -> str:
    """The ``summary.json`` key, with ``{product}`` for the product id, of the per-product
    figure typed as ``name``: ``stock_releases_t_by_product`` -> ``stock_releases_t_{product}``.
    The one rule both sides use (:func:`declare_per_product` and the fields of
    :class:`critmin.scenarios.headline.HeadlineMetrics` typed ``FlatByProduct``), so that no
    key is spelled twice."""
    stem = name.removesuffix("_by_product")
    if stem == name or not stem:
        raise ValueError(f"{name!r}: a per-product figure's name ends in '_by_product'")
    return f"{stem}_{{product}}"


def declare_per_product(producer: str, *rows: tuple[str, str, str]) -> tuple[HeadlineMetric, ...]:
    """``(stem, unit, description)`` rows as per-product :class:`HeadlineMetric` s written
    flat: typed field ``<stem>_by_product``, ``summary.json`` key ``<stem>_<product>``
    (:func:`flat_key_pattern`). An instrument binds them to names (``_RELEASES, ... =
    declare_per_product(...)``) and writes ``metrics[_RELEASES.flat_key(product)]``, so its
    keys are the declared ones."""
    return tuple(
        HeadlineMetric(name, u, d, producer, key=flat_key_pattern(name))
        for name, u, d in ((f"{s}_by_product", u, d) for s, u, d in rows)
    )


def split_name(total: str) -> str:
    """``floor_kept_t`` -> ``floor_kept_t_by_product``: the figure that gives an instrument's
    tonne total per product (a ``{product: t}`` mapping, one ``summary.json`` key) when a
    scenario's instruments count more than one product, in place of the total
    (:func:`critmin.market.results.scenario_metrics`, from
    :attr:`InstrumentReport.tonnes_by_product`). The one rule for its name, which
    :func:`declare_tonnes` declares and the engine writes."""
    return f"{total}_by_product"


def declare_tonnes(producer: str, *rows: tuple[str, str, str]) -> tuple[HeadlineMetric, ...]:
    """``(total, unit, description)`` rows of tonne totals an instrument splits by product
    (:attr:`InstrumentReport.tonnes_by_product`) as :class:`HeadlineMetric` s: each total
    (``floor_kept_t``, one number while the scenario's instruments count one product) and
    its split (``floor_kept_t_by_product``, :func:`split_name`, written instead when they
    count several: tonnes of different products are not added), so both are declared once."""
    out: list[HeadlineMetric] = []
    for name, unit, description in rows:
        out.append(HeadlineMetric(name, unit, description, producer))
        split = f"{description}, per product (instead of the total when several products)"
        out.append(HeadlineMetric(split_name(name), unit, split, producer))
    return tuple(out)


class PendingRows:
    """Tidy rows kept as plain tuples (a :class:`SeriesRow`'s six fields, in its order) until
    they are read: ``InstrumentReport(rows=pending.build)``. A tuple costs a tenth of a
    frozen dataclass to make, and a sweep never reads the rows."""

    __slots__ = ("tuples",)

    def __init__(self) -> None:
        self.tuples: list[tuple[str, str, str, str, float, str]] = []

    def add(  # noqa: PLR0917  (the six fields of a SeriesRow, in its order)
        self, month: str, product: str, region: str, variable: str, value: float, unit: str
    ) -> None:
        self.tuples.append((month, product, region, variable, value, unit))

    def build(self) -> list[SeriesRow]:
        return [SeriesRow(*t) for t in self.tuples]


class InstrumentReport:
    """What an instrument hands back at the end: extra series rows and headline metrics.

    ``rows`` is given as a list, or as a function that builds the list (called once, the
    first time ``rows`` is read). A sweep reads only the metrics of its runs, never their
    tidy rows, and building the rows month by month was the largest part of the
    instruments' cost per sample (docs/benchmarks.md, "Third round"); an instrument that
    keeps its months as arrays hands back a builder instead. Runs cross processes, so the
    builder must pickle: a bound method of a small record object, not a lambda.

    ``tonnes_by_product`` splits a tonne figure of ``metrics`` by the product it counts
    (``{"floor_kept_t": {"ndpr_oxide": 1300.0}}``). A scenario's headline figures add one
    instrument's tonnes to another's only when they count the same product: tonnes of NdPr
    oxide and of magnets are not added (:func:`critmin.market.results.scenario_metrics`).
    """

    __slots__ = ("_build", "_rows", "metrics", "tonnes_by_product")

    def __init__(
        self,
        rows: list[SeriesRow] | Callable[[], list[SeriesRow]] | None = None,
        metrics: dict[str, float] | None = None,
        tonnes_by_product: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self._rows: list[SeriesRow] | None
        self._build: Callable[[], list[SeriesRow]] | None
        if callable(rows):
            self._rows, self._build = None, rows
        else:
            self._rows, self._build = (rows if rows is not None else []), None
        self.metrics: dict[str, float] = metrics if metrics is not None else {}
        self.tonnes_by_product = tonnes_by_product if tonnes_by_product is not None else {}

    @property
    def rows(self) -> list[SeriesRow]:
        if self._rows is None:
            assert self._build is not None
            self._rows, self._build = self._build(), None
        return self._rows

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InstrumentReport):
            return NotImplemented
        return self.rows == other.rows and self.metrics == other.metrics

    # mutable, so unhashable, as the dataclass it replaces was
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        rows = f"{len(self._rows)} rows" if self._rows is not None else "rows not built"
        return f"InstrumentReport({rows}, metrics={self.metrics!r})"


class MarketContext(Protocol):
    """Given to :meth:`Instrument.initialize`: the market's shape and column reservations."""

    @property
    def mineral(self) -> str: ...
    @property
    def products(self) -> Sequence[str]: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def months(self) -> Sequence[str]: ...

    def add_supply(self, region: str, product: str, name: str) -> int:
        """Reserve a supply column at (region, product); returns a handle for ``set_block``."""
        ...

    def add_demand(self, region: str, product: str, name: str) -> int:
        """Reserve a demand column at (region, product); returns a handle for ``set_block``."""
        ...

    def add_release(self, region: str, product: str, name: str) -> int:
        """Reserve a supply column for releases from a stock: it supplies the node like
        ``add_supply`` but is reported as ``stock_release``, not as ``production``."""
        ...

    def route_index_arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        """``(exporter_idx, importer_idx, product_idx)`` of every route, in route order;
        indices into :attr:`regions` / :attr:`products` (read-only arrays). Instruments build
        their route masks from them once, in ``initialize``."""
        ...


class SolvedMonth(Protocol):
    """Read access to one solved month (prices are node-balance duals, usd_per_t >= 0)."""

    @property
    def month(self) -> str: ...

    def price(self, region: str, product: str) -> float: ...
    def flow(self, exporter: str, importer: str, product: str) -> float: ...
    def block_value(self, handle: int) -> float:
        """Tonnes taken on an instrument's reserved column."""
        ...

    def routes(self) -> Sequence[tuple[str, str, str]]:
        """Every route as (exporter, importer, product)."""
        ...

    def route_arrays(self) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        """``(exporter_idx, importer_idx, product_idx, flow_t)`` per route, in route order
        (indices as in ``MarketContext.route_index_arrays``; read-only, cached per solve)."""
        ...

    def prices_array(self) -> FloatArray:
        """Node prices as an ``(n_regions, n_products)`` matrix, usd_per_t; NaN where the
        market has no such node (cached per solve, read-only)."""
        ...

    def unserved(self, region: str, product: str) -> float:
        """Unserved demand (t) at the node: bid quantity in force - consumption, over the
        market's own bids (instrument columns excluded); 0 where the node has no bid."""
        ...

    def unserved_array(self) -> FloatArray:
        """:meth:`unserved` for every node as an ``(n_regions, n_products)`` matrix (t)."""
        ...


class MonthView(Protocol):
    """Write access to one month's problem, valid during ``before_solve``."""

    @property
    def month(self) -> str: ...
    @property
    def previous(self) -> SolvedMonth | None: ...

    @property
    def active_shocks(self) -> Sequence[ActiveShock]:
        """The export bans in force this month (see :class:`ActiveShock`)."""
        ...

    def export_ban_active(
        self,
        exporter: str | None = None,
        product: str | None = None,
        importer: str | None = None,
    ) -> bool:
        """True when an export ban closes at least one route matching the filters this
        month (None = any): e.g. ``export_ban_active(product="x", importer="USA")``."""
        ...

    def set_block(self, handle: int, qty_t: float, price_usd_per_t: float) -> None:
        """Quantity and price (cost for supply, willingness to pay for demand) of a column."""
        ...

    def add_route_wedges(self, usd_per_t: FloatArray) -> None:
        """Add a per-route wedge vector (usd_per_t, one entry per route in route order)."""
        ...

    def add_route_wedge(
        self,
        usd_per_t: float,
        *,
        exporters: Sequence[str] | None = None,
        importers: Sequence[str] | None = None,
        product: str | None = None,
    ) -> int:
        """Add a per-tonne wedge to the matching routes (None = all); returns routes touched."""
        ...

    def cap_routes(
        self,
        qty_t: float,
        *,
        exporters: Sequence[str] | None = None,
        importers: Sequence[str] | None = None,
        product: str | None = None,
    ) -> int:
        """Upper bound (t per month) on each matching route."""
        ...

    def scale_supply(
        self, factor: float, *, region: str | None = None, product: str | None = None
    ) -> None:
        """Multiply supply capacity of matching blocks (outage 0.5, expansion 1.2)."""
        ...

    def scale_demand(
        self, factor: float, *, region: str | None = None, product: str | None = None
    ) -> None:
        """Multiply demand bid quantities of matching blocks."""
        ...


@runtime_checkable
class Instrument(Protocol):
    """A policy instrument taking part in clearing each month (see module docstring)."""

    name: str

    def initialize(self, ctx: MarketContext) -> None: ...
    def before_solve(self, month: str, view: MonthView) -> None: ...
    def is_converged(self, month: str, result: SolvedMonth) -> bool: ...
    def after_solve(self, month: str, result: SolvedMonth) -> None: ...
    def finalize(self) -> InstrumentReport: ...


class InstrumentSpec(BoundedNumbers, BaseModel):
    """Base of the YAML form of an instrument: ``{kind: ..., mineral: ..., ...}``.

    A subclass that gives ``kind`` a default (``kind: Literal["my_cap"] = "my_cap"``) and
    implements :meth:`build` is registered under that kind as soon as the class is defined
    (:meth:`__pydantic_init_subclass__`): scenario files can use ``kind: my_cap`` with no
    list or decorator to edit. A subclass without a ``kind`` default is an intermediate
    base and is not registered. ``mineral`` None = the instrument acts on every market.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    lp_prices: ClassVar[bool] = True  # (critmin.bounds: sub-cent USD/t prices refused)

    kind: str
    mineral: str | None = None
    name: str | None = None

    #: the series variables the instrument records (read by tables, metrics and the report)
    variables: ClassVar[tuple[OutputVariable, ...]] = ()
    #: the headline totals its :meth:`Instrument.finalize` report holds (``metrics``)
    headline: ClassVar[tuple[HeadlineMetric, ...]] = ()

    def build(self) -> Instrument:
        raise NotImplementedError

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # pydantic's hook runs once the subclass's fields are built (plain __init_subclass__
        # runs before, when ``kind``'s default is not known yet)
        super().__pydantic_init_subclass__(**kwargs)
        kind = cls.model_fields["kind"].default
        if isinstance(kind, str) and kind:
            _register(kind, cls)


REGISTRY: dict[str, type[InstrumentSpec]] = {}
S = TypeVar("S", bound=type[InstrumentSpec])


def _register(kind: str, cls: type[InstrumentSpec]) -> None:
    """``REGISTRY[kind] = cls``; a second class of the same kind from elsewhere is a
    packaging bug (two plug-ins claiming one kind) and raises ``TypeError``. The same class
    defined again (a module reloaded) replaces the first."""
    known = REGISTRY.get(kind)
    if known is not None and known is not cls:
        same = (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__)
        if not same:
            raise TypeError(
                f"instrument kind {kind!r} is declared by both "
                f"{known.__module__}.{known.__qualname__} and {cls.__module__}.{cls.__qualname__}"
            )
    REGISTRY[kind] = cls


#: the entry-point group that declares instrument kinds: ``kind = "module:SpecClass"``
ENTRY_POINT_GROUP = "critmin.instruments"


def register(kind: str) -> Callable[[S], S]:
    """Class decorator kept for plug-ins written against it: defining an
    :class:`InstrumentSpec` subclass with a ``kind`` default already registers it. Here it
    also registers a class under a ``kind`` other than its default (an alias).

    A package makes its instruments known to every critmin run by declaring each spec class
    in its ``pyproject.toml`` (``[project.entry-points."critmin.instruments"]``, see
    :func:`discover`): loading the entry point imports the module, which defines the class.
    """

    def deco(cls: S) -> S:
        _register(kind, cls)
        return cls

    return deco


def discover() -> list[str]:
    """Register every instrument kind declared under the ``critmin.instruments`` entry points
    of the installed packages (critmin's own and any plug-in's); returns the known kinds.

    Each entry point is ``kind = "module:SpecClass"``; loading it imports the module only
    then. An entry whose class is not an :class:`InstrumentSpec`, or whose ``kind`` default
    differs from the entry's name, is a packaging bug and raises ``TypeError``.
    """
    from importlib.metadata import entry_points

    found = entry_points(group=ENTRY_POINT_GROUP)
    if not found:
        raise RuntimeError(
            f"no {ENTRY_POINT_GROUP!r} entry points: critmin is not installed as a package "
            "(run `make` or `pip install -e .` in the repository)"
        )
    for ep in found:
        if ep.name in REGISTRY:
            continue
        cls = ep.load()  # defining the class registered it (InstrumentSpec subclasses)
        if not (isinstance(cls, type) and issubclass(cls, InstrumentSpec)):
            raise TypeError(f"entry point {ep.name} = {ep.value!r} is not an InstrumentSpec")
        default = cls.model_fields["kind"].default
        if default != ep.name:
            raise TypeError(f"entry point {ep.name} = {ep.value!r} declares kind {default!r}")
        _register(ep.name, cls)
    return sorted(REGISTRY)


class BaseInstrument:
    """The lifecycle's no-op defaults (module docstring): subclass and override what acts.

    ``record`` appends a tidy row; ``finalize`` returns the rows and :meth:`metrics`.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[SeriesRow] = []

    def initialize(self, ctx: MarketContext) -> None:
        """Reserve columns, build masks (default: nothing)."""

    def before_solve(self, month: str, view: MonthView) -> None:
        """Act on this month's problem (default: nothing)."""

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        """Whether this month needs another solve (default: never)."""
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        """Read the solved month (default: nothing)."""

    def metrics(self) -> dict[str, float]:
        """Headline totals for the summary (default: none)."""
        return {}

    def record(  # noqa: PLR0917  (the six fields of a SeriesRow, in its order)
        self, month: str, product: str, region: str, variable: str, value: float, unit: str
    ) -> None:
        self.rows.append(SeriesRow(month, product, region, variable, value, unit))

    def finalize(self) -> InstrumentReport:
        return InstrumentReport(rows=list(self.rows), metrics=self.metrics())


def parse_instrument(data: Any) -> InstrumentSpec:
    """Validate one ``instruments:`` entry by its ``kind`` (raises ValueError / ValidationError)."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"an instrument needs a 'kind', one of {sorted(REGISTRY)}")
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in REGISTRY:  # (a list or map is no kind either)
        from critmin.errors import suggest

        close = suggest(str(kind), REGISTRY)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown instrument kind {kind!r}{hint} (known: {sorted(REGISTRY)})")
    return REGISTRY[kind].model_validate(data)


# --------------------------------------------------------------------------------------
# A simple instrument proving the protocol: a specific import tariff by bloc.


class ImportTariffSpec(InstrumentSpec):
    """``{kind: import_tariff, importers: [USA], exporters: [CHN], product: ndpr_oxide,
    specific_usd_per_t: 5000, start: 2026-07, end: 2027-06}``; None lists = everyone."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "import_tariff",
        ("import_tariff_revenue", "usd", "sum", "specific tariff x flow on taxed routes"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "import_tariff",
        ("import_tariff_revenue_usd", "usd", "specific tariff revenue, all months and routes"),
    )

    kind: str = "import_tariff"
    importers: list[str] | None = None
    exporters: list[str] | None = None
    product: str | None = None
    specific_usd_per_t: float
    start: Month | None = None
    end: Month | None = None

    def build(self) -> ImportTariff:
        return ImportTariff(self)


class ImportTariff(BaseInstrument):
    """Specific per-tonne import tariff acting through ``view.add_route_wedge``.

    Records ``import_tariff_revenue`` (usd, region = importer) = wedge x flow on taxed routes.
    """

    kind: ClassVar[str] = "import_tariff"

    def __init__(self, spec: ImportTariffSpec) -> None:
        super().__init__(spec.name or "import_tariff")
        self.spec = spec
        self._products: list[str] = []
        self._regions: list[str] = []
        self._taxed: IntArray = np.zeros(0, dtype=np.int64)

    def initialize(self, ctx: MarketContext) -> None:
        self._products = list(ctx.products)
        self._regions = list(ctx.regions)
        exp, imp, prod = ctx.route_index_arrays()
        mask = np.ones(len(exp), dtype=bool)
        spec = self.spec
        if spec.exporters is not None:
            mask &= np.isin(exp, [i for i, r in enumerate(self._regions) if r in spec.exporters])
        if spec.importers is not None:
            mask &= np.isin(imp, [i for i, r in enumerate(self._regions) if r in spec.importers])
        if spec.product is not None:
            mask &= prod == (
                self._products.index(spec.product) if spec.product in self._products else -1
            )
        self._taxed = np.flatnonzero(mask)  # the taxed routes, in route order

    def _active(self, month: str) -> bool:
        return in_window(month, self.spec.start, self.spec.end)

    def before_solve(self, month: str, view: MonthView) -> None:
        if self._active(month):
            view.add_route_wedge(
                self.spec.specific_usd_per_t,
                exporters=self.spec.exporters,
                importers=self.spec.importers,
                product=self.spec.product,
            )

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        if not self._active(month):
            return
        _, imp_idx, prod_idx, flow = result.route_arrays()
        revenue: dict[tuple[str, str], float] = {}
        for r in self._taxed.tolist():
            key = (self._regions[imp_idx[r]], self._products[prod_idx[r]])
            value = self.spec.specific_usd_per_t * float(flow[r])
            revenue[key] = revenue.get(key, 0.0) + value
        for (imp, prod), value in revenue.items():
            self.record(month, prod, imp, "import_tariff_revenue", value, "usd")

    def metrics(self) -> dict[str, float]:
        return {"import_tariff_revenue_usd": sum(r.value for r in self.rows)}
