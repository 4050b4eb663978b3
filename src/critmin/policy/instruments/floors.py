"""Price floors, two designs: a top-up floor (contract for difference) and a purchase floor.

**Settlement reference price.** Both designs settle on the *market reference price*: the
clearing price (dual of the node balance, usd_per_t) of the floored product at the floored
region's node in the month. The model's period is a month, so this is the month's average
price; ``reference_months: N`` makes it the trailing average of the last N monthly prices
(the current one included), as in contracts settled on a monthly or quarterly index.

**(a) Top-up floor** (``kind: topup_floor``; the DoD-MP Materials NdPr oxide floor of $110/kg,
MP Materials/DoD release, 2025-07-10). The payer tops the covered producers' price up to
the floor on what they sell::

    floor_payment = max(floor - reference, 0) x covered output

Economic reading modelled: a CfD on output makes a covered producer's revenue per tonne
``max(price, floor)``, so it produces whenever ``max(price, floor) >= cost``. A covered block
whose unit cost is at or below the floor therefore bids at 0 (it produces at any price
>= 0); one whose cost is above the floor is not helped and bids at its cost. The covered
producers are columns of the instrument (``covered:`` blocks with capacity and all-in unit
cost), so a scenario that moves a producer under the floor removes it from the market with
an ``outage`` shock naming its block (see docs/instruments.md). *Supply kept in production*
(``floor_kept_t``) = covered output in months when the month's clearing price is below the
block's cost, i.e. what a price-taking producer would have shut without the floor
(first-order: the price is the one with the floor in place).

**(b) Purchase floor** (``kind: purchase_floor``). A holder (a stockpile) stands ready to buy
at the floor: a demand column at the holder's node with willingness to pay = floor and
quantity = min(remaining budget / floor, ``max_buy_t_per_month``). While that quantity is
not exhausted the node price cannot fall below the floor (an LP dual fact: a partly taken
bid prices the node at its willingness to pay); once the budget is spent the column is
gone and the price can fall. The holder pays the floor per tonne bought::

    floor_payment = floor x tonnes bought;  budget left -= floor_payment

Supply kept in production (``floor_kept_t``) = tonnes bought (the sales that would not have
found a buyer at or above the floor).

Series rows (region = the floored region): ``floor_payment`` (usd), ``floor_reference_price``
(usd_per_t), ``floor_kept`` (t); top-up: ``floor_covered_output`` (t); purchase:
``floor_purchase`` (t), ``floor_stock`` (t, cumulative), ``floor_budget_left`` (usd),
``days_of_cover`` (days, when ``protected_consumption_t_per_year`` is given). Metrics:
``floor_fiscal_cost_usd``, ``floor_kept_t`` and, per design, ``floor_covered_output_t`` /
``floor_purchases_t``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError, UnknownNameError
from critmin.periods import Month, in_window
from critmin.policy.instrument import (
    HeadlineMetric,
    InstrumentReport,
    InstrumentSpec,
    MarketContext,
    MonthView,
    OutputVariable,
    PendingRows,
    SolvedMonth,
    declare,
    declare_metrics,
    declare_tonnes,
)
from critmin.policy.instruments._common import (
    DatedSpec,
    NonNeg,
    Positive,
    parameter_set,
    plain_value,
    price_usd_per_t,
)
from critmin.policy.parameters import ParameterSet

DAYS_PER_YEAR = 365.0


class CoveredBlock(BoundedNumbers, BaseModel):
    """A covered producer: capacity (t/month or t/yr) at an all-in unit cost (usd_per_t)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str | None = None
    qty_t: NonNeg | None = None
    qty_t_per_year: NonNeg | None = None
    cost_usd_per_t: NonNeg
    start: Month | None = None
    end: Month | None = None
    source: str | None = None
    estimate: bool = False

    @model_validator(mode="after")
    def _one_quantity(self) -> CoveredBlock:
        if (self.qty_t is None) == (self.qty_t_per_year is None):
            raise ValueError("give exactly one of qty_t (t per month) or qty_t_per_year")
        return self

    @property
    def qty_t_per_month(self) -> float:
        if self.qty_t is not None:
            return self.qty_t
        assert self.qty_t_per_year is not None
        return self.qty_t_per_year / 12.0


class _FloorSpec(InstrumentSpec, DatedSpec):
    """Fields shared by both floor designs."""

    region: str = Field(min_length=1, description="region of the floored node")
    product: str = Field(min_length=1, description="floored product")
    floor_usd_per_t: Positive | None = None
    floor_parameter: str | None = Field(
        None, description="dated parameter holding the floor (usd_per_kg or usd_per_t)"
    )
    payer: str = "government"
    reference_months: int = Field(1, ge=1, le=36)

    @model_validator(mode="after")
    def _one_floor(self) -> _FloorSpec:
        if (self.floor_usd_per_t is None) == (self.floor_parameter is None):
            raise ValueError("give exactly one of floor_usd_per_t or floor_parameter")
        return self


class _FloorBase:
    """Parameter access, reference price and rows shared by both designs."""

    def __init__(self, spec: _FloorSpec, default_name: str) -> None:
        self.name = spec.name or default_name
        self._spec = spec
        self.params: ParameterSet = parameter_set(spec.parameters, self.name)
        if spec.floor_parameter is not None and spec.floor_parameter not in self.params:
            # raises UnknownNameError with "did you mean"
            self.params[spec.floor_parameter]
        self._rows = PendingRows()  # SeriesRow fields, built only when read
        self._floors: dict[str, float | None] = {}  # the floor by month, looked up once
        self._ref_history: list[float] = []
        self._payment = 0.0
        self._kept = 0.0

    def floor(self, month: str) -> float | None:
        """Floor in force in ``month`` (usd_per_t); None outside the window or after it ends."""
        if month in self._floors:  # asked for every block and solve of the month
            return self._floors[month]
        spec = self._spec
        floor: float | None = None
        if not in_window(month, spec.start, spec.end):
            floor = None
        elif spec.floor_usd_per_t is not None:
            floor = spec.floor_usd_per_t
        else:
            assert spec.floor_parameter is not None
            floor = price_usd_per_t(self.params, spec.floor_parameter, month)
        self._floors[month] = floor
        return floor

    def _check_node(self, ctx: MarketContext) -> None:
        if self._spec.region not in ctx.regions:
            raise UnknownNameError("region", self._spec.region, ctx.regions)
        if self._spec.product not in ctx.products:
            raise UnknownNameError("product", self._spec.product, ctx.products)

    def _reference(self, result: SolvedMonth) -> float:
        price = max(result.price(self._spec.region, self._spec.product), 0.0)
        self._ref_history.append(price)
        window = self._ref_history[-self._spec.reference_months :]
        return sum(window) / len(window)

    def _row(self, month: str, variable: str, value: float, unit: str) -> None:
        spec = self._spec
        self._rows.add(month, spec.product, spec.region, variable, value, unit)


class TopUpFloorSpec(_FloorSpec):
    """YAML: ``{kind: topup_floor, region: USA, product: ndpr_oxide, floor_parameter: ...,
    covered: [{qty_t_per_year: 1300, cost_usd_per_t: 56750}]}``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "topup_floor",
        ("floor_payment", "usd", "sum", "top-up paid: (floor - reference) x covered output"),
        (
            "floor_reference_price",
            "usd_per_t",
            "mean",
            "reference the floor is compared with",
        ),
        ("floor_covered_output", "t", "sum", "output covered by the floor"),
        ("floor_kept", "t", "sum", "covered output that the floor keeps producing"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "topup_floor",
        ("floor_fiscal_cost_usd", "usd", "top-up payments to covered producers"),
        *declare_tonnes(
            "topup_floor",
            ("floor_kept_t", "t", "covered output the floor keeps producing"),
            ("floor_covered_output_t", "t", "output covered by the floor"),
        ),
    )

    kind: str = "topup_floor"
    covered: list[CoveredBlock] = Field(min_length=1)

    def build(self) -> TopUpFloor:
        return TopUpFloor(self)


class TopUpFloor(_FloorBase):
    """Top-up floor (CfD on output) on the covered blocks (see module docstring)."""

    kind: ClassVar[str] = "topup_floor"

    def __init__(self, spec: TopUpFloorSpec) -> None:
        super().__init__(spec, f"topup_floor:{spec.region}:{spec.product}")
        self.spec = spec
        self._handles: list[int] = []
        self._covered_total = 0.0

    def initialize(self, ctx: MarketContext) -> None:
        self._check_node(ctx)
        for i, block in enumerate(self.spec.covered):
            label = block.name or f"covered {i}"
            self._handles.append(
                ctx.add_supply(self.spec.region, self.spec.product, f"{self.name}:{label}")
            )

    def bid_usd_per_t(self, block: CoveredBlock, month: str) -> float:
        """0 when the floor in force covers the block's cost (it always produces), else cost."""
        floor = self.floor(month)
        if floor is not None and block.cost_usd_per_t <= floor:
            return 0.0
        return block.cost_usd_per_t

    def before_solve(self, month: str, view: MonthView) -> None:
        for h, block in zip(self._handles, self.spec.covered, strict=True):
            qty = block.qty_t_per_month if in_window(month, block.start, block.end) else 0.0
            view.set_block(h, qty, self.bid_usd_per_t(block, month))

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True  # the bid does not depend on the solution (see module docstring)

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        reference = self._reference(result)
        price = max(result.price(self.spec.region, self.spec.product), 0.0)
        floor = self.floor(month)
        output = kept = 0.0
        for h, block in zip(self._handles, self.spec.covered, strict=True):
            qty = max(result.block_value(h), 0.0)
            output += qty
            if floor is not None and price < block.cost_usd_per_t:
                kept += qty
        topup = max(floor - reference, 0.0) if floor is not None else 0.0
        payment = topup * output
        self._payment += payment
        self._kept += kept
        self._covered_total += output
        self._row(month, "floor_payment", payment, "usd")
        self._row(month, "floor_reference_price", reference, "usd_per_t")
        self._row(month, "floor_covered_output", output, "t")
        self._row(month, "floor_kept", kept, "t")

    def finalize(self) -> InstrumentReport:
        return InstrumentReport(
            rows=self._rows.build,
            metrics={
                "floor_fiscal_cost_usd": self._payment,
                "floor_kept_t": self._kept,
                "floor_covered_output_t": self._covered_total,
            },
            tonnes_by_product={
                "floor_kept_t": {self._spec.product: self._kept},
                "floor_covered_output_t": {self._spec.product: self._covered_total},
            },
        )


class PurchaseFloorSpec(_FloorSpec):
    """YAML: ``{kind: purchase_floor, region: USA, product: ndpr_oxide, floor_usd_per_t:
    110000, budget_usd: 5.0e8, max_buy_t_per_month: 200}``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "purchase_floor",
        ("floor_payment", "usd", "sum", "money spent buying at the floor"),
        (
            "floor_reference_price",
            "usd_per_t",
            "mean",
            "reference the floor is compared with",
        ),
        ("floor_purchase", "t", "sum", "tonnes bought at the floor"),
        ("floor_kept", "t", "sum", "tonnes the floor keeps producing (bought)"),
        ("floor_stock", "t", "last", "stock held by the purchasing holder"),
        ("floor_budget_left", "usd", "last", "budget left"),
        ("days_of_cover", "days", "last", "stock / daily consumption"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "purchase_floor",
        ("floor_fiscal_cost_usd", "usd", "money spent buying at the floor"),
        *declare_tonnes(
            "purchase_floor",
            ("floor_kept_t", "t", "tonnes the floor keeps producing (bought)"),
            ("floor_purchases_t", "t", "tonnes bought at the floor"),
        ),
    )

    kind: str = "purchase_floor"
    payer: str = "stockpile"
    budget_usd: NonNeg | None = None
    budget_parameter: str | None = Field(None, description="dated parameter (usd) of the budget")
    budget_share: float = Field(1.0, gt=0, le=1, description="share of the budget parameter")
    max_buy_t_per_month: Positive | None = None
    protected_consumption_t_per_year: Positive | None = None

    @model_validator(mode="after")
    def _one_budget(self) -> PurchaseFloorSpec:
        if (self.budget_usd is None) == (self.budget_parameter is None):
            raise ValueError("give exactly one of budget_usd or budget_parameter")
        return self

    def build(self) -> PurchaseFloor:
        return PurchaseFloor(self)


class PurchaseFloor(_FloorBase):
    """Purchase floor: a budget-limited bid at the floor (see module docstring)."""

    kind: ClassVar[str] = "purchase_floor"

    def __init__(self, spec: PurchaseFloorSpec) -> None:
        super().__init__(spec, f"purchase_floor:{spec.region}:{spec.product}")
        self.spec = spec
        self._handle = -1
        self._budget_left: float | None = spec.budget_usd
        self._offered: dict[str, tuple[float, float]] = {}
        self._stock = 0.0
        self._purchases = 0.0

    @property
    def budget_left_usd(self) -> float:
        return self._budget_left or 0.0

    def initialize(self, ctx: MarketContext) -> None:
        self._check_node(ctx)
        self._handle = ctx.add_demand(self.spec.region, self.spec.product, f"{self.name}:bid")

    def _ensure_budget(self, month: str) -> float:
        if self._budget_left is None:
            assert self.spec.budget_parameter is not None
            value = plain_value(self.params, self.spec.budget_parameter, month)
            if value is None or isinstance(value, bool):
                raise InputError(
                    f"budget parameter {self.spec.budget_parameter!r} has no amount in {month}",
                    where=f"instrument {self.name!r} field 'budget_parameter'",
                )
            self._budget_left = float(value) * self.spec.budget_share
        return self._budget_left

    def offer(self, month: str) -> tuple[float, float]:
        """(tonnes, usd_per_t) bid this month: what the remaining budget buys at the floor."""
        floor = self.floor(month)
        if floor is None:
            return 0.0, 0.0
        qty = self._ensure_budget(month) / floor
        if self.spec.max_buy_t_per_month is not None:
            qty = min(qty, self.spec.max_buy_t_per_month)
        return max(qty, 0.0), floor

    def before_solve(self, month: str, view: MonthView) -> None:
        qty, floor = self.offer(month)
        self._offered[month] = (qty, floor)
        view.set_block(self._handle, qty, floor)

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        reference = self._reference(result)
        offered, floor = self._offered.pop(month, (0.0, 0.0))
        bought = min(max(result.block_value(self._handle), 0.0), offered)
        payment = bought * floor
        if self._budget_left is not None:
            self._budget_left = max(self._budget_left - payment, 0.0)
            if floor > 0 and self._budget_left < 1e-6 * floor:
                self._budget_left = 0.0
        self._stock += bought
        self._purchases += bought
        self._payment += payment
        self._kept += bought
        self._row(month, "floor_payment", payment, "usd")
        self._row(month, "floor_reference_price", reference, "usd_per_t")
        self._row(month, "floor_purchase", bought, "t")
        self._row(month, "floor_kept", bought, "t")
        self._row(month, "floor_stock", self._stock, "t")
        self._row(month, "floor_budget_left", self.budget_left_usd, "usd")
        if self.spec.protected_consumption_t_per_year is not None:
            per_day = self.spec.protected_consumption_t_per_year / DAYS_PER_YEAR
            self._row(month, "days_of_cover", self._stock / per_day, "days")

    def finalize(self) -> InstrumentReport:
        return InstrumentReport(
            rows=self._rows.build,
            metrics={
                "floor_fiscal_cost_usd": self._payment,
                "floor_kept_t": self._kept,
                "floor_purchases_t": self._purchases,
            },
            tonnes_by_product={
                "floor_kept_t": {self._spec.product: self._kept},
                "floor_purchases_t": {self._spec.product: self._purchases},
            },
        )
