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
