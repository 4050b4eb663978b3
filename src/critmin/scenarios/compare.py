"""Side-by-side comparison of scenarios against a baseline run (for summary.json and the report).

:func:`compare_to_baseline` takes the tidy run series (the run-results contract) and the name of
the baseline scenario (normally the free-trade run) and returns, per scenario, the managed-market
figures. Definitions (t = tonnes, usd; sums over every month of the run):

* ``avg_price_inside_forge_usd_per_t`` / ``avg_price_outside_forge_usd_per_t``: per product, the
  plain mean of node prices over (month, region) pairs whose region is / is not a bloc member
  that month (membership as in :func:`critmin.policy.instruments.forge_levy.member_regions`:
  before the bloc exists every region is outside).
* ``days_of_cover_last`` / ``days_of_cover_min``: per ``product/region`` with ``days_of_cover``
  rows (stockpiles), the last month's and the lowest value; absent when there are none.
* ``floor_fiscal_cost_usd``: sum of ``floor_payment`` rows (top-up and purchase floors).
* ``levy_revenue_usd``: sum of ``levy_revenue`` rows.
* ``trade_diversion_from_members_t_by_product`` / ``..._from_nonmembers_...``: per product,
  flows into member regions from members / from others (by the exporter's membership that
  month) minus the baseline's; products no scenario imports into members are left out. (The
  imports themselves, per product, are the levy's ``imports_from_members_t_<product>``.)
* ``oem_security_premium_usd``: sum over consumer nodes (rows with consumption > 0) of
  (price - baseline price, same month and node) x consumption;
  ``oem_security_premium_usd_by_product`` splits it by product and
  ``oem_security_premium_usd_per_t_by_product`` divides each product's premium by that
  product's tonnes consumed (usd add up across products, tonnes do not).
* ``floor_kept_t``: sum of ``floor_kept`` rows; ``subsidy_kept_usd_per_t`` = floor fiscal cost /
  kept tonnes (None when nothing was kept). When a scenario's floors keep more than one
  product, both are None and ``floor_kept_t_by_product`` gives the tonnes per product (absent
  otherwise).
* ``production_change_t_by_product``: per product, production minus the baseline's, in that
  product's tonnes (a tonne of concentrate and a tonne of magnet are not added).

No figure here adds tonnes of different products. The stage-summed ``unserved_t``,
``shortage_months``, ``production_change_t``, ``imports_from_members_t``,
``imports_from_nonmembers_t``, ``trade_diversion_t`` and ``oem_security_premium_usd_per_t``
of earlier versions are gone (:data:`critmin.scenarios.headline.REMOVED_METRICS` names their
successors); physical shortage and demand cut by price, per product, come from
:func:`critmin.market.metrics.physical_metrics` and
:func:`~critmin.market.metrics.compare_physical`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin.errors import UnknownNameError
from critmin.market.results import upgrade_series
from critmin.policy.instruments.forge_levy import bloc_membership, member_regions
from critmin.policy.parameters import month_end

ROUTE_SEP = "->"

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _factorize(column: pd.Series | np.ndarray) -> tuple[IntArray, list[str]]:
    """Integer codes (order of first appearance) and the values as strings."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), [str(u) for u in uniques]


@dataclass(frozen=True)
class _Coded:
    """The series as integer codes: each column used is factorized once, on the whole table.

    ``month`` codes index the sorted month list; ``region`` codes index ``regions_all`` (node
    regions and route names as they appear); ``product`` and ``stage`` are coded on first use
    (:meth:`codes`).
    """

    series: pd.DataFrame
    scenario: IntArray
    scenarios: list[str]
    variable: IntArray
    variables: list[str]
    month: IntArray
    months: list[str]
    region: IntArray
    regions_all: list[str]
    value: FloatArray
    _columns: dict[str, tuple[IntArray, list[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, series: pd.DataFrame) -> _Coded:
        def column(name: str) -> tuple[IntArray, list[str]]:
            return _factorize(series[name])

        scenario, scenarios = column("scenario")
        variable, variables = column("variable")
        month_raw, month_names = column("month")
        order = sorted(range(len(month_names)), key=month_names.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        region, regions_all = column("region")
        return cls(
            series=series,
            scenario=scenario,
            scenarios=scenarios,
            variable=variable,
            variables=variables,
            month=rank[month_raw],
            months=[month_names[i] for i in order],
            region=region,
            regions_all=regions_all,
            value=series["value"].to_numpy(dtype=np.float64),
        )

    def rows(self, variable: str) -> IntArray:
        """Positions of the rows of ``variable`` (empty when there are none)."""
        if variable not in self.variables:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.variable == self.variables.index(variable))

    def codes(self, column: str, rows: IntArray) -> tuple[IntArray, list[str]]:
        """Codes of ``column`` at ``rows``, and the names of all its codes."""
        if column not in self._columns:
            self._columns[column] = _factorize(self.series[column])
        codes, names = self._columns[column]
        return codes[rows], names

    def per_scenario(self, rows: IntArray, weights: FloatArray | None = None) -> FloatArray:
        """Sum of ``weights`` (default: the rows' values) per scenario code."""
        w = self.value[rows] if weights is None else weights
        sums: FloatArray = np.bincount(
            self.scenario[rows], weights=w, minlength=len(self.scenarios)
        ).astype(np.float64)
        return sums


def _membership(
    coded: _Coded, bloc: str, overrides: Mapping[str, bool] | None
) -> tuple[BoolArray, IntArray, IntArray]:
    """``member[month, place]`` for every region name of the series, then route endpoints.

    Returns the matrix and, per region code, the place index of a route's exporter and
    importer (the last column, never a member, when the name is not a route).
    """
    flow = coded.rows("flow")
    on_nodes = np.ones(len(coded.value), dtype=bool)
    on_nodes[flow] = False
    seen = np.zeros(len(coded.regions_all), dtype=bool)
    seen[coded.region[on_nodes]] = True
    node_regions = sorted(
        r for r, s in zip(coded.regions_all, seen, strict=True) if s and ROUTE_SEP not in r
    )
    place = {r: i for i, r in enumerate(coded.regions_all)}
    ends: list[tuple[str, str | None]] = []  # (exporter, importer); no importer: not a route
    for name in coded.regions_all:
        exp, sep, imp = name.partition(ROUTE_SEP)
        ends.append((exp, imp) if sep else (name, None))
        for end in (exp, imp) if sep else ():
            place.setdefault(end, len(place))
    never = len(place)
    exp_idx = np.array([place[exp] for exp, _ in ends], dtype=np.int64)
    imp_idx = np.array([never if imp is None else place[imp] for _, imp in ends], dtype=np.int64)
    member = np.zeros((len(coded.months), never + 1), dtype=bool)
    # member_regions depends on the month only through the bloc's catalog membership on the
    # month's last day (bloc_membership, cached there): one call per distinct membership
    by_state: dict[tuple[frozenset[str], bool], BoolArray] = {}
    for m, month in enumerate(coded.months):
        state = bloc_membership(bloc, month_end(month).isoformat())
        row = by_state.get(state)
        if row is None:
            row = np.zeros(never + 1, dtype=bool)
            for r in member_regions(bloc, node_regions, month, overrides):
                if r in place:
                    row[place[r]] = True
            by_state[state] = row
        member[m] = row
    return member, exp_idx, imp_idx


def _sorted_dict(names: list[str], values: FloatArray, present: BoolArray) -> dict[str, float]:
    return {
        names[i]: float(values[i]) for i in sorted(np.flatnonzero(present), key=names.__getitem__)
    }


def _avg_prices(coded: _Coded, member: BoolArray) -> list[tuple[dict[str, float], ...]]:
    """Per scenario, (inside, outside) mean node price by product, rounded to 1e-6 usd/t."""
    rows = coded.rows("price")
    product, products = coded.codes("product", rows)
    inside = member[coded.month[rows], coded.region[rows]]
    n_s, n_p = len(coded.scenarios), len(products)
    group = (coded.scenario[rows] * 2 + (~inside)) * n_p + product
    size = n_s * 2 * n_p
    total = np.bincount(group, weights=coded.value[rows], minlength=size).reshape(n_s, 2, n_p)
    count = np.bincount(group, minlength=size).reshape(n_s, 2, n_p)
    mean = total / np.maximum(count, 1)
    order = sorted(range(n_p), key=products.__getitem__)
    return [
        tuple(
            {products[p]: round(float(mean[s, side, p]), 6) for p in order if count[s, side, p]}
            for side in (0, 1)
        )
        for s in range(n_s)
    ]


def _imports(
    coded: _Coded, member: BoolArray, exp_idx: IntArray, imp_idx: IntArray
) -> tuple[FloatArray, list[str]]:
    """``[scenario, product, k]``: tonnes of each product flowing into members from members
    (k = 0) and from others (k = 1), and the product names."""
    rows = coded.rows("flow")
    product, products = coded.codes("product", rows)
    route, month = coded.region[rows], coded.month[rows]
    into = member[month, imp_idx[route]]
    from_member = member[month, exp_idx[route]]
    n_s, n_p = len(coded.scenarios), len(products)
    out = np.zeros((n_s, n_p, 2))
    for k, sel in enumerate((into & from_member, into & ~from_member)):
        group = coded.scenario[rows[sel]] * n_p + product[sel]
        out[:, :, k] = np.bincount(
            group, weights=coded.value[rows[sel]], minlength=n_s * n_p
        ).reshape(n_s, n_p)
    return out, products


def _by_product(coded: _Coded, variable: str) -> list[dict[str, float]]:
    """Per scenario, the sum of ``variable`` per product ({} when it has no rows)."""
    rows = coded.rows(variable)
    out: list[dict[str, float]] = [{} for _ in coded.scenarios]
    if not len(rows):
        return out
    product, products = coded.codes("product", rows)
    n_s, n_p = len(coded.scenarios), len(products)
    group = coded.scenario[rows] * n_p + product
    sums = np.bincount(group, weights=coded.value[rows], minlength=n_s * n_p).reshape(n_s, n_p)
    seen = np.bincount(group, minlength=n_s * n_p).reshape(n_s, n_p) > 0
    return [_sorted_dict(products, sums[s], seen[s]) for s in range(n_s)]


def _premium(
    coded: _Coded, base: int
) -> tuple[FloatArray, list[dict[str, float]], list[dict[str, float]]]:
    """Per scenario: premium (usd), premium by product, and by product per tonne consumed.

    A consumer row (consumption > 0) counts when its scenario has a price at the node that
    month; the baseline price defaults to that price (premium 0) where the baseline has none.
    """
    price = coded.rows("price")
    cons = coded.rows("consumption")
    cons = cons[coded.value[cons] > 0]
    both = np.concatenate([price, cons])
    product, products = coded.codes("product", both)
    stage, stages = coded.codes("stage", both)
    n_p, n_st, n_r = len(products), len(stages), len(coded.regions_all)
    node = ((coded.month[both] * n_p + product) * n_st + stage) * n_r + coded.region[both]
    _, key = np.unique(node, return_inverse=True)
    key = key.reshape(-1)
    n_s, n_k = len(coded.scenarios), int(key.max()) + 1 if len(key) else 0
    k_price, k_cons = key[: len(price)], key[len(price) :]
    s_price, s_cons = coded.scenario[price], coded.scenario[cons]
    price_usd = np.zeros((n_s, n_k))
    has = np.zeros((n_s, n_k), dtype=bool)
    price_usd[s_price, k_price] = coded.value[price]
    has[s_price, k_price] = True
    ok = has[s_cons, k_cons]
    s_ok, k_ok, p_ok = s_cons[ok], k_cons[ok], product[len(price) :][ok]
    own = price_usd[s_ok, k_ok]
    ref = np.where(has[base, k_ok], price_usd[base, k_ok], own)
    tonnes = coded.value[cons][ok]
    premium = (own - ref) * tonnes
    total = coded.per_scenario(cons[ok], premium)
    group = s_ok * n_p + p_ok
    by = np.bincount(group, weights=premium, minlength=n_s * n_p).reshape(n_s, n_p)
    tonnes_by = np.bincount(group, weights=tonnes, minlength=n_s * n_p).reshape(n_s, n_p)
    seen = np.bincount(group, minlength=n_s * n_p).reshape(n_s, n_p) > 0
    by_product = [_sorted_dict(products, by[s], seen[s]) for s in range(n_s)]
    per_t = np.divide(by, tonnes_by, out=np.zeros_like(by), where=tonnes_by > 0)
    per_t_by_product = [
        _sorted_dict(products, per_t[s], seen[s] & (tonnes_by[s] > 0)) for s in range(n_s)
    ]
    return total, by_product, per_t_by_product


def _cover(coded: _Coded) -> list[dict[str, dict[str, float]]]:
    """Per scenario, last and lowest days of cover per ``product/region`` ({} when none)."""
    rows = coded.rows("days_of_cover")
    out: list[dict[str, dict[str, float]]] = [{} for _ in coded.scenarios]
    if not len(rows):
        return out
    product, products = coded.codes("product", rows)
    n_r = len(coded.regions_all)
    group = (coded.scenario[rows] * len(products) + product) * n_r + coded.region[rows]
    order = np.lexsort((coded.month[rows], group))  # by group, then month; stable
    g, v = group[order], coded.value[rows][order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lasts = np.r_[starts[1:], len(g)] - 1
    lows = np.minimum.reduceat(v, starts)
    found: list[dict[str, tuple[float, float]]] = [{} for _ in coded.scenarios]
    for start, last, low in zip(starts, lasts, lows, strict=True):
        s, rest = divmod(int(g[start]), len(products) * n_r)
        p, r = divmod(rest, n_r)
        found[s][f"{products[p]}/{coded.regions_all[r]}"] = (float(v[last]), float(low))
    for s, keys in enumerate(found):
        if keys:
            names = sorted(keys)
            out[s]["days_of_cover_last"] = {k: keys[k][0] for k in names}
            out[s]["days_of_cover_min"] = {k: keys[k][1] for k in names}
    return out


def compare_to_baseline(
    series: pd.DataFrame,
    baseline: str,
    *,
    bloc: str = "forge",
    region_membership: Mapping[str, bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """Managed-market figures of every scenario in ``series`` against ``baseline``.

    One pass: every column used is factorized once, bloc membership is a (month, region)
    boolean matrix, and each metric is a ``bincount`` over the rows of its variable. The
    series is assumed to have at most one row per (scenario, month, product, stage, region,
    variable), as the run-results contract says.

    One path only: passing the table builder's own codes instead (a second path, removed)
    saved ~3 ms of a 1.2 s ``critmin run`` of the seed study (0.3%), under the 10% a twin
    must win.
    """
    table = _Coded.of(upgrade_series(series))
    if baseline not in table.scenarios:
        raise UnknownNameError("baseline scenario", baseline, table.scenarios)
    base = table.scenarios.index(baseline)
    member, exp_idx, imp_idx = _membership(table, bloc, region_membership)
    prices = _avg_prices(table, member)
    imports, import_products = _imports(table, member, exp_idx, imp_idx)
    # products some scenario imports into members (others would only add zeros)
    traded = [i for i in range(len(import_products)) if imports[:, i, :].any()]
    premium, premium_by_product, premium_per_t = _premium(table, base)
    cover = _cover(table)
    fiscal = table.per_scenario(table.rows("floor_payment"))
    kept = table.per_scenario(table.rows("floor_kept"))
    kept_by_product = _by_product(table, "floor_kept")
    levy = table.per_scenario(table.rows("levy_revenue"))
    production = _by_product(table, "production")
    out: dict[str, dict[str, Any]] = {}
    for s, name in enumerate(table.scenarios):

        def per_product(values: FloatArray) -> dict[str, float]:
            names = {import_products[i]: float(values[i]) for i in traded}
            return dict(sorted(names.items()))

        metrics: dict[str, Any] = {
            "avg_price_inside_forge_usd_per_t": prices[s][0],
            "avg_price_outside_forge_usd_per_t": prices[s][1],
            "floor_fiscal_cost_usd": float(fiscal[s]),
            "levy_revenue_usd": float(levy[s]),
            "trade_diversion_from_members_t_by_product": per_product(
                imports[s, :, 0] - imports[base, :, 0]
            ),
            "trade_diversion_from_nonmembers_t_by_product": per_product(
                imports[s, :, 1] - imports[base, :, 1]
            ),
            "oem_security_premium_usd": float(premium[s]),
            "oem_security_premium_usd_by_product": premium_by_product[s],
            "oem_security_premium_usd_per_t_by_product": premium_per_t[s],
            "floor_kept_t": float(kept[s]),
            "subsidy_kept_usd_per_t": float(fiscal[s] / kept[s]) if kept[s] > 0 else None,
            "floor_kept_t_by_product": kept_by_product[s],
            "production_change_t_by_product": {
                p: production[s].get(p, 0.0) - production[base].get(p, 0.0)
                for p in sorted(set(production[s]) | set(production[base]))
            },
        }
        if len(kept_by_product[s]) > 1:
            # floors on different products: their tonnes are not added, nor is the cost per
            # tonne averaged over them
            metrics["floor_kept_t"] = metrics["subsidy_kept_usd_per_t"] = None
        else:
            del metrics["floor_kept_t_by_product"]
        metrics.update(cover[s])
        out[name] = metrics
    return out


@dataclass(frozen=True)
class BaselineComparison:
    """One scenario's managed-market figures against a named baseline (module docstring).

    ``baseline`` is the scenario compared with; the other fields are the keys
    :func:`compare_to_baseline` returns, typed. ``days_of_cover_last``/``_min`` are empty
    when the scenario has no stockpile.
    """

    baseline: str
    avg_price_inside_forge_usd_per_t: dict[str, float]
    avg_price_outside_forge_usd_per_t: dict[str, float]
    floor_fiscal_cost_usd: float
    levy_revenue_usd: float
    trade_diversion_from_members_t_by_product: dict[str, float]
    trade_diversion_from_nonmembers_t_by_product: dict[str, float]
    oem_security_premium_usd: float
    oem_security_premium_usd_by_product: dict[str, float]
    oem_security_premium_usd_per_t_by_product: dict[str, float]
    floor_kept_t: float | None
    subsidy_kept_usd_per_t: float | None
    production_change_t_by_product: dict[str, float]
    days_of_cover_last: dict[str, float] = field(default_factory=dict)
    days_of_cover_min: dict[str, float] = field(default_factory=dict)
    #: only when the floors keep more than one product (``floor_kept_t`` is then None)
    floor_kept_t_by_product: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, baseline: str, figures: Mapping[str, Any]) -> BaselineComparison:
        names = set(cls.__dataclass_fields__) - {"baseline"}
        return cls(baseline=baseline, **{k: v for k, v in figures.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """The mapping :func:`compare_to_baseline` gives (cover keys only when present)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "baseline"}
        for key in ("days_of_cover_last", "days_of_cover_min", "floor_kept_t_by_product"):
            if not out[key]:
                del out[key]
        return out


def compare(
    series: pd.DataFrame,
    baseline: str,
    *,
    bloc: str = "forge",
    region_membership: Mapping[str, bool] | None = None,
) -> dict[str, BaselineComparison]:
    """:func:`compare_to_baseline`, typed: per scenario name, a :class:`BaselineComparison`."""
    raw = compare_to_baseline(series, baseline, bloc=bloc, region_membership=region_membership)
    return {name: BaselineComparison.from_dict(baseline, figs) for name, figs in raw.items()}
