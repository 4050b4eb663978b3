"""Plotly figures of the report: prices, unserved demand, Sankey flows, extra variables.

Each builder takes the checked :class:`~critmin.reports.contract.RunView` and returns a
figure as a plain dict in plotly's JSON schema (``{"data": [...], "layout": {...}}``), or
None when the run has nothing to draw. The dicts are written as plotly's own
``go.Figure`` / ``make_subplots`` would serialise them (same subplot domains, axis
references and numeric arrays as base64 typed arrays) but without plotly's per-attribute
validation, which made the report ~8x slower; :func:`figure_div` serialises them with
``validate=False``. Data are aggregated before plotting (flows summed over months, regions
summed over products) so the file stays small; plotly.js itself is inlined once by
:mod:`critmin.reports.build`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

from critmin.reports import fmt
from critmin.reports.contract import CORE_VARIABLES, Product, RunView, split_route

#: A figure in plotly's JSON schema: ``{"data": [trace, ...], "layout": {...}}``.
Figure = dict[str, Any]

PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#1f77b4", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip
FONT = "Inter, 'Segoe UI', system-ui, -apple-system, Roboto, Helvetica, Arial, sans-serif"
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
}

#: The report's plotly template (``layout.template``), as plotly serialises it.
TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(PALETTE),
        "margin": {"l": 70, "r": 20, "t": 40, "b": 40},
        "hoverlabel": {"font": {"family": FONT, "size": 12}},
        "xaxis": {
            "showgrid": False,
            "linecolor": "#9ca3af",
            "ticks": "outside",
            "tickcolor": "#9ca3af",
            "tickfont": {"size": 11},
        },
        "yaxis": {
            "gridcolor": "#eceff3",
            "zeroline": False,
            "linecolor": "#9ca3af",
            "tickfont": {"size": 11},
        },
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "font": {"size": 12},
        },
    }
}
#: Font of the column titles of the small multiples.
TITLE_FONT = {"size": 13, "color": "#111827"}
#: the variables a Sankey diagram reads, in the order :func:`sankey_links` unpacks them
SANKEY_VARIABLES = (
    "production",
    "consumption",
    "conversion_input",
    "stock_release",
    "flow",
    "stock_purchases",
)
#: Month axes of the time-series panels.
# at most ~6 month labels per panel, whatever the run length: a fixed 6-month step put 20
# overlapping labels under each panel of a ten-year run
MONTH_AXIS = {"tickformat": "%b %Y", "nticks": 6, "hoverformat": "%b %Y"}


def month_axis(
    data: Sequence[dict[str, Any]], *, shaded_until: str | None = None
) -> dict[str, Any]:
    """The month axis for traces whose x are first-of-month dates: the same range for every
    panel, ticks on the run's month starts only.

    The range reaches half a month before the first month's start and half a month after the
    last's (bars centred on the month starts are whole, markers not cut), or to
    ``shaded_until`` when a shading reaches further (the price panels' shading of a last month
    of shortage ends at the month's end). No month label then sits on a panel's right edge:
    there Plotly hid it as running past the figure ("hide past div", so a 3-month run showed
    no "Mar 2026"), and between columns it overlapped the next panel's first label. Ticks are
    ``tickvals``, every ``step`` months from the first (1, 3, 6, 12 or a multiple of 12: at
    most ~6 a panel, each "%b %Y" label unique for any run length; ``nticks`` alone ticked a
    3-month run every half month), none after the last month; a last tick closer to the
    range's end than half a step (a long run, step dividing its length less one) is left
    out, so that it cannot reach the next panel's first label either.
    """
    xs = [str(x) for trace in data for x in (trace.get("x") or []) if isinstance(x, str)]
    if not xs:
        return dict(MONTH_AXIS)
    first, last = pd.Period(min(xs)[:7], freq="M"), pd.Period(max(xs)[:7], freq="M")
    span = (last - first).n + 1
    step = next((m for m in (1, 3, 6, 12) if span <= 6 * m), 12 * -(-span // 72))
    stop = f"{last}-16"  # mid-month dates: half a month either side of the month starts
    past_last = 0.5  # how far the range reaches past the last month's start, in months
    if shaded_until is not None and shaded_until > stop:
        stop = shaded_until
        past_last = (pd.Timestamp(stop) - last.start_time).days / 30.44
    end = span - 1 + past_last  # the range's end in months from the first month's start
    ticks = [k for k in range(0, span, step) if k == 0 or end - k >= step / 2]
    return {
        "tickformat": "%b %Y",
        "hoverformat": "%b %Y",
        "tickmode": "array",
        "tickvals": [f"{first + k}-01" for k in ticks],
        "range": [f"{first - 1}-16", stop],
        "autorange": False,
    }


def set_month_axes(layout: dict[str, Any], data: Sequence[dict[str, Any]]) -> None:
    """Every x axis of ``layout`` a :func:`month_axis` (reaching to the end of its shapes'
    shading), and every y axis without a range autoranged explicitly: plotly.js (the bundled
    3.x, read in its axis-constraint defaults) remembers that one group of matched axes was
    given a range and then turns autorange off for every later group that does not state it,
    so the shared y axes of the price panels kept the default range [-1, 4] and drew no
    line."""
    shaded = [str(shape["x1"]) for shape in layout.get("shapes", ()) if "x1" in shape]
    _update_axes(layout, "x", **month_axis(data, shaded_until=max(shaded, default=None)))
    for key, axis in layout.items():
        if key.startswith("yaxis") and "range" not in axis:
            axis.setdefault("autorange", True)


def region_colors(regions: Sequence[str]) -> dict[str, str]:
    """A fixed colour per region, in the view's region order, shared by every chart."""
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(regions)}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def typed_array(values: np.ndarray) -> dict[str, str] | list[float]:
    """Float values as a plotly.js typed array (``{"dtype": "f8", "bdata": base64}``).

    The encoding plotly's validators give a numpy array; an empty array stays a list.
    """
    array = np.ascontiguousarray(values, dtype="<f8")
    if array.size == 0:
        return []
    return {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def figure_div(fig: Figure, div_id: str, *, modebar: bool = True) -> str:
    """The figure as a ``<div>`` + inline ``<script>`` (no plotly.js, no network)."""
    config = dict(PLOT_CONFIG) if modebar else {**PLOT_CONFIG, "displayModeBar": False}
    html: str = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config=config,
        validate=False,
    )
    return html


def _legend_above(layout: dict[str, Any], height: int, top: int, bottom: int) -> None:
    """Put the legend above the column titles (plotly's default would overlap them)."""
    plot_px = max(1, height - top - bottom)
    layout["height"] = height
    layout.setdefault("margin", {}).update({"t": top, "b": bottom})
    layout["legend"] = {"yanchor": "bottom", "y": 1.0 + 30 / plot_px, "x": 0, "xanchor": "left"}


def _month_dates(months: Sequence[str]) -> list[str]:
    return [f"{m}-01" for m in months]


def _next_month(month: str) -> str:
    return f"{pd.Period(month, freq='M') + 1}-01"


# --------------------------------------------------------------------------- subplot grid


@dataclass(frozen=True)
class Cell:
    """One panel of a subplot grid: its trace axis references (``x2``, ``y2``)."""

    xref: str
    yref: str


def subplot_grid(
    rows: int,
    cols: int,
    *,
    column_titles: Sequence[str],
    horizontal_spacing: float,
    vertical_spacing: float | None = None,
    shared_xaxes: bool = False,
    shared_yaxes: bool = False,
) -> tuple[dict[str, Any], list[list[Cell]]]:
    """The layout ``plotly.subplots.make_subplots`` makes, and the cells ``[row][col]``.

    Same arithmetic as plotly 7's ``make_subplots`` (start cell top-left, no row or column
    widths): columns of width ``(1 - h (cols - 1)) / cols``, rows likewise, axes numbered
    row by row from the top, shared x axes matching the bottom row's axis of their
    column, shared y axes the first column's axis of their row (their tick labels hidden),
    column titles centred above the top row.
    """
    h = horizontal_spacing
    v = (0.3 / rows) if vertical_spacing is None else vertical_spacing
    widths = [(1.0 - h * (cols - 1)) / cols] * cols
    heights = [(1.0 - v * (rows - 1)) / rows] * rows
    # make_subplots' grid: grid[i] is the i-th row from the top (row_seq reversed)
    grid = [
        [(sum(widths[:c]) + c * h, sum(heights[:r]) + r * v) for c in range(cols)]
        for r in range(rows)[::-1]
    ]
    layout: dict[str, Any] = {}
    cells: list[list[Cell]] = []
    top_domains: list[list[float]] = []
    for r in range(rows):
        row_cells = []
        for c in range(cols):
            x_s = grid[r][c][0]
            x_e = grid[r][c][0] + widths[c]
            y_s = _clamp_unit(grid[r][c][1])
            y_e = _clamp_unit(grid[r][c][1] + heights[-1 - r])
            x_domain = [max(0.0, x_s), min(1.0, x_e)]
            y_domain = [max(0.0, y_s), min(1.0, y_e)]
            n = r * cols + c + 1
            suffix = str(n) if n > 1 else ""
            layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "domain": x_domain}
            layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": y_domain}
            row_cells.append(Cell(f"x{suffix}", f"y{suffix}"))
            if r == 0:  # titles sit on the unclamped domains, as in make_subplots
                top_domains.append([x_s, x_e, y_s, y_e])
        cells.append(row_cells)
    if shared_xaxes:
        for c in range(cols):
            first = cells[rows - 1][c].xref
            for r in range(rows - 1):
                axis = layout[_axis_key(cells[r][c].xref)]
                axis["matches"] = first
                axis["showticklabels"] = False
    if shared_yaxes:
        for r in range(rows):
            first = cells[r][0].yref
            for c in range(1, cols):
                axis = layout[_axis_key(cells[r][c].yref)]
                axis["matches"] = first
                axis["showticklabels"] = False
    annotations = []
    for title, (x0, x1, _, y1) in zip(column_titles, top_domains, strict=False):
        if title:
            annotations.append(
                {
                    "font": dict(TITLE_FONT),
                    "showarrow": False,
                    "text": title,
                    "x": sum([x0, x1]) / 2.0,
                    "xanchor": "center",
                    "xref": "paper",
                    "y": y1,
                    "yanchor": "bottom",
                    "yref": "paper",
                }
            )
    layout["annotations"] = annotations
    return layout, cells


def panel_columns(fig: Figure) -> int:
    """The columns of panels of a :func:`subplot_grid` figure (its distinct x domains)."""
    layout = fig.get("layout", {})
    domains = {
        tuple(axis.get("domain", (0.0, 1.0)))
        for key, axis in layout.items()
        if key.startswith("xaxis") and isinstance(axis, Mapping)
    }
    return max(1, len(domains))


def _clamp_unit(value: float) -> float:
    """make_subplots' rounding of a y bound within 0.01 outside [0, 1]."""
    if -0.01 < value < 0.0:
        return 0.0
    if 1.0 < value < 1.01:
        return 1.0
    return value


def _axis_key(ref: str) -> str:
    """``"x2" -> "xaxis2"``, ``"y" -> "yaxis"``."""
    return f"{ref[0]}axis{ref[1:]}"


def _update_axes(layout: dict[str, Any], letter: str, **props: Any) -> None:
    for key, axis in layout.items():
        if key.startswith(f"{letter}axis"):
            axis.update(props)


# --------------------------------------------------------------------------- the run, split once


@dataclass(frozen=True)
class IndexedRunView(RunView):
    """A :class:`RunView` with the series split by variable once (``variable()`` is a lookup).

    The report asks for the same variables hundreds of times; filtering 40,000 rows each
    time took about a second. Rows keep their order in the series.
    """

    by_variable: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    #: display unit of each priced product's prices, by ``(mineral, stage)``
    price_units: Mapping[tuple[str, str], str] = field(default_factory=dict, repr=False)
    #: months with unserved demand per scenario, as (first, last) runs
    shortages: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False)
    #: unit of each extra variable (the most frequent of its rows)
    extra_units: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: each extra variable by (scenario, region, month) and by (scenario, month), rows
    #: summed (t, USD) or averaged (other units), see :func:`extra_aggregate`
    extra_by_region: Mapping[str, pd.Series] = field(default_factory=dict, repr=False)
    extra_by_month: Mapping[str, pd.Series] = field(default_factory=dict, repr=False)
    #: the products the price and shortage charts draw, in the view's order: all of them, or
    #: for a study with more than :data:`MAX_DRAWN_PRODUCTS` the most telling ones
    #: (:func:`drawn_products`)
    drawn_products: tuple[Product, ...] = ()
    #: per variable of the Sankey diagrams, tonnes by (scenario, product, region) summed over
    #: the months (one grouping for all chains instead of a scan of the series per chain)
    sankey_sums: Mapping[str, Mapping[tuple[str, ...], float]] = field(
        default_factory=dict, repr=False
    )

    def variable(self, name: str) -> pd.DataFrame:
        part = self.by_variable.get(name)
        return part if part is not None else self.series.iloc[0:0]


def indexed(view: RunView) -> IndexedRunView:
    """``view`` with its series split by variable and the per-product/scenario facts cached."""
    if isinstance(view, IndexedRunView):
        return view
    series = view.series
    by_variable = {
        str(name): part for name, part in series.groupby("variable", sort=False, observed=True)
    }
    price = by_variable.get("price", series.iloc[0:0])
    typical = price["value"].abs().groupby([price["mineral"], price["stage"]]).median()
    price_units = {
        (str(m), str(s)): fmt.price_unit(float(v))
        for m, s, v in zip(*_levels(typical, 2), typical.tolist(), strict=True)
    }
    unserved = by_variable.get(SHORTAGE_VARIABLE, by_variable.get("unserved", series.iloc[0:0]))
    per_month = unserved.groupby(["scenario", "month"])["value"].sum()
    shortages: dict[str, list[str]] = {}
    for scenario, month, value in zip(*_levels(per_month, 2), per_month.tolist(), strict=True):
        if value > 1e-9:
            shortages.setdefault(str(scenario), []).append(str(month))
    # extra variables: aggregated in one pass (each group sums its rows in series order,
    # as a groupby of the variable alone would)
    extras = [name for name in by_variable if name not in CORE_VARIABLES]
    extra_units = {name: str(by_variable[name]["unit"].mode().iloc[0]) for name in extras}
    rows = series[series["variable"].isin(extras)]
    tables = [
        rows.groupby(["variable", *keys])["value"].agg(["sum", "mean"])
        for keys in (["scenario", "region", "month"], ["scenario", "month"])
    ]
    by_region, by_month = (
        {
            str(name): part[_how(str(name), extra_units[str(name)])].droplevel(0)
            for name, part in table.groupby(level=0, sort=False)
        }
        for table in tables
    )
    base = {f.name: getattr(view, f.name) for f in fields(RunView)}
    keys = ["scenario", "mineral", "region"]
    sankey_sums = {v: _sum_by(by_variable[v], keys) for v in SANKEY_VARIABLES if v in by_variable}
    return IndexedRunView(
        **base,
        by_variable=by_variable,
        price_units=price_units,
        shortages={s: _runs(months) for s, months in shortages.items()},
        extra_units=extra_units,
        extra_by_region=by_region,
        extra_by_month=by_month,
        drawn_products=drawn_products(view.products, price, unserved),
        sankey_sums=sankey_sums,
    )


#: A study with more priced products than this (60 chains: 120) draws this many rows of
#: panels in the price and shortage charts, and the Sankey diagrams of their chains only: 120
#: rows of 55 lines each and 60 Sankeys made a 21 MB page that took 30-40 s to write and that
#: no reader takes in. Every product's average and peak prices stay in the comparison tables,
#: every month of every node in series.parquet; each section names what it leaves out.
MAX_DRAWN_PRODUCTS = 12


def drawn_products(
    products: Sequence[Product], price: pd.DataFrame, shortage: pd.DataFrame
) -> tuple[Product, ...]:
    """``products`` when there are at most :data:`MAX_DRAWN_PRODUCTS`; else that many, in
    their order in ``products``, picked by most physical shortage (tonnes, all scenarios),
    then widest price range relative to the typical price (max - min over months, regions and
    scenarios, divided by the median), then order in ``products``."""
    if len(products) <= MAX_DRAWN_PRODUCTS:
        return tuple(products)
    short = shortage.groupby("mineral")["value"].sum()
    stats = price.groupby(["mineral", "stage"])["value"].agg(["min", "max", "median"])
    spread = {
        (str(m), str(s)): (hi - lo) / max(abs(mid), 1e-9)
        for (m, s), lo, hi, mid in zip(
            stats.index, stats["min"], stats["max"], stats["median"], strict=True
        )
    }

    def rank(item: tuple[int, Product]) -> tuple[float, float, int]:
        i, p = item
        return (-float(short.get(p.mineral, 0.0)), -spread.get((p.mineral, p.stage), 0.0), i)

    chosen = sorted(enumerate(products), key=rank)[:MAX_DRAWN_PRODUCTS]
    return tuple(p for _, p in sorted(chosen, key=lambda item: item[0]))


def drawn_rows(view: IndexedRunView, rows: pd.DataFrame) -> pd.DataFrame:
    """The ``rows`` of the drawn products (all rows when every product is drawn)."""
    if len(view.drawn_products) >= len(view.products):
        return rows
    return rows[rows["mineral"].isin([p.mineral for p in view.drawn_products])]


def left_out_note(view: RunView, what: str) -> str:
    """One HTML sentence naming how many products a chart leaves out (empty when none)."""
    view = indexed(view)
    n_all, n_drawn = len(view.products), len(view.drawn_products)
    if n_drawn >= n_all:
        return ""
    return (
        f'<p class="note">This study has {n_all} products; {what} draws the {n_drawn} with the '
        f"most physical shortage, then the widest price range (at most {MAX_DRAWN_PRODUCTS}, "
        "so that the page stays readable). Every product's average and peak prices are in the "
        "comparison tables above, every month of every node in <code>series.parquet</code>.</p>"
    )


#: units whose values add up across regions and products (undeclared variables only)
ADDITIVE_UNITS = frozenset({"t", "usd"})


@dataclass(frozen=True)
class Summarised:
    """How the report summarises one variable, read from its declaration
    (:class:`critmin.policy.instrument.OutputVariable`): ``across`` combines the rows of one
    month (regions, products: ``sum`` or ``mean``), ``over_months`` the months of a run
    (``sum``: total over the run, ``mean``: monthly mean, ``last``: the last month)."""

    across: str
    over_months: str
    description: str = ""
    declared: bool = True


@cache
def _discover() -> None:
    # the installed instrument kinds, once per process (a report may be built without a run)
    from critmin.policy.instrument import discover

    discover()


def _declared() -> Mapping[str, Any]:
    """The declared output variables by name (the engine's and every instrument kind's)."""
    from critmin.market.results import output_variables

    _discover()
    return output_variables()


def summarised(variable: str, unit: str) -> Summarised:
    """How rows of ``variable`` (in ``unit``) are combined: as declared. A stock (``last``)
    adds up across holders when it is tonnes or money, not when it is days of cover. A
    variable nobody declared (e.g. a plug-in's that does not) falls back to its unit:
    tonnes and USD are summed over regions and the run, anything else averaged."""
    var = _declared().get(variable)
    if var is None:
        how = "sum" if unit in ADDITIVE_UNITS else "mean"
        return Summarised(how, how, declared=False)
    agg = var.aggregation
    across = "sum" if agg == "sum" or (agg == "last" and var.unit in ADDITIVE_UNITS) else "mean"
    return Summarised(across, agg, var.description)


def _how(variable: str, unit: str) -> str:
    """How rows of one region or month are combined (:func:`summarised`)."""
    return summarised(variable, unit).across


def variable_unit(view: RunView, variable: str) -> str:
    """The unit of a variable's rows (the most frequent one)."""
    if isinstance(view, IndexedRunView) and variable in view.extra_units:
        return view.extra_units[variable]
    return str(view.variable(variable)["unit"].mode().iloc[0])


def extra_aggregate(view: RunView, variable: str, *, by_region: bool) -> pd.Series:
    """A variable by (scenario, region, month) or (scenario, month), rows combined as the
    variable is declared (:func:`summarised`: summed for flows and stocks of tonnes and
    money, averaged for prices, rates and days of cover)."""
    keys = ["scenario", "region", "month"] if by_region else ["scenario", "month"]
    if isinstance(view, IndexedRunView):
        cached = (view.extra_by_region if by_region else view.extra_by_month).get(variable)
        if cached is not None:
            return cached
    rows = view.variable(variable)
    return rows.groupby(keys)["value"].agg(_how(variable, variable_unit(view, variable)))


def _runs(months: Sequence[str]) -> list[tuple[str, str]]:
    """Sorted months as contiguous (first, last) runs."""
    runs: list[tuple[str, str]] = []
    for month in sorted(months):
        if runs and str(pd.Period(runs[-1][1], freq="M") + 1) == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def shortage_runs(view: RunView, scenario: str) -> list[tuple[str, str]]:
    """Contiguous runs of months with unserved demand > 0 in ``scenario`` (first, last)."""
    if isinstance(view, IndexedRunView):
        return list(view.shortages.get(scenario, []))
    unserved = shortage_rows(view)
    per_month = unserved[unserved["scenario"] == scenario].groupby("month")["value"].sum()
    return _runs([str(m) for m in per_month[per_month > 1e-9].index])


def price_unit_of(view: RunView, product: Product) -> str:
    """Display unit of a product's prices (USD/kg for high-value products)."""
    if isinstance(view, IndexedRunView):
        return view.price_units.get((product.mineral, product.stage), fmt.price_unit(0.0))
    price = view.variable("price")
    rows = price[(price["mineral"] == product.mineral) & (price["stage"] == product.stage)]
    typical = float(rows["value"].abs().median()) if len(rows) else 0.0
    return fmt.price_unit(typical)


def _levels(values: pd.Series, n: int) -> list[list[str]]:
    """The first ``n`` index levels of a grouped series, as lists of str."""
    return [[str(v) for v in values.index.get_level_values(i)] for i in range(n)]


def _group_positions(columns: Sequence[list[str]]) -> dict[tuple[str, ...], np.ndarray]:
    """Positions of the rows of each group of equal keys (one list per key), in row order."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, key in enumerate(zip(*columns, strict=True)):
        groups.setdefault(key, []).append(i)
    return {key: np.asarray(pos, dtype=np.intp) for key, pos in groups.items()}


# --------------------------------------------------------------------------- figures


#: Price lines drawn per panel: the regions of the view's order (largest producer-consumer
#: first, the legend's order) up to this many; the others' range is one grey band. 55 lines a
#: panel in 15 repeating colours could not be told apart, and their legend took four lines.
MAX_PRICE_REGIONS = 12
#: Height of one row of price panels and the gap between rows, px: 190 px rows made the seed
#: study's six products 1,250 px tall; 130 px still shows three or four y ticks a panel.
PRICE_ROW_PX, PRICE_GAP_PX = 130, 22
#: The price figure's margins (px): the legend and column titles above, month labels below.
PRICE_TOP_PX, PRICE_BOTTOM_PX = 84, 30


def price_regions(view: RunView) -> tuple[list[str], list[str]]:
    """The regions with price rows: (drawn as lines, shown as a band), in the view's order."""
    view = indexed(view)
    priced = set(drawn_rows(view, view.variable("price"))["region"].unique().tolist())
    regions = [r for r in view.regions if r in priced]
    return regions[:MAX_PRICE_REGIONS], regions[MAX_PRICE_REGIONS:]


def price_regions_note(view: RunView) -> str:
    """One HTML sentence naming the regions the price chart shows as a band (empty when none)."""
    lines, band = price_regions(view)
    if not band:
        return ""
    return (
        f'<p class="note">Prices are reported in {len(lines) + len(band)} regions; each panel '
        f"draws a line for the {len(lines)} that produce and consume the most (the legend's "
        f"order) and the range of the other {len(band)} as a grey band (lowest to highest "
        "price each month; hover an edge of the band for the region there). Where an edge of "
        "the band lies above or below every line, the region that sets it is named once, "
        "where it is furthest from the lines. Every node's average and peak price is in the "
        "comparison tables above, every month in <code>series.parquet</code>.</p>"
    )


def prices_figure(view: RunView) -> Figure | None:
    """Small multiples: one row per priced product, one column per scenario, a line per region
    (at most :data:`MAX_PRICE_REGIONS`, the others as one min-max band); rows of a fixed
    height, so the figure grows with the products drawn (at most :data:`MAX_DRAWN_PRODUCTS`),
    never with the regions."""
    view = indexed(view)
    price = drawn_rows(view, view.variable("price"))
    if price.empty:
        return None
    priced = set(zip(price["mineral"].tolist(), price["stage"].tolist(), strict=True))
    products = [p for p in view.drawn_products if (p.mineral, p.stage) in priced]
    in_series = set(price["scenario"].unique().tolist())
    scenarios = [s for s in view.scenario_names if s in in_series]
    colors = region_colors(view.regions)
    lines, band = price_regions(view)
    rank = {r: i for i, r in enumerate(lines)}  # the legend in the view's order
    agg = price.groupby(["scenario", "mineral", "stage", "region", "month"])["value"].mean()
    # agg is sorted by its keys, so each group's months are in order
    scenario_of, mineral_of, stage_of, region_of, month_of = _levels(agg, 5)
    groups = _group_positions([mineral_of, stage_of, scenario_of, region_of])
    months = np.asarray(month_of, dtype=object)
    values = agg.to_numpy()
    ranges = _band_ranges(agg, band, lines)
    plot_px = len(products) * PRICE_ROW_PX + (len(products) - 1) * PRICE_GAP_PX
    layout, cells = subplot_grid(
        len(products),
        len(scenarios),
        column_titles=scenarios,
        horizontal_spacing=0.025,
        vertical_spacing=PRICE_GAP_PX / plot_px if len(products) > 1 else 0.0,
        shared_xaxes=True,
        shared_yaxes=True,
    )
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    edge_labels: list[dict[str, Any]] = []
    shown: set[str] = set()
    for r, product in enumerate(products):
        unit = price_unit_of(view, product)
        factor = fmt.price_factor(unit)
        decimals = 2 if unit == "USD/kg" else 0
        for c, scenario in enumerate(scenarios):
            cell = cells[r][c]
            low_high = ranges.get((scenario, product.mineral, product.stage))
            if low_high is not None:
                legend = "other regions" not in shown
                scale = (factor, decimals, unit)
                data += _band_traces(low_high, len(band), scale, cell, legend)
                edge_labels += _band_edge_labels(low_high, len(band), scale, cell)
                shown.add("other regions")
            for region in lines:
                pos = groups.get((product.mineral, product.stage, scenario, region))
                if pos is None:
                    continue
                data.append(
                    {
                        "hovertemplate": f"{region} · %{{y:,.{decimals}f}} {unit}<extra></extra>",
                        "legendgroup": region,
                        "line": {"color": colors[region], "width": 1.7},
                        "mode": "lines",
                        "name": region,
                        "legendrank": rank[region],
                        "showlegend": region not in shown,
                        "x": _month_dates(months[pos].tolist()),
                        "y": typed_array(np.round(values[pos] * factor, decimals)),
                        "type": "scatter",
                        "xaxis": cell.xref,
                        "yaxis": cell.yref,
                    }
                )
                shown.add(region)
            shapes.extend(_shortage_shading(view, scenario, cell.xref, cell.yref))
        layout[_axis_key(cells[r][0].yref)]["title"] = _row_title(product, unit)
    if shapes:
        layout["shapes"] = shapes
    set_month_axes(layout, data)  # after the shapes: the range reaches their end
    layout["annotations"] += edge_labels
    layout.update(template=TEMPLATE, hovermode="x unified", margin={"l": 110, "r": 20})
    _legend_above(layout, plot_px + PRICE_TOP_PX + PRICE_BOTTOM_PX, PRICE_TOP_PX, PRICE_BOTTOM_PX)
    return {"data": data, "layout": layout}


#: a product id longer than this is broken at an underscore onto two lines of a row title: a
#: rotated title runs along its row (130 px a row, 22 px between rows), "lithium_concentrate"
#: (19 characters) in bold ran 158 px, and over "lithium_carbonate" left 2 px between the
#: two rows' titles in Chromium; "dysprosium_oxide" (16) runs about 130 px
ROW_TITLE_CHARS = 16


def _product_lines(product: Product) -> list[str]:
    """A product id as the lines of a row title: whole when short, else broken after the
    underscore nearest its middle (``lithium_`` / ``concentrate``)."""
    name = product.mineral
    cuts = [i + 1 for i, ch in enumerate(name) if ch == "_" and 0 < i < len(name) - 1]
    if len(name) <= ROW_TITLE_CHARS or not cuts:
        return [name]
    cut = min(cuts, key=lambda i: abs(2 * i - len(name)))
    return [name[:cut], name[cut:]]


def _row_title(product: Product, unit: str) -> dict[str, Any]:
    """A price row's y-axis title: product (bold) and stage on separate lines (one rotated
    line ran past the plot's left edge), then the unit. The product is always named, since
    ``label`` leaves it out when it is its stage's only product: a one-product study
    (``two_regions.yaml``) would read "refining" alone."""
    bold = "<br>".join(f"<b>{line}</b>" for line in _product_lines(product))
    return {"text": f"{bold}<br>{product.stage}<br>{unit}", "standoff": 6}


def _band_ranges(
    agg: pd.Series, band: Sequence[str], lines: Sequence[str]
) -> dict[tuple[str, ...], pd.DataFrame]:
    """The grey band of the ``band`` regions per (scenario, product, stage): a frame indexed
    by month with the lowest and highest monthly price (``min``, ``max``, USD/t), the region
    at each edge (``min_region``, ``max_region``: the first by name) and how many more are
    within a millionth of it (``min_ties``, ``max_ties``), the lowest and highest price of
    the ``lines`` regions
    (``line_min``, ``line_max``; NaN in a month none of them is priced)."""
    if not band:
        return {}
    keys = ["scenario", "mineral", "stage", "month"]
    regions = agg.index.get_level_values("region")
    rows = agg[regions.isin(list(band))].reset_index()
    by = rows.groupby(keys, sort=True)["value"]
    stats = by.agg(["min", "max"])
    for edge, pick, value in (
        ("min", by.idxmin(), by.transform("min")),
        ("max", by.idxmax(), by.transform("max")),
    ):
        tied = (rows["value"] - value).abs() <= 1e-6 * value.abs().clip(lower=1.0)
        others = tied.groupby([rows[k] for k in keys], sort=True).sum() - 1
        names = rows.loc[pick.to_numpy(), "region"].astype(str).to_numpy()
        stats[f"{edge}_region"] = names
        stats[f"{edge}_ties"] = others.to_numpy()
    drawn = agg[regions.isin(list(lines))].groupby(level=keys).agg(["min", "max"])
    stats[["line_min", "line_max"]] = drawn.reindex(stats.index).to_numpy()
    return {
        tuple(map(str, key)): part.droplevel([0, 1, 2])
        for key, part in stats.groupby(level=["scenario", "mineral", "stage"])
    }


def _band_traces(
    low_high: pd.DataFrame, n: int, scale: tuple[float, int, str], cell: Cell, legend: bool
) -> list[dict[str, Any]]:
    """The grey band of the regions without a line: the lowest price, then the highest
    filled down to it (drawn first, so the region lines sit on top). The hover names the
    region at each edge each month."""
    factor, decimals, unit = scale
    dates = _month_dates([str(m) for m in low_high.index])
    common = {"legendgroup": "other regions", "mode": "lines", "type": "scatter",
              "xaxis": cell.xref, "yaxis": cell.yref}  # fmt: skip
    low, high = (np.round(low_high[k].to_numpy() * factor, decimals) for k in ("min", "max"))
    return [
        {
            **common,
            "customdata": _edge_names(low_high, "min"),
            "hovertemplate": f"other {n} regions, lowest: %{{customdata}} · "
            f"%{{y:,.{decimals}f}} {unit}<extra></extra>",
            "line": {"color": "rgba(107,114,128,0.5)", "width": 0.5},
            "name": f"other {n} regions (lowest)",
            "showlegend": False,
            "x": dates,
            "y": typed_array(low),
        },
        {
            **common,
            "customdata": _edge_names(low_high, "max"),
            "fill": "tonexty",
            "fillcolor": "rgba(107,114,128,0.18)",
            "hovertemplate": f"other {n} regions, highest: %{{customdata}} · "
            f"%{{y:,.{decimals}f}} {unit}<extra></extra>",
            "line": {"color": "rgba(107,114,128,0.5)", "width": 0.5},
            "name": f"other {n} regions (range)",
            "showlegend": legend,
            "x": dates,
            "y": typed_array(high),
        },
    ]


def _edge_names(low_high: pd.DataFrame, edge: str) -> list[str]:
    """Each month's region at the band's ``edge`` (``min``, ``max``): "R05", or "R04 and 24
    more" when 24 more regions have the same price."""
    return [
        name if n == 0 else f"{name} and {n} more"
        for name, n in zip(low_high[f"{edge}_region"], low_high[f"{edge}_ties"], strict=True)
    ]


def _band_edge_labels(
    low_high: pd.DataFrame, n: int, scale: tuple[float, int, str], cell: Cell
) -> list[dict[str, Any]]:
    """At most two labels a panel naming the region at the band's top and bottom edge, where
    that edge lies outside every drawn line: a region whose prices are drawn only as the
    band's edge would otherwise be nameless. Each is placed at the month the edge is
    furthest outside the lines (in shown units: a difference the axis rounds away gets no
    label), just inside the band; an edge within the lines' range gets none (the hover still
    names it), so a panel whose band sits among its lines stays as it was."""
    factor, decimals, unit = scale
    dates = _month_dates([str(m) for m in low_high.index])
    shown = {k: np.round(low_high[k].to_numpy() * factor, decimals) for k in
             ("min", "max", "line_min", "line_max")}  # fmt: skip
    labels = []
    for edge, beyond, anchor, word, side in (
        ("max", shown["max"] - shown["line_max"], "top", "highest", "above"),
        ("min", shown["line_min"] - shown["min"], "bottom", "lowest", "below"),
    ):
        outside = np.where(np.isnan(beyond), 0.0, beyond)  # a month without lines: no label
        i = int(np.argmax(outside))
        if outside[i] <= 0.0:
            continue
        region = str(low_high[f"{edge}_region"].iloc[i])
        ties = int(low_high[f"{edge}_ties"].iloc[i])
        labels.append(
            {
                "font": {"size": 10, "color": "#374151"},
                "hovertext": f"{_edge_names(low_high.iloc[[i]], edge)[0]}: the {word} price "
                f"of the other {n} regions in "
                f"{dates[i][:7]}, {shown[edge][i]:,.{decimals}f} {unit}, "
                f"{outside[i]:,.{decimals}f} {unit} {side} every drawn line",
                "showarrow": False,
                "text": region if ties == 0 else f"{region} +{ties}",
                "x": dates[i],
                "xanchor": "left" if i == 0 else "right" if i == len(dates) - 1 else "center",
                "xref": cell.xref,
                "y": float(shown[edge][i]),
                "yanchor": anchor,
                "yref": cell.yref,
            }
        )
    return labels


def _shortage_shading(view: RunView, scenario: str, xref: str, yref: str) -> list[dict[str, Any]]:
    """Grey bands over the months of ``scenario`` with a physical shortage."""
    return [
        {
            "fillcolor": "#9ca3af",
            "layer": "below",
            "line": {"width": 0},
            "opacity": 0.13,
            "type": "rect",
            "x0": f"{first}-01",
            "x1": _next_month(last),
            "xref": xref,
            "y0": 0,
            "y1": 1,
            "yref": f"{yref} domain",
        }
        for first, last in shortage_runs(view, scenario)
    ]


#: the series variable of the shortage chart and shading (older runs: ``unserved``)
SHORTAGE_VARIABLE = "physical_shortage"


def shortage_rows(view: RunView) -> pd.DataFrame:
    """Rows of physical shortage (or, for runs written before it existed, unserved demand)."""
    rows = view.variable(SHORTAGE_VARIABLE)
    return rows if not rows.empty else view.variable("unserved")


def unserved_figure(view: RunView) -> Figure | None:
    """Stacked monthly bars of physical shortage by region: one row of panels per product
    (tonnes of different products are never stacked together), one column per scenario."""
    view = indexed(view)
    unserved = shortage_rows(view)
    if unserved.empty or float(unserved["value"].abs().sum()) <= 1e-9:
        return None
    agg = unserved.groupby(["scenario", "mineral", "region", "month"], as_index=False)[
        "value"
    ].sum()
    # only scenarios with some shortage get a column (plotly draws no axes for a panel
    # without traces, so an all-zero column would lose the row titles); the section's text
    # names the others
    per_scenario = agg.groupby("scenario")["value"].sum()
    scenarios = [s for s in view.scenario_names if float(per_scenario.get(s, 0.0)) > 1e-9]
    per_product = agg.groupby("mineral")["value"].sum()
    products = [p for p in view.drawn_products if float(per_product.get(p.mineral, 0.0)) > 1e-9]
    months = sorted(view.series["month"].unique().tolist())
    colors = region_colors(view.regions)
    layout, cells = subplot_grid(
        len(products), len(scenarios), column_titles=scenarios, horizontal_spacing=0.025,
        vertical_spacing=min(0.12, 0.5 / (len(products) - 1)) if len(products) > 1 else 0.0,
        shared_yaxes=True,
    )  # fmt: skip
    shown: set[str] = set()
    positive = agg.groupby("region")["value"].sum()
    regions = [r for r in view.regions if float(positive.get(r, 0.0)) > 1e-9]
    keys = zip(
        agg["scenario"].tolist(), agg["mineral"].tolist(), agg["region"].tolist(),
        agg["month"].tolist(), strict=True,
    )  # fmt: skip
    lookup = dict(zip(keys, agg["value"].tolist(), strict=True))
    dates = _month_dates(months)
    data: list[dict[str, Any]] = []
    for r, product in enumerate(products):
        for c, scenario in enumerate(scenarios):
            for region in regions:
                values = np.array(
                    [lookup.get((scenario, product.mineral, region, m), 0.0) for m in months]
                )
                if not values.any():
                    continue
                data.append(
                    {
                        "hovertemplate": f"{region} · %{{y:,.0f}} t<extra></extra>",
                        "legendgroup": region,
                        "marker": {"color": colors[region], "line": {"width": 0}},
                        "name": region,
                        "showlegend": region not in shown,
                        "x": list(dates),
                        "y": typed_array(np.round(values, 1)),
                        "type": "bar",
                        "xaxis": cells[r][c].xref,
                        "yaxis": cells[r][c].yref,
                    }
                )
                shown.add(region)
        axis = cells[r][0].yref.replace("y", "yaxis", 1)
        # product and stage always, as the price rows' titles (label drops a lone product)
        lines = [*_product_lines(product), product.stage, "t per month"]
        layout[axis]["title"] = {"text": "<br>".join(lines)}
    set_month_axes(layout, data)
    layout.update(
        template=TEMPLATE, barmode="stack", bargap=0.15, hovermode="x unified",
        margin={"l": 110, "r": 20},
    )  # fmt: skip
    _legend_above(layout, 130 + 200 * len(products), 84, 40)
    return {"data": data, "layout": layout}


def sankey_chains(view: RunView) -> list[list[str]]:
    """Each market's products in chain order: the ``chains`` metric of ``critmin run``
    (every scenario's, each chain once), else one chain of every product in stage order."""
    known = {p.mineral for p in view.products}
    found: dict[tuple[str, ...], None] = {}  # every scenario's chains, first seen first
    for scenario in view.scenarios:
        raw = scenario.metrics.get("chains")
        if isinstance(raw, Mapping):
            for products in raw.values():
                chain = tuple(str(p) for p in products if str(p) in known)
                if chain:
                    found.setdefault(chain, None)
    if found:
        return [list(c) for c in found]
    return [[p.mineral for p in view.products]] if view.products else []


def _sum_by(rows: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], float]:
    if rows.empty:
        return {}
    total = rows.groupby(keys)["value"].sum()
    return {
        tuple(map(str, k if isinstance(k, tuple) else (k,))): float(v)
        for k, v in zip(total.index, total.tolist(), strict=True)
    }


def _trade(
    flows: Mapping[tuple[str, str], float],
) -> tuple[dict[tuple[str, str], list[tuple[str, float]]], dict[tuple[str, str], float]]:
    """Imports ``(product, destination) -> [(source, t)]`` and exports ``(product, source)
    -> t`` of the flow sums, routes within a region and empty flows left out."""
    imports: dict[tuple[str, str], list[tuple[str, float]]] = {}
    exports: dict[tuple[str, str], float] = {}
    for (product, route), value in flows.items():
        src, dst = split_route(route)
        if value <= 1e-9 or src == dst:
            continue
        imports.setdefault((product, dst), []).append((src, value))
        exports[(product, src)] = exports.get((product, src), 0.0) + value
    return imports, exports


def sankey_links(view: RunView, scenario: str, chain: Sequence[str] | None = None) -> pd.DataFrame:
    """Links ``source, target, value_t, region, source_col, target_col`` of one chain's
    Sankey in ``scenario``, tonnes summed over the run's months.

    The links follow the chain: the supply of product ``P`` at region ``B`` (``B``'s own
    output it did not export, imports from each ``A``, stock releases) is split, in
    proportion, between ``B``'s conversion input (a link to ``B · next product``), its
    consumption (a link to ``B · use``) and a stockpile's purchases (a link to
    ``B · into stockpile``, in the use column). So a link only runs from a stage to the next
    one, to use or into a stock, crossing regions where the product was traded, and the links
    into ``B · next`` from ``P`` add up to ``B``'s conversion input of ``P``, those into
    ``B · use`` to its consumption and those into ``B · into stockpile`` to its purchases of
    ``P`` (when supply covers them; other uses are not drawn). Each link carries tonnes of
    its source product.
    """
    chain = list(chain) if chain is not None else (sankey_chains(view) or [[]])[0]
    cols = ["source", "target", "value_t", "region", "source_col", "target_col"]
    if not chain:
        return pd.DataFrame(columns=cols)
    label = {p.mineral: p.label for p in view.products}
    # each variable's sums of this scenario and chain, by (product, region), in key order
    # (the same sums as grouping the chain's rows: a group holds the same rows in order)
    members = set(chain)
    prod, cons, conv, release, flows, bought = (
        {
            (m, r): v
            for (s, m, r), v in indexed(view).sankey_sums.get(name, {}).items()
            if s == scenario and m in members
        }
        for name in SANKEY_VARIABLES
    )
    imports, exports = _trade(flows)
    regions = sorted({r for _, r in prod} | {r for _, r in cons} | {r for _, r in conv}
                     | {d for _, d in imports} | {r for _, r in release}
                     | {r for _, r in bought})  # fmt: skip
    use_col = len(chain)
    links: list[tuple[str, str, float, str, int, int]] = []
    for k, product in enumerate(chain):
        nxt = chain[k + 1] if k + 1 < len(chain) else None
        for region in regions:
            to_next = conv.get((product, region), 0.0) if nxt is not None else 0.0
            to_use = cons.get((product, region), 0.0)
            to_stock = bought.get((product, region), 0.0)
            if to_next + to_use + to_stock <= 1e-9:
                continue
            kept = max(prod.get((product, region), 0.0) - exports.get((product, region), 0.0), 0.0)
            sources = [(f"{region} · {label.get(product, product)}", kept, region)]
            sources += [
                (f"{a} · {label.get(product, product)}", v, a)
                for a, v in imports.get((product, region), [])
            ]
            if release.get((product, region), 0.0) > 1e-9:
                sources.append((f"{region} · stockpile", release[(product, region)], region))
            supply = sum(v for _, v, _ in sources)
            if supply <= 1e-9:
                continue
            uses = max(supply, to_next + to_use + to_stock)  # the rest is not drawn
            for node, value, origin in sources:
                if value <= 1e-9:
                    continue
                if to_next > 0 and nxt is not None:
                    links.append((node, f"{region} · {label.get(nxt, nxt)}",
                                  value * to_next / uses, origin, k, k + 1))  # fmt: skip
                if to_use > 0:
                    links.append((node, f"{region} · use", value * to_use / uses, origin, k,
                                  use_col))  # fmt: skip
                if to_stock > 0:
                    links.append((node, f"{region} · into stockpile", value * to_stock / uses,
                                  origin, k, use_col))  # fmt: skip
    out = pd.DataFrame(links, columns=cols)
    return out.groupby(["source", "target", "region", "source_col", "target_col"],
                       as_index=False).agg(value_t=("value_t", "sum"))[cols]  # fmt: skip


#: Nodes a Sankey column draws before its smallest are grouped: a column of 40 small buyers
#: made a 1,000 px diagram of unreadable slivers. With at most this many nodes a column
#: (the largest ``MAX_SANKEY_ROWS - 1`` and one "other N regions" node per kind of node,
#: product or stock, use or into stockpile), a diagram is at most
#: ``SANKEY_ROW_PX * (MAX_SANKEY_ROWS + 1) + 120`` px tall whatever the number of regions.
MAX_SANKEY_ROWS = 10
#: Height of a Sankey row (a node's label and its gap), px.
SANKEY_ROW_PX = 22
#: A Sankey's margins, px: the stage names above; below, half a label's height for the label
#: of a node at the plot's foot (the nodes themselves stay inside the plot, _packed_rows)
SANKEY_MARGIN = {"l": 10, "r": 10, "t": 34, "b": 10}


def group_small_nodes(
    links: pd.DataFrame, max_rows: int = MAX_SANKEY_ROWS
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """``links`` with the smallest nodes of each crowded column merged, and each merged node's
    regions by its label.

    A column with more than ``max_rows`` nodes keeps its ``max_rows - 1`` largest (tonnes
    through the node: the larger of what flows in and out) and merges the rest, per kind
    (the text after " · ": a product, ``stockpile``, ``use``, ``into stockpile``), into one
    node ``other N regions · <kind>`` (grey: the links out of it too). Links keep their
    columns and tonnes, so every column's total is unchanged and no link runs backwards.
    """
    if links.empty:
        return links, {}
    ends = zip(
        [*links["source"], *links["target"]],
        [*links["source_col"], *links["target_col"]],
        strict=True,
    )
    inflow = links.groupby("target")["value_t"].sum()
    outflow = links.groupby("source")["value_t"].sum()
    size = {
        (str(node), int(col)): max(float(inflow.get(node, 0.0)), float(outflow.get(node, 0.0)))
        for node, col in ends
    }
    by_col: dict[int, list[str]] = {}
    for node, col in size:
        by_col.setdefault(col, []).append(node)
    rename: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for col, nodes in by_col.items():
        if len(nodes) <= max_rows:
            continue
        ranked = sorted(nodes, key=lambda n: (-size[(n, col)], n))
        rest = ranked[max_rows - 1 :]
        kinds: dict[str, list[str]] = {}
        for node in rest:
            kinds.setdefault(node.split(" · ", 1)[-1], []).append(node)
        for kind, group in kinds.items():
            if len(group) == 1:  # one region is drawn as itself
                continue
            label = f"other {len(group)} regions · {kind}"
            members[label] = sorted(n.split(" · ", 1)[0] for n in group)
            rename.update(dict.fromkeys(group, label))
    if not rename:
        return links, {}
    out = links.copy()
    out["region"] = [
        "other" if s in rename else r for s, r in zip(out["source"], out["region"], strict=True)
    ]
    out["source"] = [rename.get(n, n) for n in out["source"]]
    out["target"] = [rename.get(n, n) for n in out["target"]]
    keys = ["source", "target", "region", "source_col", "target_col"]
    grouped = out.groupby(keys, as_index=False).agg(value_t=("value_t", "sum"))
    return grouped[list(links.columns)], members


def sankey_figure(
    view: RunView, scenario: str, chain: Sequence[str] | None = None
) -> Figure | None:
    """Sankey of one chain's flows in ``scenario``: columns in chain order (mine, refining,
    metal, component, use), node colour = region, tonnes summed over the run's months."""
    chain = list(chain) if chain is not None else (sankey_chains(view) or [[]])[0]
    links, grouped = group_small_nodes(sankey_links(view, scenario, chain))
    if links.empty:
        return None
    colors = region_colors(view.regions)
    region_rank = {r: i for i, r in enumerate(view.regions)}
    col_of: dict[str, int] = {}
    for s_, t_, sc, tc in links[["source", "target", "source_col", "target_col"]].itertuples(
        index=False
    ):
        col_of[str(s_)] = int(sc)
        col_of[str(t_)] = int(tc)
    labels = sorted(col_of, key=lambda n: (col_of[n], region_rank.get(n.split(" · ")[0], 99), n))
    position = {lab: i for i, lab in enumerate(labels)}
    n_cols = max(col_of.values()) + 1
    per_col: dict[int, list[str]] = {}
    for lab in labels:
        per_col.setdefault(col_of[lab], []).append(lab)
    height = max(360, SANKEY_ROW_PX * max(len(m) for m in per_col.values()) + 120)
    # explicit columns keep every stage in its place (plotly would otherwise push a node as
    # far right as its longest path)
    xs = [0.001 + 0.998 * col_of[lab] / max(1, n_cols - 1) for lab in labels]
    ys = _packed_rows(links, per_col, labels, height - SANKEY_MARGIN["t"] - SANKEY_MARGIN["b"])
    node_colors = [colors.get(lab.split(" · ")[0], "#9ca3af") for lab in labels]
    link_colors = [_rgba(colors.get(r, "#9ca3af"), 0.38) for r in links["region"]]
    hover: dict[str, Any] = {}
    if grouped:  # a grouped node's hover names its regions
        hover = {
            "customdata": [", ".join(grouped.get(lab, [lab.split(" · ")[0]])) for lab in labels],
            "hovertemplate": "%{label}<br>%{customdata}<br>%{value:,.0f} t<extra></extra>",
        }
    sankey = {
        # "perpendicular", not "snap": plotly's snap pushes a column's nodes 16 px apart
        # from the top whatever the room, so a column with more nodes than the layer plotly
        # scaled by (lithium's seven refiners, as many tonnes as its six buyers) ran 16 px
        # past the plot; _packed_rows fits every column, and nodes still drag up and down
        "arrangement": "perpendicular",
        "link": {
            "color": link_colors,
            "source": [position[s] for s in links["source"]],
            "target": [position[t] for t in links["target"]],
            "value": typed_array(np.round(links["value_t"].to_numpy(), 1)),
        },
        "node": {
            "color": node_colors,
            "label": labels,
            "line": {"color": "#ffffff", "width": 0.5},
            "pad": 16,  # a label's height: with 8 px, small nodes' labels overlapped
            "thickness": 14,
            "x": xs,
            "y": ys,
            **hover,
        },
        "valueformat": ",.0f",
        "valuesuffix": " t",
        "type": "sankey",
    }
    label = {p.mineral: p.label for p in view.products}
    annotations = _column_titles([label.get(p, p) for p in chain] + ["use"], n_cols)
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "height": height,
        "margin": dict(SANKEY_MARGIN),
        "font": {"size": 11},
        "annotations": annotations,
    }
    return {"data": [sankey], "layout": layout}


def _column_titles(columns: Sequence[str], n_cols: int) -> list[dict[str, Any]]:
    """The Sankey's stage names above its first ``n_cols`` columns."""
    return [
        {
            "font": {"size": 12, "color": "#374151"},
            "showarrow": False,
            "text": f"<b>{name}</b>",
            "x": i / max(1, n_cols - 1),
            "xanchor": "left" if i == 0 else "right" if i == n_cols - 1 else "center",
            "xref": "paper",
            "y": 1.0,
            "yanchor": "bottom",
            "yref": "paper",
        }
        for i, name in enumerate(columns[:n_cols])
    ]


def _packed_rows(
    links: pd.DataFrame,
    per_col: Mapping[int, list[str]],
    labels: Sequence[str],
    plot_px: float,
) -> list[float]:
    """Each node's vertical centre (0..1 from the top): a column's nodes stacked in its order,
    each as tall as plotly draws it (:func:`_plotly_px_per_t`), 16 px apart or more (the
    column's spare height spread between them; a lone node centred), less only where the
    column cannot hold its nodes otherwise. Evenly spaced centres let a large node at a
    column's foot run past the plot's bottom edge (an "other N regions" node did, and
    ``examples/scenarios/lithium_2035.yaml``'s last buyers). plotly draws the nodes where
    these centres put them (``arrangement="perpendicular"``): its "snap" moved them apart to
    its own 16 px pad, and where a pinned column has more nodes than the layer plotly scaled
    by (lithium's seven refiners, USA among plotly's first layer since nothing flows into
    it, and as many tonnes as its six buyers) that ended the column 16 px below the plot,
    whatever the figure's height. Here that column's gaps are 13 px. Only a column with more
    tonnes than any of plotly's layers could still run past the plot."""
    pad = 16.0
    inflow = links.groupby("target")["value_t"].sum()
    outflow = links.groupby("source")["value_t"].sum()
    size = {lab: max(float(inflow.get(lab, 0.0)), float(outflow.get(lab, 0.0))) for lab in labels}
    scale = _plotly_px_per_t(links, size, plot_px, pad)
    centre: dict[str, float] = {}
    for nodes in per_col.values():
        spare = plot_px - sum(size[n] for n in nodes) * scale
        gap = max(spare, 0.0) / (len(nodes) - 1) if len(nodes) > 1 else 0.0
        top = 0.0 if len(nodes) > 1 else max(spare, 0.0) / 2.0
        for node in nodes:
            centre[node] = top + size[node] * scale / 2.0
            top += size[node] * scale + gap
    return [min(0.999, max(0.001, centre[lab] / plot_px)) for lab in labels]


def _plotly_px_per_t(
    links: pd.DataFrame, size: Mapping[str, float], plot_px: float, pad: float
) -> float:
    """The pixels a tonne gets in plotly's drawing: d3-sankey's ``ky``, the smallest of
    ``(plot_px - pad * (n - 1)) / tonnes`` over its layers. Its layers are not the pinned
    columns: a node with no link in is in layer 0 (a refiner of its own output sits with the
    mines), a node with no link out in the last (plotly's ``justify``), any other one layer
    after its deepest source. Scaling by the pinned columns drew the lithium study's refiners
    taller than planned, and its last buyers below the plot."""
    sources: dict[str, list[str]] = {}
    has_out: set[str] = set()
    order = links.sort_values("source_col", kind="stable")
    for src, dst in zip(order["source"], order["target"], strict=True):
        sources.setdefault(str(dst), []).append(str(src))
        has_out.add(str(src))
    depth: dict[str, int] = {}

    def depth_of(node: str) -> int:
        if node not in depth:  # links run forward only, so this ends
            depth[node] = 1 + max((depth_of(s) for s in sources.get(node, [])), default=-1)
        return depth[node]

    last = max(depth_of(n) for n in size)
    layers: dict[int, list[str]] = {}
    for node in size:
        layers.setdefault(depth_of(node) if node in has_out else last, []).append(node)
    return min(
        (plot_px - pad * (len(nodes) - 1)) / max(sum(size[n] for n in nodes), 1e-9)
        for nodes in layers.values()
    )


def extra_figure(view: RunView, variable: str) -> Figure | None:
    """Lines of an extra variable per region, one panel per scenario that reports it.

    Rows of the same region and several products are summed for USD; for tonnes, days and
    other units each product keeps its own line (tonnes of an oxide and of magnets are
    never added).
    """
    rows = view.variable(variable)
    if rows.empty:
        return None
    unit = variable_unit(view, variable)
    products = rows["mineral"].to_numpy()
    if (products[1:] != products[:1]).any() and fmt.quantity_of_unit(
        unit
    ) is not fmt.Quantity.MONEY:
        # tonnes (or days) of different products are never added: one line per region and
        # product ("USA · ndfeb_magnet"); money of several products adds up
        keyed = rows.assign(region=rows["region"].astype(str) + " · " + rows["mineral"].astype(str))
        agg = keyed.groupby(["scenario", "region", "month"])["value"].sum().sort_index()
    else:
        agg = extra_aggregate(view, variable, by_region=True)
    # agg is sorted by its keys, so each group's months are in order
    scenario_of, region_of, month_of = _levels(agg, 3)
    groups = _group_positions([scenario_of, region_of])
    months = np.asarray(month_of, dtype=object)
    values = agg.to_numpy()
    in_agg = {scenario for scenario, _ in groups}
    scenarios = [s for s in view.scenario_names if s in in_agg]
    colors = region_colors(view.regions)
    layout, cells = subplot_grid(
        1, len(scenarios), column_titles=scenarios, horizontal_spacing=0.04, shared_yaxes=True
    )
    shown: set[str] = set()
    quantity = fmt.quantity_of_unit(unit)
    scale, axis_unit = 1.0, unit
    if quantity is fmt.Quantity.MONEY:
        scale, axis_unit = 1e-6, "USD million"
    data: list[dict[str, Any]] = []
    for c, scenario in enumerate(scenarios):
        regions = [region for sc, region in groups if sc == scenario]
        for region in _ordered(regions, view.regions):
            pos = groups[(scenario, region)]
            color = colors.get(region.split(" · ")[0], "#6b7280")
            data.append(
                {
                    "hovertemplate": f"{region} · %{{y:,.2f}} {axis_unit}<extra></extra>",
                    "legendgroup": region,
                    "line": {"color": color, "width": 1.8},
                    "mode": "lines+markers" if len(pos) < 4 else "lines",
                    "name": region,
                    "showlegend": region not in shown,
                    "x": _month_dates(months[pos].tolist()),
                    "y": typed_array(np.round(values[pos] * scale, 3)),
                    "type": "scatter",
                    "xaxis": cells[0][c].xref,
                    "yaxis": cells[0][c].yref,
                }
            )
            shown.add(region)
    layout["yaxis"]["title"] = {"text": axis_unit}
    set_month_axes(layout, data)
    layout.update(template=TEMPLATE, hovermode="x unified", margin={"l": 70, "r": 20})
    _legend_above(layout, 330, 84, 40)
    return {"data": data, "layout": layout}


def _ordered(names: Sequence[str], regions: Sequence[str]) -> list[str]:
    rank = {r: i for i, r in enumerate(regions)}
    return sorted(
        (str(n) for n in names), key=lambda r: (rank.get(r.split(" · ")[0], len(rank)), r)
    )
