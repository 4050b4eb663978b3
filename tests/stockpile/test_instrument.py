"""The stockpile instrument against fake market objects (the protocol, no solver)."""

from __future__ import annotations

from collections.abc import Sequence

from critmin.policy.instrument import REGISTRY, Instrument
from critmin.stockpile import EntryKind, StockpileSpec
from critmin.stockpile.instrument import StockpileInstrument
from critmin.stockpile.signals import MineralSignal


class FakeCtx:
    mineral = "x"
    products: Sequence[str] = ("x",)
    regions: Sequence[str] = ("USA", "CHN")
    months: Sequence[str] = ("2026-01", "2026-02")

    def __init__(self) -> None:
        self.cols: list[tuple[str, str, str, float]] = []

    def add_supply(self, region: str, product: str, name: str) -> int:
        self.cols.append((region, product, name, 1.0))
        return len(self.cols) - 1

    def add_demand(self, region: str, product: str, name: str) -> int:
        self.cols.append((region, product, name, -1.0))
        return len(self.cols) - 1


class FakeView:
    def __init__(self, month: str, previous: FakeSolved | None) -> None:
        self.month = month
        self.previous = previous
        self.blocks: dict[int, tuple[float, float]] = {}

    def set_block(self, handle: int, qty_t: float, price_usd_per_t: float) -> None:
        self.blocks[handle] = (qty_t, price_usd_per_t)


class FakeSolved:
    def __init__(self, month: str, price: float, taken: dict[int, float]) -> None:
        self.month = month
        self._price = price
        self._taken = taken

    def price(self, region: str, product: str) -> float:  # noqa: ARG002
        return self._price

    def block_value(self, handle: int) -> float:
        return self._taken.get(handle, 0.0)


def _spec() -> StockpileSpec:
    return StockpileSpec.model_validate(
        {
            "name": "toy",
            "holder": {"id": "h", "name": "H", "region": "USA"},
            "start": "2026-01",
            "funding": [
                {"id": "g", "kind": "appropriation", "amount_usd": 3e6, "available_from": "2026-01"}
            ],
            "members": [{"id": "a", "share": 0.5}, {"id": "b", "share": 0.5}],
            "accounts": [
                {
                    "mineral": "x",
                    "protected_consumption_t_per_year": 120,
                    "acquisition": {"budget_usd": 2.2e6, "floor_price_usd_per_t": 110_000},
                }
            ],
        }
    )


def test_registered_and_protocol() -> None:
    assert "stockpile" in REGISTRY
    assert isinstance(StockpileInstrument(_spec()), Instrument)


def test_floor_bid_then_release_booked_from_cleared_quantities() -> None:
    """Budget 2,200,000 at floor 110,000 USD/t: the purchase bid is 20 t at 110,000.
    The market clears 12 t at 110,000 -> 1,320,000 spent. Next month a ban fires: release
    need = 0.25 x 10 t = 2.5 t, offered at 0 USD/t; the market takes 2 t -> 1 t to each
    member at cost (110,000/t), no purchase bid in a release month."""
    inst = StockpileInstrument(
        _spec(),
        signals={
            ("2026-01", "x"): MineralSignal(60_000, 50, 10),
            ("2026-02", "x"): MineralSignal(90_000, 5, 10, export_ban=True),
        },
    )
    ctx = FakeCtx()
    inst.initialize(ctx)
    assert [c[3] for c in ctx.cols] == [1.0, -1.0]
    rel, buy = 0, 1
    v1 = FakeView("2026-01", None)
    inst.before_solve("2026-01", v1)
    assert v1.blocks[buy] == (20.0, 110_000)
    assert v1.blocks[rel] == (0.0, 0.0)
    s1 = FakeSolved("2026-01", 110_000, {buy: 12.0})
    inst.after_solve("2026-01", s1)
    assert inst.stockpile.inventory_t("x") == 12.0
    assert inst.stockpile.budget_spent_usd("x") == 1_320_000.0
    v2 = FakeView("2026-02", s1)
    inst.before_solve("2026-02", v2)
    assert v2.blocks[rel] == (2.5, 0.0)
    assert v2.blocks[buy] == (0.0, 0.0)
    inst.after_solve("2026-02", FakeSolved("2026-02", 95_000, {rel: 2.0}))
    rels = [e for e in inst.stockpile.ledger if e.kind is EntryKind.RELEASE_SALE]
    assert [(e.counterparty, e.qty_t, e.amount_usd) for e in rels] == [
        ("a", -1.0, 110_000.0),
        ("b", -1.0, 110_000.0),
    ]
    rep = inst.finalize()
    assert rep.metrics["stock_ledger_balanced"] == 1.0
    assert {r.variable for r in rep.rows} >= {"stock_inventory", "days_of_cover", "stock_cash"}
