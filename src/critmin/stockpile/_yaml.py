"""YAML loading that remembers where every value came from (file, line).

:func:`load_yaml_with_lines` returns the plain Python data plus a map from the
path of each node (``("accounts", 0, "acquisition", "budget_usd")``) to its
1-based line, so a pydantic validation error can be reported as
``spec.yaml:23 field 'accounts[0].acquisition.budget_usd': ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from critmin.errors import InputError

PathKey = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
            # the key's own line is the more useful pointer for scalars
            if isinstance(value_node, yaml.ScalarNode):
                lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[PathKey, int]]:
    """Parse ``path``; return ``(data, lines)``. Syntax errors become :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc})", where=str(path)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"invalid YAML: {exc.problem}", where=f"{path}{line}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", where=str(path)) from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def dotted(loc: Sequence[str | int]) -> str:
    """``("accounts", 0, "mineral")`` -> ``"accounts[0].mineral"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def line_of(loc: Sequence[str | int], lines: dict[PathKey, int]) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    key: PathKey = tuple(loc)
    while True:
        if key in lines:
            return lines[key]
        if not key:
            return None
        key = key[:-1]


def validate_model(model: type[M], data: Any, lines: dict[PathKey, int], path: Path) -> M:
    """Validate ``data`` as ``model``; the first error names file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        # pydantic appends the tag of a union member; keep only real keys
        line = line_of(loc, lines)
        where = f"{path}:{line}" if line is not None else str(path)
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        got = err.get("input")
        got_txt = "" if isinstance(got, dict | list) else f"; got {got!r}"
        raise InputError(
            f"{err['msg']}{got_txt}{more}", where=f"{where} field '{dotted(loc)}'"
        ) from None
