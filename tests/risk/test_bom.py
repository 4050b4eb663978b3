"""BOM schema and loader: every error names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.catalog.exposure import load_bom, parse_bom_text
from critmin.errors import InputError

GOOD = """\
name: test motor
unit: motor
units_per_year: 1000
items:
  - product: ndpr_oxide
    kg_per_unit: 0.5
    source: hand-made
  - product: dysprosium_oxide
    kg_per_unit: 0.04
    source: hand-made
    estimate: true
"""


def test_good_bom_parses_with_lines() -> None:
    bom, lines = parse_bom_text(GOOD, "m.yaml")
    assert bom.units_per_year == 1000
    assert [i.product for i in bom.items] == ["ndpr_oxide", "dysprosium_oxide"]
    assert bom.items[1].estimate is True
    assert bom.items[0].estimate is False
    assert lines[("items", 1, "kg_per_unit")] == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("kg_per_unit: 0.04", "kg_per_unit: -0.04"),
            r"m\.yaml:9 field 'items\[1\]\.kg_per_unit'.*greater than or equal to 0",
        ),
        (
            GOOD.replace("kg_per_unit: 0.5", "kg_per_unit: lots"),
            r"m\.yaml:6 field 'items\[0\]\.kg_per_unit'.*'lots'",
        ),
        (
            GOOD.replace("    source: hand-made\n  - product", "  - product"),
            r"m\.yaml:5 field 'items\[0\]\.source'.*required",
        ),
        (
            GOOD.replace("    estimate: true", "    estimat: true"),
            r"m\.yaml:11 field 'items\[1\]\.estimat'.*unknown field.*estimate",
        ),
        (
            GOOD.replace("units_per_year: 1000", "units_per_year: 0"),
            r"m\.yaml:3 field 'units_per_year'.*greater than 0",
        ),
        ("name: x\nitems: []\n", r"m\.yaml:2 field 'items'"),
        ("name: x\nitems:\n  - product: a\n   kg: [\n", r"m\.yaml:\d+: not valid YAML"),
        ("- just a list\n", r"m\.yaml:1: expected a mapping"),
        (
            GOOD + "  - product: ndpr_oxide\n    kg_per_unit: 1\n    source: s\n",
            r"m\.yaml:4 field 'items'.*listed twice",
        ),
    ],
)
def test_bad_bom_names_file_line_field(text: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        parse_bom_text(text, "m.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read BOM file"):
        load_bom(tmp_path / "nope.yaml")
