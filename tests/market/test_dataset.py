"""The "from dataset" market form builds supply from the catalog's production table."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.market.compile import compile_market
from critmin.market.spec import Market

production = pytest.importorskip("critmin.catalog.production")


def test_dataset_supply_is_annual_production_times_share_over_12() -> None:
    """Capacity per month = sum of 2024 rare-earth mine output (countries, not aggregates)
    x content share 0.2 / 12; China is its own region, every other country goes to ROW."""
    table = production.production("rare_earths", "mine", 2024)
    qty = table["qty"].astype(float)
    world = float(qty[np.isfinite(qty)].sum())
    chn = float(qty[(table["country_iso3"] == "CHN").to_numpy()].sum())
    market = Market.model_validate(
        {
            "mineral": "reo",
            "regions": ["CHN", "ROW", "JPN"],
            "from_dataset": [
                {
                    "mineral": "rare_earths",
                    "content_share": 0.2,
                    "cost_usd_per_t": 40000,
                    "regions": {"CHN": "CHN"},
                    "other": "ROW",
                }
            ],
            "demand": [{"region": "JPN", "qty_t": 1, "wtp_usd_per_t": 1}],
        }
    )
    cm = compile_market(market, ["2026-01"])
    assert cm.s_cap[0].sum() == pytest.approx(world * 0.2 / 12)
    chn_blocks = [i for i, n in enumerate(cm.s_name) if n.startswith("CHN")]
    assert cm.s_cap[0, chn_blocks].sum() == pytest.approx(chn * 0.2 / 12)
    assert chn > 0.5 * world


def test_repeated_region_is_refused() -> None:
    """A market listing a region twice is an input error naming the field (compile numbers
    nodes by region; a repeat would make two names for one place)."""
    from critmin.errors import InputError
    from critmin.scenarios.loader import validate_text

    text = """
name: repeat
markets:
  - mineral: x
    regions: [A, B, A]
    supply: [{region: A, qty_t: 1, cost_usd_per_t: 1}]
    demand: [{region: B, qty_t: 1, wtp_usd_per_t: 2}]
"""
    with pytest.raises(InputError, match="duplicate region 'A'"):
        validate_text(text, "repeat.yaml")


def test_broken_catalog_is_not_a_silent_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog that fails to load (here: its product table raises) must surface, not turn
    the product's stage into the default ``"market"``; an unknown product still does."""
    from critmin.catalog import minerals
    from critmin.market.spec import Market

    assert Market.model_validate({"mineral": "no_such_product"}).product_defs()[0].stage == (
        "market"
    )

    def broken(_name: str) -> None:
        raise ValueError("products.csv line 7: bad stage")

    monkeypatch.setattr(minerals, "get_product", broken)
    with pytest.raises(ValueError, match=r"products\.csv"):
        Market.model_validate({"mineral": "ndpr_oxide"}).product_defs()


def test_tariff_bloc_errors_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tariff party that is no region and no bloc is an input error listing the blocs; a
    bloc table that fails to load raises its own error instead of reading as "no bloc"."""
    from critmin.catalog import blocs
    from critmin.errors import InputError

    market = Market.model_validate(
        {
            "mineral": "x",
            "supply": [{"region": "USA", "qty_t": 1, "cost_usd_per_t": 1}],
            "demand": [{"region": "CHN", "qty_t": 1, "wtp_usd_per_t": 2}],
            "default_route_cost_usd_per_t": 1,
            "tariffs": [{"importer": "USA", "exporter": "nowhere", "specific_usd_per_t": 1}],
        }
    )
    with pytest.raises(InputError, match="neither a region"):
        compile_market(market, ["2026-01"])

    def broken(*_args: object, **_kw: object) -> None:
        raise ValueError("blocs.csv line 3: bad date")

    monkeypatch.setattr(blocs, "members", broken)
    with pytest.raises(ValueError, match=r"blocs\.csv"):
        compile_market(market, ["2026-01"])
