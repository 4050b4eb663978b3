"""How a study's ``metric:`` outcome names a headline figure (``critmin sweep`` reads each
sample's figures through :func:`critmin.scenarios.sweep.evaluate._scalar_metric`, the one
function every sample's outcomes pass)."""

from __future__ import annotations

import pytest

from critmin.errors import InputError
from critmin.scenarios.sweep.evaluate import _scalar_metric
from critmin.scenarios.sweep.study import Outcome

# what a managed-market sample's headline figures hold (summary.json's flat keys)
FIGURES = {
    "levy_revenue_usd": 6.0e8,
    "stock_releases_t_ndfeb_magnet": 2292.0,
    "stock_releases_t_ndpr_oxide": 172.0,
    "physical_shortage_t_by_product": {"ndfeb_magnet": 25_500.0},
}


def _read(metric: str) -> float:
    return _scalar_metric(Outcome(name="o", metric=metric), FIGURES)


def test_an_instruments_per_product_figure_reads_by_its_typed_name_or_its_flat_key() -> None:
    """``stock_releases_t_by_product.ndfeb_magnet`` (HeadlineMetrics' typed field and the
    product) is the flat ``stock_releases_t_ndfeb_magnet`` of summary.json: 2,292 t both ways,
    and the oxide's 172 t is not mixed in."""
    assert _read("stock_releases_t_by_product.ndfeb_magnet") == 2292.0
    assert _read("stock_releases_t_ndfeb_magnet") == 2292.0
    assert _read("stock_releases_t_by_product.ndpr_oxide") == 172.0
    assert _read("physical_shortage_t_by_product.ndfeb_magnet") == 25_500.0


def test_a_product_the_run_does_not_have_is_refused_not_read_as_zero() -> None:
    with pytest.raises(InputError, match=r"no scalar metric 'stock_releases_t_by_product\.dy"):
        _read("stock_releases_t_by_product.dy_oxide")
    with pytest.raises(InputError, match="stock_releases_t"):  # a removed total names successors
        _read("stock_releases_t")
