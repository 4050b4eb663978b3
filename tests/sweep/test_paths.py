"""Scenario paths: parsing, matching, writing (hand cases and properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.periods import month_index
from critmin.scenarios.sweep.paths import PathError, apply, check_target, find, parse_path

DATA = {
    "markets": [
        {
            "mineral": "ndpr",
            "supply": [
                {"region": "CHN", "qty_t": 10.0, "name": "a.b (c)"},
                {"region": "USA", "qty_t": 2.0},
                {"region": "CHN", "qty_t": 5.0},
            ],
        }
    ],
    "shocks": [{"kind": "export_ban", "start": "2026-07", "end": "2027-06"}],
    "reform": {"policy.floor": {"values": {"2026-01-01": 110}}},
}


def test_selectors_match_every_item_they_name() -> None:
    places = find(DATA, parse_path("markets[mineral=ndpr].supply[region=CHN].qty_t"))
    assert [c[k] for c, k in places] == [10.0, 5.0]
    assert len(find(DATA, parse_path("markets[0].supply[*].qty_t"))) == 3
    assert find(DATA, parse_path("markets[0].supply[name=a.b (c)].qty_t"))[0][0]["region"] == "CHN"
    assert find(DATA, parse_path('reform["policy.floor"].values["2026-01-01"]'))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("markets[mineral=li].supply", "matches nothing; mineral values there: ['ndpr']"),
        ("markets[0].suply", "fields there: ['mineral', 'supply']"),
        ("markets[5]", "the list has 1 items"),
        ("markets..x", "empty part"),
        ("markets[0", "cannot read path"),
    ],
)
def test_bad_paths_say_where(path: str, message: str) -> None:
    with pytest.raises(
        PathError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
    ):
        find(DATA, parse_path(path))


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 100, allow_nan=False), st.sampled_from(["set", "scale", "add"]))
def test_ops_write_what_they_say(value: float, op: str) -> None:
    import copy

    data = copy.deepcopy(DATA)
    steps = parse_path("markets[0].supply[region=CHN].qty_t")
    assert check_target(data, steps, op) == "number"  # type: ignore[arg-type]
    apply(data, steps, op, value)  # type: ignore[arg-type]
    got = [data["markets"][0]["supply"][i]["qty_t"] for i in (0, 2)]
    expect = {
        "set": [value, value],
        "scale": [10 * value, 5 * value],
        "add": [10 + value, 5 + value],
    }
    assert got == expect[op]
    assert data["markets"][0]["supply"][1]["qty_t"] == 2.0  # USA untouched


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(-12, 12))
def test_length_and_shift_of_a_dated_item(length: int, shift: int) -> None:
    import copy

    data = copy.deepcopy(DATA)
    apply(data, parse_path("shocks[0].start"), "add", shift)
    apply(data, parse_path("shocks[0].length_months"), "set", length)
    shock = data["shocks"][0]
    assert month_index(shock["start"]) == month_index("2026-07") + shift
    assert month_index(shock["end"]) - month_index(shock["start"]) + 1 == length
