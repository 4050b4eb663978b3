"""Floors on two products: their tonnes are not added into one headline figure.

A tonne of NdPr oxide and a tonne of NdFeB magnet count different things, so no headline
figure adds them (docs/market.md, "Headline quantities in summary.json"). The shipped managed
market has one floor (MP Materials' NdPr oxide); a user who adds a second one on magnets
must get each product's tonnes, not their sum.

Derivation of the expected figures: each floor writes its monthly ``floor_kept`` and
``floor_covered_output`` rows on its own product, so a product's figure is the sum of that
product's rows in the run's tidy table; the one-number ``floor_kept_t`` and the subsidy per
tonne kept (fiscal cost / kept tonnes) would divide dollars over tonnes of two products, so
both are None. The splits (``floor_kept_t_by_product`` ...) are typed fields of
``critmin.HeadlineMetrics``, declared with their totals, so ``metrics.other`` stays empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import critmin

MAGNET_FLOOR = """\
name: two_floors
description: The managed market with a second top-up floor, on USA magnets.
base: builtin:ndpr_managed_market
instruments:
  - kind: topup_floor
    name: magnet_floor
    mineral: ndpr
    region: USA
    product: ndfeb_magnet
    floor_usd_per_t: 300000
    payer: test
    covered:
      - name: a magnet maker
        qty_t_per_year: 1200
        cost_usd_per_t: 200000
        source: test
        estimate: true
    source: test
    estimate: true
"""

#: purchase floors on two products and a second settled contract, on magnets: every tonne
#: total of the floors and settlements but the top-up's covered output is split
SPLITS = """\
name: three_splits
description: The managed market, purchase floors on oxide and magnets, a magnet settlement.
base: builtin:ndpr_managed_market
instruments:
  - kind: purchase_floor
    name: oxide_purchases
    mineral: ndpr
    region: USA
    product: ndpr_oxide
    floor_usd_per_t: 200000
    budget_usd: 1.0e9
    max_buy_t_per_month: 20
    source: test
    estimate: true
  - kind: purchase_floor
    name: magnet_purchases
    mineral: ndpr
    region: USA
    product: ndfeb_magnet
    floor_usd_per_t: 400000
    budget_usd: 1.0e9
    max_buy_t_per_month: 10
    source: test
    estimate: true
  - kind: offtake_settlement
    name: magnet_settlement
    mineral: ndpr
    contracts:
      - region: JPN
        product: ndfeb_magnet
        contract:
          name: test magnets
          buyer: JPN-test
          seller: test
          mineral: ndfeb_magnet
          stage: magnet
          volume_t_per_year: 1200
          start: 2026-04
          end: 2030-12
          floor_usd_per_kg: 80
          source: test
    source: test
    estimate: true
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> critmin.StudyResult:
    folder = Path(tmp_path_factory.mktemp("floors"))
    (folder / "two_floors.yaml").write_text(MAGNET_FLOOR)
    (folder / "splits.yaml").write_text(SPLITS)
    return critmin.run(
        "ndpr_baseline",
        str(folder / "two_floors.yaml"),
        str(folder / "splits.yaml"),
        "ndpr_managed_market",
    )


def _rows_by_product(result: critmin.StudyResult, scenario: str, variable: str) -> dict[str, float]:
    s = result.series
    rows = s[(s["scenario"] == scenario) & (s["variable"] == variable)]
    sums = rows.groupby("product", observed=True)["value"].sum()
    return {str(p): float(v) for p, v in sums.items()}


def test_two_floors_give_their_tonnes_per_product(result: critmin.StudyResult) -> None:
    m = result.metrics("two_floors")
    kept = _rows_by_product(result, "two_floors", "floor_kept")
    covered = _rows_by_product(result, "two_floors", "floor_covered_output")
    assert set(kept) == {"ndpr_oxide", "ndfeb_magnet"}
    assert kept["ndfeb_magnet"] > 0  # the 300 $/kg magnet floor keeps its block producing
    assert m.floor_kept_t is None
    assert m.subsidy_kept_usd_per_t is None
    # typed fields, declared with their totals (declare_tonnes), not undeclared keys of other
    assert m.floor_kept_t_by_product == pytest.approx(kept, rel=1e-12)
    assert m.floor_covered_output_t_by_product == pytest.approx(covered, rel=1e-12)
    assert m.floor_covered_output_t is None
    assert m.other == {}
    # summary.json is unchanged: the same keys in the same order, each split one mapping
    entry = next(e for e in result.summary["scenarios"] if e["name"] == "two_floors")
    assert entry["metrics"]["floor_kept_t_by_product"] == m.floor_kept_t_by_product
    assert "floor_covered_output_t" not in entry["metrics"]
    assert list(m.to_dict()) == list(entry["metrics"])
    assert m.to_dict() == entry["metrics"]
    assert m["floor_covered_output_t_by_product"] == m.floor_covered_output_t_by_product
    comparison = result.compare("baseline_free_trade")["two_floors"]
    assert comparison.floor_kept_t_by_product == pytest.approx(kept)


def test_purchase_floors_and_settlements_give_their_tonnes_per_product(
    result: critmin.StudyResult,
) -> None:
    """Purchase floors on oxide and magnets, and settled contracts on both: each split is the
    sum of its product's rows (``floor_purchase``, ``floor_kept``,
    ``offtake_settled_volume``), a typed field; the one top-up floor's covered output (NdPr
    oxide only) stays one number."""
    m = result.metrics("three_splits")
    purchases = _rows_by_product(result, "three_splits", "floor_purchase")
    settled = _rows_by_product(result, "three_splits", "offtake_settled_volume")
    covered = _rows_by_product(result, "three_splits", "floor_covered_output")
    assert set(purchases) == set(settled) == {"ndpr_oxide", "ndfeb_magnet"}
    assert min(purchases.values()) > 0
    assert min(settled.values()) > 0
    assert m.floor_purchases_t_by_product == pytest.approx(purchases, rel=1e-12)
    assert m.settlement_volume_t_by_product == pytest.approx(settled, rel=1e-12)
    assert m.floor_kept_t_by_product == pytest.approx(
        _rows_by_product(result, "three_splits", "floor_kept"), rel=1e-12
    )
    assert m.floor_purchases_t is None
    assert m.settlement_volume_t is None
    assert m.floor_covered_output_t == pytest.approx(covered["ndpr_oxide"], rel=1e-12)
    assert m.floor_covered_output_t_by_product is None
    assert m.other == {}


def test_an_older_summary_with_the_splits_loads_them_typed() -> None:
    """A ``metrics`` mapping as earlier versions wrote it for floors on two products (the
    splits were already there, read into ``other``) loads with the splits typed and writes
    back unchanged, keys in the same order."""
    old = {
        "avg_price_usd_per_t": {}, "peak_price_usd_per_t": {}, "tariff_revenue_usd": 0.0,
        "consumer_surplus_usd": 0.0, "producer_surplus_usd": 0.0, "non_converged_months": 0,
        "product_basis": {}, "physical_shortage_t_by_product": {},
        "physical_shortage_critical_t_by_product": {}, "physical_shortage_months": 0,
        "physical_shortage_months_by_product": {}, "consumption_t_by_product": {},
        "physical_shortage_t_by_node": {}, "consumption_t_by_node": {},
        "price_set_by_demand_ceiling": [], "chains": {},
        "floor_fiscal_cost_usd": 1.0e6,
        "floor_kept_t_by_product": {"ndfeb_magnet": 100.0, "ndpr_oxide": 1300.0},
        "floor_purchases_t_by_product": {"ndfeb_magnet": 5.0, "ndpr_oxide": 7.0},
        "settlement_volume_t_by_product": {"dysprosium_oxide": 2.0, "terbium_oxide": 1.0},
        "floor_kept_t": None,
    }  # fmt: skip
    m = critmin.HeadlineMetrics.from_dict(old)
    assert m.other == {}
    assert m.floor_kept_t is None
    assert m.floor_kept_t_by_product == {"ndfeb_magnet": 100.0, "ndpr_oxide": 1300.0}
    assert m.floor_purchases_t_by_product == {"ndfeb_magnet": 5.0, "ndpr_oxide": 7.0}
    assert m.settlement_volume_t_by_product == {"dysprosium_oxide": 2.0, "terbium_oxide": 1.0}
    assert list(m.to_dict().items()) == list(old.items())


def test_one_floor_keeps_its_one_number(result: critmin.StudyResult) -> None:
    """The shipped managed market (one floor, NdPr oxide) is unchanged: one number each."""
    m = result.metrics("managed_market")
    kept = _rows_by_product(result, "managed_market", "floor_kept")
    assert set(kept) == {"ndpr_oxide"}
    assert m.floor_kept_t == pytest.approx(kept["ndpr_oxide"], rel=1e-12)
    assert m.subsidy_kept_usd_per_t is not None
    assert m.subsidy_kept_usd_per_t == pytest.approx(m.floor_fiscal_cost_usd / m.floor_kept_t)
    assert m.floor_kept_t_by_product is None
    assert m.floor_covered_output_t_by_product is None
    assert m.other == {}
    assert result.compare("baseline_free_trade")["managed_market"].floor_kept_t_by_product == {}
