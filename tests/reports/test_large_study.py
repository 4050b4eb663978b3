"""A study with more products than the report charts (docs/report.md, "Large studies").

Fourteen one-product chains (``p00``..``p13``): each is mined in the USA at 100 t a month
for 1,000 USD/t and bought in Canada by one critical bid (5,000 USD/t) over one route
(10 USD/t). Chains 2, 5 and 9 bid for 100 + 10 i t a month, more than the mine makes: those
three have physical shortage (10 i t a month, at the bid's price). The others bid for 50 t:
no shortage, and every one of them has the same prices (1,000 USD/t at the mine, 1,010 in
Canada), so the same relative price range, and ties fall to the view's order (by name).
Hence the 12 charted products are p02, p05, p09 (shortage) and the first nine of the rest by
name: p00, p01, p03, p04, p06, p07, p08, p10, p11; p12 and p13 are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from critmin.facade import load, write
from critmin.reports.figures import MAX_DRAWN_PRODUCTS

SHORT = {2, 5, 9}
CHARTED = {f"p{i:02d}" for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)}
LEFT_OUT = {"p12", "p13"}


def _study(path: Path) -> Path:
    markets = [
        {
            "mineral": f"p{i:02d}",
            "stage": "refining",
            "supply": [{"region": "USA", "qty_t": 100, "cost_usd_per_t": 1000}],
            "demand": [
                {
                    "region": "CAN",
                    "qty_t": 100 + 10 * i if i in SHORT else 50,
                    "wtp_usd_per_t": 5000,
                    "critical": True,
                }
            ],
            "routes": [{"from": "USA", "to": "CAN", "cost_usd_per_t": 10}],
        }
        for i in range(14)
    ]
    doc = {"name": "many", "months": {"start": "2026-01", "end": "2026-02"}, "markets": markets}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert match is not None, anchor
    return match.group(1)


def _products_in(text: str) -> set[str]:
    return set(re.findall(r"p\d\d", text))


def test_report_charts_the_products_with_most_shortage(tmp_path: Path) -> None:
    assert MAX_DRAWN_PRODUCTS == 12
    result = load(_study(tmp_path / "many.yaml")).run()
    write(result, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    prices = _section(html, "prices")
    assert "This study has 14 products; the chart draws the 12" in prices
    assert _products_in(prices) == CHARTED
    shortage = _section(html, "unserved")
    assert _products_in(shortage.split("Prices set by a demand ceiling")[0]) == {
        f"p{i:02d}" for i in SHORT
    }
    flows = _section(html, "flows")
    assert len(re.findall(r'id="fig-sankey-0-\d+"', flows)) == 12
    assert _products_in(flows) == CHARTED
    # nothing is left out of the tables: every product's prices are in the comparison
    comparison = _section(html, "comparison")
    assert _products_in(comparison) >= LEFT_OUT
