"""Floors on two products: their tonnes are not added into one headline figure.

A tonne of NdPr oxide and a tonne of NdFeB magnet count different things, so no headline
figure adds them (docs/market.md, "Headline quantities in summary.json"). The shipped managed
market has one floor (MP Materials' NdPr oxide); a user who adds a second one on magnets
must get each product's tonnes, not their sum.

Derivation of the expected figures: each floor writes its monthly ``floor_kept`` and
``floor_covered_output`` rows on its own product, so a product's figure is the sum of that
product's rows in the run's tidy table; the one-number ``floor_kept_t`` and the subsidy per
tonne kept (fiscal cost / kept tonnes) would divide dollars over tonnes of two products, so
both are None.
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


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> critmin.StudyResult:
    path = Path(tmp_path_factory.mktemp("floors")) / "two_floors.yaml"
    path.write_text(MAGNET_FLOOR)
    return critmin.run("ndpr_baseline", str(path), "ndpr_managed_market")


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
    assert m.other["floor_kept_t_by_product"] == pytest.approx(kept, rel=1e-12)
    assert m.other["floor_covered_output_t_by_product"] == pytest.approx(covered, rel=1e-12)
    assert "floor_covered_output_t" not in m.other
    comparison = result.compare("baseline_free_trade")["two_floors"]
    assert comparison.floor_kept_t_by_product == pytest.approx(kept)


def test_one_floor_keeps_its_one_number(result: critmin.StudyResult) -> None:
    """The shipped managed market (one floor, NdPr oxide) is unchanged: one number each."""
    m = result.metrics("managed_market")
    kept = _rows_by_product(result, "managed_market", "floor_kept")
    assert set(kept) == {"ndpr_oxide"}
    assert m.floor_kept_t == pytest.approx(kept["ndpr_oxide"], rel=1e-12)
    assert m.subsidy_kept_usd_per_t is not None
    assert m.subsidy_kept_usd_per_t == pytest.approx(m.floor_fiscal_cost_usd / m.floor_kept_t)
    assert "floor_kept_t_by_product" not in m.other
    assert result.compare("baseline_free_trade")["managed_market"].floor_kept_t_by_product == {}
