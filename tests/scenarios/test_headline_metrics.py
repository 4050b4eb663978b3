"""The typed headline metrics against their one declaration and against what runs write.

The declaration (:data:`critmin.scenarios.headline.METRICS` and each instrument kind's
``InstrumentSpec.headline``) names every figure; :class:`HeadlineMetrics` must have exactly
those fields, and the shipped scenarios (the built-in study and every example) must write
nothing undeclared, so renaming a metric in the engine, an instrument or the class without
the others fails here instead of moving the figure silently into ``metrics.other``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import critmin
from critmin.policy.instrument import REGISTRY, discover
from critmin.scenarios.headline import METRICS, HeadlineMetrics, headline_metrics

ROOT = Path(__file__).resolve().parents[2]
#: per-product figures whose names carry the product id (kept in ``other``)
PER_PRODUCT = re.compile(
    r"stock_(days_of_cover_end|releases_t|purchases_t|shortage_avoided_t)_\w+"
    r"|imports_from_(members|nonmembers)_t_\w+|offtake_(delivered|shortfall)_t_\w+"
)


@cache
def _runs() -> tuple[critmin.StudyResult, ...]:
    examples = sorted(str(p) for p in (ROOT / "examples" / "scenarios").glob("*.yaml"))
    return (critmin.run(), critmin.run(*examples))


def test_typed_fields_are_the_declared_metrics() -> None:
    discover()
    declared = set(headline_metrics())
    fields = set(HeadlineMetrics.declared())
    assert fields - declared == set(), "fields nobody declares"
    assert declared - fields == set(), "declared metrics without a typed field"
    producers = {m.producer for m in headline_metrics().values()}
    assert producers <= {"engine", "comparison", *REGISTRY}


def _scalar(hint: Any) -> set[Any]:
    """The scalar types a field's annotation holds: ``dict[str, float] | None`` -> {float}."""
    if hint is type(None):
        return set()
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_scalar(h) for h in typing.get_args(hint)))
    if origin is dict:
        return _scalar(typing.get_args(hint)[1])
    if origin is list:
        return {list}
    return {hint}


#: the scalar types a figure of each declared unit may hold (instrument reports give floats)
UNIT_TYPES = {
    "usd": {float},
    "t": {float},
    "usd_per_t": {float},
    "days": {float},
    "count": {float},
    "flag": {float},
    "months": {int, float},
    "text": {str, list},
    "rows": {list},
}


def test_typed_fields_agree_with_the_declaration() -> None:
    """Beyond the names: a field is required exactly when the engine declares the figure
    (every scenario has it; instrument and comparison figures default to None), and its
    annotation holds what the declared unit says (tonnes and money as float, months as whole
    or float months, text as str)."""
    discover()
    hints = typing.get_type_hints(HeadlineMetrics)
    defaults = {f.name: f.default for f in dataclasses.fields(HeadlineMetrics)}
    for name, m in headline_metrics().items():
        required = defaults[name] is dataclasses.MISSING
        assert required == (m.producer == "engine"), (name, m.producer)
        if not required:
            assert defaults[name] is None, name
            assert type(None) in typing.get_args(hints[name]), f"{name}: not Optional"
        assert _scalar(hints[name]) <= UNIT_TYPES[m.unit], (name, m.unit, hints[name])


def test_totals_of_output_variables_agree_with_the_variable() -> None:
    """A headline figure named after an output variable (``<variable>_<unit>``, alone or
    ``_by_...``; ``avg_``/``peak_`` of it) is declared by the variable's producer in the
    variable's unit, and a total is never of a variable that does not add up (a ``mean``
    variable, such as a price, is averaged, not summed)."""
    from critmin.market.results import output_variables

    discover()
    metrics = headline_metrics()
    pairs = 0
    for var in output_variables().values():
        stem = f"{var.name}_{var.unit}"
        for name, m in metrics.items():
            bare = name.removeprefix("avg_").removeprefix("peak_")
            if bare != stem and not bare.startswith(stem + "_by_"):
                continue
            pairs += 1
            assert (m.unit, m.producer) == (var.unit, var.producer), (name, var.name)
            if bare == name:  # a total (or end value) over months and regions
                assert var.aggregation != "mean", (name, var.name, var.aggregation)
    # engine and instrument figures are both matched (15 since the stockpile's, the levy's and
    # the offtake's tonne totals over products became per-product figures, not declared)
    assert pairs >= 15


def test_no_figure_is_declared_twice_differently() -> None:
    discover()
    seen: dict[str, str] = {}
    for kind in sorted(REGISTRY):
        for m in (*METRICS, *REGISTRY[kind].headline):
            assert seen.setdefault(m.name, m.unit) == m.unit, m.name


def _fits(value: Any, hint: Any) -> bool:
    """``value`` is of the annotated type (None, float (int accepted), int, str, dict, list)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, float | int) and not isinstance(value, bool)
    if hint is Any:
        return True
    if origin is dict:
        k, v = typing.get_args(hint)
        return isinstance(value, dict) and all(
            _fits(a, k) and _fits(b, v) for a, b in value.items()
        )
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(x, item) for x in value)
    return isinstance(value, hint)


def test_shipped_scenarios_write_only_declared_figures_of_the_declared_types() -> None:
    hints = typing.get_type_hints(HeadlineMetrics)
    typed_seen: set[str] = set()
    for result in _runs():
        for entry, outcome in zip(result.summary["scenarios"], result.scenarios, strict=True):
            m = outcome.metrics
            undeclared = [k for k in m.other if not PER_PRODUCT.fullmatch(k)]
            assert undeclared == [], f"{entry['name']}: undeclared {undeclared}"
            for name in HeadlineMetrics.declared():
                value = getattr(m, name)
                assert _fits(value, hints[name]), (entry["name"], name, value)
                if name in entry["metrics"]:
                    typed_seen.add(name)
                    assert value == entry["metrics"][name]
                else:
                    assert value is None
    # the shipped scenarios exercise all but the purchase floor's own figure
    assert set(HeadlineMetrics.declared()) - typed_seen <= {"floor_purchases_t"}


def test_issue_11_figures_are_typed_and_round_trip() -> None:
    result = _runs()[0]
    managed = result.scenario("managed_market").metrics
    entry = next(e for e in result.summary["scenarios"] if e["name"] == "managed_market")
    assert managed.levy_revenue_usd == entry["metrics"]["levy_revenue_usd"] > 0
    assert (
        managed.physical_shortage_t_by_product == entry["metrics"]["physical_shortage_t_by_product"]
    )
    assert managed.demand_reduction_by_price_t_by_product is not None
    assert managed["levy_revenue_usd"] == managed.levy_revenue_usd
    # the same mapping, keys in the same order: summary.json can be rebuilt from the object
    assert list(managed.to_dict().items()) == list(entry["metrics"].items())
    free = result.scenario("baseline_free_trade").metrics
    assert free.stock_cash_usd is None
    with pytest.raises(KeyError):
        free["stock_cash_usd"]
    # per account, never added across products (oxide and magnets)
    assert managed["stock_releases_t_ndfeb_magnet"] > 0
    assert "stock_releases_t" not in entry["metrics"]
    # the Lynas-Japan Dy and Tb offtakes: one figure per product, not Dy + Tb tonnes
    assert managed["offtake_delivered_t_dysprosium_oxide"] > 0
    assert managed["offtake_delivered_t_terbium_oxide"] > 0
    assert "offtake_delivered_t" not in entry["metrics"]


def test_missing_engine_figure_is_named() -> None:
    entry = dict(_runs()[0].summary["scenarios"][0]["metrics"])
    del entry["physical_shortage_months"]
    with pytest.raises(KeyError, match="physical_shortage_months"):
        HeadlineMetrics.from_dict(entry)


def test_engine_figures_carry_their_variables_unit() -> None:
    """A headline figure named after a declared engine variable (``tariff_revenue_usd``,
    ``avg_price_usd_per_t``) is in that variable's declared unit, and every engine total in
    usd has its figure. No engine figure sums a tonne variable over products (a tonne of
    concentrate and a tonne of magnet are not additive): those are per product, in
    ``physical_metrics``, and the removed names say what replaced them."""
    from critmin.market.results import VARIABLES, metric_name

    engine = {m.name: m for m in METRICS if m.producer == "engine"}
    for var in VARIABLES:
        stem = metric_name(var.name)
        for name, m in engine.items():
            if name.removeprefix("avg_").removeprefix("peak_").startswith(stem):
                assert m.unit == var.unit, (name, var.name)
    totals = ("tariff_revenue", "consumer_surplus", "producer_surplus")
    assert {metric_name(v) for v in totals} <= set(engine)
    tonnes = {n for n, m in engine.items() if m.unit == "t"}
    assert tonnes
    assert all("_by_" in n for n in tonnes), tonnes
    from critmin.scenarios.headline import REMOVED_METRICS

    assert not set(REMOVED_METRICS) & {m.name for m in METRICS}
