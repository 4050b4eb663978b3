"""Addressing a field of a scenario by path, and writing a sampled value into it.

A path walks the scenario as written (its YAML form, after ``base`` is resolved)::

    markets[mineral=ndpr].supply[name=CHN separation].qty_t_per_year
    markets[0].demand[*].growth_per_year        # every demand block of the first market
    shocks[kind=export_ban].end
    instruments[name=dod_mp_floor].covered[0].cost_usd_per_t
    reform["policy.price_floor.ndpr_oxide"]

``[N]`` is a list index, ``[*]`` every item, ``[field=value]`` the items whose field equals
``value`` (as text), ``["key"]`` a mapping key that contains dots. A path may match several
places; every one receives the value.

The value is written with an ``op``: ``set`` (the field becomes the value), ``scale``
(multiplied: 0.8 = -20 %) or ``add``. Month fields (``start``, ``end``: ``YYYY-MM``) take
``add`` only, a whole number of months. The pseudo-field ``length_months`` of a dated item
(a shock, a block) sets its ``end`` to ``start + length - 1`` months.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from critmin.periods import MONTH_RE, month_index, month_label

Op = Literal["set", "scale", "add"]
LENGTH = "length_months"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*(?P<star>\*)\s*\]
      | \[\s*"(?P<quoted>[^"]*)"\s*\]
      | \[\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>[^\]]*?)\s*\]
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)


class PathError(ValueError):
    """A path that does not parse or matches nothing; the message says which part."""


@dataclass(frozen=True)
class Step:
    kind: Literal["key", "index", "all", "select"]
    key: str = ""
    index: int = 0
    value: str = ""

    def __str__(self) -> str:
        if self.kind == "key":
            return self.key
        if self.kind == "index":
            return f"[{self.index}]"
        if self.kind == "all":
            return "[*]"
        return f"[{self.key}={self.value}]"


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a path (:class:`PathError` naming the column where it stops parsing)."""
    steps: list[Step] = []
    pos = 0
    expect_name = True  # at the start or after a dot
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise PathError(f"cannot read path {text!r} at column {pos + 1}: {text[pos:]!r}")
        pos = m.end()
        if m.group("dot"):
            if expect_name:
                raise PathError(f"path {text!r}: empty part before column {pos}")
            expect_name = True
            continue
        if m.group("name") is not None:
            if not expect_name:
                raise PathError(f"path {text!r}: expected '.' or '[' before {m.group('name')!r}")
            steps.append(Step("key", key=m.group("name")))
        elif m.group("index") is not None:
            steps.append(Step("index", index=int(m.group("index"))))
        elif m.group("star"):
            steps.append(Step("all"))
        elif m.group("quoted") is not None:
            steps.append(Step("key", key=m.group("quoted")))
        else:
            steps.append(Step("select", key=m.group("field"), value=m.group("value")))
        expect_name = False
    if not steps or expect_name:
        raise PathError(f"path {text!r} is empty or ends with '.'")
    return tuple(steps)


def _show(steps: Sequence[Step]) -> str:
    out = ""
    for s in steps:
        out += f".{s}" if s.kind == "key" and out else str(s)
    return out


def _key_of(node: dict[Any, Any], key: str) -> Any:
    """The key of ``node`` written ``key`` (YAML makes ``2026-02-04`` a date key)."""
    if key in node:
        return key
    return next((k for k in node if str(k) == key), None)


def find(data: Any, steps: Sequence[Step], *, missing_ok: bool = False) -> list[tuple[Any, Any]]:
    """``(container, key)`` of every place the path names (:class:`PathError` if none);
    ``missing_ok``: the last key may be absent from its mapping (a field left at its
    default, to be set)."""
    places: list[tuple[Any, Any]] = [({"": data}, "")]
    for i, step in enumerate(steps):
        nxt: list[tuple[Any, Any]] = []
        for container, key in places:
            node = container[key]
            if step.kind == "key":
                is_last = i == len(steps) - 1
                if not isinstance(node, dict):
                    continue
                found = _key_of(node, step.key)
                if found is not None or (is_last and step.key == LENGTH):
                    nxt.append((node, step.key if found is None else found))
                elif is_last and missing_ok:
                    nxt.append((node, step.key))
            elif isinstance(node, list):
                if step.kind == "index":
                    if -len(node) <= step.index < len(node):
                        nxt.append((node, step.index % len(node)))
                elif step.kind == "all":
                    nxt.extend((node, j) for j in range(len(node)))
                else:
                    nxt.extend(
                        (node, j)
                        for j, item in enumerate(node)
                        if isinstance(item, dict) and _text(item.get(step.key)) == step.value
                    )
        if not nxt:
            raise PathError(_nothing(data, steps, i))
        places = nxt
    return places


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _nothing(data: Any, steps: Sequence[Step], i: int) -> str:
    """Message for a path whose step ``i`` matches nothing, with what is there instead."""
    where = _show(steps[: i + 1])
    try:
        parents = [c[k] for c, k in find(data, steps[:i])] if i else [data]
    except PathError:  # pragma: no cover - the prefix matched a moment ago
        parents = []
    step = steps[i]
    hint = ""
    for node in parents[:1]:
        if isinstance(node, dict):
            hint = f"; fields there: {sorted(str(k) for k in node)}"
        elif isinstance(node, list) and step.kind == "select":
            seen = sorted({_text(x.get(step.key)) for x in node if isinstance(x, dict)} - {"None"})
            hint = f"; {step.key} values there: {seen}" if seen else f"; no item has {step.key!r}"
        elif isinstance(node, list):
            hint = f"; the list has {len(node)} items"
        else:
            hint = f"; {_show(steps[:i])} is a single value ({node!r})"
    return f"path {where!r} matches nothing{hint}"


def check_target(data: Any, steps: Sequence[Step], op: Op) -> str:
    """What the path sets: ``"number"``, ``"month"`` or ``"length"``; raises
    :class:`PathError` when a place cannot take a number with ``op``."""
    kinds: set[str] = set()
    for container, key in find(data, steps, missing_ok=op == "set"):
        if key == LENGTH and isinstance(container, dict):
            if not isinstance(container.get("start"), str):
                raise PathError(f"{_show(steps)}: '{LENGTH}' needs a 'start' month on the item")
            kinds.add("length")
            continue
        value = container.get(key) if isinstance(container, dict) else container[key]
        if isinstance(value, str) and MONTH_RE.match(value):
            if op != "add":
                raise PathError(
                    f"{_show(steps)} is a month ({value}); use op 'add' (a number of months)"
                )
            kinds.add("month")
        elif value is None and op == "set":  # a field left at its default (or null)
            kinds.add("number")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise PathError(f"{_show(steps)} is {value!r}, not a number")
        else:
            kinds.add("number")
    if len(kinds) > 1:
        raise PathError(f"{_show(steps)} matches fields of different kinds: {sorted(kinds)}")
    return kinds.pop()


def apply(data: Any, steps: Sequence[Step], op: Op, value: float) -> None:
    """Write ``value`` with ``op`` into every place the path names (in place)."""
    for container, key in find(data, steps, missing_ok=op == "set"):
        if key == LENGTH:
            months = round(value)
            if months < 1:
                raise PathError(f"{_show(steps)}: a length of {value} months is below 1")
            container["end"] = month_label(month_index(container["start"]) + months - 1)
            continue
        old = container.get(key) if isinstance(container, dict) else container[key]
        if isinstance(old, str):  # a month, checked by check_target
            container[key] = month_label(month_index(old) + round(value))
        elif op == "set" or old is None:
            container[key] = float(value)
        elif op == "scale":
            container[key] = old * value
        else:
            container[key] = old + value
        if isinstance(container[key], float) and not math.isfinite(container[key]):
            raise PathError(f"{_show(steps)}: the value {container[key]} is not finite")


def remove(data: Any, steps: Sequence[Step]) -> None:
    """Delete every place the path names (a field to leave at its default); a path that
    names nothing is fine (already absent)."""
    try:
        places = find(data, steps)
    except PathError:
        return
    for container, key in sorted(places, key=lambda p: str(p[1]), reverse=True):
        del container[key]
