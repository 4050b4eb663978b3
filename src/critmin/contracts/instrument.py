"""Offtake contracts in the market: priority ranks honoured under a shortage.

Each contract becomes a demand column at the buyer's node (``region`` x ``product``, the
product defaulting to the contract's ``mineral``) for the contract's volume due in the month
(:meth:`OfftakeContract.volume_t`), with a willingness to pay set by its priority rank::

    wtp(rank) = top_wtp_usd_per_t - (rank - 1) x rank_step_usd_per_t

so rank 1 bids highest. The LP maximises surplus, so when supply is short it serves the
highest bids first: every rank-1 contract is served in full before a rank-2 contract gets a
tonne, and every contract before an ordinary bid whose willingness to pay is below
``wtp(max rank)`` (the defaults, 10,000,000 and 100,000 usd/t, sit above every bid of the
built-in studies). Within one rank the LP's split is arbitrary (ties); the pro-rata rule for
settlement is :func:`critmin.contracts.allocate_by_priority`.

Modelling note: the contracted tonnes are consumption at the buyer's node (they leave the
market there). A scenario that moves part of an existing demand under a contract scales that
demand down with a ``demand_surge`` shock (negative ``share``) so the total is unchanged.

Series rows (region = buyer region): ``offtake_due``, ``offtake_delivered``,
``offtake_shortfall`` (t) and ``offtake_floor_topup`` (usd: max(floor - price, 0) x
delivered, paid by the contract's floor payer, price = the buyer node's clearing price).
Metrics: ``offtake_delivered_t``, ``offtake_shortfall_t``, ``offtake_floor_topup_usd``.

Financial settlement (``kind: offtake_settlement``): a contract whose tonnes already flow
through the market (the Lynas-Japan NdPr leg: Lynas's oxide is supply in the market and
Japan's magnet makers are its demand) is settled, not cleared: no column is added. Each month
the contract's volume is settled with :func:`critmin.contracts.settle` on the market's own
cleared price at the settlement node (``price_region``, default the buyer's ``region``;
``product`` default the contract's ``mineral``), converted to usd/kg. Rows (region = buyer
region, product = the settled product): ``offtake_settled_volume`` (t),
``offtake_settlement_price`` (usd_per_t), ``offtake_market_value`` (usd: P x q),
``offtake_floor_topup`` (usd: max(F - P, 0) x q, paid by the floor payer),
``offtake_upside_to_buyer`` (usd: s x max(P - T, 0) x q), ``offtake_seller_receives`` (usd).
Metrics: ``settlement_volume_t``, ``settlement_market_value_usd``,
``settlement_floor_topup_usd``, ``settlement_upside_to_buyer_usd``,
``settlement_seller_receives_usd``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.contracts.prices import PriceSeries
from critmin.contracts.settlement import KG_PER_T, price_terms, settle
from critmin.contracts.spec import OfftakeContract, load_contract
from critmin.errors import UnknownNameError
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
)

TOP_WTP_USD_PER_T = 1.0e7
RANK_STEP_USD_PER_T = 1.0e5


class OfftakeEntry(BoundedNumbers, BaseModel):
    """One contract in the market: inline ``contract`` or a ``file``, at the buyer's ``region``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    region: str = Field(min_length=1, description="market region of the buyer")
    product: str | None = Field(None, description="market product; default contract.mineral")
    contract: OfftakeContract | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OfftakeEntry:
        if (self.contract is None) == (self.file is None):
            raise ValueError("give exactly one of contract (inline) or file")
        return self

    def resolved(self) -> OfftakeContract:
        if self.contract is not None:
            return self.contract
        assert self.file is not None
        return load_contract(Path(self.file))


class OfftakeSpec(InstrumentSpec):
    """YAML: ``{kind: offtake, contracts: [{region: JPN, contract: {...}}]}``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "offtake",
        ("offtake_due", "t", "sum", "contracted tonnes due"),
        ("offtake_delivered", "t", "sum", "tonnes delivered to the buyer"),
        ("offtake_shortfall", "t", "sum", "due - delivered"),
        ("offtake_floor_topup", "usd", "sum", "floor top-up paid on delivered tonnes"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "offtake",
        ("offtake_delivered_t", "t", "tonnes delivered to the buyers"),
        ("offtake_shortfall_t", "t", "contracted tonnes not delivered"),
        ("offtake_floor_topup_usd", "usd", "floor top-up paid on delivered tonnes"),
    )

    kind: str = "offtake"
    contracts: list[OfftakeEntry] = Field(min_length=1)
    top_wtp_usd_per_t: float = Field(TOP_WTP_USD_PER_T, gt=0)
    rank_step_usd_per_t: float = Field(RANK_STEP_USD_PER_T, gt=0)
    source: str | None = Field(None, description="where the numbers come from")
    estimate: bool = False

    @model_validator(mode="after")
    def _positive_bids(self) -> OfftakeSpec:
        for i, entry in enumerate(self.contracts):
            rank = entry.contract.priority_rank if entry.contract is not None else 1
            if self.top_wtp_usd_per_t - (rank - 1) * self.rank_step_usd_per_t <= 0:
                raise ValueError(
                    f"contracts[{i}]: priority_rank {rank} gives a willingness to pay <= 0; "
                    "raise top_wtp_usd_per_t or lower rank_step_usd_per_t"
                )
        return self

    def build(self) -> Offtake:
        return Offtake(self)


def rank_wtp(rank: int, top: float = TOP_WTP_USD_PER_T, step: float = RANK_STEP_USD_PER_T) -> float:
    """Willingness to pay (usd_per_t) of a contract of priority ``rank`` (1 = highest)."""
    return top - (rank - 1) * step


class Offtake:
    """Priority-ranked offtake contracts as demand columns (see module docstring)."""

    kind: ClassVar[str] = "offtake"

    def __init__(self, spec: OfftakeSpec) -> None:
        self.spec = spec
        self.name = spec.name or "offtake"
        self.contracts = [e.resolved() for e in spec.contracts]
        self._nodes = [
            (e.region, e.product or c.mineral)
            for e, c in zip(spec.contracts, self.contracts, strict=True)
        ]
        self._handles: list[int] = []
        self._due: dict[str, list[float]] = {}
        self._rows: list[SeriesRow] = []
        self._totals = {"delivered": 0.0, "shortfall": 0.0, "topup": 0.0}

    def initialize(self, ctx: MarketContext) -> None:
        for (region, product), c in zip(self._nodes, self.contracts, strict=True):
            if region not in ctx.regions:
                raise UnknownNameError("region (offtake buyer)", region, ctx.regions)
            if product not in ctx.products:
                raise UnknownNameError("product (offtake)", product, ctx.products)
            self._handles.append(ctx.add_demand(region, product, f"{self.name}:{c.name}"))

    def before_solve(self, month: str, view: MonthView) -> None:
        due = []
        for h, c in zip(self._handles, self.contracts, strict=True):
            qty = c.volume_t(month)
            due.append(qty)
            wtp = rank_wtp(
                c.priority_rank, self.spec.top_wtp_usd_per_t, self.spec.rank_step_usd_per_t
            )
            view.set_block(h, qty, wtp)
        self._due[month] = due

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        due = self._due.pop(month, [0.0] * len(self._handles))
        for h, c, (region, product), qty_due in zip(
            self._handles, self.contracts, self._nodes, due, strict=True
        ):
            if qty_due <= 0:
                continue
            got = min(max(result.block_value(h), 0.0), qty_due)
            price = max(result.price(region, product), 0.0)
            terms = price_terms(c, price / KG_PER_T)
            topup = float(terms.floor_topup_usd_per_kg) * KG_PER_T * got
            short = qty_due - got
            for var, value, unit in (
                ("offtake_due", qty_due, "t"),
                ("offtake_delivered", got, "t"),
                ("offtake_shortfall", short, "t"),
                ("offtake_floor_topup", topup, "usd"),
            ):
                self._rows.append(SeriesRow(month, product, region, var, value, unit))
            self._totals["delivered"] += got
            self._totals["shortfall"] += short
            self._totals["topup"] += topup

    def finalize(self) -> InstrumentReport:
        return InstrumentReport(
            rows=list(self._rows),
            metrics={
                "offtake_delivered_t": self._totals["delivered"],
                "offtake_shortfall_t": self._totals["shortfall"],
                "offtake_floor_topup_usd": self._totals["topup"],
            },
        )


class SettlementEntry(OfftakeEntry):
    """One financially settled contract: ``region`` = buyer, ``price_region`` = where the
    settlement price is read (default the buyer's region)."""

    price_region: str | None = Field(None, description="market region of the settlement price")


class OfftakeSettlementSpec(InstrumentSpec):
    """YAML: ``{kind: offtake_settlement, contracts: [{region: JPN, contract: {...}}]}``."""

    variables: ClassVar[tuple[OutputVariable, ...]] = declare(
        "offtake_settlement",
        ("offtake_settled_volume", "t", "sum", "volume settled"),
        ("offtake_settlement_price", "usd_per_t", "mean", "cleared price the contract settles on"),
        ("offtake_market_value", "usd", "sum", "volume x settlement price"),
        ("offtake_floor_topup", "usd", "sum", "floor top-up paid"),
        ("offtake_upside_to_buyer", "usd", "sum", "upside shared with the buyer"),
        ("offtake_seller_receives", "usd", "sum", "what the seller receives"),
    )
    headline: ClassVar[tuple[HeadlineMetric, ...]] = declare_metrics(
        "offtake_settlement",
        ("settlement_volume_t", "t", "volume settled"),
        ("settlement_market_value_usd", "usd", "volume x settlement price"),
        ("settlement_floor_topup_usd", "usd", "floor top-up paid to the seller"),
        ("settlement_upside_to_buyer_usd", "usd", "upside shared with the buyer"),
        ("settlement_seller_receives_usd", "usd", "what the seller receives"),
    )

    kind: str = "offtake_settlement"
    contracts: list[SettlementEntry] = Field(min_length=1)
    source: str | None = Field(None, description="where the numbers come from")
    estimate: bool = False

    def build(self) -> OfftakeSettlement:
        return OfftakeSettlement(self)


class OfftakeSettlement:
    """Contracts settled on the market's monthly clearing price (see module docstring)."""

    kind: ClassVar[str] = "offtake_settlement"

    def __init__(self, spec: OfftakeSettlementSpec) -> None:
        self.spec = spec
        self.name = spec.name or "offtake_settlement"
        self.contracts = [e.resolved() for e in spec.contracts]
        self._nodes = [
            (e.region, e.price_region or e.region, e.product or c.mineral)
            for e, c in zip(spec.contracts, self.contracts, strict=True)
        ]
        self._rows: list[SeriesRow] = []
        self._totals = dict.fromkeys(("volume", "market_value", "topup", "upside", "seller"), 0.0)

    def initialize(self, ctx: MarketContext) -> None:
        for buyer, price_region, product in self._nodes:
            for region in (buyer, price_region):
                if region not in ctx.regions:
                    raise UnknownNameError("region (offtake settlement)", region, ctx.regions)
            if product not in ctx.products:
                raise UnknownNameError("product (offtake settlement)", product, ctx.products)

    def before_solve(self, month: str, view: MonthView) -> None:
        """Nothing to change: the tonnes already clear in the market."""

    def is_converged(self, month: str, result: SolvedMonth) -> bool:  # noqa: ARG002
        return True

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        for c, (buyer, price_region, product) in zip(self.contracts, self._nodes, strict=True):
            if c.volume_t(month) <= 0:
                continue
            price_t = max(result.price(price_region, product), 0.0)
            prices = PriceSeries.from_mapping({month: price_t / KG_PER_T}, origin=self.name)
            line = settle(c, prices, month, month).lines[0]
            for var, value, unit in (
                ("offtake_settled_volume", line.volume_t, "t"),
                ("offtake_settlement_price", price_t, "usd_per_t"),
                ("offtake_market_value", line.market_value_usd, "usd"),
                ("offtake_floor_topup", line.floor_topup_usd, "usd"),
                ("offtake_upside_to_buyer", line.upside_share_usd, "usd"),
                ("offtake_seller_receives", line.seller_receives_usd, "usd"),
            ):
                self._rows.append(SeriesRow(month, product, buyer, var, value, unit))
            self._totals["volume"] += line.volume_t
            self._totals["market_value"] += line.market_value_usd
            self._totals["topup"] += line.floor_topup_usd
            self._totals["upside"] += line.upside_share_usd
            self._totals["seller"] += line.seller_receives_usd

    def finalize(self) -> InstrumentReport:
        t = self._totals
        return InstrumentReport(
            rows=list(self._rows),
            metrics={
                "settlement_volume_t": t["volume"],
                "settlement_market_value_usd": t["market_value"],
                "settlement_floor_topup_usd": t["topup"],
                "settlement_upside_to_buyer_usd": t["upside"],
                "settlement_seller_receives_usd": t["seller"],
            },
        )
