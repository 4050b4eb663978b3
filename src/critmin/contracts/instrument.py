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
Metrics: ``offtake_delivered_t_<product>``, ``offtake_shortfall_t_<product>`` (per product),
``offtake_floor_topup_usd``.

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

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.contracts.prices import PriceSeries
from critmin.contracts.settlement import KG_PER_T, SettlementLine, price_terms, settle
from critmin.contracts.spec import OfftakeContract, load_contract
from critmin.errors import UnknownNameError
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
    declare_per_product,
    declare_tonnes,
)

FloatArray = npt.NDArray[np.float64]

TOP_WTP_USD_PER_T = 1.0e7
RANK_STEP_USD_PER_T = 1.0e5

# per product, one summary.json key each; finalize makes the keys from these declarations
_DELIVERED, _SHORTFALL = _PER_PRODUCT = declare_per_product(
    "offtake",
    ("offtake_delivered_t", "t", "tonnes delivered to the buyers, per contract product"),
    ("offtake_shortfall_t", "t", "due - delivered, per contract product"),
)


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
        ("offtake_floor_topup_usd", "usd", "floor top-up paid on delivered tonnes"),
        *_PER_PRODUCT,
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
        # (month, contract index, due t, delivered t, buyer node price usd_per_t) of each
        # month a contract was due; settled into rows and totals by finalize
        self._months: list[tuple[str, int, float, float, float]] = []

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
        for k, (h, (region, product), qty_due) in enumerate(
            zip(self._handles, self._nodes, due, strict=True)
        ):
            if qty_due <= 0:
                continue
            got = min(max(result.block_value(h), 0.0), qty_due)
            price = max(result.price(region, product), 0.0)
            self._months.append((month, k, qty_due, got, price))

    def finalize(self) -> InstrumentReport:
        # the floor top-up of all a contract's months at once (price_terms is elementwise:
        # each month's figure is the one a per-month call gave)
        topup_per_kg: list[FloatArray] = []
        for k, c in enumerate(self.contracts):
            prices = np.array([m[4] for m in self._months if m[1] == k], dtype=np.float64)
            topup_per_kg.append(price_terms(c, prices / KG_PER_T).floor_topup_usd_per_kg)
        seen = [0] * len(self.contracts)
        rows = PendingRows()
        # per product: a Dy and a Tb contract deliver different goods, never added
        delivered: dict[str, float] = {}
        shortfall: dict[str, float] = {}
        topup_total = 0.0
        for month, k, qty_due, got, _ in self._months:
            topup = float(topup_per_kg[k][seen[k]]) * KG_PER_T * got
            seen[k] += 1
            short = qty_due - got
            region, product = self._nodes[k]
            for var, value, unit in (
                ("offtake_due", qty_due, "t"),
                ("offtake_delivered", got, "t"),
                ("offtake_shortfall", short, "t"),
                ("offtake_floor_topup", topup, "usd"),
            ):
                rows.add(month, product, region, var, value, unit)
            delivered[product] = delivered.get(product, 0.0) + got
            shortfall[product] = shortfall.get(product, 0.0) + short
            topup_total += topup
        metrics = {"offtake_floor_topup_usd": topup_total}
        for product in sorted(delivered):
            metrics[_DELIVERED.flat_key(product)] = delivered[product]
            metrics[_SHORTFALL.flat_key(product)] = shortfall[product]
        return InstrumentReport(rows=rows.build, metrics=metrics)


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
        *declare_tonnes("offtake_settlement", ("settlement_volume_t", "t", "volume settled")),
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
        # each month's cleared price (usd_per_t) at each contract's settlement node, and
        # the months each contract had volume in; settled in finalize
        self._prices: list[dict[str, float]] = [{} for _ in self.contracts]
        self._due: list[list[str]] = [[] for _ in self.contracts]
        self._months: list[str] = []

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
        self._months.append(month)
        for k, (c, (_, price_region, product)) in enumerate(
            zip(self.contracts, self._nodes, strict=True)
        ):
            self._prices[k][month] = max(result.price(price_region, product), 0.0)
            if c.volume_t(month) > 0:
                self._due[k].append(month)

    def _lines(self, k: int) -> dict[str, tuple[SettlementLine, float]]:
        """Contract ``k``'s settlement line and price (usd_per_t) by month: one
        :func:`settle` over the months from its first to its last with volume, on the
        cleared prices (a line depends only on its own month, so each equals the line of
        that month settled alone, to the cent)."""
        due = self._due[k]
        if not due:
            return {}
        c, prices = self.contracts[k], self._prices[k]
        span = {m: p / KG_PER_T for m, p in prices.items() if due[0] <= m <= due[-1]}
        series = PriceSeries.from_mapping(span, origin=self.name)
        lines = {line.month: line for line in settle(c, series, due[0], due[-1]).lines}
        return {m: (lines[m], prices[m]) for m in due}

    def finalize(self) -> InstrumentReport:
        by_contract = [self._lines(k) for k in range(len(self.contracts))]
        rows = PendingRows()
        t = dict.fromkeys(("volume", "market_value", "topup", "upside", "seller"), 0.0)
        volume_by_product: dict[str, float] = {}
        for month in self._months:  # rows and totals month by month, contracts in order
            for lines, (buyer, _, product) in zip(by_contract, self._nodes, strict=True):
                if month not in lines:
                    continue
                line, price_t = lines[month]
                for var, value, unit in (
                    ("offtake_settled_volume", line.volume_t, "t"),
                    ("offtake_settlement_price", price_t, "usd_per_t"),
                    ("offtake_market_value", line.market_value_usd, "usd"),
                    ("offtake_floor_topup", line.floor_topup_usd, "usd"),
                    ("offtake_upside_to_buyer", line.upside_share_usd, "usd"),
                    ("offtake_seller_receives", line.seller_receives_usd, "usd"),
                ):
                    rows.add(month, product, buyer, var, value, unit)
                t["volume"] += line.volume_t
                volume_by_product[product] = volume_by_product.get(product, 0.0) + line.volume_t
                t["market_value"] += line.market_value_usd
                t["topup"] += line.floor_topup_usd
                t["upside"] += line.upside_share_usd
                t["seller"] += line.seller_receives_usd
        return InstrumentReport(
            rows=rows.build,
            metrics={
                "settlement_volume_t": t["volume"],
                "settlement_market_value_usd": t["market_value"],
                "settlement_floor_topup_usd": t["topup"],
                "settlement_upside_to_buyer_usd": t["upside"],
                "settlement_seller_receives_usd": t["seller"],
            },
            tonnes_by_product={"settlement_volume_t": volume_by_product},
        )
