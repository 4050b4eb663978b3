"""Bill of materials (BOM) files: schema and a loader that keeps YAML line numbers.

A BOM lists the kilograms of each mineral product in one unit of an end product::

    name: EV traction motor (permanent-magnet synchronous, ~100 kW)
    unit: motor
    units_per_year: 100000
    reference_year: 2024
    items:
      - product: ndpr_oxide
        kg_per_unit: 0.49
        source: "Gutfleisch et al. 2011, doi:10.1002/adma.201002180 (composition)"
        estimate: true
        note: "1.5 kg NdFeB magnet x 28 % NdPr, as oxide"

Every error names the file, the line and the field (``bom.yaml:7 field 'items[0].kg_per_unit'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.errors import InputError

Loc = tuple[str | int, ...]


class BomItem(BaseModel):
    """One line of a BOM: a catalog product (or mineral) id and its mass per unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: str = Field(description="catalog product id (e.g. ndpr_oxide) or mineral id")
    kg_per_unit: float = Field(ge=0.0, description="kg of the product in one unit")
    source: str = Field(min_length=1, description="publication the intensity comes from")
    estimate: bool = Field(default=False, description="true when the intensity is an estimate")
    note: str = Field(default="", description="how the figure was derived")

    @field_validator("product")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class Bom(BaseModel):
    """A bill of materials for one end product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    unit: str = Field(default="unit", min_length=1, description="what one unit is")
    units_per_year: float = Field(default=1.0, gt=0.0, description="units made per year")
    reference_year: int = Field(default=2024, ge=1990, le=2100)
    description: str = ""
    items: tuple[BomItem, ...] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_products(cls, items: tuple[BomItem, ...]) -> tuple[BomItem, ...]:
        seen: set[str] = set()
        for item in items:
            key = item.product.lower()
            if key in seen:
                raise ValueError(f"product {item.product!r} listed twice; merge the lines")
            seen.add(key)
        return items


def _marks(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    """Record the 1-based line of every mapping key / sequence entry below ``node``."""
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            out[(*loc, key)] = key_node.start_mark.line + 1
            _marks(value_node, (*loc, key), out)
            out[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _marks(child, (*loc, i), out)


def format_loc(loc: Loc) -> str:
    """``("items", 0, "kg_per_unit")`` -> ``"items[0].kg_per_unit"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of ``loc`` or of its closest recorded parent (1 for the document)."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def where(path: Path | str, lines: dict[Loc, int], loc: Loc) -> str:
    """``"file.yaml:12 field 'items[0].kg_per_unit'"``."""
    field = format_loc(loc)
    suffix = f" field {field!r}" if field else ""
    return f"{path}:{line_of(lines, loc)}{suffix}"


def parse_bom_text(text: str, path: Path | str = "<bom>") -> tuple[Bom, dict[Loc, int]]:
    """Validate BOM YAML text; return the model and the line of every field."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML: {problem}", where=f"{path}:{line}") from None
    if node is None or not isinstance(data, dict):
        raise InputError(
            "expected a mapping with 'name' and 'items' (a list of products)", where=f"{path}:1"
        )
    lines: dict[Loc, int] = {}
    _marks(node, (), lines)
    try:
        bom = Bom.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: Loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        msg = str(err["msg"])
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(loc)
            msg = f"unknown field; expected one of {', '.join(allowed)}"
            shown = ""
        raise InputError(f"{msg}{shown}", where=where(path, lines, loc)) from None
    return bom, lines


def _allowed_fields(loc: Loc) -> list[str]:
    model: type[BaseModel] = BomItem if "items" in loc else Bom
    return list(model.model_fields)


def load_bom(path: Path | str) -> tuple[Bom, dict[Loc, int]]:
    """Read and validate a BOM file (see module docstring); errors name file:line field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read BOM file: {exc.strerror}", where=str(p)) from None
    return parse_bom_text(text, p)
