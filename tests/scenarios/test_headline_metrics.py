"""The typed headline metrics against their one declaration and against what runs write.

The declaration (:data:`critmin.scenarios.headline.METRICS` and each instrument kind's
``InstrumentSpec.headline``) names every figure; :class:`HeadlineMetrics` must have exactly
those fields, and the shipped scenarios (the built-in study and every example) must write
nothing undeclared, so renaming a metric in the engine, an instrument or the class without
the others fails here instead of moving the figure silently into ``metrics.other``. That
includes the instruments' per-product figures, written flat in ``summary.json``
(``stock_releases_t_ndfeb_magnet``) and typed as one mapping by product
(``stock_releases_t_by_product``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import critmin
from critmin.policy.instrument import REGISTRY, discover, flat_key_pattern, split_name
from critmin.scenarios.headline import (
    METRICS,
    HeadlineMetrics,
    headline_metrics,
    per_product_key,
    split_per_product,
)

ROOT = Path(__file__).resolve().parents[2]


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


def test_per_product_fields_are_the_declared_flat_figures() -> None:
    """A per-product figure written flat (one ``summary.json`` key per product) is declared
    with its key (``HeadlineMetric.key``) and typed as a mapping by product,
    ``FlatByProduct``, the field's key following from its name by the declaration's rule
    (``flat_key_pattern``), so that the key is spelled once; the product id ends the key,
    and no flat prefix begins another figure's name or another prefix (a key must belong to
    one figure)."""
    discover()
    declared = {m.name: m.key for m in headline_metrics().values() if m.key is not None}
    assert declared == HeadlineMetrics.flat_keys()
    assert len(declared) == 8  # the levy's 2, the offtake's 2, the stockpile's 4
    hints = typing.get_type_hints(HeadlineMetrics)
    prefixes = []
    for name, key in declared.items():
        assert key.count("{product}") == 1, key
        assert key.endswith("_{product}"), key
        assert name == key.removesuffix("_{product}") + "_by_product", name
        assert hints[name] == dict[str, float] | None, name
        prefixes.append(key.removesuffix("{product}"))
    for p in prefixes:
        assert [q for q in prefixes if q.startswith(p)] == [p], p
        assert [n for n in HeadlineMetrics.declared() if n.startswith(p)] == [
            n for n in declared if n.startswith(p)
        ], p


def test_instruments_make_flat_keys_from_the_declaration() -> None:
    """``HeadlineMetric.flat_key`` is how an instrument names a product's figure (no key is
    spelled by hand): it gives the key the typed field reads back, and refuses a figure that
    is not per product."""
    discover()
    for metric in headline_metrics().values():
        if metric.key is None:
            with pytest.raises(TypeError, match=metric.name):
                metric.flat_key("ndfeb_magnet")
            continue
        key = metric.flat_key("ndfeb_magnet")
        assert per_product_key(metric.name, "ndfeb_magnet") == key
        assert split_per_product(key) == (metric.name, "ndfeb_magnet")
    # the rule the typed fields share refuses a name that is no per-product figure's
    for name in ("levy_revenue_usd", "_by_product"):
        with pytest.raises(ValueError, match="ends in '_by_product'"):
            flat_key_pattern(name)


def test_splits_by_product_are_declared_with_their_totals() -> None:
    """A tonne total an instrument splits by product (``floor_kept_t``, written as
    ``floor_kept_t_by_product`` when its instruments count several products) is declared
    with its split (``declare_tonnes``): same producer and unit, the split's name by the one
    rule (``split_name``) the engine writes it under, and a typed field holding
    ``{product: t}``."""
    discover()
    metrics = headline_metrics()
    hints = typing.get_type_hints(HeadlineMetrics)
    splits = {
        name: metrics[name]
        for name in metrics
        if name.endswith("_by_product") and name.removesuffix("_by_product") in metrics
        and metrics[name].producer not in {"engine", "comparison"}
    }  # fmt: skip
    assert set(splits) == {
        "floor_kept_t_by_product", "floor_covered_output_t_by_product",
        "floor_purchases_t_by_product", "settlement_volume_t_by_product",
    }  # fmt: skip
    for name, split in splits.items():
        total = metrics[name.removesuffix("_by_product")]
        assert split_name(total.name) == name
        assert (split.unit, split.producer, split.key) == (total.unit, total.producer, None)
        assert hints[name] == dict[str, float] | None, name


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
    # engine and instrument figures are both matched: 15 scalar or engine figures (prices,
    # surpluses, tariff and levy revenue, physical shortage, consumption, the floors', the
    # offtake top-up, the stockpile's cash) and 6 per-product instrument figures, declared with
    # their flat keys (stock_releases/purchases_t_by_product, the levy's
    # imports_from_members/nonmembers_t_by_product, the offtake's delivered/shortfall_t_...).
    # The threshold was 20 while the instruments wrote tonne totals over products; it fell to
    # 15 while their per-product successors were undeclared keys of ``other``. Not matched, by
    # name only: stock_shortage_avoided_t_by_product (variable ``shortage_avoided``) and
    # stock_days_of_cover_end_by_product (``days_of_cover``, a last value in days).
    assert pairs >= 21


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
    flat = HeadlineMetrics.flat_keys()
    typed_seen: set[str] = set()
    for result in _runs():
        for entry, outcome in zip(result.summary["scenarios"], result.scenarios, strict=True):
            m = outcome.metrics
            assert m.other == {}, f"{entry['name']}: undeclared {sorted(m.other)}"
            for name in HeadlineMetrics.declared():
                value = getattr(m, name)
                assert _fits(value, hints[name]), (entry["name"], name, value)
                written = entry["metrics"].get(name)
                if name in flat:  # one key per product: stock_releases_t_<product>
                    prefix = flat[name].removesuffix("{product}")
                    per = {
                        k.removeprefix(prefix): v
                        for k, v in entry["metrics"].items()
                        if k.startswith(prefix)
                    }
                    written = per or None
                if written is not None or name in entry["metrics"]:
                    typed_seen.add(name)
                    assert value == written, (entry["name"], name)
                else:
                    assert value is None
    # the shipped scenarios exercise all but the purchase floor's own figure and the splits
    # of tonne totals by product (every shipped floor and settlement counts one product; the
    # splits are run in tests/instruments/test_floor_products.py)
    splits = {
        "floor_kept_t_by_product", "floor_covered_output_t_by_product",
        "floor_purchases_t_by_product", "settlement_volume_t_by_product",
    }  # fmt: skip
    assert set(HeadlineMetrics.declared()) - typed_seen <= {"floor_purchases_t", *splits}


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
    # per account, never added across products (oxide and magnets); typed as a mapping
    assert managed["stock_releases_t_ndfeb_magnet"] > 0
    assert managed.stock_releases_t_by_product is not None
    assert (
        managed.stock_releases_t_by_product["ndfeb_magnet"]
        == (entry["metrics"]["stock_releases_t_ndfeb_magnet"])
    )
    assert managed["stock_releases_t_by_product"] is managed.stock_releases_t_by_product
    assert "stock_releases_t" not in entry["metrics"]
    assert managed.other == {}
    # the Lynas-Japan Dy and Tb offtakes: one figure per product, not Dy + Tb tonnes
    assert managed["offtake_delivered_t_dysprosium_oxide"] > 0
    assert managed["offtake_delivered_t_terbium_oxide"] > 0
    assert "offtake_delivered_t" not in entry["metrics"]


def test_flat_figures_round_trip_and_older_summaries_still_load() -> None:
    """summary.json keeps its flat per-product keys: whatever their order, ``from_dict``
    then ``to_dict`` gives back the same items in the same order. A summary written before
    the per-product figures (the instruments' tonne totals, ``stock_releases_t``) loads
    with those totals in ``other``, still readable by name, and writes back unchanged. An
    object built in Python writes each per-product mapping flat again."""
    entry = next(
        e["metrics"] for e in _runs()[0].summary["scenarios"] if e["name"] == "managed_market"
    )
    shuffled = dict(reversed(list(entry.items())))
    for mapping in (entry, shuffled):
        m = HeadlineMetrics.from_dict(mapping)
        assert list(m.to_dict().items()) == list(mapping.items())
        assert m.other == {}
    older = {k: v for k, v in entry.items() if not k.startswith("stock_releases_t_")}
    older["stock_releases_t"] = 2464.0  # the oxide and magnet accounts added (removed since)
    old = HeadlineMetrics.from_dict(older)
    assert old.other == {"stock_releases_t": 2464.0}
    assert old["stock_releases_t"] == 2464.0
    assert old.stock_releases_t_by_product is None
    assert list(old.to_dict().items()) == list(older.items())
    built = dataclasses.replace(HeadlineMetrics.from_dict(entry), order=())
    assert built.to_dict() == {k: v for k, v in entry.items() if v is not None}
    assert built["stock_releases_t_ndfeb_magnet"] == entry["stock_releases_t_ndfeb_magnet"]
    with pytest.raises(KeyError, match="stock_releases_t_nothing"):
        built["stock_releases_t_nothing"]


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
