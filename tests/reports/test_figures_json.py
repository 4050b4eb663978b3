"""The report's figures are plain dicts; they must be what plotly itself would write.

``critmin.reports.figures`` builds figures in plotly's JSON schema without going through
``go.Figure`` / ``make_subplots`` (whose per-attribute validation made the report ~8x
slower) and serialises them with ``validate=False``. These tests check them against
plotly: the subplot grid against ``make_subplots`` for many shapes, every figure of a
synthetic run against plotly's validated serialisation of the same figure (a misspelt
property raises in ``go.Figure``; plotly.js would silently ignore it), and the typed
arrays against plotly's own encoder.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from _plotly_utils.utils import to_typed_array_spec
from hypothesis import given
from hypothesis import strategies as st
from plotly.subplots import make_subplots

from critmin.reports import figures
from critmin.reports.contract import run_view
from critmin.reports.testing import synthetic_run


@given(
    rows=st.integers(1, 7),
    cols=st.integers(1, 6),
    horizontal_spacing=st.sampled_from([0.0, 0.025, 0.04, 0.1]),
    vertical_spacing=st.sampled_from([None, 0.0, 0.045, 0.1]),
    shared_xaxes=st.booleans(),
    shared_yaxes=st.booleans(),
    blank_title=st.integers(0, 6),
)
def test_subplot_grid_is_make_subplots(
    *,
    rows: int,
    cols: int,
    horizontal_spacing: float,
    vertical_spacing: float | None,
    shared_xaxes: bool,
    shared_yaxes: bool,
    blank_title: int,
) -> None:
    """Domains, anchors, shared-axis matches and column titles equal make_subplots' exactly."""
    titles = [f"scenario {c}" if c != blank_title else "" for c in range(cols)]
    reference = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=shared_xaxes,
        shared_yaxes=shared_yaxes,
        column_titles=titles,
        horizontal_spacing=horizontal_spacing,
        vertical_spacing=vertical_spacing,
    ).to_plotly_json()["layout"]
    reference.pop("template", None)
    for annotation in reference.get("annotations", []):
        annotation["font"] = figures.TITLE_FONT  # ours are restyled where plotly's are not
    layout, cells = figures.subplot_grid(
        rows,
        cols,
        column_titles=titles,
        horizontal_spacing=horizontal_spacing,
        vertical_spacing=vertical_spacing,
        shared_xaxes=shared_xaxes,
        shared_yaxes=shared_yaxes,
    )
    if not layout["annotations"]:
        del layout["annotations"]
    assert layout == reference
    assert [[(c.xref, c.yref) for c in row] for row in cells] == [
        [
            (f"x{n}" if n > 1 else "x", f"y{n}" if n > 1 else "y")
            for n in range(r * cols + 1, r * cols + cols + 1)
        ]
        for r in range(rows)
    ]


def _all_figures(seed: int, scenarios: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    series, summary = (
        synthetic_run(seed) if scenarios is None else synthetic_run(seed, scenarios=scenarios)
    )
    view = figures.indexed(run_view(series, summary))
    out = [figures.prices_figure(view), figures.unserved_figure(view)]
    out += [figures.sankey_figure(view, s) for s in view.scenario_names]
    out += [figures.extra_figure(view, v) for v in view.extra_variables]
    return [f for f in out if f is not None]


@pytest.mark.parametrize(
    ("seed", "scenarios"),
    [(3, None), (11, ("baseline", "forge_managed")), (5, ("chn_export_ban",))],
)
def test_figures_serialise_as_plotly_would(seed: int, scenarios: tuple[str, ...] | None) -> None:
    """Every figure is valid for plotly and its JSON is the JSON of plotly's own figure."""
    built = _all_figures(seed, scenarios)
    kinds = {trace["type"] for fig in built for trace in fig["data"]}
    assert kinds == {"scatter", "bar", "sankey"}
    for fig in built:
        validated = go.Figure(fig)  # raises ValueError on any unknown or invalid property
        ours = json.loads(pio.to_json(fig, validate=False))
        assert ours == json.loads(pio.to_json(validated, validate=True))


def test_shading_titles_and_legend_of_prices() -> None:
    """The prices figure's parts a reader sees: one shaded rect per shortage run and panel,
    column titles = scenarios, each region in the legend once, a unit on every row."""
    series, summary = synthetic_run(3)
    view = figures.indexed(run_view(series, summary))
    fig = figures.prices_figure(view)
    assert fig is not None
    layout = fig["layout"]
    n_rows = len({(t["xaxis"], t["yaxis"]) for t in fig["data"]}) // len(view.scenario_names)
    runs = sum(len(figures.shortage_runs(view, s)) for s in view.scenario_names)
    assert len(layout.get("shapes", [])) == runs * n_rows
    assert [a["text"] for a in layout["annotations"]] == view.scenario_names
    legend = [t["name"] for t in fig["data"] if t["showlegend"]]
    assert sorted(legend) == sorted(set(legend))
    titles = [
        v["title"]["text"] for k, v in layout.items() if k.startswith("yaxis") and "title" in v
    ]
    assert len(titles) == n_rows
    assert all(t.endswith(("USD/kg", "USD/t")) for t in titles)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=40))
def test_typed_array_is_plotlys_encoding(values: list[float]) -> None:
    array = np.asarray(values, dtype=float)
    spec = figures.typed_array(array)
    if not values:
        assert spec == []
        return
    assert spec == to_typed_array_spec(array)
    assert isinstance(spec, dict)
    decoded = np.frombuffer(base64.b64decode(spec["bdata"]), dtype="<f8")
    assert decoded.tolist() == values
