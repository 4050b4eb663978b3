"""The performance rewrites keep their results: tidy-table coding, node-table cache, cached
cent/kilogram rounding.

Each test compares the fast path with a direct (slow, obviously right) reference computed in
the test itself, so a coding or rounding slip fails here.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import InputError
from critmin.market.compile import compile_market
from critmin.market.engine import run_market
from critmin.market.results import STRING_COLUMNS, SeriesParts, node_table, to_frame
from critmin.market.spec import Market
from critmin.stockpile.ledger import t_to_kg, usd_to_cents

LABELS = st.sampled_from(["CN", "US", "JP", "ndpr", "2026-01", "2026-02", "t", "usd", ""])


@st.composite
def blocks(draw: st.DrawFn) -> tuple[list[float], dict[str, tuple[list[int], list[str]]]]:
    """One ``SeriesParts.add`` call: per string column a label list (with repeats) and codes
    into it, and the values."""
    n = draw(st.integers(0, 12))
    columns: dict[str, tuple[list[int], list[str]]] = {}
    for name in STRING_COLUMNS:
        labels = draw(st.lists(LABELS, min_size=1, max_size=6))
        codes = draw(st.lists(st.integers(0, len(labels) - 1), min_size=n, max_size=n))
        columns[name] = (codes, labels)
    values = draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))
    return values, columns


@given(st.lists(st.lists(blocks(), max_size=3), max_size=3))
def test_series_parts_frame_equals_direct_lookup(parts_spec: list) -> None:  # type: ignore[type-arg]
    """Rows coded through deduplicated labels (and merged by ``to_frame``) read back exactly
    as looking each code up in the label list it was given with."""
    parts = []
    expected: dict[str, list[object]] = {c: [] for c in [*STRING_COLUMNS, "value"]}
    for spec in parts_spec:
        part = SeriesParts()
        for values, columns in spec:
            part.add(
                values, **{k: (np.array(v[0], dtype=np.int64), v[1]) for k, v in columns.items()}
            )
            for name, (codes, labels) in columns.items():
                expected[name].extend(labels[c] for c in codes)
            expected["value"].extend(values)
        parts.append(part)
    frame = to_frame(parts)
    for name in STRING_COLUMNS:
        assert frame[name].tolist() == expected[name]
        assert frame[name].dtype == "str"
    assert frame["value"].to_numpy().tolist() == expected["value"]
    assert len(frame) == len(expected["value"])


def _cents_reference(x: float, factor: int) -> int:
    return int((Decimal(repr(x)) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_cached_rounding_equals_decimal_half_even(x: float) -> None:
    """Twice (the second call is a cache hit) the same as the Decimal half-even rounding."""
    for _ in range(2):
        assert usd_to_cents(x) == _cents_reference(x, 100)
        assert t_to_kg(x) == _cents_reference(x, 1000)


def test_rounding_ties_and_non_finite() -> None:
    """Half-even on exact decimal ties: 0.125 usd = 12.5 cents -> 12; 0.135 -> 14 (13.5 ->
    14); 0.0125 t = 12.5 kg -> 12; non-finite inputs are input errors, never cached."""
    assert usd_to_cents(0.125) == 12
    assert usd_to_cents(0.135) == 14
    assert t_to_kg(0.0125) == 12
    assert usd_to_cents(-0.0) == 0
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError, match="finite"):
            usd_to_cents(bad)
        with pytest.raises(InputError, match="finite"):
            t_to_kg(bad)


def _two_region_run() -> object:
    market = Market.model_validate(
        {
            "mineral": "x",
            "supply": [
                {"region": "A", "qty_t": 10.0, "cost_usd_per_t": 5.0},
                {"region": "B", "qty_t": 4.0, "cost_usd_per_t": 8.0},
            ],
            "demand": [{"region": "B", "qty_t": 12.0, "wtp_usd_per_t": 50.0}],
            "routes": [{"from": "A", "to": "B", "cost_usd_per_t": 1.0}],
        }
    )
    return run_market(compile_market(market, ["2026-01", "2026-02"]))


def test_node_table_cached_read_only_and_equal() -> None:
    """Hand-solved: B needs 12 t; A ships all its 10 t at 5 + 1 = 6 usd/t landed, B's own
    block (8 usd/t) serves the last 2 t and is marginal, so B's price is 8 usd/t and A's is
    8 - 1 = 7 usd/t (the route carries flow below any bound). The cached table is the
    same object on the second call, read-only, and the run's own arrays stay writeable."""
    run = _two_region_run()
    first = node_table(run)  # type: ignore[arg-type]
    assert node_table(run) is first  # type: ignore[arg-type]
    cm = run.cm  # type: ignore[attr-defined]
    a, b = cm.node_index("A", "x"), cm.node_index("B", "x")
    assert first["price"][:, b].tolist() == pytest.approx([8.0, 8.0])
    assert first["price"][:, a].tolist() == pytest.approx([7.0, 7.0])
    assert first["consumption"][:, b].tolist() == pytest.approx([12.0, 12.0])
    assert not first["price"].flags.writeable
    assert run.price.flags.writeable  # type: ignore[attr-defined]
    fresh = pd.DataFrame(first["production"])
    assert fresh[b].tolist() == pytest.approx([2.0, 2.0])
