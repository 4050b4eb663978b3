"""report.html as a reader sees it: rendered in headless Chromium (Playwright driving Debian's
``chromium``) at 1400 px, the width docs/report.md states the report is checked at.

What is checked on the seed study's report (``critmin.run()`` + ``critmin.write``, what
``critmin run`` does), with every tab shown in turn (the Sankeys have one per scenario):
every Plotly figure drew its SVG; the page does not scroll sideways; no two tick labels of
an axis overlap; no two node labels of a Sankey overlap. The same
checks on a 420 px window must find overlaps and a sideways scroll (the Sankey's labels
collide there), so a check that cannot fail would show. A full-page screenshot goes to
``out/screenshots/report-1400.png`` for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import critmin
from critmin.facade import load
from critmin.reports import figures
from critmin.reports.testing import many_regions_study

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian chromium (make browser)"
)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"

#: collects what a reader would see wrong: figures without SVG, sideways scroll, overlapping
#: tick labels (y per axis, x per row of panels, in reading order), x tick labels Plotly hid,
#: price-band edge labels not drawn, outside their panel or over another label (and counts
#: them), and overlapping Sankey node labels (any pair)
_PROBE = r"""
() => {
  const out = {scroll_width: document.documentElement.scrollWidth,
               window_width: window.innerWidth, figures: 0, drawn: 0, overlaps: [], hidden: [],
               edge_labels: 0};
  for (const d of document.querySelectorAll('.plotly-graph-div')) {
    out.figures += 1;
    if (d.querySelector('.main-svg')) out.drawn += 1;
    for (const g of d.querySelectorAll('.yaxislayer-above')) {
      const boxes = [...g.querySelectorAll('text')].map(t => t.getBoundingClientRect())
        .filter(b => b.width > 0 && b.height > 0).sort((a, b) => a.top - b.top);
      for (let i = 1; i < boxes.length; i++) {
        const px = boxes[i - 1].bottom - boxes[i].top;
        if (px > 1) out.overlaps.push(`${d.id}: y tick labels by ${px} px`);
      }
    }
    // x tick labels of every panel of a row of panels together (one panel's last label
    // can run into the next panel's first), in reading order; a label Plotly hid as
    // running past the figure ("hide past div") is one a reader does not see
    const xs = [...d.querySelectorAll('.xaxislayer-above text')];
    for (const t of xs) {
      if (t.textContent && getComputedStyle(t).display === 'none')
        out.hidden.push(`${d.id}: x tick label '${t.textContent}' hidden`);
    }
    const rows = {};
    for (const t of xs) {
      const b = t.getBoundingClientRect();
      if (b.width > 0 && b.height > 0) (rows[Math.round(b.top)] ??= []).push([t.textContent, b]);
    }
    for (const row of Object.values(rows)) {
      row.sort((a, b) => a[1].left - b[1].left);
      for (let i = 1; i < row.length; i++) {
        const px = row[i - 1][1].right - row[i][1].left;
        if (px > 1) out.overlaps.push(
          `${d.id}: x tick labels '${row[i - 1][0]}' over '${row[i][0]}' by ${px} px`);
      }
    }
    // the price band's edge labels (annotations on a panel's axes): each drawn, inside its
    // panel's plot area, and over no other annotation (column titles, the other edge label)
    // nor tick label
    const fl = d._fullLayout, box = d.getBoundingClientRect();
    const notes = [...d.querySelectorAll('.infolayer g.annotation')].map(g => {
      const t = g.querySelector('text');
      return [fl.annotations[+g.getAttribute('data-index')], t ? t.textContent : '',
              t ? t.getBoundingClientRect() : null];
    });
    const ticks = [...d.querySelectorAll('.xaxislayer-above text, .yaxislayer-above text')]
      .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, b]) => b.width > 0);
    const onAxes = (fl.annotations || []).filter(a => a.xref !== 'paper');
    out.edge_labels += onAxes.length;
    for (const a of onAxes) {
      const seen = notes.find(([n, , b]) => n === a && b && b.width > 0);
      if (!seen) { out.hidden.push(`${d.id}: edge label '${a.text}' not drawn`); continue; }
      const [, text, r] = seen;
      const xa = fl['xaxis' + a.xref.slice(1)], ya = fl['yaxis' + a.yref.slice(1)];
      const left = box.left + xa._offset, top = box.top + ya._offset;
      const past = Math.max(left - r.left, r.right - (left + xa._length),
                            top - r.top, r.bottom - (top + ya._length));
      if (past > 1) out.overlaps.push(`${d.id}: edge label '${text}' outside its panel by ${past}`);
      const others = [...notes.filter(([n, , b]) => n !== a && b).map(([, s, b]) => [s, b]),
                      ...ticks];
      for (const [s, b] of others) {
        const w = Math.min(r.right, b.right) - Math.max(r.left, b.left);
        const h = Math.min(r.bottom, b.bottom) - Math.max(r.top, b.top);
        if (w > 1 && h > 1) out.overlaps.push(`${d.id}: edge label '${text}' over '${s}'`);
      }
    }
    const labels = [...d.querySelectorAll('.sankey .node-label')]
      .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, b]) => b.width > 0);
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        const [sa, a] = labels[i], [sb, b] = labels[j];
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) out.overlaps.push(`${d.id}: '${sa}' over '${sb}'`);
      }
    }
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    critmin.write(critmin.run(), out)
    return out / "report.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


def _look(browser: Any, report: Path, width: int, shot: Path | None = None) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report.as_uri())
    # every figure draws its SVG; Sankey node labels settle after a short transition
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('.plotly-graph-div');"
        " return d.length > 0 && [...d].every(x => x.querySelector('.main-svg')); }",
        timeout=30_000,
    )
    page.wait_for_timeout(1500)
    seen: dict[str, Any] = page.evaluate(_PROBE)
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    # figures in tabs (the Sankeys, one tab per scenario) are measured only while shown
    tabs = page.query_selector_all("button[data-group][data-tab]")
    seen["tabs"] = len(tabs)
    for tab in tabs:
        tab.click()
        page.wait_for_timeout(800)
        more = page.evaluate(_PROBE)
        seen["overlaps"] += [o for o in more["overlaps"] if o not in seen["overlaps"]]
        seen["hidden"] += [h for h in more["hidden"] if h not in seen["hidden"]]
        seen["scroll_width"] = max(seen["scroll_width"], more["scroll_width"])
    page.close()
    return seen


def test_report_reads_cleanly_at_1400_px(browser: Any, report: Path) -> None:
    seen = _look(browser, report, 1400, SHOTS / "report-1400.png")
    assert seen["figures"] >= 10  # prices, shortage, Sankeys, instruments: 15 on the seed study
    assert seen["drawn"] == seen["figures"]
    assert seen["tabs"] >= 3  # the Sankey's scenarios, each looked at
    assert seen["scroll_width"] <= seen["window_width"], "the page scrolls sideways"
    assert seen["overlaps"] == []
    assert seen["hidden"] == []


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wide")
    study = tmp / "wide.yaml"
    study.write_text(yaml.safe_dump(many_regions_study(40), sort_keys=False), encoding="utf-8")
    critmin.write(load(study).run(), tmp / "out")
    return tmp / "out" / "report.html"


def test_a_40_region_study_reads_cleanly_and_stays_compact(browser: Any, wide_report: Path) -> None:
    """40 regions: the Sankey's 40 buyers and 40 mines are drawn as 9 each and an "other 31
    regions" node, no label over another, and the figures are as tall as their stated
    bounds, as drawn by the browser (docs/report.md, "Many regions")."""
    seen = _look(browser, wide_report, 1400, SHOTS / "report-40-regions-1400.png")
    assert seen["drawn"] == seen["figures"]
    assert seen["scroll_width"] <= seen["window_width"], "the page scrolls sideways"
    assert seen["overlaps"] == []
    assert seen["hidden"] == []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(wide_report.as_uri())
    page.wait_for_selector("#fig-sankey-0-0 .main-svg", timeout=30_000)
    heights = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.plotly-graph-div')]"
        ".map(d => [d.id, d.getBoundingClientRect().height]))"
    )
    labels = page.evaluate(
        "() => [...document.querySelectorAll('.sankey .node-label')].map(t => t.textContent)"
    )
    page.close()
    assert heights["fig-sankey-0-0"] <= figures.SANKEY_ROW_PX * (figures.MAX_SANKEY_ROWS + 1) + 120
    assert heights["fig-prices"] <= 400  # two rows of 130 px: 396 px
    assert "other 31 regions · use" in labels


#: ``examples/scenarios/two_regions.yaml`` cut to three months (January to March 2026),
#: without and with China's export ban (a shortage shading in March)
_THREE_MONTHS = {
    "no ban": {"export_bans": []},
    "ban": {},
}


def _three_month_report(tmp: Path, names: list[str]) -> Path:
    example = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "two_regions.yaml"
    paths = []
    for name in names:
        doc = yaml.safe_load(example.read_text(encoding="utf-8"))
        doc["name"], doc["months"] = name, {"start": "2026-01", "end": "2026-03"}
        doc["markets"][0].update(_THREE_MONTHS[name])
        paths.append(tmp / f"{name.replace(' ', '_')}.yaml")
        paths[-1].write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    critmin.write(critmin.run(*(str(p) for p in paths)), tmp / "out")
    return tmp / "out" / "report.html"


_PRICE_X_LABELS = r"""
() => [...document.querySelectorAll('#fig-prices .xaxislayer-above text')]
  .filter(t => getComputedStyle(t).display !== 'none' && t.getBoundingClientRect().width > 0)
  .map(t => t.textContent)
"""


@pytest.mark.parametrize("names", [["no ban"], ["no ban", "ban"]])
def test_every_month_of_a_three_month_run_is_labelled(
    browser: Any, tmp_path: Path, names: list[str]
) -> None:
    """A 3-month run labels January, February and March under every price panel, and no
    month after the run; no label runs into another panel's. Before (2026-12-05) the March
    tick sat on the panel's right edge: Plotly hid its label as running past the figure
    (one scenario, no shortage), and between two columns "Mar 2026" overlapped the next
    panel's "Jan 2026"; with March shaded the axis ran to 1 April and ticked it unlabelled."""
    report = _three_month_report(tmp_path, names)
    seen = _look(browser, report, 1400, SHOTS / f"report-3-months-{len(names)}-1400.png")
    assert seen["drawn"] == seen["figures"]
    assert seen["hidden"] == []
    assert seen["overlaps"] == []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(report.as_uri())
    page.wait_for_selector("#fig-prices .main-svg", timeout=30_000)
    labels = page.evaluate(_PRICE_X_LABELS)
    page.close()
    assert labels == ["Jan 2026", "Feb 2026", "Mar 2026"] * len(names)


@pytest.fixture(scope="module")
def band_label_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 40-region study with R05 cut off from the four refiners in 2026-02..03: its
    refining panel labels the band's top edge "R05" (``test_a_band_region_off_the_lines_is_named``
    in ``test_compact_figures.py`` derives it)."""
    tmp = tmp_path_factory.mktemp("band")
    doc = many_regions_study(40)
    doc["markets"][0]["export_bans"] = [  # type: ignore[index]
        {"exporter": r, "to": ["R05"], "start": "2026-02", "end": "2026-03"}
        for r in ("R00", "R01", "R02", "R03")
    ]
    study = tmp / "wide_ban.yaml"
    study.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    critmin.write(load(study).run(), tmp / "out")
    return tmp / "out" / "report.html"


def test_a_band_edge_label_reads_cleanly(browser: Any, band_label_report: Path) -> None:
    """The price band's edge label ("R05") is drawn inside its panel, over no tick label,
    column title or other label (the check counts it, so it cannot pass by finding none).
    Negative control: the same label moved to end on its panel's left edge (x = the axis's
    start, anchored at its right; the fixed month range keeps it there) is reported as
    outside its panel."""
    seen = _look(browser, band_label_report, 1400, SHOTS / "report-band-label-1400.png")
    assert seen["edge_labels"] == 1
    assert seen["hidden"] == []
    assert seen["overlaps"] == []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(band_label_report.as_uri())
    page.wait_for_selector("#fig-prices .main-svg", timeout=30_000)
    page.evaluate(
        """async () => {
          const d = document.getElementById('fig-prices'), fl = d._fullLayout;
          const k = fl.annotations.findIndex(a => a.xref !== 'paper');
          const left = fl['xaxis' + fl.annotations[k].xref.slice(1)].range[0];
          await Plotly.relayout(d, {[`annotations[${k}].x`]: left,
                                    [`annotations[${k}].xanchor`]: 'right'});
        }"""
    )
    moved = page.evaluate(_PROBE)
    page.close()
    assert any("edge label 'R05' outside its panel" in o for o in moved["overlaps"]), (
        moved["overlaps"],
        moved["hidden"],
        moved["edge_labels"],
    )


def test_the_checks_find_a_crowded_narrow_window(browser: Any, report: Path) -> None:
    """Negative control: at 420 px the Sankeys' stage labels collide and the tables overflow."""
    seen = _look(browser, report, 420)
    assert seen["drawn"] == seen["figures"]
    assert seen["scroll_width"] > seen["window_width"]
    assert any("over" in o for o in seen["overlaps"]), seen["overlaps"]


def test_one_scenarios_price_panels_are_not_stretched(
    browser: Any, report: Path, wide_report: Path
) -> None:
    """One scenario (the 40-region study): the price figure is at most 760 px wide (the
    ``.single-scenario`` box), not the page's ~1,300 px; the seed study's three scenarios keep
    the full width (three columns). Before (2026-12-04) a one-scenario figure was 1,246 px
    wide at 1400 px."""

    def width(path: Path) -> float:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_selector("#fig-prices .main-svg", timeout=30_000)
        w = float(
            page.evaluate(
                "() => document.querySelector('#fig-prices .main-svg')"
                ".getBoundingClientRect().width"
            )
        )
        page.close()
        return w

    assert width(wide_report) <= 760
    assert width(report) > 1000


@pytest.fixture(scope="module")
def one_scenario_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``critmin run examples/scenarios/two_regions.yaml``: one scenario, four months of
    shortage in Japan."""
    out = tmp_path_factory.mktemp("one")
    example = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "two_regions.yaml"
    critmin.write(load(example).run(), out)
    return out / "report.html"


def _svg_width(browser: Any, path: Path, div_id: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_selector(f"#{div_id} .main-svg", timeout=30_000)
    w = float(
        page.evaluate(
            f"() => document.querySelector('#{div_id} .main-svg').getBoundingClientRect().width"
        )
    )
    page.close()
    return w


def test_a_one_column_shortage_chart_is_not_stretched(
    browser: Any, report: Path, one_scenario_report: Path
) -> None:
    """A shortage chart of one column (``two_regions.yaml``: one scenario) sits in the
    760 px ``.single-scenario`` box, as one scenario's price panels do; the seed study's two
    scenarios with shortage keep the page's width. Before (2026-12-05) the one-column chart
    was 1,246 px wide at 1400 px: four bars across the page."""
    assert _svg_width(browser, one_scenario_report, "fig-unserved") <= 760
    assert _svg_width(browser, one_scenario_report, "fig-prices") <= 760
    assert _svg_width(browser, report, "fig-unserved") > 1000


#: how far the nodes of each shown Sankey reach past its plot area, px (positive = outside)
_SANKEY_REACH = r"""
() => [...document.querySelectorAll('.plotly-graph-div')]
  .filter(d => d.querySelector('.sankey') && d.getBoundingClientRect().height > 0)
  .map(d => {
    const box = d.getBoundingClientRect(), m = d._fullLayout.margin;
    const rects = [...d.querySelectorAll('.sankey-node rect.node-rect')]
      .map(r => r.getBoundingClientRect()).filter(r => r.height > 0);
    return [d.id, Math.max(...rects.map(r => r.bottom)) - (box.bottom - m.b),
            (box.top + m.t) - Math.min(...rects.map(r => r.top))];
  })
"""


@pytest.fixture(scope="module")
def lithium_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``critmin run examples/scenarios/lithium_2035.yaml``."""
    out = tmp_path_factory.mktemp("lithium")
    example = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "lithium_2035.yaml"
    critmin.write(load(example).run(), out)
    return out / "report.html"


def test_every_sankey_stays_inside_its_plot_area(
    browser: Any, report: Path, lithium_report: Path
) -> None:
    """Every node of every Sankey (each scenario's tab) is drawn between the top and bottom of
    its plot area (within 0.5 px). The lithium study's refining column has seven nodes and
    as many tonnes (LCE out) as the six buyers plotly scales by, so plotly's own 16 px
    spacing put the column one pad below the plot: before (2026-12-05) its last node was
    drawn 16 px into the bottom margin."""
    reach: list[tuple[str, float, float]] = []
    for path in (lithium_report, report):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_selector("#fig-sankey-0-0 .main-svg", timeout=30_000)
        page.wait_for_timeout(1000)
        reach += [(path.parent.name, *r) for r in page.evaluate(_SANKEY_REACH)]
        for tab in page.query_selector_all("button[data-group=sankey]"):
            tab.click()
            page.wait_for_timeout(800)
            reach += [(path.parent.name, *r) for r in page.evaluate(_SANKEY_REACH)]
        page.close()
    assert len({r[:2] for r in reach}) >= 1 + 3 * 3  # lithium's one, the seed study's nine
    outside = [r for r in reach if r[2] > 0.5 or r[3] > 0.5]
    assert outside == []
