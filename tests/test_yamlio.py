"""YAML with lines and pydantic errors told by file, line and field (hand-made cases).

Every expected line below is counted by hand in the YAML text of its test (line 1 is the
first line of the string).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin import yamlio
from critmin.errors import InputError
from critmin.yamlio import (
    FieldValueError,
    dotted,
    field_names,
    fields_at,
    load_yaml,
    parse_yaml,
    validate,
)

NESTED = """\
name: plant
lines:
  - id: a
    steps:
      - {op: mix, t: 3}
      - op: heat
        t: 5
  - id: b
dates:
  2026-02-04: {value: 1}
"""


def test_line_of_a_nested_list_item_and_its_fields() -> None:
    """``lines[0].steps[1]`` is the block item starting on line 6 (``- op: heat``); its ``t``
    key is on line 7; the flow item ``steps[0]`` and its ``t`` are both on line 5; the second
    ``lines`` item starts on line 8."""
    doc = parse_yaml(NESTED, "p.yaml")
    assert doc.line_of(("lines", 0, "steps", 1)) == 6
    assert doc.line_of(("lines", 0, "steps", 1, "t")) == 7
    assert doc.line_of(("lines", 0, "steps", 0, "t")) == 5
    assert doc.line_of(("lines", 1)) == 8
    assert doc.lines[("lines", 0, "steps", 1, "op")] == 6
    assert doc.data["lines"][0]["steps"][1] == {"op": "heat", "t": 5}


def test_line_of_falls_back_to_the_nearest_ancestor() -> None:
    """``lines[1]`` (line 8) has no ``steps``; an index past the end of ``steps`` falls back to
    ``steps`` itself (line 4); an empty location is the document (line 1)."""
    doc = parse_yaml(NESTED, "p.yaml")
    assert doc.line_of(("lines", 1, "steps", 0, "op")) == 8
    assert doc.line_of(("lines", 0, "steps", 9)) == 4
    assert doc.line_of(()) == 1
    assert doc.where(("lines", 1, "steps"), keep_last=True) == "p.yaml:8 field 'lines[1].steps'"


def test_keys_are_the_yaml_values_and_match_their_text() -> None:
    """``2026-02-04`` is a YAML date: the data key is a ``date``, and both the date and the
    text pydantic would report (``'2026-02-04'``) find line 10."""
    doc = parse_yaml(NESTED, "p.yaml")
    day = dt.date(2026, 2, 4)
    assert day in doc.data["dates"]
    assert doc.line_of(("dates", day, "value")) == 10
    assert doc.line_of(("dates", "2026-02-04")) == 10


def test_dotted() -> None:
    assert dotted(("markets", 0, "supply", 1, "qty_t")) == "markets[0].supply[1].qty_t"
    assert dotted(()) == ""


def test_duplicate_key_names_both_lines() -> None:
    """``b`` is on lines 2 and 4 of the same mapping; in another mapping it is fine."""
    text = "a:\n  b: 1\n  c: 2\n  b: 3\nd: {b: 1}\n"
    assert parse_yaml(text, "d.yaml", unique_keys=False).data["a"]["b"] == 3  # YAML keeps the last
    with pytest.raises(InputError, match=r"^d\.yaml:4: duplicate key 'b' \(first at line 2\)$"):
        parse_yaml(text, "d.yaml")  # the default: refused


def test_merge_key_override_is_not_a_duplicate() -> None:
    """``<<: *base`` brings ``k`` and ``j`` (line 1); overriding ``k`` on line 4 is allowed."""
    text = "base: &base {k: 1, j: 2}\nother:\n  <<: *base\n  k: 3\n"
    doc = parse_yaml(text, "m.yaml", unique_keys=True)
    assert doc.data["other"] == {"k": 3, "j": 2}
    assert doc.line_of(("other", "k")) == 4
    assert doc.line_of(("other", "j")) == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3),  # the unclosed list is noticed at ``c:`` on line 3
        ("a: 1\n  b: 2\n", 2),  # a key indented under a scalar, line 2
        ("a: 1\nb: 'open\n", 3),  # unterminated quote, found at the end (line 3)
    ],
)
def test_syntax_error_has_the_line(text: str, line: int) -> None:
    with pytest.raises(InputError, match=rf"^s\.yaml:{line}: not valid YAML: "):
        parse_yaml(text, "s.yaml")


def test_unreadable_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: cannot read BOM file: no such file"):
        load_yaml(tmp_path / "nope.yaml", what="BOM file")
    p = tmp_path / "l.yaml"
    p.write_text("\n- 1\n- 2\n")
    with pytest.raises(InputError, match=r"l\.yaml:2: expected a mapping of x; got a list"):
        load_yaml(p).require_mapping("a mapping of x")


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str
    kg_per_unit: float = Field(ge=0)
    estimate: bool = False


class _Bom(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    items: list[_Item]


BOM = """\
name: motor
items:
  - product: ndpr_oxide
    kg_per_unit: 0.5
  - product: dy_oxide
    kg_per_unit: 0.04
    estimat: true
"""


def test_unknown_field_suggests_a_nested_field_name() -> None:
    """``estimat`` (line 7) is not a field of the item; ``estimate`` is, one model down."""
    assert {"name", "items", "product", "kg_per_unit", "estimate"} <= field_names(_Bom)
    with pytest.raises(InputError) as exc:
        validate(_Bom, parse_yaml(BOM, "b.yaml"))
    assert str(exc.value) == (
        "b.yaml:7 field 'items[1].estimat': unknown field 'estimat'; did you mean estimate?"
    )


def test_missing_field_is_on_the_line_of_its_mapping_and_others_are_counted() -> None:
    """Item 0 (line 3) lacks ``kg_per_unit``; item 1's value is -1 (line 6): two problems."""
    text = (
        BOM.replace("    kg_per_unit: 0.5\n", "")
        .replace("0.04", "-1")
        .replace("estimat", "estimate")
    )
    with pytest.raises(InputError) as exc:
        validate(_Bom, parse_yaml(text, "b.yaml"))
    assert str(exc.value) == (
        "b.yaml:3 field 'items[0].kg_per_unit': missing required field 'kg_per_unit' "
        "(and 1 more problem)"
    )


def test_bad_scalar_shows_the_value() -> None:
    """``kg_per_unit: lots`` on line 4 is not a number; the message shows what came in."""
    with pytest.raises(InputError) as exc:
        validate(_Bom, parse_yaml(BOM.replace("0.5", "lots").replace("estimat", "estimate"), "b"))
    assert str(exc.value) == (
        "b:4 field 'items[0].kg_per_unit': Input should be a valid number, "
        "unable to parse string as a number (got 'lots')"
    )


class _Ban(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["ban"]
    region: str
    share: float | dict[str, float] = 1.0


class _Outage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["outage"]
    qty_t: float


class _Study(BaseModel):
    shocks: list[Annotated[_Ban | _Outage, Field(discriminator="kind")]]


def test_union_tags_are_left_out_of_the_field() -> None:
    """pydantic puts the discriminator (``outage``) and the union member (``float``,
    ``dict[str,float]``) in its locations; the field shown is the path in the file."""
    text = "shocks:\n  - {kind: ban, region: CHN}\n  - kind: outage\n    qty_t: many\n"
    with pytest.raises(InputError) as exc:
        validate(_Study, parse_yaml(text, "s.yaml"))
    assert str(exc.value).startswith("s.yaml:4 field 'shocks[1].qty_t': Input should be a valid")
    text = "shocks:\n  - kind: ban\n    region: CHN\n    share: {2026-01: x}\n"
    with pytest.raises(InputError) as exc:
        validate(_Study, parse_yaml(text, "s.yaml"))
    assert str(exc.value).startswith("s.yaml:4 field 'shocks[0].share': Input should be a valid")
    text = "shocks:\n  - kind: outtage\n"
    with pytest.raises(InputError, match=r"^s\.yaml:2 field 'shocks\[0\]': Input tag 'outtage'"):
        validate(_Study, parse_yaml(text, "s.yaml"))


class _Window(BaseModel):
    start: int
    end: int

    @model_validator(mode="after")
    def _order(self) -> _Window:
        if self.end < self.start:
            raise FieldValueError("end", f"end {self.end} is before start {self.start}")
        return self


def test_field_value_error_blames_its_field() -> None:
    """The model-level check names ``end`` (line 2), not the document."""
    with pytest.raises(InputError) as exc:
        validate(_Window, parse_yaml("start: 5\nend: 3\n", "w.yaml"))
    assert str(exc.value) == "w.yaml:2 field 'end': end 3 is before start 5"


def test_unknown_field_without_a_close_name_lists_the_fields_allowed_there() -> None:
    """``colour`` is close to no field; the item (not the BOM) fields are listed."""
    assert fields_at(_Bom, ("items", 1, "colour")) == ["product", "kg_per_unit", "estimate"]
    assert fields_at(_Study, ("shocks", 0, "ban", "x")) == ["kind", "region", "share", "qty_t"]
    with pytest.raises(InputError) as exc:
        validate(_Bom, parse_yaml(BOM.replace("estimat", "colour"), "b.yaml"))
    assert str(exc.value) == (
        "b.yaml:7 field 'items[1].colour': unknown field 'colour'; "
        "expected one of product, kg_per_unit, estimate"
    )


_ROOT = Path(__file__).resolve().parents[1]
_SHIPPED = sorted(
    p.relative_to(_ROOT).as_posix()
    for pattern in ("src/critmin/**/*.yaml", "examples/**/*.yaml")
    for p in _ROOT.glob(pattern)
)


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("rel", _SHIPPED)
def test_libyaml_parser_gives_the_same_document(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_yaml uses libyaml's parser when available; every shipped YAML file (built-in
    scenarios, parameters, examples) gives the same data and the same line of every node as
    with PyYAML's pure-Python parser."""
    text = (_ROOT / rel).read_text(encoding="utf-8")
    fast = parse_yaml(text, rel, unique_keys=True)
    monkeypatch.setattr(yamlio, "_Loader", yaml.SafeLoader)
    slow = parse_yaml(text, rel, unique_keys=True)
    assert fast.data == slow.data
    assert fast.lines == slow.lines


def test_limits_are_counted_on_the_expanded_document() -> None:
    """Depth 100 is allowed and 101 is not; the alias limit counts a node once per use:
    ``b`` uses ``a`` (1 + 10 nodes) ten times -> 1 + 10 * 11 = 111 nodes for ``b``."""
    ok = "[" * 99 + "1" + "]" * 99  # 99 lists + the scalar = depth 100
    assert parse_yaml(ok, "d.yaml").data is not None
    with pytest.raises(InputError, match=r"^d\.yaml:1: nested deeper than 100 levels$"):
        parse_yaml("[" + ok + "]", "d.yaml")
    text = "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: [" + ", ".join(["*a"] * 10) + "]\n"
    assert len(parse_yaml(text, "a.yaml").data["b"]) == 10
    old = yamlio.MAX_NODES
    try:
        yamlio.MAX_NODES = 110
        with pytest.raises(InputError, match=r"^a\.yaml:2: YAML aliases expand to more than 110"):
            parse_yaml(text, "a.yaml")
    finally:
        yamlio.MAX_NODES = old


def test_load_json_refuses_what_json_does_not_allow(tmp_path: Path) -> None:
    from critmin.yamlio import load_json

    cases = {
        '{"a": 1, "a": 2}': r"not valid JSON: duplicate key 'a' in one object",
        '{"q": NaN}': r"not valid JSON: NaN is not a JSON number",
        '{"a": [1,\n 2,,]}': r"j\.json:2: not valid JSON: Expecting value",
        "[" * 101 + "]" * 101: r"nested deeper than 100 levels",
        "[" * 100_000 + "]" * 100_000: r"nested deeper than 100 levels",
    }
    for text, pattern in cases.items():
        (tmp_path / "j.json").write_text(text)
        with pytest.raises(InputError, match=pattern):
            load_json(tmp_path / "j.json")
    (tmp_path / "j.json").write_text('{"eventList": [{"quantity": 1.5}]}')
    assert load_json(tmp_path / "j.json") == {"eventList": [{"quantity": 1.5}]}
