"""The price small multiples and the Sankeys do not grow with the number of regions.

A one-chain study (``critmin.reports.testing.many_regions_study``: ore mined in every region,
refined in four, bought in every region) is run with 6, 30 and 60 regions. The bounds are
stated in ``critmin.reports.figures``:

- a Sankey column draws at most ``MAX_SANKEY_ROWS + 1`` nodes (the ``MAX_SANKEY_ROWS - 1``
  largest and one "other N regions" node per kind: a use column has ``use`` only here), so a
  diagram is at most ``SANKEY_ROW_PX * (MAX_SANKEY_ROWS + 1) + 120`` px tall (362 px);
- the price figure is ``PRICE_TOP_PX + PRICE_BOTTOM_PX + rows * PRICE_ROW_PX + (rows - 1) *
  PRICE_GAP_PX`` px tall whatever the regions (two products: 84 + 30 + 2 * 130 + 22 = 396 px)
  and draws at most ``MAX_PRICE_REGIONS`` region lines, the other regions as one band (a
  legend of at most ``MAX_PRICE_REGIONS + 1`` entries).

Before (2026-12-04) the Sankey was 22 px a node of its fullest column (60 regions: 1,440 px
of "use" slivers) and the price legend listed all 60 regions.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
import yaml

from critmin.facade import load, write
from critmin.reports import figures
from critmin.reports.contract import run_view
from critmin.reports.testing import figure_json, many_regions_study

NAMES = [f"R{i:02d}" for i in range(60)]


def _study(path: Path, n: int) -> Path:
    path.write_text(yaml.safe_dump(many_regions_study(n), sort_keys=False), encoding="utf-8")
    return path


def _view(tmp_path: Path, n: int) -> figures.IndexedRunView:
    write(load(_study(tmp_path / f"wide{n}.yaml", n)).run(), tmp_path / f"out{n}")
    series = pd.read_parquet(tmp_path / f"out{n}" / "series.parquet")
    summary = json.loads((tmp_path / f"out{n}" / "summary.json").read_text(encoding="utf-8"))
    return figures.indexed(run_view(series, summary))


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> dict[int, figures.IndexedRunView]:
    tmp = tmp_path_factory.mktemp("wide")
    return {n: _view(tmp, n) for n in (6, 30, 60)}


def test_sankey_is_bounded_whatever_the_regions(views: dict[int, figures.IndexedRunView]) -> None:
    bound = figures.SANKEY_ROW_PX * (figures.MAX_SANKEY_ROWS + 1) + 120
    for n, view in views.items():
        fig = figures.sankey_figure(view, "wide")
        assert fig is not None
        node = fig["data"][0]["node"]
        per_column = Counter(node["x"])
        assert max(per_column.values()) <= figures.MAX_SANKEY_ROWS + 1, (n, per_column)
        assert fig["layout"]["height"] <= bound, n
        assert all(0.0 < y < 1.0 for y in node["y"])
        grouped = [lab for lab in node["label"] if lab.startswith("other ")]
        if n > figures.MAX_SANKEY_ROWS:
            # the 60 buyers' column: 9 drawn, 51 merged into one use node
            assert f"other {n - figures.MAX_SANKEY_ROWS + 1} regions · use" in grouped, grouped
        else:
            assert grouped == []
    heights = {n: figures.sankey_figure(v, "wide")["layout"]["height"] for n, v in views.items()}
    assert heights[30] == heights[60]


def test_grouping_keeps_every_columns_tonnes(views: dict[int, figures.IndexedRunView]) -> None:
    """Merging nodes moves no tonnes between columns and makes no link run backwards."""
    links = figures.sankey_links(views[60], "wide")
    grouped, members = figures.group_small_nodes(links)
    assert members  # 60 buyers and 60 mines: both columns are grouped
    for side in ("source_col", "target_col"):
        before = links.groupby(side)["value_t"].sum()
        after = grouped.groupby(side)["value_t"].sum()
        pd.testing.assert_series_equal(before, after, rtol=1e-12)
    assert (grouped["source_col"] < grouped["target_col"]).all()
    merged = {r for regions in members.values() for r in regions}
    assert merged <= set(NAMES)


def test_group_small_nodes_hand_case() -> None:
    """Twelve buyers of 1..12 t from one refiner, ``max_rows=10``: the column keeps its nine
    largest (12 t down to 4 t) and merges the three smallest into ``other 3 regions · use``
    of 1 + 2 + 3 = 6 t, grey (region ``other``); the refiner's column (one node) is kept."""
    links = pd.DataFrame(
        {
            "source": ["A · ref"] * 12,
            "target": [f"B{i:02d} · use" for i in range(1, 13)],
            "value_t": [float(i) for i in range(1, 13)],
            "region": ["A"] * 12,
            "source_col": [0] * 12,
            "target_col": [1] * 12,
        }
    )
    grouped, members = figures.group_small_nodes(links, max_rows=10)
    assert members == {"other 3 regions · use": ["B01", "B02", "B03"]}
    other = grouped[grouped["target"] == "other 3 regions · use"]
    assert other["value_t"].tolist() == [6.0]
    assert other["region"].tolist() == ["A"]  # the link keeps its source's colour
    assert len(grouped) == 10
    assert grouped["value_t"].sum() == 78.0
    same, none = figures.group_small_nodes(links, max_rows=12)
    assert none == {}
    assert same.equals(links)


def test_prices_are_bounded_whatever_the_regions(views: dict[int, figures.IndexedRunView]) -> None:
    rows = 2
    height = (
        figures.PRICE_TOP_PX + figures.PRICE_BOTTOM_PX
        + rows * figures.PRICE_ROW_PX + (rows - 1) * figures.PRICE_GAP_PX
    )  # fmt: skip
    for n, view in views.items():
        fig = figures.prices_figure(view)
        assert fig is not None
        assert fig["layout"]["height"] == height == 396
        legend = [t["name"] for t in fig["data"] if t["showlegend"]]
        lines = {t["name"] for t in fig["data"] if not t["name"].startswith("other ")}
        assert len(lines) == min(n, figures.MAX_PRICE_REGIONS)
        assert len(legend) <= figures.MAX_PRICE_REGIONS + 1
        band = [t for t in fig["data"] if t["name"].startswith("other ")]
        if n > figures.MAX_PRICE_REGIONS:
            assert f"other {n - figures.MAX_PRICE_REGIONS} regions (range)" in legend
            assert "Prices are reported in" in figures.price_regions_note(view)
        else:
            assert band == []
            assert figures.price_regions_note(view) == ""


def test_grouped_and_banded_figures_are_valid_for_plotly(
    views: dict[int, figures.IndexedRunView],
) -> None:
    """The band traces and the grouped nodes' hover are properties plotly knows (a misspelt
    one raises in ``go.Figure``; plotly.js would ignore it)."""
    for fig in (figures.prices_figure(views[60]), figures.sankey_figure(views[60], "wide")):
        assert fig is not None
        go.Figure(fig)


@pytest.mark.parametrize("n", [1, 2, 3, 12, 13, 120, 121, 600])
@pytest.mark.parametrize("shaded", [False, True])
def test_month_ticks_are_unique_month_starts_whatever_the_run_length(n: int, shaded: bool) -> None:
    """The month axis ticks whole months from the first month, so "%b %Y" labels are unique,
    and every month of a run of up to 6 months is labelled.

    Before (2026-12-04) ``nticks=6`` alone let Plotly tick a 2- or 3-month run every half
    month: Chromium showed "Jan 2026, Jan 2026, Feb 2026, Feb 2026" under a 3-month run. The
    ticks are month starts every s months from the first, inside the run; the range reaches
    half a month before the first month start and after the last (``shaded``: to the end of a
    shading of the last month, one month after its start), so no tick is on the range's
    right edge, where Plotly hid the label (before 2026-12-05 a 3-month run showed no
    "Mar 2026"), and a last tick nearer the end than s/2 months is left out. For n months:
    1 -> 1 label, 2 -> 2, 3 -> 3 (step 1), 12 -> 4 (step 3: Jan, Apr, Jul, Oct), 13 -> 4
    (step 3; the 13th month, half a month or one month from the end, under 1.5), 120 -> 5
    (step 24), 121 -> 5 (step 24; the 121st month left out likewise), 600 -> 6 (step 108; the
    last, 540, is 59.5 or 60 months from the end).
    """
    months = pd.period_range("2026-01", periods=n, freq="M")
    x = [f"{m}-01" for m in months]
    until = f"{months[-1] + 1}-01" if shaded else None
    axis = figures.month_axis([{"x": x}], shaded_until=until)
    assert axis["tickmode"] == "array"
    assert all(t.endswith("-01") for t in axis["tickvals"])
    ticks = [pd.Period(t[:7], freq="M") for t in axis["tickvals"]]
    assert ticks[0] == months[0]
    steps = {(b - a).n for a, b in itertools.pairwise(ticks)}
    assert len(steps) <= 1  # evenly spaced
    step = steps.pop() if steps else 1
    texts = [m.strftime("%b %Y") for m in ticks]
    assert len(set(texts)) == len(texts)
    assert len(texts) == {1: 1, 2: 2, 3: 3, 12: 4, 13: 4, 120: 5, 121: 5, 600: 6}[n]
    if n <= 6:
        assert ticks == list(months)
    start, end = (pd.Timestamp(t) for t in axis["range"])
    assert axis["autorange"] is False
    assert pd.Timedelta(days=14) <= months[0].start_time - start <= pd.Timedelta(days=17)
    if shaded:
        assert end == (months[-1] + 1).start_time
    else:
        assert pd.Timedelta(days=14) <= end - months[-1].start_time <= pd.Timedelta(days=16)
    # no tick on the right edge: the last is at least half a step inside (a month >= 28 days)
    assert (end - ticks[-1].start_time).days >= 14 * step


def _wide_report(tmp: Path, ban: bool) -> str:
    """report.html of the 40-region study, with R05 cut off from the four refiners in
    2026-02..03 when ``ban``, as ``critmin run`` writes it."""
    doc = many_regions_study(40)
    if ban:
        doc["markets"][0]["export_bans"] = [  # type: ignore[index]
            {"exporter": r, "to": ["R05"], "start": "2026-02", "end": "2026-03"}
            for r in ("R00", "R01", "R02", "R03")
        ]
    path = tmp / f"wide_ban_{ban}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    write(load(path).run(), tmp / f"out_{ban}")
    return (tmp / f"out_{ban}" / "report.html").read_text(encoding="utf-8")


def test_a_band_region_off_the_lines_is_named(tmp_path: Path) -> None:
    """A region drawn only as the band's edge is named where it leaves the lines.

    Hand-solved: refined x costs 1.1 x 1,290 (ore) + 500 = 1,919 USD/t in the four refiners
    R00..R03 and 1,919 + 10 (a route) = 1,929 in every other region. Banned from buying from
    the refiners in 2026-02..03, R05 (a band region: the lines are R03 and R17..R27) buys
    refined x re-exported through another region, one more route: 1,939 USD/t, 10 above every
    drawn line. The refining panel then labels the band's top edge "R05" at 2026-02-01 (the
    first of the months where it is furthest above the lines), and the hover of the band's
    top edge names R05 in those months. The bottom edge (1,919, R00 and two more refiners)
    is not below the R03 line (1,919), and the ore panel's band (1,270..1,290) sits on its
    lines, so neither gets a label; without the ban no panel has one. Before (2026-12-05)
    the band's hover said "other 28 regions, highest · 1,939" without a name."""
    text = _wide_report(tmp_path, ban=True)
    fig = figure_json(text, "fig-prices")
    titles = {"wide_r05_cut_off", "wide"}
    labels = [a for a in fig["layout"]["annotations"] if a["text"] not in titles]
    assert [(a["text"], a["x"], a["y"], a["yanchor"]) for a in labels] == [
        ("R05", "2026-02-01", 1939.0, "top")
    ]
    assert labels[0]["hovertext"] == (
        "R05: the highest price of the other 28 regions in 2026-02, 1,939 USD/t, "
        "10 USD/t above every drawn line"
    )
    refining = labels[0]["yref"]
    top = [t for t in fig["data"] if t["name"] == "other 28 regions (range)"
           and t["yaxis"] == refining]  # fmt: skip
    assert len(top) == 1
    assert top[0]["customdata"][1:] == ["R05", "R05"]
    assert "highest: %{customdata}" in top[0]["hovertemplate"]
    bottom = [t for t in fig["data"] if t["name"] == "other 28 regions (lowest)"
              and t["yaxis"] == refining]  # fmt: skip
    assert bottom[0]["customdata"] == ["R00 and 2 more"] * 3
    plain = figure_json(_wide_report(tmp_path, ban=False), "fig-prices")
    assert [a["text"] for a in plain["layout"]["annotations"]] == ["wide"]
