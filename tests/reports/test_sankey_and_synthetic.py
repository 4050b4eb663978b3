"""Sankey links (hand-solved) and the synthetic run's agreement with the contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.reports.contract import SERIES_COLUMNS, run_view
from critmin.reports.figures import sankey_links
from critmin.reports.testing import synthetic_run


def _row(variable: str, stage: str, region: str, value: float, month: str = "2026-01") -> dict:
    unit = "usd_per_t" if variable == "price" else "t"
    return {"scenario": "s", "month": month, "mineral": f"x_{stage}", "stage": stage,
            "region": region, "variable": variable, "value": value, "unit": unit}  # fmt: skip


def test_sankey_two_stage_hand_case() -> None:
    """Chain concentrate -> oxide; regions A, B; two months (per month):

    A mines 25 t of concentrate, ships 10 t to B and uses 15 t itself as final demand.
    B converts the 10 t (conversion_input 10) into 4 t of oxide, exports all 4 t to A,
    where they are consumed. Summed over 2 months:
      A·concentrate -> B·oxide = 2 x 10 = 20 t    (B's conversion input, all imported)
      A·concentrate -> A·use   = 2 x 15 = 30 t    (A's own output kept and consumed)
      B·oxide       -> A·use   = 2 x 4  =  8 t    (imported oxide consumed in A)
    No link goes from a later column to an earlier one.
    """
    rows = []
    for month in ("2026-01", "2026-02"):
        rows += [
            _row("price", "concentrate", "A", 5_000.0, month),
            _row("price", "oxide", "B", 60_000.0, month),
            _row("production", "concentrate", "A", 25.0, month),
            _row("consumption", "concentrate", "A", 15.0, month),
            _row("conversion_input", "concentrate", "B", 10.0, month),
            _row("production", "oxide", "B", 4.0, month),
            _row("consumption", "oxide", "A", 4.0, month),
            _row("flow", "concentrate", "A->B", 10.0, month),
            _row("flow", "oxide", "B->A", 4.0, month),
        ]
    summary = {"scenarios": [{"name": "s", "metrics": {"chains": {"x": ["x_concentrate",
                                                                        "x_oxide"]}}}]}  # fmt: skip
    view = run_view(pd.DataFrame(rows), summary)
    links = sankey_links(view, "s")
    got = {(s, t): v for s, t, v in links[["source", "target", "value_t"]].itertuples(index=False)}
    assert got == {
        ("A · concentrate", "B · oxide"): 20.0,
        ("A · concentrate", "A · use"): 30.0,
        ("B · oxide", "A · use"): 8.0,
    }
    assert (links["target_col"] > links["source_col"]).all()


def test_synthetic_run_is_contract_shaped_and_reproducible() -> None:
    series_a, summary_a = synthetic_run(11)
    series_b, summary_b = synthetic_run(11)
    series_c, _ = synthetic_run(12)
    assert tuple(series_a.columns) == SERIES_COLUMNS
    pd.testing.assert_frame_equal(series_a, series_b)
    assert summary_a == summary_b
    assert not np.allclose(series_a["value"], series_c["value"])
    routes = series_a.loc[series_a["variable"] == "flow", "region"]
    assert routes.str.fullmatch(r"[A-Z]{3}->[A-Z]{3}").all()
    assert series_a["month"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_synthetic_ban_stops_chinese_exports_and_metrics_match_series() -> None:
    """During the ban (2026-04..2027-03) CHN ships no oxide/metal/magnet abroad; the
    summary's metrics are the series' means, sums and counts."""
    series, summary = synthetic_run(2)
    ban = series[(series["scenario"] == "chn_export_ban") & (series["variable"] == "flow")]
    in_ban = ban["month"].between("2026-04", "2027-03")
    abroad = ban["region"].str.startswith("CHN->") & (ban["region"] != "CHN->CHN")
    exported = ban[in_ban & abroad & (ban["stage"] != "concentrate")]["value"]
    assert len(exported) > 0
    assert float(exported.abs().max()) == 0.0
    scen = {s["name"]: s["metrics"] for s in summary["scenarios"]}  # type: ignore[union-attr]
    sc = series[series["scenario"] == "chn_export_ban"]
    price = sc[(sc["variable"] == "price") & (sc["stage"] == "oxide") & (sc["region"] == "JPN")]
    assert scen["chn_export_ban"]["avg_price_usd_per_t"]["ndpr_oxide/oxide/JPN"] == pytest.approx(
        price["value"].mean()
    )
    assert scen["chn_export_ban"]["physical_shortage_months"] == 12
    assert scen["baseline"]["physical_shortage_months"] == 0
    assert "levy_revenue_usd" in scen["forge_managed"]
    assert "levy_revenue_usd" not in scen["baseline"]
