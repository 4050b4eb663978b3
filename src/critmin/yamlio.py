"""YAML input that remembers where every value came from, and errors told by file, line, field.

Every YAML file critmin reads (BOMs, stockpile specs, contracts, origin rules, dated
parameters, scenarios) goes through this module:

* :func:`parse_yaml` / :func:`load_yaml` give a :class:`Document`: the plain Python data (as
  ``yaml.safe_load`` builds it) and the 1-based line of every node: a mapping entry is on its
  key's line, a list item on the line where the item starts. A YAML syntax error becomes an
  :class:`~critmin.errors.InputError` at ``file:line``; ``unique_keys=True`` also rejects a
  key written twice in one mapping.
* :meth:`Document.line_of` maps a location such as pydantic's ``("items", 0, "kg_per_unit")``
  to a line, falling back to the nearest ancestor that is in the file (a missing field is
  reported on the line of the mapping that lacks it).
* :func:`dotted` formats a location as ``items[0].kg_per_unit``.
* :func:`validate` validates a document as a pydantic model and raises one ``InputError`` for
  the first problem: ``bom.yaml:6 field 'items[0].kg_per_unit': Input should be a valid
  number (got 'lots') (and 1 more problem)``. Unknown fields get a "did you mean" from the
  model's field names, missing fields are named, and the tags pydantic puts in the location
  of a union member (``'float'``, ``'outage'``) are left out of the field.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from critmin.errors import FieldValueError, InputError, suggest
from critmin.fileio import read_text
from critmin.isolate import run_bounded

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "Document",
    "FieldValueError",
    "Loc",
    "dotted",
    "drop_extension_keys",
    "error_loc",
    "error_message",
    "error_text",
    "field_names",
    "fields_at",
    "first_error",
    "load_json",
    "load_yaml",
    "parse_yaml",
    "validate",
    "validation_error",
]

Loc = tuple[Any, ...]
"""A path into a document: mapping keys and list indices (pydantic's ``loc`` is one)."""

M = TypeVar("M", bound=BaseModel)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
#: what a scalar of these tags must be, for the message when it is not
_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a real date",
    "tag:yaml.org,2002:bool": "a yes/no value",
}

#: a float as YAML 1.2 spells it (``1e6``, ``1.5E-3``) that PyYAML's YAML 1.1 rules leave a
#: string (1.1 wants a dot and a signed exponent: ``1.0e+6``). Such a plain (unquoted,
#: untagged) scalar is read as the float it looks like, so a number field can refuse real
#: strings (``"12"``, ``"1,200"``: :class:`critmin.bounds.StrictNumbers`) without refusing
#: ``capacity_t: 1e6``. The loader's resolver gives it :data:`_YAML12_FLOAT_TAG`; a scalar
#: tagged ``!!str`` by its writer is never resolved, so ``!!str 1e6`` stays the string it
#: says it is (and a number field refuses it), as ``"1e6"`` does.
_YAML12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+")
#: the tag of such a scalar: :class:`_Builder` reads a value of it as a float; as a mapping
#: key (built by the loader) it stays the text it was, as before
_YAML12_FLOAT_TAG = "tag:critmin,2026:yaml12-float"


def drop_extension_keys(data: Any) -> Any:
    """``data`` without its top-level ``x-`` keys: room for YAML anchors in every file format
    (``x-defaults: &d ...``), ignored by the models (a ``mode="before"`` validator's body)."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not str(k).startswith("x-")}
    return data


def dotted(loc: Sequence[Any]) -> str:
    """``("markets", 0, "supply", 1, "qty_t")`` -> ``"markets[0].supply[1].qty_t"``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _more(n: int) -> str:
    return f" (and {n} more problem{'s' if n > 1 else ''})" if n > 0 else ""


@dataclass(frozen=True)
class Document:
    """Data read from one YAML file plus the line of every node in it.

    ``lines`` maps the path of each node (mapping keys as built by YAML, e.g. a date, and
    list indices) to its 1-based line; ``()`` is the document itself.
    """

    name: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def _child(self, path: Loc, part: Any) -> tuple[Any, bool]:
        """The key below ``path`` that ``part`` names (``'2027'`` names a key ``2027``)."""
        try:
            if (*path, part) in self.lines:
                return part, True
        except TypeError:  # an unhashable part names no node
            return None, False
        if isinstance(part, str):
            depth = len(path) + 1
            for key in self.lines:
                if len(key) == depth and key[:-1] == path and str(key[-1]) == part:
                    return key[-1], True
        return None, False

    def resolve(self, loc: Sequence[Any], keep_last: bool = False) -> tuple[Loc, Loc]:
        """``(node path, field)`` of a location: the deepest node of the file along ``loc``,
        and ``loc`` without the parts that name no node (pydantic's union tags).

        The last part is kept in the field when ``keep_last`` (a missing field); an index
        past the end of a list is kept too.
        """
        path: Loc = ()
        shown: list[Any] = []
        for i, part in enumerate(loc):
            key, found = self._child(path, part)
            if found:
                path = (*path, key)
                shown.append(part)
            elif (isinstance(part, int) and not isinstance(part, bool)) or (
                keep_last and i == len(loc) - 1
            ):
                shown.append(part)
        return path, tuple(shown)

    def line_of(self, loc: Sequence[Any]) -> int:
        """The line of the node at ``loc``, else of its nearest ancestor in the file (1)."""
        path, _ = self.resolve(loc)
        return self.lines.get(path, 1)

    def where(self, loc: Sequence[Any] = (), keep_last: bool = False) -> str:
        """``"file.yaml:12 field 'items[0].kg_per_unit'"`` (no field part for ``()``)."""
        path, shown = self.resolve(loc, keep_last)
        text = f"{self.name}:{self.lines.get(path, 1)}"
        return f"{text} field {dotted(shown)!r}" if shown else text

    def error(
        self, loc: Sequence[Any], message: str, more: int = 0, keep_last: bool = False
    ) -> InputError:
        """An :class:`InputError` at ``loc``, counting ``more`` further problems."""
        return InputError(message + _more(more), where=self.where(loc, keep_last))

    def require_mapping(self, expected: str) -> dict[Any, Any]:
        """The data when it is a mapping; else ``InputError("expected <expected>; got ...")``."""
        if isinstance(self.data, dict):
            return self.data
        got = (
            "an empty document"
            if self.data is None
            else "a list"
            if isinstance(self.data, list)
            else f"a single value ({self.data!r})"
        )
        raise InputError(f"expected {expected}; got {got}", where=f"{self.name}:{self.line_of(())}")


# --------------------------------------------------------------------------- reading

#: deepest nesting of mappings/lists accepted in a YAML or JSON input. critmin's own formats
#: nest at most ~8 levels (an EPCIS document ~10); 5,000 nested maps used to end in a
#: RecursionError traceback and 50,000 in a segfault of PyYAML 6.0.3.
MAX_DEPTH = 100

#: most nodes a YAML document may expand to once its aliases are followed. Aliases are
#: rebuilt at every use, so nine levels of nine aliases ("billion laughs") expand a 1 KB
#: file to 9^9 nodes (2.5 GB in 20 s); the largest shipped YAML has ~3,000 nodes.
MAX_NODES = 1_000_000


def _check_size(root: yaml.Node, name: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` or expanding (aliases
    followed) to more than :data:`MAX_NODES` nodes, before anything is built.

    One pass over the distinct nodes, iterative (no recursion to exhaust): the expanded size
    of a node is memoised by identity, so a shared (aliased) node is sized once.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    # (node, depth, children visited?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1
            for child in _children(node):
                total += size[id(child)]
            if total > MAX_NODES:
                raise InputError(
                    f"YAML aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?); "
                    "write the data out or use fewer nested aliases",
                    where=f"{name}:{node.start_mark.line + 1}",
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise InputError(
                "an alias refers to itself", where=f"{name}:{node.start_mark.line + 1}"
            )
        if depth > MAX_DEPTH:
            raise InputError(
                f"nested deeper than {MAX_DEPTH} levels", where=f"{name}:{node.start_mark.line + 1}"
            )
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) not in size:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Builder:
    """Builds plain data from a composed YAML node tree, recording every node's line."""

    def __init__(self, loader: yaml.SafeLoader, name: str, unique_keys: bool) -> None:
        self.loader = loader
        self.name = name
        self.unique_keys = unique_keys
        self.lines: dict[Loc, int] = {}
        self._open: set[int] = set()
        self._own: dict[int, int] = {}  # pairs of a mapping that are not ``<<`` merges

    def build(self, node: yaml.Node, path: Loc, line: int) -> Any:
        self.lines[path] = line
        if len(path) >= MAX_DEPTH:  # the path's length is the nesting depth
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", where=f"{self.name}:{line}")
        if id(node) in self._open:
            raise InputError("an alias refers to itself", where=f"{self.name}:{line}")
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            self._open.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self._open.discard(id(node))
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            self._open.add(id(node))
            try:
                return [
                    self.build(item, (*path, i), item.start_mark.line + 1)
                    for i, item in enumerate(node.value)
                ]
            finally:
                self._open.discard(id(node))
        if isinstance(node, yaml.ScalarNode) and node.tag == _YAML12_FLOAT_TAG:
            return float(node.value)
        return self.construct(node, line)

    def construct(self, node: yaml.Node, line: int) -> Any:
        """PyYAML's value of a scalar (or a node tagged otherwise); a scalar that its tag or
        its look makes a date, an integer or a number but that is none (``2026-02-30``, an
        integer of 5,000 digits, ``!!float abc``) is one ``InputError`` at ``file:line``: the
        constructors raise a bare ``ValueError``, which reached the user as an internal error."""
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            if not isinstance(node, yaml.ScalarNode) or isinstance(exc, yaml.YAMLError):
                raise
            kind = _KINDS.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]} value")
            text = str(node.value)
            shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
            why = str(exc)
            if "integer string conversion" in why:  # Python's own limit on int(str)
                digits = sum(c.isdigit() for c in text)
                why = f"{digits:,} digits, at most {sys.get_int_max_str_digits():,}"
            raise InputError(
                f"not valid YAML: {shown} is not {kind} ({why})", where=f"{self.name}:{line}"
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: Loc) -> dict[Any, Any]:
        # an alias builds its node again: count the own pairs before the first flattening
        own = self._own.setdefault(id(node), sum(1 for k, _ in node.value if k.tag != _MERGE_TAG))
        self.loader.flatten_mapping(node)  # ``<<: *base`` entries come first, then our own
        first_own = len(node.value) - own
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for i, (key_node, value_node) in enumerate(node.value):
            line = key_node.start_mark.line + 1
            key = self.construct(key_node, line)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    "a mapping key must be a scalar", where=f"{self.name}:{line}"
                ) from None
            if self.unique_keys and i >= first_own and key in seen:
                raise InputError(
                    f"duplicate key {key!r} (first at line {seen[key]})",
                    where=f"{self.name}:{line}",
                )
            if i >= first_own:
                seen[key] = line
            out[key] = self.build(value_node, (*path, key), line)
        return out


#: libyaml's parser when PyYAML was built with it (the PyPI wheels are): the same nodes and
#: marks as the pure-Python parser, ~8x faster (the default study's YAML: 0.3 s -> 0.04 s)
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_SEXAGESIMAL_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, resolving a plain YAML 1.2 float (``1e6``) to :data:`_YAML12_FLOAT_TAG`.

    Both parsers (libyaml's and PyYAML's) ask ``resolve`` for the tag of a scalar only when
    its writer gave none: ``!!str 1e6`` keeps its explicit string tag."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)
        if tag in _SEXAGESIMAL_TAGS and ":" in value:
            # YAML 1.1's base-60 numbers (``1:30`` = 90), which YAML 1.2 dropped, stay
            # strings: PyYAML builds one digit group at a time in a growing integer, so a
            # 20 MB ``1:30:30:...`` took minutes of big-number arithmetic
            return _STR_TAG
        if (
            tag == _STR_TAG
            and kind is yaml.ScalarNode
            and implicit[0]  # plain: a quoted "1e6" is a string
            and _YAML12_FLOAT.fullmatch(value)
        ):
            return _YAML12_FLOAT_TAG
        return tag


_Loader.add_constructor(_YAML12_FLOAT_TAG, yaml.SafeLoader.construct_yaml_str)


def parse_yaml(text: str, name: str, *, unique_keys: bool = True) -> Document:
    """Parse YAML ``text`` read from ``name`` (used in messages) into a :class:`Document`.

    Syntax errors become :class:`InputError` at ``name:line``; a key given twice in one
    mapping is an error naming both lines (YAML would silently keep the last) unless
    ``unique_keys=False``. A document nested deeper than :data:`MAX_DEPTH` or whose aliases
    expand to more than :data:`MAX_NODES` nodes is refused before it is built. A long text
    under a time limit that may not outlast libyaml's scan is parsed in a child process the
    limit can stop (:func:`critmin.isolate.run_bounded`): the same document, the same errors.
    """
    data, lines = run_bounded(_parse_yaml, text, name, unique_keys, size=len(text), where=name)
    return Document(name, data, lines)


def _parse_yaml(text: str, name: str, unique_keys: bool) -> tuple[Any, dict[Loc, int]]:
    """:func:`parse_yaml`'s work: the data and the lines of its nodes."""
    if "\x00" in text:
        nul_line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(
            "not valid YAML: a NUL character (a binary file?)", where=f"{name}:{nul_line}"
        )
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            if "&" in text:  # no anchor, no alias: the build below checks the depth
                _check_size(node, name)
            builder = _Builder(loader, name, unique_keys)
            data = builder.build(node, (), node.start_mark.line + 1)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML: {problem}", where=f"{name}{line}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", where=name) from None
    except RecursionError:  # the pure-Python parser on deep nesting (libyaml refuses it)
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", where=name) from None
    return data, builder.lines


def load_yaml(path: Path | str, *, what: str = "file", unique_keys: bool = True) -> Document:
    """Read (:func:`critmin.fileio.read_text`) and parse a YAML file; every problem is one
    ``InputError`` naming the file (``cannot read <what>: ...``, ``file:line ...``)."""
    return parse_yaml(read_text(path, what), str(path), unique_keys=unique_keys)


def _json_depth_ok(data: Any) -> bool:
    """No node deeper than :data:`MAX_DEPTH` (the root is level 1). Walked level by level over
    containers only: a 40 MB EPCIS document has millions of scalars (a stack of (node, depth)
    pairs over every node cost a tenth of its import time)."""
    level = [data] if isinstance(data, dict | list) else []
    depth = 1
    while level:
        if depth >= MAX_DEPTH and any(level):  # a non-empty container: children deeper
            return False
        below: list[Any] = []
        for node in level:
            for v in node.values() if isinstance(node, dict) else node:
                if isinstance(v, dict | list):
                    below.append(v)
        level, depth = below, depth + 1
    return True


def load_json(
    path: Path | str, *, what: str = "JSON file", text: str | None = None, unique_keys: bool = True
) -> Any:
    """Read and parse a JSON file with the same limits as YAML; one ``InputError`` each for:
    unreadable or not UTF-8 (:func:`~critmin.fileio.read_text`), not JSON (with line and
    column), nested deeper than :data:`MAX_DEPTH`, a key given twice in one object (unless
    ``unique_keys=False``: the last one wins, as in every JSON-LD processor; GS1's own EPCIS
    examples hold such keys), an integer of more than 4,300 digits, and ``NaN``/``Infinity``
    (not JSON, though Python's parser accepts them). A long text under a time limit that may
    not outlast ``json.loads`` (one call into C) is parsed in a child process the limit can
    stop (:func:`critmin.isolate.run_bounded`): the same data, the same errors."""
    if text is None:
        text = read_text(path, what)
    return run_bounded(_parse_json, text, str(path), unique_keys, size=len(text), where=str(path))


def _parse_json(text: str, path: str, unique_keys: bool) -> Any:
    """:func:`load_json`'s parse of ``text`` (read from ``path``)."""
    import json

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"duplicate key {k!r} in one object")
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        data = json.loads(
            text, object_pairs_hook=pairs if unique_keys else None, parse_constant=constant
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}") from None
    except RecursionError:
        raise InputError(
            f"not valid JSON: nested deeper than {MAX_DEPTH} levels", where=path
        ) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", where=path) from None
    if not _json_depth_ok(data):
        raise InputError(f"not valid JSON: nested deeper than {MAX_DEPTH} levels", where=path)
    return data


# --------------------------------------------------------------------------- validation


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def field_names(*models: type[BaseModel]) -> set[str]:
    """The field names (and aliases) of ``models`` and of every model nested in their fields."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for fname, info in model.model_fields.items():
            names.add(info.alias or fname)
            todo.extend(_models_in(info.annotation))
    return names


def _arms(annotation: Any) -> list[Any]:
    """``X | Y``, ``Optional[X]`` and ``Annotated[X, ...]`` taken apart into their types."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _arms(typing.get_args(annotation)[0])
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        return [arm for arg in typing.get_args(annotation) for arm in _arms(arg)]
    return [annotation]


def _step(annotation: Any, part: Any) -> list[Any]:
    """The types found one location part below ``annotation``."""
    out: list[Any] = []
    for arm in _arms(annotation):
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            for fname, info in arm.model_fields.items():
                if part in (fname, info.alias):
                    out.append(info.annotation)
            continue
        origin, args = typing.get_origin(arm), typing.get_args(arm)
        if origin in (list, tuple, set, frozenset, Sequence) and isinstance(part, int) and args:
            out.extend(a for a in args if a is not Ellipsis)
        elif origin in (dict, Mapping) and len(args) == 2:
            out.append(args[1])
    return out


def fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The field names allowed at ``loc`` (a field's location: its last part is left out).

    Parts that lead nowhere (pydantic's union tags) are passed over; every model a union
    there may hold contributes its fields.
    """
    here: list[Any] = [model]
    for part in loc[:-1]:
        below = [t for ann in here for t in _step(ann, part)]
        here = below or here
    names: dict[str, None] = {}
    for ann in here:
        for arm in _arms(ann):
            if isinstance(arm, type) and issubclass(arm, BaseModel):
                names.update((info.alias or f, None) for f, info in arm.model_fields.items())
    return list(names)


def error_message(
    err: ErrorDetails, names: Iterable[str] = (), model: type[BaseModel] | None = None
) -> str:
    """One pydantic error as a sentence (the location is told apart, by :func:`validate`).

    Unknown field -> ``unknown field 'x'; did you mean y?`` (the closest of the fields
    ``model`` allows there, else of ``names``), or ``expected one of ...`` when none is
    close; missing -> ``missing required field 'x'``; otherwise pydantic's message plus
    ``(got <value>)`` for a scalar value that the message does not already show.
    """
    etype, loc = err["type"], err["loc"]
    if etype == "extra_forbidden" and loc:
        name = str(loc[-1])
        allowed = fields_at(model, loc) if model is not None else []
        close = suggest(name, allowed) or suggest(name, names)
        if close:
            return f"unknown field {name!r}; did you mean {' or '.join(close)}?"
        if allowed:
            return f"unknown field {name!r}; expected one of {', '.join(allowed)}"
        return f"unknown field {name!r}"
    if etype == "missing" and loc:
        return f"missing required field {str(loc[-1])!r}"
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        msg = str(cause)
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
    if "input" in err:
        value = err["input"]
        shown = value.isoformat() if isinstance(value, dt.date) else repr(value)
        if not isinstance(value, dict | list | tuple | BaseModel) and shown not in msg:
            msg += f" (got {shown})"
    return msg


def error_loc(err: ErrorDetails) -> Loc:
    """Where one pydantic error is: its ``loc``, plus the field a model validator named by
    raising :class:`FieldValueError` (a range or number-type check of a spec's field)."""
    loc: Loc = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldValueError):
        field = cause.field
        loc = (*loc, *(field.split(".") if isinstance(field, str) else field))
    return loc


def error_text(err: ErrorDetails) -> str:
    """One pydantic error's message without pydantic's ``Value error, `` prefix."""
    cause = (err.get("ctx") or {}).get("error")
    return (
        str(cause)
        if isinstance(cause, ValueError)
        else str(err["msg"]).removeprefix("Value error, ")
    )


def first_error(exc: ValidationError) -> tuple[ErrorDetails, int]:
    """The problem of ``exc`` to tell (an unknown field before the rest: a misspelt field
    also shows up as a missing one) and how many others there are."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return errors[0], len(errors) - 1


def validation_error(
    exc: ValidationError,
    doc: Document,
    names: Iterable[str] = (),
    model: type[BaseModel] | None = None,
) -> InputError:
    """The first problem of ``exc`` (:func:`first_error`) as an :class:`InputError` at its
    place in ``doc``, with the count of the others."""
    err, more = first_error(exc)
    loc = error_loc(err)
    cause = (err.get("ctx") or {}).get("error")
    keep_last = err["type"] == "missing" or isinstance(cause, FieldValueError)
    return doc.error(loc, error_message(err, names, model), more, keep_last)


def validate(model: type[M], doc: Document, *, extra_names: Iterable[str] = ()) -> M:
    """``model`` validated from ``doc.data``; one :class:`InputError` if it does not fit.

    "Did you mean" suggestions come from the field names of ``model`` (recursively) and
    ``extra_names``.
    """
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        names = field_names(model) | set(extra_names)
        raise validation_error(exc, doc, names, model) from None
