"""Plotly figures of the report: prices, unserved demand, Sankey flows, extra variables.

Each builder takes the checked :class:`~critmin.reports.contract.RunView` and returns a
``plotly.graph_objects.Figure`` (or None when the run has nothing to draw). Data are
aggregated before plotting (flows summed over months, regions summed over products) so the
file stays small; plotly.js itself is inlined once by :mod:`critmin.reports.build`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from critmin.reports import fmt
from critmin.reports.contract import Product, RunView, split_route

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

TEMPLATE = go.layout.Template(
    layout={
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
)


def region_colors(regions: Sequence[str]) -> dict[str, str]:
    """A fixed colour per region, in the view's region order, shared by every chart."""
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(regions)}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def figure_div(fig: go.Figure, div_id: str, *, modebar: bool = True) -> str:
    """The figure as a ``<div>`` + inline ``<script>`` (no plotly.js, no network)."""
    config = dict(PLOT_CONFIG) if modebar else {**PLOT_CONFIG, "displayModeBar": False}
    html: str = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config=config,
        validate=True,
    )
    return html


def _legend_above(fig: go.Figure, height: int, top: int, bottom: int) -> None:
    """Put the legend above the column titles (plotly's default would overlap them)."""
    plot_px = max(1, height - top - bottom)
    fig.update_layout(
        height=height,
        margin={"t": top, "b": bottom},
        legend={"yanchor": "bottom", "y": 1.0 + 30 / plot_px, "x": 0, "xanchor": "left"},
    )


def _month_dates(months: Sequence[str]) -> list[str]:
    return [f"{m}-01" for m in months]


def _next_month(month: str) -> str:
    return f"{pd.Period(month, freq='M') + 1}-01"


def shortage_runs(view: RunView, scenario: str) -> list[tuple[str, str]]:
    """Contiguous runs of months with unserved demand > 0 in ``scenario`` (first, last)."""
    unserved = view.variable("unserved")
    per_month = unserved[unserved["scenario"] == scenario].groupby("month")["value"].sum()
    months = sorted(str(m) for m in per_month[per_month > 1e-9].index)
    runs: list[tuple[str, str]] = []
    for month in months:
        if runs and str(pd.Period(runs[-1][1], freq="M") + 1) == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def price_unit_of(view: RunView, product: Product) -> str:
    """Display unit of a product's prices (USD/kg for high-value products)."""
    price = view.variable("price")
    rows = price[(price["mineral"] == product.mineral) & (price["stage"] == product.stage)]
    typical = float(rows["value"].abs().median()) if len(rows) else 0.0
    return fmt.price_unit(typical)


def prices_figure(view: RunView) -> go.Figure | None:
    """Small multiples: one row per priced product, one column per scenario, a line per region."""
    price = view.variable("price")
    if price.empty:
        return None
    products = [
        p
        for p in view.products
        if ((price["mineral"] == p.mineral) & (price["stage"] == p.stage)).any()
    ]
    scenarios = [s for s in view.scenario_names if (price["scenario"] == s).any()]
    colors = region_colors(view.regions)
    agg = price.groupby(["scenario", "mineral", "stage", "region", "month"], as_index=False)[
        "value"
    ].mean()
    fig = make_subplots(
        rows=len(products),
        cols=len(scenarios),
        shared_xaxes=True,
        shared_yaxes=True,
        column_titles=scenarios,
        vertical_spacing=0.045 if len(products) > 1 else 0.0,
        horizontal_spacing=0.025,
    )
    shown: set[str] = set()
    for r, product in enumerate(products, start=1):
        unit = price_unit_of(view, product)
        factor = fmt.price_factor(unit)
        decimals = 2 if unit == "USD/kg" else 0
        part = agg[(agg["mineral"] == product.mineral) & (agg["stage"] == product.stage)]
        for c, scenario in enumerate(scenarios, start=1):
            sc = part[part["scenario"] == scenario]
            for region in view.regions:
                rows = sc[sc["region"] == region].sort_values("month")
                if rows.empty:
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=_month_dates(rows["month"].tolist()),
                        y=np.round(rows["value"].to_numpy() * factor, decimals),
                        mode="lines",
                        name=region,
                        legendgroup=region,
                        showlegend=region not in shown,
                        line={"color": colors[region], "width": 1.7},
                        hovertemplate=(f"{region} · %{{y:,.{decimals}f}} {unit}<extra></extra>"),
                    ),
                    row=r,
                    col=c,
                )
                shown.add(region)
            for first, last in shortage_runs(view, scenario):
                fig.add_vrect(
                    x0=f"{first}-01",
                    x1=_next_month(last),
                    fillcolor="#9ca3af",
                    opacity=0.13,
                    line_width=0,
                    layer="below",
                    row=r,
                    col=c,
                )
        fig.update_yaxes(
            title_text=f"<b>{product.label}</b><br>{unit}", row=r, col=1, title_standoff=6
        )
    fig.update_xaxes(tickformat="%b %Y", dtick="M6", hoverformat="%b %Y")
    fig.update_layout(template=TEMPLATE, hovermode="x unified", margin={"l": 90, "r": 20})
    _legend_above(fig, 110 + 190 * len(products), 84, 30)
    fig.update_annotations(font={"size": 13, "color": "#111827"})
    return fig


def unserved_figure(view: RunView) -> go.Figure | None:
    """Stacked monthly bars of unserved demand by region, one panel per scenario."""
    unserved = view.variable("unserved")
    if unserved.empty or float(unserved["value"].abs().sum()) <= 1e-9:
        return None
    agg = unserved.groupby(["scenario", "region", "month"], as_index=False)["value"].sum()
    scenarios = [s for s in view.scenario_names if (agg["scenario"] == s).any()]
    months = sorted(view.series["month"].unique().tolist())
    colors = region_colors(view.regions)
    fig = make_subplots(
        rows=1, cols=len(scenarios), shared_yaxes=True, column_titles=scenarios,
        horizontal_spacing=0.025,
    )  # fmt: skip
    shown: set[str] = set()
    positive = agg.groupby("region")["value"].sum()
    regions = [r for r in view.regions if float(positive.get(r, 0.0)) > 1e-9]
    for c, scenario in enumerate(scenarios, start=1):
        sc = agg[agg["scenario"] == scenario].set_index(["region", "month"])["value"]
        for region in regions:
            values = np.array([float(sc.get((region, m), 0.0)) for m in months])
            fig.add_trace(
                go.Bar(
                    x=_month_dates(months),
                    y=np.round(values, 1),
                    name=region,
                    legendgroup=region,
                    showlegend=region not in shown,
                    marker={"color": colors[region], "line": {"width": 0}},
                    hovertemplate=f"{region} · %{{y:,.0f}} t<extra></extra>",
                ),
                row=1,
                col=c,
            )
            shown.add(region)
    fig.update_yaxes(title_text="t per month", row=1, col=1)
    fig.update_xaxes(tickformat="%b %Y", dtick="M6", hoverformat="%b %Y")
    for c, scenario in enumerate(scenarios, start=1):
        total = float(agg.loc[agg["scenario"] == scenario, "value"].sum())
        if total <= 1e-9:
            fig.add_annotation(
                text="no unserved demand", x=0.5, y=0.5, xref="x domain", yref="y domain",
                showarrow=False, font={"color": "#9ca3af", "size": 12}, row=1, col=c,
            )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE, barmode="stack", bargap=0.15, hovermode="x unified",
        margin={"l": 70, "r": 20},
    )  # fmt: skip
    _legend_above(fig, 380, 84, 40)
    fig.update_annotations(font={"size": 13, "color": "#111827"})
    return fig


def sankey_links(view: RunView, scenario: str) -> pd.DataFrame:
    """Links ``source, target, value_t, region`` of a scenario's Sankey, summed over months.

    A flow of a stage's product from A to B becomes ``"A · stage" -> "B · next stage"`` when
    B produces the next stage of the (single) chain, else ``"A · stage" -> "B · use"``.
    When the engine reports no domestic flow (``A->A``) for a product, the part of A's
    production it did not export is drawn as a domestic link.
    """
    flows = view.variable("flow")
    flows = flows[flows["scenario"] == scenario]
    if flows.empty:
        return pd.DataFrame(columns=["source", "target", "value_t", "region"])
    products = list(view.products)
    single_chain = len({p.stage for p in products}) == len(products)
    index = {(p.mineral, p.stage): i for i, p in enumerate(products)}
    production = view.variable("production")
    production = production[production["scenario"] == scenario]
    made = production.groupby(["mineral", "stage", "region"])["value"].sum()

    def target(dest: str, k: int) -> str:
        if single_chain and k + 1 < len(products):
            nxt = products[k + 1]
            if float(made.get((nxt.mineral, nxt.stage, dest), 0.0)) > 1e-9:
                return f"{dest} · {nxt.label}"
        return f"{dest} · use"

    totals = flows.groupby(["mineral", "stage", "region"], as_index=False)["value"].sum()
    links: list[tuple[str, str, float, str]] = []
    for mineral, stage, route, value in totals.itertuples(index=False):
        src, dst = split_route(str(route))
        k = index.get((str(mineral), str(stage)))
        if k is None or float(value) <= 1e-9:
            continue
        links.append((f"{src} · {products[k].label}", target(dst, k), float(value), src))
    routes = set(totals["region"].tolist())
    for made_key, value in made.items():
        mineral, stage, region = (str(part) for part in made_key)  # type: ignore[attr-defined]
        k = index.get((mineral, stage))
        if k is None or f"{region}->{region}" in routes:
            continue
        exported = totals[
            (totals["mineral"] == mineral)
            & (totals["stage"] == stage)
            & totals["region"].str.startswith(f"{region}->")
        ]["value"].sum()
        domestic = float(value) - float(exported)
        if domestic > 1e-6 * max(1.0, float(value)):
            links.append(
                (f"{region} · {products[k].label}", target(str(region), k), domestic, str(region))
            )
    out = pd.DataFrame(links, columns=["source", "target", "value_t", "region"])
    summed: pd.DataFrame = out.groupby(["source", "target", "region"], as_index=False).agg(
        value_t=("value_t", "sum")
    )
    return summed


def sankey_figure(view: RunView, scenario: str) -> go.Figure | None:
    """Sankey of a scenario's flows by stage and country (t, summed over the run's months)."""
    links = sankey_links(view, scenario)
    if links.empty:
        return None
    colors = region_colors(view.regions)
    stage_rank = {p.label: i for i, p in enumerate(view.products)}

    def node_key(label: str) -> tuple[int, int, str]:
        region, _, stage = label.partition(" · ")
        rank = stage_rank.get(stage, len(stage_rank))
        region_rank = view.regions.index(region) if region in view.regions else 99
        return (rank, region_rank, label)

    labels = sorted(set(links["source"]) | set(links["target"]), key=node_key)
    position = {label: i for i, label in enumerate(labels)}
    node_colors = [colors.get(label.partition(" · ")[0], "#9ca3af") for label in labels]
    link_colors = [_rgba(colors.get(r, "#9ca3af"), 0.38) for r in links["region"]]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",.0f",
            valuesuffix=" t",
            node={
                "label": labels,
                "color": node_colors,
                "pad": 10,
                "thickness": 14,
                "line": {"color": "#ffffff", "width": 0.5},
            },
            link={
                "source": [position[s] for s in links["source"]],
                "target": [position[t] for t in links["target"]],
                "value": np.round(links["value_t"].to_numpy(), 1),
                "color": link_colors,
            },
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        height=max(480, 26 * len(labels) // 2 + 200),
        margin={"l": 10, "r": 10, "t": 34, "b": 10},
        font={"size": 11},
    )
    columns = [p.label for p in view.products if any(n.endswith(f" · {p.label}") for n in labels)]
    if len({p.stage for p in view.products}) == len(view.products) and columns:
        columns.append("use")
        for i, name in enumerate(columns):
            x = i / max(1, len(columns) - 1)
            fig.add_annotation(
                text=f"<b>{name}</b>", x=x, y=1.0, xref="paper", yref="paper",
                yanchor="bottom", xanchor="left" if i == 0 else "right" if x == 1 else "center",
                showarrow=False, font={"size": 12, "color": "#374151"},
            )  # fmt: skip
    return fig


ADDITIVE_UNITS = frozenset({"t", "usd"})


def extra_figure(view: RunView, variable: str) -> go.Figure | None:
    """Lines of an extra variable per region, one panel per scenario that reports it.

    Rows of the same region (several products) are summed for tonnes and USD and
    averaged for other units (days, shares, prices).
    """
    rows = view.variable(variable)
    if rows.empty:
        return None
    unit = str(rows["unit"].mode().iloc[0])
    how = "sum" if unit in ADDITIVE_UNITS else "mean"
    agg = rows.groupby(["scenario", "region", "month"], as_index=False)["value"].agg(how)
    scenarios = [s for s in view.scenario_names if (agg["scenario"] == s).any()]
    colors = region_colors(view.regions)
    fig = make_subplots(
        rows=1, cols=len(scenarios), shared_yaxes=True, column_titles=scenarios,
        horizontal_spacing=0.04,
    )  # fmt: skip
    shown: set[str] = set()
    quantity = fmt.quantity_of_unit(unit)
    scale, axis_unit = 1.0, unit
    if quantity is fmt.Quantity.MONEY:
        scale, axis_unit = 1e-6, "USD million"
    for c, scenario in enumerate(scenarios, start=1):
        sc = agg[agg["scenario"] == scenario]
        for region in _ordered(sc["region"].unique().tolist(), view.regions):
            part = sc[sc["region"] == region].sort_values("month")
            color = colors.get(region, "#6b7280")
            fig.add_trace(
                go.Scatter(
                    x=_month_dates(part["month"].tolist()),
                    y=np.round(part["value"].to_numpy() * scale, 3),
                    mode="lines+markers" if len(part) < 4 else "lines",
                    name=region,
                    legendgroup=region,
                    showlegend=region not in shown,
                    line={"color": color, "width": 1.8},
                    hovertemplate=f"{region} · %{{y:,.2f}} {axis_unit}<extra></extra>",
                ),
                row=1,
                col=c,
            )
            shown.add(region)
    fig.update_yaxes(title_text=axis_unit, row=1, col=1)
    fig.update_xaxes(tickformat="%b %Y", dtick="M6", hoverformat="%b %Y")
    fig.update_layout(template=TEMPLATE, hovermode="x unified", margin={"l": 70, "r": 20})
    _legend_above(fig, 330, 84, 40)
    fig.update_annotations(font={"size": 13, "color": "#111827"})
    return fig


def _ordered(names: Sequence[str], regions: Sequence[str]) -> list[str]:
    rank = {r: i for i, r in enumerate(regions)}
    return sorted((str(n) for n in names), key=lambda r: (rank.get(r, len(rank)), r))
