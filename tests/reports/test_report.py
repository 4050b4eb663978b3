"""The run report: self-contained, faithful to the summary, generic over metrics/variables."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

import critmin.reports.build as build_module
from critmin import fileio
from critmin.errors import InputError
from critmin.reports import build_report
from critmin.reports.testing import parse_display, read_table_rows, synthetic_run


def _scenarios(summary: dict[str, object]) -> list[dict[str, object]]:
    scen = summary["scenarios"]
    assert isinstance(scen, list)
    return scen


def test_report_is_self_contained_with_plotly_inlined_once(report_html: str) -> None:
    """No script or stylesheet is fetched from the network; plotly.js is embedded exactly once."""
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", report_html, flags=re.IGNORECASE)
    for tag in tags:
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag), tag
    bundle = build_module._template(build_module.PLOTLY_BUNDLE)
    assert report_html.count(bundle) == 1
    assert report_html.count('id="plotly-js"') == 1
    assert "plotly.js v4.1.1" in bundle[:200]  # the partial bundle keeps plotly's licence header
    # Everything else (figures, tables, CSS) stays small next to the plotly.js bundle.
    assert len(report_html) - len(bundle) < 700_000


def test_every_scenario_and_assumption_source_appears(
    run: tuple[pd.DataFrame, dict[str, object]], report_html: str
) -> None:
    import html

    _, summary = run
    for scenario in _scenarios(summary):
        assert html.escape(str(scenario["name"])) in report_html
        assert html.escape(str(scenario["description"])) in report_html
    assumptions = summary["assumptions"]
    assert isinstance(assumptions, list)
    for item in assumptions:
        assert html.escape(str(item["source"])) in report_html
    n_est = sum(1 for a in assumptions if a["estimate"])
    assert report_html.count('<tr class="estimate">') == n_est
    for digest in summary["inputs"].values():  # type: ignore[attr-defined]
        assert digest in report_html


def test_comparison_values_equal_summary_metrics(
    run: tuple[pd.DataFrame, dict[str, object]], report_html: str
) -> None:
    """Every numeric metric of every scenario is in the table, exactly (data-value) and as
    displayed text that reads back to the same figure within its rounding (3 significant
    digits at worst, e.g. "$1.23B")."""
    _, summary = run
    rows = read_table_rows(report_html, "comparison")
    cells = {(r.metric, r.key, c.scenario): c for r in rows for c in r.cells}
    checked = 0
    for scenario in _scenarios(summary):
        name = str(scenario["name"])
        metrics = scenario["metrics"]
        assert isinstance(metrics, dict)
        for metric, value in metrics.items():
            if metric in build_module.HIDDEN_METRICS:
                continue  # bookkeeping and superseded figures (see HIDDEN_METRICS)
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, number in items:
                cell = cells[(metric, key, name)]
                assert float(cell.value) == float(number)
                shown = parse_display(cell.text)
                assert shown == pytest.approx(float(number), rel=6e-3, abs=0.6), cell.text
                checked += 1
    assert checked > 150


def test_missing_metric_shows_the_dash(report_html: str) -> None:
    """levy_revenue_usd exists only in forge_managed: the other two columns show "—"."""
    rows = [r for r in read_table_rows(report_html) if r.metric == "levy_revenue_usd"]
    assert len(rows) == 1
    by_scenario = {c.scenario: c for c in rows[0].cells}
    for name in ("baseline", "chn_export_ban"):
        assert by_scenario[name].text.strip() == "—"
        assert by_scenario[name].value == ""
    assert by_scenario["forge_managed"].text.strip() != "—"


def test_missing_key_of_a_dict_metric_shows_the_dash(tmp_path: Path) -> None:
    series, summary = synthetic_run(5, scenarios=("baseline", "chn_export_ban"))
    scen = _scenarios(summary)
    by_product = scen[1]["metrics"]["physical_shortage_t_by_product"]  # type: ignore[index]
    product = sorted(by_product)[0]
    by_product.pop(product)
    scen[0]["metrics"]["physical_shortage_months"] = None  # type: ignore[index]
    text = build_report(series, summary, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = read_table_rows(text)
    row = next(r for r in rows if r.metric == "physical_shortage_t_by_product" and r.key == product)
    assert [c.text.strip() for c in row.cells][1] == "—"
    months = next(r for r in rows if r.metric == "physical_shortage_months")
    assert months.cells[0].text.strip() == "—"
    assert months.cells[1].text.strip() == "12 mo"


def test_extra_variable_gets_its_own_section(
    run: tuple[pd.DataFrame, dict[str, object]], tmp_path: Path
) -> None:
    """An unknown variable ("oem_security_premium", USD) gets a heading, a per-scenario table
    and a chart; its total equals the sum of its rows (2 regions x 24 months x 1000)."""
    series, summary = run
    months = sorted(series["month"].unique())
    extra = pd.DataFrame(
        {
            "scenario": "chn_export_ban",
            "month": months * 2,
            "mineral": "ndfeb_magnet",
            "stage": "magnet",
            "region": ["JPN"] * len(months) + ["DEU"] * len(months),
            "variable": "oem_security_premium",
            "value": 1000.0,
            "unit": "usd",
        }
    )
    text = build_report(
        pd.concat([series, extra], ignore_index=True), summary, tmp_path / "r.html"
    ).read_text(encoding="utf-8")
    rows = read_table_rows(text, "extra-table")
    total = next(r for r in rows if r.metric == "oem_security_premium")  # one summary row
    values = {c.scenario: c.value for c in total.cells}
    assert float(values["chn_export_ban"]) == 2 * len(months) * 1000.0
    assert values["baseline"] == ""
    assert values["forge_managed"] == ""


def test_prices_are_shown_per_kg_for_high_value_products(report_html: str) -> None:
    """NdPr oxide (~USD 60,000/t) appears in USD/kg; the concentrate (~5,000/t) in USD/t."""
    rows = read_table_rows(report_html)
    oxide = next(r for r in rows if r.key == "ndpr_oxide/oxide/CHN")
    conc = next(r for r in rows if r.key == "ndpr_concentrate/concentrate/CHN")
    assert oxide.cells[0].text.strip().endswith("/kg")
    assert conc.cells[0].text.strip().endswith("/t")
    assert parse_display(oxide.cells[0].text) == pytest.approx(float(oxide.cells[0].value), abs=5)


def test_kpi_strip_reports_the_largest_price_rise(
    run: tuple[pd.DataFrame, dict[str, object]], report_html: str
) -> None:
    """The ban scenario's "largest price rise" is max over nodes of avg/baseline avg - 1."""
    _, summary = run
    base, ban = (s["metrics"] for s in _scenarios(summary)[:2])
    rises = {
        k: v / base["avg_price_usd_per_t"][k] - 1  # type: ignore[index]
        for k, v in ban["avg_price_usd_per_t"].items()  # type: ignore[index, union-attr]
    }
    best = max(rises.values())
    assert f"{best * 100:+.1f}%" in report_html


def test_failed_write_leaves_no_partial_file(
    run: tuple[pd.DataFrame, dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure while writing keeps the old report and leaves no temporary file behind."""
    series, summary = run
    out = tmp_path / "report.html"
    out.write_text("previous report", encoding="utf-8")

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        build_report(series, summary, out)
    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_failed_render_writes_nothing(
    run: tuple[pd.DataFrame, dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    series, summary = run

    def broken(view: object) -> str:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(build_module, "render_html", broken)
    with pytest.raises(RuntimeError):
        build_report(series, summary, tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_contract_violations_raise_input_errors(
    run: tuple[pd.DataFrame, dict[str, object]], tmp_path: Path
) -> None:
    series, summary = run
    with pytest.raises(InputError, match=r"series\.parquet.*missing column\(s\) unit"):
        build_report(series.drop(columns=["unit"]), summary, tmp_path / "a.html")
    bad_month = series.copy()
    bad_month.loc[0, "month"] = "2026/01"
    with pytest.raises(InputError, match="'2026/01' is not a YYYY-MM"):
        build_report(bad_month, summary, tmp_path / "b.html")
    with pytest.raises(InputError, match=r"summary\.json field 'scenarios'"):
        build_report(series, {"critmin_version": "x"}, tmp_path / "c.html")
    assert list(tmp_path.iterdir()) == []


def test_minimal_run_without_optional_variables(tmp_path: Path) -> None:
    """Only prices, no flows/unserved/assumptions/inputs: the report still builds and says
    what is missing instead of drawing empty charts."""
    series = pd.DataFrame(
        {
            "scenario": ["only"] * 2,
            "month": ["2026-01", "2026-02"],
            "mineral": ["cobalt_metal"] * 2,
            "stage": ["metal"] * 2,
            "region": ["COD"] * 2,
            "variable": ["price"] * 2,
            "value": [33_000.0, 35_000.0],
            "unit": ["usd_per_t"] * 2,
        }
    )
    summary = {"scenarios": [{"name": "only", "metrics": {"tariff_revenue_usd": 0.0}}]}
    text = build_report(series, summary, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The series has no <code>flow</code> rows." in text
    assert "The series has no <code>unserved</code> rows." in text
    assert "The summary lists no assumptions." in text
    assert "$34.00/kg" not in text  # no averaging invented: only the summary's metrics
    rows = read_table_rows(text)
    assert [(r.metric, r.cells[0].value) for r in rows] == [("tariff_revenue_usd", "0.0")]
    assert not math.isnan(float(rows[0].cells[0].value))


def test_a_run_without_physical_shortage_rows_does_not_call_unserved_shortage(
    tmp_path: Path,
) -> None:
    """``unserved`` is bid quantity not bought at the clearing price (priced out + shortage,
    docs/market.md "Headline quantities"). A run written before ``physical_shortage`` existed
    charts ``unserved`` in the shortage section; the section must say what it shows and the
    KPI fallback must not read "Unserved demand" (before 2026-12-05 it did both)."""
    series, summary = synthetic_run(5, scenarios=("baseline", "chn_export_ban"))
    series = series[series["variable"] != "physical_shortage"]
    for scen in _scenarios(summary):
        scen["metrics"].pop("physical_shortage_t_by_product", None)  # type: ignore[union-attr]
    text = build_report(series, summary, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "every bid tonne not bought at the clearing price" in text
    assert "Bids not served at the price (priced out + shortage)" in text
    assert "Unserved demand" not in text
    assert "No physical shortage in" not in text


def _section_title(text: str, anchor: str) -> tuple[str, str]:
    """The ``<h2>`` of section ``anchor`` and its link text in the page's contents bar."""
    h2 = re.search(rf'<section id="{anchor}"><h2>([^<]*)</h2>', text)
    link = re.search(rf'<a href="#{anchor}">([^<]*)</a>', text)
    assert h2 is not None
    assert link is not None
    return h2.group(1), link.group(1)


def test_the_shortage_sections_title_says_what_it_shows(tmp_path: Path) -> None:
    """With ``physical_shortage`` rows the section (and its link in the contents bar) is
    "Physical shortage". A run written before that variable existed charts ``unserved``
    (bids priced out + shortage): its title and link say so, and its lead does not define
    the chart as shortage. Before (2026-12-05) the title stayed "Physical shortage" and only
    a note under it corrected the title."""
    series, summary = synthetic_run(5, scenarios=("baseline", "chn_export_ban"))
    # the synthetic run writes `unserved` only, as older runs did; a current run's
    # physical_shortage rows are added (the same tonnes) to check both titles
    short = series[series["variable"] == "unserved"].assign(variable="physical_shortage")
    new = pd.concat([series, short], ignore_index=True)
    text = build_report(new, summary, tmp_path / "new.html").read_text(encoding="utf-8")
    assert _section_title(text, "unserved") == ("Physical shortage", "Physical shortage")
    for scen in _scenarios(summary):
        scen["metrics"].pop("physical_shortage_t_by_product", None)  # type: ignore[union-attr]
    text = build_report(series, summary, tmp_path / "old.html").read_text(encoding="utf-8")
    title = "Bids not served at the price (priced out + shortage)"
    assert _section_title(text, "unserved") == (title, title)
    section = text[text.index('<section id="unserved">') :]
    section = section[: section.index("</section>")]
    assert "Physical shortage" not in section
    assert "Demand no supply could meet" not in section


def _row_titles(html: str, div_id: str) -> list[str]:
    """The y-axis titles of a figure's rows (its first column), top row first."""
    from critmin.reports.testing import figure_json

    layout = figure_json(html, div_id)["layout"]
    assert isinstance(layout, dict)
    titled = [(a["domain"][1], a["title"]["text"]) for k, a in layout.items()
              if k.startswith("yaxis") and "title" in a]  # fmt: skip
    return [text for _, text in sorted(titled, reverse=True)]


#: the price rows' titles of two examples, top row first
_PRICE_ROW_TITLES = {
    "two_regions": ["<b>ndpr_oxide</b><br>refining<br>USD/kg"],
    # ids over 16 characters are broken after the underscore nearest their middle: in one
    # line each, the two rotated titles ran 158 and 142 px along rows 152 px apart
    "lithium_2035": [
        "<b>lithium_</b><br><b>concentrate</b><br>mine<br>USD/kg",
        "<b>lithium_</b><br><b>carbonate</b><br>refining<br>USD/kg",
    ],
}


@pytest.mark.parametrize("study", ["two_regions", "lithium_2035", "seed"])
def test_every_row_title_names_its_product_and_stage(tmp_path: Path, study: str) -> None:
    """Each row of the price and shortage figures is titled with its product and stage, whatever
    the products: ``two_regions.yaml`` (one product, NdPr oxide, at ``refining``), the
    lithium study (two products, each alone at its stage) and the seed study (six priced
    products, three of them alone at their stage). Before (2026-12-05) a product alone at its
    stage was titled with the stage only ("refining"; the seed study's "mine", "metal",
    "component"), so a reader could not tell which product's price it was."""
    import critmin

    examples = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
    result = critmin.run(str(examples / f"{study}.yaml")) if study != "seed" else critmin.run()
    critmin.write(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    series = pd.read_parquet(tmp_path / "series.parquet")
    for div_id, variable in (("fig-prices", "price"), ("fig-unserved", "physical_shortage")):
        rows = series[(series["variable"] == variable) & (series["value"] > 0)]
        pairs = {(str(p), str(s)) for p, s in zip(rows["product"], rows["stage"], strict=True)}
        if not pairs:  # no shortage (the lithium study): no shortage chart
            assert f'id="{div_id}"' not in html
            continue
        titles = _row_titles(html, div_id)
        assert len(titles) == len(pairs), (div_id, titles)
        # a long product id is broken after an underscore (lithium_ / concentrate)
        lines = [re.sub("</?b>", "", t).replace("_<br>", "_").split("<br>") for t in titles]
        assert {(line[0], line[1]) for line in lines} == pairs, div_id
    if study in _PRICE_ROW_TITLES:
        assert _row_titles(html, "fig-prices") == _PRICE_ROW_TITLES[study]
