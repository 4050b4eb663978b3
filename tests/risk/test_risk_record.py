"""End-to-end hand-computed case of critmin.catalog.risk.risk_record on in-memory tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from critmin.catalog.risk import RECORD_FIELDS_REQUIRED, risk_record, unit_to_tonnes, write_records

NAN = float("nan")


def production() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country_iso3": ["CHN", "AUS", "USA", "CAN", "ZZ_OTHER"],
            "qty": [600.0, 200.0, 100.0, NAN, 100.0],
            "unit": ["t"] * 5,
            "withheld": [False, False, False, True, False],
            "is_estimate": [False, True, False, False, False],
            "source": ["USGS MCS 2025"] * 5,
        }
    )


WGI = pd.Series({"CHN": -0.5, "AUS": 1.0, "USA": 0.0, "CAN": 1.0, "JPN": 1.0})

TRADE = pd.DataFrame(
    {
        "hs6": ["283691", "283691", "283691", "283691", "999999"],
        "exporter_iso3": ["CHN", "AUS", "CAN", "CHN", "CHN"],
        "importer_iso3": ["USA", "USA", "USA", "JPN", "USA"],
        "qty_t": [1000.0, 500.0, 100.0, 999.0, 5000.0],
    }
)


def test_risk_record_hand_computed() -> None:
    """Production CHN 600, AUS 200, USA 100, CAN withheld, Other 100 (t); bloc {USA, CAN}.

    Shares .6/.2/.1/other .1 -> HHI (0.36+0.04+0.01)e4 = 4,100 (upper, other as one: 4,200);
    top-1 CHN .6, top-3 .9, China .6, bloc .1.
    WGI CHN -0.5, AUS 1.0, USA 0.0 -> g(0..10) 6, 3, 5: SR = .36*6 + .04*3 + .01*5 = 2.33,
    covering .9 of supply (Other has no score).
    Import risk: CAN, a member, has its production withheld ("W"), so the bloc's domestic
    production is unknown: by the documented policy the import risk is null with the reason,
    not computed with CAN = 0 (which would give 0.41 * 141 / 382 = 0.1513).
    """
    r = risk_record(
        "x",
        "mine",
        2024,
        production(),
        political_stability=WGI,
        bloc="test",
        bloc_members={"USA", "CAN"},
        us_net_import_reliance=0.5,
        trade=TRADE,
        trade_year=2023,
        wgi_year=2023,
    )
    assert r.hhi == pytest.approx(4100.0)
    assert r.hhi_upper == pytest.approx(4200.0)
    assert (r.top1_iso3, r.top1_share) == ("CHN", pytest.approx(0.6))
    assert r.top3_share == pytest.approx(0.9)
    assert r.china_share == pytest.approx(0.6)
    assert r.bloc_share == pytest.approx(0.1)
    assert r.other_share == pytest.approx(0.1)
    assert r.withheld_iso3 == ("CAN",)
    assert r.n_producers == 3
    assert r.total_qty == pytest.approx(1000.0)
    assert r.supply_risk_eu == pytest.approx(2.33)
    assert r.wgi_coverage == pytest.approx(0.9)
    assert r.import_risk is None
    assert r.import_risk_year is None
    assert "CAN withheld by USGS" in r.import_risk_note
    assert r.us_net_import_reliance == 0.5
    assert r.is_estimate is True


def test_no_data_gives_nulls_not_defaults(tmp_path: Path) -> None:
    """All rows withheld: every share metric is null in the JSON; never 0."""
    prod = production().assign(qty=NAN)
    r = risk_record(
        "x", "mine", 2024, prod, political_stability=WGI, bloc="test", bloc_members={"USA"}
    )
    rec = r.as_json()
    for key in (
        "hhi",
        "top1_iso3",
        "top1_share",
        "top3_share",
        "china_share",
        "bloc_share",
        "us_net_import_reliance",
        "supply_risk_eu",
        "import_risk",
        "total_qty",
    ):
        assert rec[key] is None, key
    paths = write_records([r], tmp_path)
    data = json.loads((tmp_path / "risk.json").read_text())
    assert set(RECORD_FIELDS_REQUIRED) <= set(data[0])
    assert data[0]["hhi"] is None
    assert {p.name for p in paths} == {"risk.json", "risk.csv"}
    assert not list(tmp_path.glob(".*tmp"))


def test_unit_to_tonnes() -> None:
    assert unit_to_tonnes("t REO") == 1.0
    assert unit_to_tonnes("kg") == 1e-3
    assert unit_to_tonnes("thousand metric tons") == 1e3
    assert unit_to_tonnes("million carats") is None
    assert math.isclose(unit_to_tonnes("kilograms") or 0, 1e-3)


def test_shares_of_the_world_total() -> None:
    """Same rows with a published world total of 1,250 t (T5's denominator).

    Named shares CHN 600/1250 = .48, AUS .16, USA .08 (CAN withheld, Other 100 -> .08):
    HHI = (.2304 + .0256 + .0064) e4 = 2,624; remainder 1 - .72 = .28 (Other .08 + withheld and
    rounding .20); upper bound with the remainder as one producer 2,624 + .0784e4 = 3,408.
    top-3 .72, China .48, bloc {USA, CAN} .08. The production rows' estimate flag is listed.
    """
    r = risk_record(
        "x",
        "mine",
        2024,
        production(),
        political_stability=WGI,
        bloc="test",
        bloc_members={"USA", "CAN"},
        world_total=1250.0,
    )
    assert r.share_basis == "world total"
    assert r.world_total == 1250.0
    assert r.hhi == pytest.approx(2624.0)
    assert r.unallocated_share == pytest.approx(0.28)
    assert r.other_share == pytest.approx(0.08)
    assert r.hhi_upper == pytest.approx(3408.0)
    assert (r.top1_iso3, r.top1_share) == ("CHN", pytest.approx(0.48))
    assert r.top3_share == pytest.approx(0.72)
    assert r.bloc_share == pytest.approx(0.08)
    assert r.estimates == ("production rows",)
    # EU-style SR on the same shares: .2304*6 + .0256*3 + .0064*5 = 1.4912
    assert r.supply_risk_eu == pytest.approx(1.491, abs=1e-3)
