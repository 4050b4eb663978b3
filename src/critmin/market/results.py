"""From solved months to tidy rows and headline metrics (the run-results contract).

Definitions (per month, per node = region x product; tonnes and USD):

* ``price`` (usd_per_t): dual of the node balance, >= 0.
* ``production`` (t): supply-block output + conversion output at the node + the output of
  instrument production columns there (``ctx.add_supply``: e.g. a top-up floor's covered
  blocks). Stockpile releases are **not** production.
* ``supply_capacity`` (t): capacity in force of those blocks, conversions and instrument
  production columns.
* ``stock_release`` (t): tonnes supplied at the node from instrument release columns
  (``ctx.add_release``: a stockpile's releases); written only for chains that have one.
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

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.fileio import settle_output_folder
from critmin.market.curves import curve_step_mask
from critmin.market.engine import MarketRun
from critmin.market.metrics import shortage_by_block
from critmin.policy.instrument import REGISTRY, OutputVariable, split_name

FloatArray = npt.NDArray[np.float64]

#: the tidy table's columns: ``chain`` is the market (``Market.mineral``: ``ndpr``,
#: ``lithium``), ``product`` the product id within it (``ndpr_oxide``). Files written before
#: these two had one column ``mineral`` holding the product id; :func:`read_series` reads both.
SERIES_COLUMNS = [
    "scenario",
    "month",
    "chain",
    "product",
    "stage",
    "region",
    "variable",
    "value",
    "unit",
]
STRING_COLUMNS: list[str] = [c for c in SERIES_COLUMNS if c != "value"]
SHORTAGE_TOL_T = 1e-3


def _scatter(values: FloatArray, nodes: npt.NDArray[np.int64], n_nodes: int) -> FloatArray:
    """``(n_months, n_nodes)`` sums of ``values`` (``(n_months, k)``, one column per block)
    into the node of each column. A grouped sum (columns sorted by node, ``add.reduceat``)
    instead of ``values @ incidence``: the dense ``k x n_nodes`` incidence matrix of the
    routes took 38% of building the tables of a 12-chain study and ~1 GB at 200 regions."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros((values.shape[0], n_nodes))
    if len(nodes) == 0 or values.shape[0] == 0:
        return out
    order = np.argsort(nodes, kind="stable")
    sorted_nodes = nodes[order]
    starts = np.flatnonzero(np.r_[True, sorted_nodes[1:] != sorted_nodes[:-1]])
    out[:, sorted_nodes[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return out


def node_table(run: MarketRun) -> dict[str, FloatArray]:
    """Node variables as ``(n_months, n_nodes)`` arrays (computed once per run, read-only)."""
    if run.node_cache is not None:
        return run.node_cache
    cm = run.cm
    n = cm.n_nodes
    p = run.price
    crit = cm.d_critical.astype(float)
    # a demand curve's interior steps left unserved are priced out, not unserved demand
    unserved = np.maximum(run.d_qty - run.demand, 0.0) * ~curve_step_mask(cm)
    margin_k = p[:, cm.k_out_node] - cm.k_input_t_per_t * p[:, cm.k_in_node] - cm.k_cost
    production = _scatter(run.supply, cm.s_node, n) + _scatter(run.conversion, cm.k_out_node, n)
    capacity = _scatter(run.s_cap, cm.s_node, n) + _scatter(cm.k_cap, cm.k_out_node, n)
    is_prod = run.extra_production
    if len(is_prod) != len(run.extra_sign):  # a MarketRun built without the flags
        is_prod = np.ones(len(run.extra_sign), dtype=bool)
    e_supply = (run.extra_sign > 0) & is_prod
    if e_supply.any():  # instrument production columns (e.g. a floor's covered output)
        e_nodes = run.extra_node[e_supply]
        production = production + _scatter(run.extra[:, e_supply], e_nodes, n)
        capacity = capacity + _scatter(run.extra_qty[:, e_supply], e_nodes, n)
    e_release = (run.extra_sign > 0) & ~is_prod
    extra: dict[str, FloatArray] = {}
    if e_release.any():  # stock releases: supply at the node, not production
        extra["stock_release"] = _scatter(run.extra[:, e_release], run.extra_node[e_release], n)
    table = {
        "price": p,
        "production": production,
        "supply_capacity": capacity,
        "consumption": _scatter(run.demand, cm.d_node, n),
        "conversion_input": _scatter(run.conversion * cm.k_input_t_per_t, cm.k_in_node, n),
        "unserved": _scatter(unserved, cm.d_node, n),
        "unserved_critical": _scatter(unserved * crit, cm.d_node, n),
        "consumer_surplus": _scatter((cm.d_wtp - p[:, cm.d_node]) * run.demand, cm.d_node, n),
        "producer_surplus": _scatter((p[:, cm.s_node] - cm.s_cost) * run.supply, cm.s_node, n)
        + _scatter(margin_k * run.conversion, cm.k_out_node, n),
        "tariff_revenue": _scatter(run.tariff_wedge * run.flow, cm.r_to_node, n),
        # unmet critical and curve-ceiling demand, rationed bids (critmin.market.metrics)
        "physical_shortage": _scatter(shortage_by_block(run)[0], cm.d_node, n),
        **extra,
    }
    for key, arr in table.items():
        view = arr.view()  # read-only views: the run's own arrays stay writeable
        view.flags.writeable = False
        table[key] = view
    run.node_cache = table
    return table


#: the engine's output variables (module docstring has the definitions); instruments
#: declare theirs on their spec class (``variables``), see :func:`output_variables`
VARIABLES: tuple[OutputVariable, ...] = (
    OutputVariable("price", "usd_per_t", "mean", "node price: dual of the node balance"),
    OutputVariable("production", "t", "sum", "supply-block, conversion and covered output"),
    OutputVariable("supply_capacity", "t", "sum", "capacity in force of the producing columns"),
    OutputVariable("consumption", "t", "sum", "final demand served"),
    OutputVariable("conversion_input", "t", "sum", "tonnes used as input by conversions"),
    OutputVariable("unserved", "t", "sum", "bid quantity not served"),
    OutputVariable("unserved_critical", "t", "sum", "unserved quantity of critical bids"),
    OutputVariable("consumer_surplus", "usd", "sum", "sum of (wtp - price) x consumed"),
    OutputVariable("producer_surplus", "usd", "sum", "supply and conversion margins"),
    OutputVariable("tariff_revenue", "usd", "sum", "(specific + ad-valorem wedge) x flow"),
    OutputVariable(
        "physical_shortage", "t", "sum", "unmet critical and curve-ceiling demand, rationed bids"
    ),
    OutputVariable("stock_release", "t", "sum", "tonnes supplied from a stock's releases"),
    OutputVariable("flow", "t", "sum", "tonnes on a route; region is EXPORTER->IMPORTER"),
)

#: unit of each engine variable (read from :data:`VARIABLES`)
UNITS = {v.name: v.unit for v in VARIABLES}


def metric_name(variable: str) -> str:
    """The headline figure of a declared engine variable: ``<name>_<unit>``
    (``unserved`` -> ``unserved_t``, ``tariff_revenue`` -> ``tariff_revenue_usd``)."""
    return f"{variable}_{UNITS[variable]}"


def output_variables() -> dict[str, OutputVariable]:
    """Every declared output variable by name: the engine's (:data:`VARIABLES`) and those of
    every registered instrument kind (``InstrumentSpec.variables``). A name two producers
    declare keeps its first declaration (they must agree on unit and aggregation; a test
    checks it)."""
    out: dict[str, OutputVariable] = {v.name: v for v in VARIABLES}
    for kind in sorted(REGISTRY):
        for var in REGISTRY[kind].variables:
            out.setdefault(var.name, var)
    return out


def active_nodes(run: MarketRun) -> npt.NDArray[np.int64]:
    cm = run.cm
    used = np.zeros(cm.n_nodes, dtype=bool)
    for arr in (cm.s_node, cm.d_node, cm.k_in_node, cm.k_out_node):
        used[arr] = True
    return np.flatnonzero(used)


Coded = dict[str, tuple[npt.NDArray[np.int32], list[str]]]


@dataclass
class SeriesParts:
    """Tidy rows under construction, as blocks: per block and string column, codes into that
    block's own label list (as passed to :meth:`add`), and the values. :meth:`coded` merges
    the blocks once: per column, labels deduplicated across blocks (so they stay a few hundred
    even for tens of thousands of rows) and every row's code written in one gather."""

    blocks: list[dict[str, tuple[npt.NDArray[np.int32], Sequence[Any]]]] = field(
        default_factory=list
    )
    values: list[FloatArray] = field(default_factory=list)

    @staticmethod
    def _lut(index: dict[str, int], labels: Sequence[Any]) -> npt.NDArray[np.int32]:
        """Code of each label in ``index`` (new labels are appended); C-speed maps only."""
        strs = list(map(str, labels))
        for x in dict.fromkeys(strs):
            if x not in index:
                index[x] = len(index)
        return np.array(list(map(index.__getitem__, strs)), dtype=np.int32)

    def add(self, value: Any, **columns: tuple[Any, Sequence[Any]]) -> None:
        """Append rows: ``column=(codes, labels)`` for every string column, and the values."""
        values = np.asarray(value, dtype=np.float64)
        block: dict[str, tuple[npt.NDArray[np.int32], Sequence[Any]]] = {}
        # codes kept as int32 (label lists are small), and a codes array given for several
        # columns (scenario and chain, product and stage, variable and unit) kept once: a
        # 60-chain study holds 4.6 M rows of them until the frame is built
        converted: dict[int, npt.NDArray[np.int32]] = {}
        for name in STRING_COLUMNS:
            codes, labels = columns[name]
            arr = converted.get(id(codes))
            if arr is None:
                arr = converted[id(codes)] = np.asarray(codes, dtype=np.int32)
            if arr.shape != values.shape:
                raise ValueError(f"column {name!r}: {arr.shape} codes for {values.shape} values")
            block[name] = (arr, labels)
        self.blocks.append(block)
        self.values.append(values)

    def extend(self, other: SeriesParts) -> None:
        self.blocks.extend(other.blocks)
        self.values.extend(other.values)

    def coded(self) -> Coded:
        """Per string column, the codes of all rows (int32) and the labels they index (labels
        may include some no row uses)."""
        n = sum(len(v) for v in self.values)
        out: Coded = {}
        for name in STRING_COLUMNS:
            index: dict[str, int] = {}
            codes = np.empty(n, dtype=np.int32)
            pos = 0
            for block in self.blocks:
                block_codes, labels = block[name]
                lut = self._lut(index, labels)
                codes[pos : pos + len(block_codes)] = lut[block_codes]
                pos += len(block_codes)
            out[name] = (codes, list(index))
        return out

    def frame(self, coded: Coded | None = None) -> pd.DataFrame:
        """One DataFrame, columns :data:`SERIES_COLUMNS` (str + float64): each string column
        is its small label dictionary (pyarrow) taken once by the concatenated codes
        (``coded``: :meth:`coded`, when the caller already has it)."""
        import pyarrow as pa

        columns = self.coded() if coded is None else coded
        data: dict[str, Any] = {}
        for name in SERIES_COLUMNS:
            if name == "value":
                data[name] = np.concatenate(self.values) if self.values else np.zeros(0)
                continue
            codes, names = columns[name]
            labels = pa.array(names, type=pa.large_string())
            data[name] = pd.array(labels.take(pa.array(codes)), dtype="str")
        return pd.DataFrame(data)


_MONTH, _PRODUCT, _REGION, _VARIABLE, _VALUE, _UNIT = (
    attrgetter(a) for a in ("month", "product", "region", "variable", "value", "unit")
)


def series_columns(scenario: str, run: MarketRun) -> SeriesParts:
    """Tidy rows of one chain (see :data:`SERIES_COLUMNS`) as coded columns, no pandas yet."""
    cm = run.cm
    months = cm.month_labels()
    n_m = len(months)
    nodes = active_nodes(run)
    table = node_table(run)
    k, n_v = len(nodes), len(table)
    parts = SeriesParts()
    m_codes = np.arange(n_m)
    block = n_m * k
    v_codes = np.repeat(np.arange(n_v, dtype=np.int32), block)
    zeros_nodes = np.zeros(block * n_v, dtype=np.int32)
    node_products = np.tile(cm.node_product[nodes].astype(np.int32), n_m * n_v)
    parts.add(
        np.concatenate([arr[:, nodes].ravel() for arr in table.values()]),
        scenario=(zeros_nodes, [scenario]),
        month=(np.tile(np.repeat(m_codes, k), n_v), months),
        chain=(zeros_nodes, [cm.mineral]),
        product=(node_products, cm.products),
        stage=(node_products, cm.stages),
        region=(np.tile(cm.node_region[nodes], n_m * n_v), cm.regions),
        variable=(v_codes, list(table)),
        unit=(v_codes, [UNITS[v] for v in table]),
    )
    used = np.flatnonzero((run.flow > 1e-9).any(axis=0))
    if len(used):
        fr = cm.r_from_node[used]
        to = cm.r_to_node[used]
        labels = [
            f"{cm.regions[a]}->{cm.regions[b]}"
            for a, b in zip(cm.node_region[fr], cm.node_region[to], strict=True)
        ]
        r = len(used)
        zeros = np.zeros(n_m * r, dtype=np.int32)
        route_products = np.tile(cm.node_product[fr].astype(np.int32), n_m)
        parts.add(
            run.flow[:, used].ravel(),
            scenario=(zeros, [scenario]),
            month=(np.repeat(m_codes, r), months),
            chain=(zeros, [cm.mineral]),
            product=(route_products, cm.products),
            stage=(route_products, cm.stages),
            region=(np.tile(np.arange(r), n_m), labels),
            variable=(zeros, ["flow"]),
            unit=(zeros, ["t"]),
        )
    stage_of = dict(zip(cm.products, cm.stages, strict=True))
    for _, report in run.reports:
        rows = report.rows
        if rows:
            idx = np.arange(len(rows))
            zeros_rows = np.zeros(len(rows), dtype=np.int64)
            products = list(map(_PRODUCT, rows))
            parts.add(
                np.fromiter(map(_VALUE, rows), dtype=np.float64, count=len(rows)),
                scenario=(zeros_rows, [scenario]),
                month=(idx, list(map(_MONTH, rows))),
                chain=(zeros_rows, [cm.mineral]),
                product=(idx, products),
                stage=(idx, [stage_of.get(p, "") for p in products]),
                region=(idx, list(map(_REGION, rows))),
                variable=(idx, list(map(_VARIABLE, rows))),
                unit=(idx, list(map(_UNIT, rows))),
            )
    return parts


#: the per-route month arrays (n_months, n_routes) of a run and of its compiled market, by name:
#: a shape test would also drop a node or block array that happens to have n_routes columns
_ROUTE_ARRAYS = {
    "MarketRun": ("flow", "tariff_wedge", "instrument_wedge"),
    "CompiledMarket": ("r_specific", "r_ad_valorem", "r_upper"),
}


def _without_routes(obj: Any, n_routes: int) -> Any:
    """``obj`` (a :class:`MarketRun` or :class:`CompiledMarket`) with its per-route month
    arrays (:data:`_ROUTE_ARRAYS`) replaced by empty ``(n_months, 0)`` ones."""
    names = _ROUTE_ARRAYS.get(type(obj).__name__, ())
    if not names or n_routes == 0:
        return obj
    empty: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == n_routes:
            empty[name] = np.zeros((value.shape[0], 0), dtype=value.dtype)
    return dataclasses.replace(obj, **empty) if empty else obj


def release_routes(run: MarketRun) -> MarketRun:
    """A copy of ``run`` for the headline metrics, without its per-route month arrays (flows,
    wedges, route bounds of the compiled market), which are most of a chain's memory
    (~30 of ~40 MB at 55 regions): the runner keeps this copy once a chain's tidy rows are
    built, so a study's memory no longer grows with every chain's route arrays. The node
    table (:func:`node_table`) is computed first and travels with the copy."""
    node_table(run)
    n_routes = len(run.cm.r_to_node)
    slim = _without_routes(run, n_routes)
    cm = _without_routes(slim.cm, n_routes)
    if cm is not slim.cm:
        slim = dataclasses.replace(slim, cm=cm)
    slim.node_cache = run.node_cache
    return slim


def merge(parts: Sequence[SeriesParts]) -> SeriesParts:
    """All rows of ``parts``, in order, as one :class:`SeriesParts`."""
    whole = SeriesParts()
    for p in parts:
        whole.extend(p)
    return whole


def to_frame(parts: Sequence[SeriesParts]) -> pd.DataFrame:
    """One DataFrame (columns :data:`SERIES_COLUMNS`) from several parts."""
    return merge(parts).frame()


def series_frame(scenario: str, run: MarketRun) -> pd.DataFrame:
    """Tidy rows (columns :data:`SERIES_COLUMNS`) for one chain of one scenario."""
    return to_frame([series_columns(scenario, run)])


def scenario_metrics(runs: Sequence[MarketRun], *, physical: bool = True) -> dict[str, Any]:
    """Headline metrics of one scenario (its chains share the scenario's months).

    ``physical=False`` leaves out :func:`~critmin.market.metrics.physical_metrics` (~40 %
    of the cost; a sweep asks for them only when an outcome names one); the other figures
    are the same either way.

    ``avg``/``peak_price_usd_per_t`` by ``"<product>/<stage>/<region>"`` over the months;
    totals of tariff revenue and surpluses (usd, which do add up across products). No figure
    here adds tonnes of different products: a tonne of concentrate, oxide, metal and magnet
    count different things, so quantities are per product, in
    :func:`~critmin.market.metrics.physical_metrics` (physical shortage, consumption). The
    former ``unserved_t``, ``unserved_t_by_region``, ``unserved_critical_t`` and
    ``shortage_months`` (bids priced out and bids short, of every product, added together)
    are gone; :data:`critmin.scenarios.headline.REMOVED_METRICS` names what replaces them.
    """
    avg: dict[str, float] = {}
    peak: dict[str, float] = {}
    totals = {"tariff_revenue": 0.0, "consumer_surplus": 0.0, "producer_surplus": 0.0}
    extra: dict[str, Any] = {}
    tonnes: dict[str, dict[str, float]] = {}  # an instrument's tonne figure, by product
    for run in runs:
        cm = run.cm
        nodes = active_nodes(run)
        table = node_table(run)
        price = table["price"][:, nodes]
        for j, n in enumerate(nodes):
            prod = int(cm.node_product[n])
            key = f"{cm.products[prod]}/{cm.stages[prod]}/{cm.regions[cm.node_region[n]]}"
            avg[key] = round(float(price[:, j].mean()), 6)
            peak[key] = round(float(price[:, j].max()), 6)
        for var in totals:
            totals[var] += float(table[var][:, nodes].sum())
        for _, report in run.reports:
            for name, value in report.metrics.items():
                extra[name] = extra.get(name, 0.0) + float(value)
            for name, split in report.tonnes_by_product.items():
                per = tonnes.setdefault(name, {})
                for product, t in split.items():
                    per[product] = per.get(product, 0.0) + float(t)
    for name, per in tonnes.items():
        if len(per) > 1:
            # floors (or settled contracts) on different products: their tonnes are not
            # added; the figure is given per product instead of as one number, under the
            # name its instrument declares (declare_tonnes)
            del extra[name]
            extra[split_name(name)] = dict(sorted(per.items()))
    # figures are named from the declared variables (``<variable>_<unit>``), so renaming a
    # variable or its unit in VARIABLES renames its headline figures too
    m = metric_name
    metrics: dict[str, Any] = {
        f"avg_{m('price')}": dict(sorted(avg.items())),
        f"peak_{m('price')}": dict(sorted(peak.items())),
        m("tariff_revenue"): totals["tariff_revenue"],
        m("consumer_surplus"): totals["consumer_surplus"],
        m("producer_surplus"): totals["producer_surplus"],
        "non_converged_months": int(sum(int((~r.converged).sum()) for r in runs)),
    }
    metrics.update(extra)
    if not physical:
        return metrics
    # physical shortage apart from price-driven demand reduction, per product (its own module)
    from critmin.market.metrics import physical_metrics

    metrics.update(physical_metrics(runs))
    return metrics


def read_series(path: Any, *, categorical: bool = False) -> pd.DataFrame:
    """A ``series.parquet`` written by ``critmin run`` (or :meth:`StudyResult.write`), in
    :data:`SERIES_COLUMNS`. A file of the earlier format (one ``mineral`` column holding the
    product id, no chain) is read too: ``mineral`` becomes ``product`` and ``chain`` is empty
    (that format did not record it).

    A ``series.parquet`` whose folder holds an interrupted critmin commit (a run killed while
    renaming its files in one by one, where the folder could not be swapped whole) is read
    after the previous complete set is put back (:func:`critmin.fileio.settle_output_folder`),
    never from a mix of two runs.

    ``categorical``: the label columns (every column but ``value``) as ordered categoricals
    with sorted categories instead of ``str``, read straight from the file's dictionary
    pages: the same rows and values; ~7 times less memory and a 3-7 times faster read on a
    5 M-row table (docs/api.md, "Label columns"); comparisons (``month >= "2029-01"``) and
    sorting behave as on ``str``. Any file reads this way, earlier formats included."""
    if isinstance(path, str | os.PathLike):
        settle_output_folder(Path(path).parent)
    if not categorical:
        return upgrade_series(pd.read_parquet(path))
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    labels = [c for c in (*STRING_COLUMNS, "mineral") if c in names]
    table = pq.read_table(path, read_dictionary=labels)
    frame = upgrade_series(table.to_pandas())
    # Arrow's allocator keeps the freed table for reuse: ~0.4 GiB of a 5 M-row table's
    # pages stayed resident after the read until handed back here
    del table
    pa.default_memory_pool().release_unused()
    for name in STRING_COLUMNS:
        if name in frame.columns:
            frame[name] = _ordered_labels(frame[name])
    return frame


def _ordered_labels(column: pd.Series) -> pd.Series:
    """A label column as an ordered categorical of ``str`` with sorted categories (the order
    ``str`` compares and sorts in; only the codes are remapped, never the rows' strings)."""
    values = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    return values.cat.set_categories(
        values.cat.categories.astype("str").sort_values(), ordered=True
    )


def upgrade_series(frame: pd.DataFrame) -> pd.DataFrame:
    """A tidy table of the earlier format (``mineral`` = product id) in today's columns."""
    if "mineral" in frame.columns and "product" not in frame.columns:
        frame = frame.rename(columns={"mineral": "product"})
        frame.insert(list(frame.columns).index("product"), "chain", "")
        if isinstance(frame["product"].dtype, pd.CategoricalDtype):
            frame["chain"] = pd.Categorical(frame["chain"])  # its one label, ""
        else:
            frame["chain"] = frame["chain"].astype(frame["product"].dtype)
    return frame
