"""From solved months to tidy rows and headline metrics (the run-results contract).

Definitions (per month, per node = region x product; tonnes and USD):

* ``price`` (usd_per_t): dual of the node balance, >= 0.
* ``production`` (t): supply-block output + conversion output at the node.
* ``supply_capacity`` (t): capacity in force of those blocks and conversions.
* ``consumption`` (t): final demand served (sum of accepted bids).
* ``conversion_input`` (t): tonnes used as input by conversions in the region.
* ``unserved`` (t): bid quantity - consumption, over **all** bids of the node (a bid is
  unserved when the price is above its willingness to pay or the product is not there);
  ``unserved_critical`` (t): the same over bids flagged ``critical``.
* ``consumer_surplus`` (usd): sum (wtp - price) x consumed; ``producer_surplus`` (usd):
  sum (price - cost) x produced for supply blocks, plus conversion margins
  (p_out - input_t_per_t x p_in - cost) x output, both at the node.
* ``flow`` (t) per route, region ``"FROM->TO"``; ``tariff_revenue`` (usd) at the importer:
  (specific + ad-valorem wedge) x flow.

Only *active* nodes (with a supply block, a bid or a conversion) get node rows; routes get
rows when they carry flow in at least one month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.market.engine import MarketRun

FloatArray = npt.NDArray[np.float64]

SERIES_COLUMNS = ["scenario", "month", "mineral", "stage", "region", "variable", "value", "unit"]
SHORTAGE_TOL_T = 1e-3


def _incidence(nodes: npt.NDArray[np.int64], n_nodes: int) -> FloatArray:
    m = np.zeros((len(nodes), n_nodes))
    m[np.arange(len(nodes)), nodes] = 1.0
    return m


def node_table(run: MarketRun) -> dict[str, FloatArray]:
    """Node variables as ``(n_months, n_nodes)`` arrays."""
    cm = run.cm
    n = cm.n_nodes
    s_inc = _incidence(cm.s_node, n)
    d_inc = _incidence(cm.d_node, n)
    k_out = _incidence(cm.k_out_node, n)
    k_in = _incidence(cm.k_in_node, n)
    r_to = _incidence(cm.r_to_node, n)
    p = run.price
    crit = cm.d_critical.astype(float)
    unserved = np.maximum(run.d_qty - run.demand, 0.0)
    margin_k = p[:, cm.k_out_node] - cm.k_input_t_per_t * p[:, cm.k_in_node] - cm.k_cost
    return {
        "price": p,
        "production": run.supply @ s_inc + run.conversion @ k_out,
        "supply_capacity": run.s_cap @ s_inc + cm.k_cap @ k_out,
        "consumption": run.demand @ d_inc,
        "conversion_input": (run.conversion * cm.k_input_t_per_t) @ k_in,
        "unserved": unserved @ d_inc,
        "unserved_critical": (unserved * crit) @ d_inc,
        "consumer_surplus": ((cm.d_wtp - p[:, cm.d_node]) * run.demand) @ d_inc,
        "producer_surplus": ((p[:, cm.s_node] - cm.s_cost) * run.supply) @ s_inc
        + (margin_k * run.conversion) @ k_out,
        "tariff_revenue": (run.tariff_wedge * run.flow) @ r_to,
    }


UNITS = {
    "price": "usd_per_t",
    "production": "t",
    "supply_capacity": "t",
    "consumption": "t",
    "conversion_input": "t",
    "unserved": "t",
    "unserved_critical": "t",
    "consumer_surplus": "usd",
    "producer_surplus": "usd",
    "tariff_revenue": "usd",
    "flow": "t",
}


def active_nodes(run: MarketRun) -> npt.NDArray[np.int64]:
    cm = run.cm
    used = np.zeros(cm.n_nodes, dtype=bool)
    for arr in (cm.s_node, cm.d_node, cm.k_in_node, cm.k_out_node):
        used[arr] = True
    return np.flatnonzero(used)


def series_frame(scenario: str, run: MarketRun) -> pd.DataFrame:
    """Tidy rows (columns :data:`SERIES_COLUMNS`) for one chain of one scenario."""
    cm = run.cm
    months = np.array(cm.month_labels(), dtype=object)
    n_m = len(months)
    nodes = active_nodes(run)
    table = node_table(run)
    node_prod = np.array(cm.products, dtype=object)[cm.node_product[nodes]]
    node_stage = np.array(cm.stages, dtype=object)[cm.node_product[nodes]]
    node_reg = np.array(cm.regions, dtype=object)[cm.node_region[nodes]]
    parts: list[pd.DataFrame] = []
    k = len(nodes)
    for var, arr in table.items():
        parts.append(
            pd.DataFrame(
                {
                    "month": np.repeat(months, k),
                    "mineral": np.tile(node_prod, n_m),
                    "stage": np.tile(node_stage, n_m),
                    "region": np.tile(node_reg, n_m),
                    "variable": var,
                    "value": arr[:, nodes].ravel(),
                    "unit": UNITS[var],
                }
            )
        )
    used = np.flatnonzero((run.flow > 1e-9).any(axis=0))
    if len(used):
        fr = cm.r_from_node[used]
        to = cm.r_to_node[used]
        regions = np.array(cm.regions, dtype=object)
        label = regions[cm.node_region[fr]] + "->" + regions[cm.node_region[to]]
        r = len(used)
        parts.append(
            pd.DataFrame(
                {
                    "month": np.repeat(months, r),
                    "mineral": np.tile(
                        np.array(cm.products, dtype=object)[cm.node_product[fr]], n_m
                    ),
                    "stage": np.tile(np.array(cm.stages, dtype=object)[cm.node_product[fr]], n_m),
                    "region": np.tile(label, n_m),
                    "variable": "flow",
                    "value": run.flow[:, used].ravel(),
                    "unit": "t",
                }
            )
        )
    stage_of = dict(zip(cm.products, cm.stages, strict=True))
    for _, report in run.reports:
        if report.rows:
            parts.append(
                pd.DataFrame(
                    {
                        "month": [row.month for row in report.rows],
                        "mineral": [row.product for row in report.rows],
                        "stage": [stage_of.get(row.product, "") for row in report.rows],
                        "region": [row.region for row in report.rows],
                        "variable": [row.variable for row in report.rows],
                        "value": [float(row.value) for row in report.rows],
                        "unit": [row.unit for row in report.rows],
                    }
                )
            )
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "scenario", scenario)
    return df[SERIES_COLUMNS].astype({"value": "float64"})


def scenario_metrics(series: pd.DataFrame, runs: Sequence[MarketRun]) -> dict[str, Any]:
    """Headline metrics of one scenario from its tidy rows (see docs/market.md)."""
    price = series[series["variable"] == "price"]
    key = price["mineral"] + "/" + price["stage"] + "/" + price["region"]
    grouped = price.groupby(key, sort=True)["value"]
    uns = series[series["variable"] == "unserved"]
    uns_crit = series[series["variable"] == "unserved_critical"]
    by_month = uns.groupby("month")["value"].sum()

    def total(var: str) -> float:
        return float(series.loc[series["variable"] == var, "value"].sum())

    metrics: dict[str, Any] = {
        "avg_price_usd_per_t": {k: round(float(v), 6) for k, v in grouped.mean().items()},
        "peak_price_usd_per_t": {k: round(float(v), 6) for k, v in grouped.max().items()},
        "unserved_t": float(uns["value"].sum()),
        "unserved_t_by_region": {
            str(k): float(v) for k, v in uns.groupby("region")["value"].sum().items()
        },
        "unserved_critical_t": float(uns_crit["value"].sum()),
        "tariff_revenue_usd": total("tariff_revenue"),
        "shortage_months": int((by_month > SHORTAGE_TOL_T).sum()),
        "consumer_surplus_usd": total("consumer_surplus"),
        "producer_surplus_usd": total("producer_surplus"),
        "non_converged_months": int(sum(int((~r.converged).sum()) for r in runs)),
    }
    for run in runs:
        for _, report in run.reports:
            for name, value in report.metrics.items():
                metrics[name] = float(metrics.get(name, 0.0)) + float(value)
    return metrics
