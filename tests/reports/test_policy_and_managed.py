"""The report's "Policy parameters" section, the managed-market comparison block and the KPI
strip (issue 4 part 1: "the report lists what [a reform] changed"; part 6: "the report
compares the three side by side: prices inside and outside FORGE, shortage, days of cover,
fiscal cost of the floors, levy revenue, the cost to OEMs ... and the subsidy per tonne kept")."""

from __future__ import annotations

import copy
import html
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from critmin.errors import InputError
from critmin.reports import build_report, fmt
from critmin.reports.build import MANAGED_BLOCK, MAX_KPIS, NO_CHANGE
from critmin.reports.testing import read_table_rows, synthetic_run

Run = tuple[pd.DataFrame, dict[str, object]]


def _scenarios(summary: dict[str, object]) -> list[dict[str, object]]:
    scen = summary["scenarios"]
    assert isinstance(scen, list)
    return scen


def _render(run: Run, tmp_path: Path, name: str = "r.html") -> str:
    series, summary = run
    return build_report(series, summary, tmp_path / name).read_text(encoding="utf-8")


def _reform_block(text: str, scenario: str) -> str:
    """The HTML of one scenario's entry in "Changes made by each scenario"."""
    match = re.search(
        rf'<div class="reform-scn" data-scenario="{re.escape(scenario)}">(.*?)</div>', text, re.S
    )
    assert match, f"no reform entry for {scenario}"
    return match.group(1)


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


# --------------------------------------------------------------------------- policy parameters


def test_reform_change_is_listed_with_before_and_after(report_html: str) -> None:
    """The synthetic managed scenario raises the NdPr oxide floor 110 -> 130 usd/kg from
    2027-01-01: its entry names the parameter, the instrument, the date, both values with
    the unit and the reform's reference; the two scenarios without reforms say so."""
    text = report_html
    managed = _text(_reform_block(text, "forge_managed"))
    for expected in (
        "policy.price_floor.ndpr_oxide",
        "dod_mp_floor",
        "2027-01-01",
        "110 → 130",
        "USD/kg",
        "synthetic reform: floor raised in 2027",
    ):
        assert expected in managed, expected
    assert NO_CHANGE not in managed
    for name in ("baseline", "chn_export_ban"):
        assert NO_CHANGE in _text(_reform_block(text, name))


def test_no_reform_field_reads_as_no_change(tmp_path: Path) -> None:
    """A summary without ``reform_changes`` (older runs) or with an empty list: the sentence."""
    series, summary = synthetic_run(4, n_months=6, scenarios=("baseline", "forge_managed"))
    scen = _scenarios(summary)
    del scen[0]["reform_changes"]
    scen[1]["reform_changes"] = []
    text = _render((series, summary), tmp_path)
    for name in ("baseline", "forge_managed"):
        assert NO_CHANGE in _text(_reform_block(text, name))
    assert text.count(f'<p class="no-change">{NO_CHANGE}</p>') == 2


def test_added_and_removed_parameters_show_none(tmp_path: Path) -> None:
    """kind "added": before is "(none)"; kind "removed": after is "(none)"; a share is also
    shown as a percentage (0.3 -> "0.3 (30%)")."""
    series, summary = synthetic_run(4, n_months=6, scenarios=("baseline",))
    _scenarios(summary)[0]["reform_changes"] = [
        {"instrument": "forge_levy", "parameter": "forge.levy_bound.ad_valorem_share",
         "from": "2026-07-01", "before": None, "after": 0.3, "unit": "share",
         "reference": "test", "kind": "added"},
        {"instrument": "dod_mp_floor", "parameter": "policy.price_floor.ndpr_oxide",
         "from": "2025-07-01", "before": 110, "after": None, "unit": "usd_per_kg",
         "reference": "removed", "kind": "removed"},
    ]  # fmt: skip
    block = _text(_reform_block(_render((series, summary), tmp_path), "baseline"))
    assert "(none) → 0.3 (30%)" in block
    assert "110 → (none)" in block


def test_parameters_used_table_lists_value_unit_reference_and_badge(report_html: str) -> None:
    """Each baseline parameter the instruments read is one row: name, value in force, unit,
    effective date, the scenario and instrument using it, reference, estimate/sourced."""
    text = report_html
    rows = re.findall(r'<tr class="(estimate|sourced)" data-parameter="([^"]+)">(.*?)</tr>', text)
    by_name = {name: (cls, _text(body)) for cls, name, body in rows}
    cls, body = by_name["forge.levy_bound.ad_valorem_share"]
    assert cls == "estimate"
    assert "0.25 (25%)" in body
    assert "forge_managed (forge_levy)" in body
    assert "estimate" in body
    cls, body = by_name["policy.price_floor.ndpr_oxide"]
    assert cls == "sourced"
    for expected in ("110", "USD/kg", "2025-07-01", "MP Materials/DoD release", "sourced"):
        assert expected in body, expected


def test_parameters_used_must_be_a_list_of_objects(tmp_path: Path) -> None:
    series, summary = synthetic_run(3, n_months=6, scenarios=("baseline",))
    _scenarios(summary)[0]["parameters_used"] = {"forge.in_force": True}
    with pytest.raises(InputError, match=r"scenarios\[0\]'\.parameters_used"):
        build_report(series, summary, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- managed block

#: One figure per block metric; the dict metrics have two keys (prices in USD/t).
_MANAGED_METRICS: dict[str, object] = {
    "avg_price_inside_forge_usd_per_t": {"ndpr_oxide": 53_805.31, "ndpr_concentrate": 9_000.0},
    "avg_price_outside_forge_usd_per_t": {"ndpr_oxide": 52_136.52, "ndpr_concentrate": 8_500.0},
    "physical_shortage_t_by_product": {"ndfeb_magnet": 25_514.5, "ndpr_oxide": 12.0},
    "physical_shortage_months": 12,
    "demand_reduction_by_price_t_by_product": {"ndfeb_magnet": 31_508.1, "ndpr_oxide": 0.0},
    "days_of_cover_last": {"ndpr_oxide/USA": 174.9, "ndfeb_magnet/USA": 91.0},
    "days_of_cover_min": {"ndpr_oxide/USA": 0.0, "ndfeb_magnet/USA": 0.0},
    "floor_fiscal_cost_usd": 241_418_194.4,
    "levy_revenue_usd": 615_902_379.4,
    "oem_security_premium_usd": 2_098_926_601.96,
    "oem_security_premium_usd_per_t_by_product": {"ndfeb_magnet": 14_372.0, "ndpr_oxide": 30.0},
    "subsidy_kept_usd_per_t": 59_609.43,
}


def _managed_run(seed: int = 6) -> Run:
    """Synthetic baseline + managed run whose managed metrics are given in a shuffled order
    (so the block's order cannot come from the summary's order)."""
    series, summary = synthetic_run(seed, n_months=12, scenarios=("baseline", "forge_managed"))
    items = list(copy.deepcopy(_MANAGED_METRICS).items())
    random.Random(seed).shuffle(items)
    base, managed = _scenarios(summary)
    managed_metrics = managed["metrics"]
    assert isinstance(managed_metrics, dict)
    for name in list(managed_metrics):
        if name not in {"avg_price_usd_per_t", "peak_price_usd_per_t", "unserved_t_by_region"}:
            del managed_metrics[name]
    managed_metrics.update(items)
    base_metrics = base["metrics"]
    assert isinstance(base_metrics, dict)
    base_metrics.update(
        {"floor_fiscal_cost_usd": 0.0, "levy_revenue_usd": 0.0, "oem_security_premium_usd": 0.0}
    )
    return series, summary


@pytest.fixture(scope="module")
def managed_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _render(_managed_run(), tmp_path_factory.mktemp("managed"))


def test_managed_block_rows_are_in_the_issue_order(managed_html: str) -> None:
    """The "Managed-market instruments" table lists prices inside FORGE, prices outside,
    shortage, days of cover, fiscal cost of the floors, levy revenue, cost to OEMs and subsidy
    per tonne kept, in that order, whatever the summary's order; dict metrics as sub-rows."""
    text = managed_html
    rows = [r for r in read_table_rows(text) if r.table == "managed"]
    order: list[str] = []
    for row in rows:
        assert row.metric is not None
        if row.metric not in order:
            order.append(row.metric)
    expected = [names[0] for names, _, _ in MANAGED_BLOCK]
    assert order == expected
    keys = [r.key for r in rows if r.metric == "days_of_cover_last"]
    assert sorted(keys) == ["ndfeb_magnet/USA", "ndpr_oxide/USA"]  # type: ignore[type-var]
    # the block comes first in the comparison, before every other metric table
    assert text.index('data-table="managed"') < text.index('data-table="scalar"')
    assert text.index('data-table="managed"') < text.index('data-table="avg_price_usd_per_t"')


def test_block_metrics_are_not_repeated_below_and_each_has_a_definition(
    managed_html: str,
) -> None:
    text = managed_html
    rows = read_table_rows(text)
    seen = [(r.metric, r.key) for r in rows]
    assert len(seen) == len(set(seen)), "a metric row appears twice"
    block_rows = {(r.metric, r.key) for r in rows if r.table == "managed"}
    assert ("levy_revenue_usd", None) in block_rows
    definitions = re.search(r'<ol class="defs">(.*?)</ol>', text, re.S)
    assert definitions is not None
    items = re.findall(r"<li>(.*?)</li>", definitions.group(1))
    assert [html.unescape(i).split(":")[0] for i in items] == [
        label for _, label, _ in MANAGED_BLOCK
    ]
    for _, _, definition in MANAGED_BLOCK:
        assert f'title="{html.escape(definition)}"' in text


def test_forge_prices_are_sub_rows_in_usd_per_kg(managed_html: str) -> None:
    """Prices inside/outside FORGE are per kg even for a cheap product: 53,805.31 USD/t is
    "$53.81/kg", 9,000 USD/t is "$9.00/kg" (not "$9,000/t"); the change vs the first
    scenario is computed on the exact values (the baseline lacks these metrics: no delta)."""
    text = managed_html
    rows = {
        (r.metric, r.key): r
        for r in read_table_rows(text)
        if r.metric == "avg_price_inside_forge_usd_per_t"
    }
    oxide = rows[("avg_price_inside_forge_usd_per_t", "ndpr_oxide")].cells
    concentrate = rows[("avg_price_inside_forge_usd_per_t", "ndpr_concentrate")].cells
    assert [c.text.strip() for c in oxide] == ["—", "$53.81/kg"]
    assert [c.text.strip() for c in concentrate] == ["—", "$9.00/kg"]
    assert float(oxide[1].value) == 53_805.31


def test_run_without_managed_metrics_has_no_block(tmp_path: Path) -> None:
    series, summary = synthetic_run(2, n_months=6, scenarios=("baseline", "chn_export_ban"))
    text = _render((series, summary), tmp_path)
    assert 'class="comparison" data-table="managed"' not in text
    assert "Managed-market instruments" not in text


# --------------------------------------------------------------------------- KPI strip


def test_kpi_strip_keeps_to_the_headline_figures(tmp_path: Path) -> None:
    """Even with ~30 scalar metrics, each scenario shows at most MAX_KPIS tiles and the
    lead points to the comparison for the rest."""
    series, summary = _managed_run()
    managed = _scenarios(summary)[1]["metrics"]
    assert isinstance(managed, dict)
    managed.update({f"stock_extra_{i}_t": float(i) for i in range(20)})
    text = _render((series, summary), tmp_path)
    strips = re.findall(r'<div class="kpis">(.*?)</div></div>(?=<div class="kpi-row"|</section>)',
                        text, re.S)  # fmt: skip
    assert len(strips) == 2
    counts = [s.count('<div class="kpi">') for s in strips]
    assert counts[0] == counts[1] <= MAX_KPIS
    labels = re.findall(r'<div class="label">([^<]+)</div>', strips[1])
    assert labels[:3] == ["Physical shortage", "Months of physical shortage", "Largest price rise"]
    assert {"Cost to OEMs", "Levy revenue", "Floor fiscal cost", "Days of cover"} <= set(labels)
    assert "side-by-side comparison" in text


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("name", "quantity"),
    [
        ("subsidy_kept_usd_per_t", fmt.Quantity.PRICE),
        ("subsidy_usd_per_t_kept", fmt.Quantity.PRICE),
        ("oem_security_premium_usd", fmt.Quantity.MONEY),
        ("oem_security_premium_usd_by_product", fmt.Quantity.MONEY),
        ("imports_from_members_t_ndpr_oxide", fmt.Quantity.TONNES),
        ("days_of_cover_last", fmt.Quantity.DAYS),
        ("stock_days_of_cover_end_ndpr_oxide", fmt.Quantity.DAYS),
        ("target_days", fmt.Quantity.DAYS),
    ],
)
def test_metric_units_come_from_the_name(name: str, quantity: fmt.Quantity) -> None:
    assert fmt.quantity_of_metric(name) is quantity
