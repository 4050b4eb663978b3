"""compare_to_baseline on a hand-made two-scenario series (every figure derived below)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.errors import UnknownNameError
from critmin.scenarios.compare import compare_to_baseline

COLUMNS = ["scenario", "month", "mineral", "stage", "region", "variable", "value", "unit"]


def _series() -> pd.DataFrame:
    rows = []

    def add(sc: str, region: str, variable: str, value: float, unit: str = "t") -> None:
        rows.append((sc, "2026-03", "ndpr_oxide", "refining", region, variable, value, unit))

    for sc, p_jpn, p_chn in (("free", 100.0, 90.0), ("managed", 130.0, 80.0)):
        add(sc, "JPN", "price", p_jpn, "usd_per_t")
        add(sc, "CHN", "price", p_chn, "usd_per_t")
        add(sc, "AUS", "price", 95.0, "usd_per_t")
        add(sc, "JPN", "consumption", 10.0)
        add(sc, "JPN", "production", 0.0)
    add("free", "CHN->JPN", "flow", 10.0)
    add("managed", "CHN->JPN", "flow", 4.0)
    add("managed", "AUS->JPN", "flow", 6.0)
    add("managed", "AUS", "production", 6.0)
    add("managed", "USA", "floor_payment", 500.0, "usd")
    add("managed", "USA", "floor_kept", 5.0)
    add("managed", "JPN", "levy_revenue", 120.0, "usd")
    add("managed", "JPN", "unserved", 2.0)
    add("managed", "USA", "days_of_cover", 45.0, "days")
    return pd.DataFrame(rows, columns=COLUMNS)


def test_managed_market_figures_by_hand() -> None:
    """FORGE on 2026-03: JPN, AUS, USA members; CHN not.

    inside avg = (130 + 95) / 2 = 112.5, outside = 80 (managed); free: (100 + 95) / 2 = 97.5.
    OEM premium = (130 - 100) x 10 t = 300 usd, 30 usd/t. Imports into members: managed
    6 t from AUS (member), 4 t from CHN; free 0 and 10 -> diversion +6 / -6. Subsidy per tonne
    kept = 500 / 5 = 100. Production change of ndpr_oxide = 6 - 0 (per product; the stage-summed
    unserved_t, shortage_months and production_change_t are gone).
    """
    got = compare_to_baseline(_series(), "free")
    m = got["managed"]
    assert m["avg_price_inside_forge_usd_per_t"] == {"ndpr_oxide": pytest.approx(112.5)}
    assert m["avg_price_outside_forge_usd_per_t"] == {"ndpr_oxide": pytest.approx(80)}
    assert got["free"]["avg_price_inside_forge_usd_per_t"]["ndpr_oxide"] == pytest.approx(97.5)
    assert m["oem_security_premium_usd"] == pytest.approx(300)
    assert m["oem_security_premium_usd_per_t_by_product"] == {"ndpr_oxide": pytest.approx(30)}
    assert m["trade_diversion_from_members_t_by_product"] == {"ndpr_oxide": 6.0}
    assert m["trade_diversion_from_nonmembers_t_by_product"] == {"ndpr_oxide": -6.0}
    assert m["floor_fiscal_cost_usd"] == 500
    assert m["subsidy_kept_usd_per_t"] == pytest.approx(100)
    assert m["levy_revenue_usd"] == 120
    assert m["production_change_t_by_product"] == {"ndpr_oxide": pytest.approx(6)}
    assert not {"unserved_t", "shortage_months", "production_change_t"} & set(m)
    assert m["days_of_cover_last"] == {"ndpr_oxide/USA": 45.0}
    assert got["free"]["oem_security_premium_usd"] == 0
    assert got["free"]["subsidy_kept_usd_per_t"] is None
    assert "days_of_cover_last" not in got["free"]


def test_tonnes_of_different_products_are_never_added() -> None:
    """Two products in one scenario: 10 t of oxide (price +30 over free trade) and 1 t of
    magnet (price +1,000). Per product: premium 300 and 1,000 usd, i.e. 30 and 1,000 usd per
    tonne of each; a stage-summed figure would have said 1,300 / 11 t = 118.2 usd/t, a number
    that is neither product's. Production: oxide +6 t, magnet -2 t; their sum (+4 t) is not
    reported anywhere. Imports into members by product: oxide 6 t from members (+6 against
    free trade), 4 t from others (-6); magnets 1 t from others (no change)."""
    rows = []
    for sc, p_ox, p_mag, q_ox, q_mag in (
        ("free", 100.0, 50_000.0, 0.0, 3.0),
        ("managed", 130.0, 51_000.0, 6.0, 1.0),
    ):
        for mineral, stage, price, cons, prod in (
            ("ndpr_oxide", "refining", p_ox, 10.0, q_ox),
            ("ndfeb_magnet", "component", p_mag, 1.0, q_mag),
        ):
            for variable, value in (("price", price), ("consumption", cons), ("production", prod)):
                rows.append((sc, "2026-03", mineral, stage, "JPN", variable, value, "t"))
    for sc in ("free", "managed"):  # AUS is a node of the chain (a FORGE member), at no cost
        rows.append((sc, "2026-03", "ndpr_oxide", "refining", "AUS", "price", 95.0, "usd_per_t"))
    # imports into JPN (member): free trade all from CHN (non-member); managed 6 t of oxide
    # from AUS (member), 4 t of oxide and the 1 t of magnet still from CHN
    for sc, mineral, stage, route, t in (
        ("free", "ndpr_oxide", "refining", "CHN->JPN", 10.0),
        ("free", "ndfeb_magnet", "component", "CHN->JPN", 1.0),
        ("managed", "ndpr_oxide", "refining", "AUS->JPN", 6.0),
        ("managed", "ndpr_oxide", "refining", "CHN->JPN", 4.0),
        ("managed", "ndfeb_magnet", "component", "CHN->JPN", 1.0),
    ):
        rows.append((sc, "2026-03", mineral, stage, route, "flow", t, "t"))
    m = compare_to_baseline(pd.DataFrame(rows, columns=COLUMNS), "free")["managed"]
    assert m["trade_diversion_from_members_t_by_product"] == {
        "ndfeb_magnet": 0.0,
        "ndpr_oxide": 6.0,
    }
    assert m["trade_diversion_from_nonmembers_t_by_product"] == {
        "ndfeb_magnet": 0.0,
        "ndpr_oxide": -6.0,
    }
    assert m["oem_security_premium_usd"] == pytest.approx(1300)
    assert m["oem_security_premium_usd_by_product"] == {
        "ndfeb_magnet": pytest.approx(1000),
        "ndpr_oxide": pytest.approx(300),
    }
    assert m["oem_security_premium_usd_per_t_by_product"] == {
        "ndfeb_magnet": pytest.approx(1000),
        "ndpr_oxide": pytest.approx(30),
    }
    assert m["production_change_t_by_product"] == {
        "ndfeb_magnet": pytest.approx(-2),
        "ndpr_oxide": pytest.approx(6),
    }
    assert "oem_security_premium_usd_per_t" not in m


def test_unknown_baseline_suggests_a_name() -> None:
    with pytest.raises(UnknownNameError, match="did you mean free"):
        compare_to_baseline(_series(), "fre")
