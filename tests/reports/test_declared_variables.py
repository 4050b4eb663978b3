"""The report summarises instrument variables as they are declared (``OutputVariable``:
unit, aggregation, description), not by guessing from the unit or the name.

Hand-made rows (3 months x 2 regions, values chosen so each rule gives a different number):

* ``stock_inventory`` (declared ``last``, t): month totals over both regions 10+20, 30+40,
  50+60 = 30, 70, 110; the last month is **110 t** (the mean would be 70, the sum 210).
* ``stock_purchases`` (declared ``sum``, t; its name says "stock"): 30 + 70 + 110 = **210 t**
  (the earlier name rule showed the monthly mean, 70).
* ``days_of_cover`` (declared ``last``, days; not additive across regions): month means
  15, 35, 55; the last month is **55 days**.
* ``widget_level`` (declared nowhere, t): falls back to its unit, summed: **210 t**.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmin.market.results import output_variables
from critmin.policy.instrument import discover
from critmin.reports import build_report
from critmin.reports.figures import summarised
from critmin.reports.testing import read_table_rows

MONTHS = ["2026-01", "2026-02", "2026-03"]


def _rows(variable: str, unit: str) -> pd.DataFrame:
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]  # (month, region) in order
    return pd.DataFrame(
        {
            "scenario": "managed",
            "month": [m for m in MONTHS for _ in range(2)],
            "mineral": "ndpr_oxide",
            "stage": "oxide",
            "region": ["USA", "JPN"] * 3,
            "variable": variable,
            "value": values,
            "unit": unit,
        }
    )


def test_every_declared_variable_is_summarised_as_declared() -> None:
    discover()
    for var in output_variables().values():
        how = summarised(var.name, var.unit)
        assert how.declared
        assert how.over_months == var.aggregation, var.name
        assert how.description == var.description
        assert how.across == ("mean" if var.aggregation == "mean" or var.unit == "days" else "sum")


def test_summary_rows_follow_the_declaration(tmp_path: Path) -> None:
    series = pd.concat(
        [
            _rows("price", "usd_per_t"),
            _rows("stock_inventory", "t"),
            _rows("stock_purchases", "t"),
            _rows("days_of_cover", "days"),
            _rows("widget_level", "t"),
        ],
        ignore_index=True,
    )
    summary = {
        "critmin_version": "test",
        "created": "2026-12-03T00:00:00+00:00",
        "seed": 0,
        "inputs": {},
        "scenarios": [
            {"name": "managed", "description": "", "months": {}, "metrics": {"unserved_t": 0.0}}
        ],
        "assumptions": [],
    }
    text = build_report(series, summary, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = {r.metric: r for r in read_table_rows(text, "extra-table")}
    expected = {
        "stock_inventory": 110.0,
        "stock_purchases": 210.0,
        "days_of_cover": 55.0,
        "widget_level": 210.0,
    }
    for name, value in expected.items():
        assert float(rows[name].cells[0].value) == pytest.approx(value), name
    assert "last month" in text
    assert "tonnes held at the month" in text
