"""Load and validate scenario YAML; every error names the file, the line and the field.

Pydantic reports locations as paths (``("markets", 0, "supply", 1, "qty_t")``); the loader
walks the YAML node tree along that path to the line of the offending value. Only the first
problem is raised (as :class:`~critmin.errors.InputError`), with a count of the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from critmin.errors import InputError, UnknownNameError, suggest
from critmin.market import spec as market_spec
from critmin.market.spec import Loc, check_references
from critmin.policy.instrument import REGISTRY, parse_instrument
from critmin.scenarios.plugins import load_instruments
from critmin.scenarios.spec import Months, Scenario

BUILTIN_PREFIX = "builtin:"
DEFAULT_STUDY = ("ndpr_baseline", "ndpr_china_ban", "ndpr_managed_market")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with where it came from and the hashes of its input files."""

    scenario: Scenario
    source: str
    inputs: dict[str, str]


def _all_field_names() -> set[str]:
    names: set[str] = set()
    models: list[type[BaseModel]] = [Scenario, Months, *REGISTRY.values()]
    for obj in vars(market_spec).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            models.append(obj)
    for model in models:
        for fname, info in model.model_fields.items():
            names.add(info.alias or fname)
    return names


def _line_of(root: yaml.Node | None, loc: Loc) -> tuple[int | None, list[str]]:
    """1-based line of the deepest YAML node along ``loc`` and the path actually found."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    found: list[str] = []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if key.value == str(part):
                    nxt = (key, value)
                    break
            if nxt is None:
                continue  # discriminator tag or union branch in the pydantic path
            key_node, node = nxt
            line = key_node.start_mark.line + 1
            found.append(str(part))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
            found.append(f"[{part}]")
        else:
            continue
    return line, found


def _dotted(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int) or (isinstance(p, str) and p.startswith("[")):
            out += p if isinstance(p, str) else f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _error(name: str, root: yaml.Node | None, loc: Loc, message: str, more: int = 0) -> InputError:
    line, _ = _line_of(root, loc)
    field = _dotted([p for p in loc if not (isinstance(p, str) and p in _TAGS)])
    where = f"{name}:{line}" if line else name
    if field:
        where += f" field '{field}'"
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(message, where=where)


_TAGS = {
    "export_ban",
    "outage",
    "demand_surge",
    "float",
    "dict[str,constrained-float]",
    "constrained-float",
    "str",
    "list[str]",
}


def _pydantic_message(err: Any) -> str:
    etype = err["type"]
    loc = err["loc"]
    if etype == "extra_forbidden":
        field = str(loc[-1])
        close = suggest(field, _FIELD_NAMES)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return f"unknown field {field!r}{hint}"
    if etype == "missing":
        return f"missing required field {str(loc[-1])!r}"
    msg = str(err["msg"])
    value = err.get("input")
    if etype in ("union_tag_invalid",):
        return msg
    if not isinstance(value, dict | list):
        msg += f" (got {value!r})"
    return msg


load_instruments()  # register every instrument kind before any scenario is parsed
_FIELD_NAMES = _all_field_names()


def _parse(text: str, name: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"not valid YAML: {exc.problem or exc}", where=f"{name}{line}") from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping with at least 'name' and 'markets'", where=name)
    return data, root


def validate_text(text: str, name: str) -> Scenario:
    """Validate one scenario document (``base`` is not resolved here)."""
    data, root = _parse(text, name)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # a misspelt field shows up as "unknown" + "missing": report the misspelling first
        errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errs[0]
        raise _error(name, root, first["loc"], _pydantic_message(first), len(errs) - 1) from None
    problems: list[tuple[Loc, str]] = []
    for i, market in enumerate(scenario.markets or []):
        problems += check_references(market, ("markets", i))
    for i, item in enumerate(scenario.instruments):
        try:
            parse_instrument(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            problems.append((("instruments", i, *err["loc"]), _pydantic_message(err)))
        except ValueError as exc:
            problems.append((("instruments", i, "kind"), str(exc)))
    if scenario.months is not None:
        try:
            scenario.months.labels()
        except ValueError as exc:
            problems.append((("months", "end"), str(exc)))
    if problems:
        loc, msg = problems[0]
        raise _error(name, root, loc, msg, len(problems) - 1)
    return scenario


def _check_shocks(scenario: Scenario, name: str, root: yaml.Node | None) -> None:
    markets = scenario.markets or []
    ids = [m.mineral for m in markets]
    all_products = {p for m in markets for p in m.product_ids()}
    all_regions = {r for m in markets for r in m.region_list()}
    for i, shock in enumerate(scenario.shocks):
        if shock.mineral is not None and shock.mineral not in ids:
            msg = UnknownNameError("market", shock.mineral, ids)
            raise _error(name, root, ("shocks", i, "mineral"), str(msg))
        products = getattr(shock, "product", None)
        for p in [products] if isinstance(products, str) else products or []:
            if p not in all_products:
                msg = UnknownNameError("product", p, sorted(all_products))
                raise _error(name, root, ("shocks", i, "product"), str(msg))
        for field in ("region", "exporter"):
            reg = getattr(shock, field, None)
            if reg is not None and reg not in all_regions:
                msg = UnknownNameError("region", reg, sorted(all_regions))
                raise _error(name, root, ("shocks", i, field), str(msg))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def builtin_names() -> list[str]:
    folder = resources.files("critmin.scenarios") / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read(ref: str, relative_to: Path | None) -> tuple[str, str, Path | None]:
    """(text, display name, path or None for built-ins) of a file path or builtin name."""
    if ref.startswith(BUILTIN_PREFIX) or (
        relative_to is None and not ref.endswith((".yaml", ".yml")) and "/" not in ref
    ):
        key = ref.removeprefix(BUILTIN_PREFIX)
        names = builtin_names()
        if key not in names:
            raise UnknownNameError("built-in scenario", key, names)
        text = (resources.files("critmin.scenarios") / "builtin" / f"{key}.yaml").read_text("utf-8")
        return text, f"{BUILTIN_PREFIX}{key}", None
    path = Path(ref) if relative_to is None else (relative_to.parent / ref)
    if not path.is_file():
        raise InputError(f"no such scenario file {str(path)!r}", where=ref)
    return path.read_text("utf-8"), str(path), path


def _apply_reform(
    reform: dict[str, Any], instruments: list[dict[str, Any]], where: str
) -> list[dict[str, Any]]:
    """The scenario's ``reform:`` under each parameter-reading instrument's own ``parameters:``
    (the instrument's own entries win). Checked against the baseline parameters first, so a
    typo'd name fails here, naming the scenario, not later inside a run."""
    from critmin.policy.parameters import baseline

    baseline().with_reform(reform, label="scenario", where=f"{where} field 'reform'")
    out: list[dict[str, Any]] = []
    readers = 0
    for item in instruments:
        cls = REGISTRY.get(str(item.get("kind")))
        if cls is not None and "parameters" in cls.model_fields:
            readers += 1
            out.append({**item, "parameters": {**reform, **(item.get("parameters") or {})}})
        else:
            out.append(item)
    if not readers:
        raise InputError(
            "a 'reform' needs an instrument that reads dated parameters "
            "(forge_levy, topup_floor, purchase_floor); this scenario has none",
            where=f"{where} field 'reform'",
        )
    return out


def load_scenario(
    ref: str, _seen: tuple[str, ...] = (), _relative_to: Path | None = None
) -> LoadedScenario:
    """Load, validate and resolve ``base`` inheritance of a scenario file or built-in name."""
    text, name, path = _read(ref, _relative_to)
    if name in _seen:
        raise InputError(f"'base' chain loops back to {name}", where=name)
    scenario = validate_text(text, name)
    inputs = {name: _sha256(text.encode("utf-8"))}
    if scenario.base is not None:
        base_ref = scenario.base
        base = load_scenario(base_ref, (*_seen, name), path)
        b = base.scenario
        scenario = scenario.model_copy(
            update={
                "base": None,
                "markets": scenario.markets if scenario.markets is not None else b.markets,
                "months": scenario.months or b.months,
                "seed": scenario.seed if scenario.seed is not None else b.seed,
                "shocks": [*b.shocks, *scenario.shocks],
                "instruments": [*b.instruments, *scenario.instruments],
                "reform": {**b.reform, **scenario.reform},
            }
        )
        inputs = {**base.inputs, **inputs}
    if scenario.reform and not _seen:  # only the top scenario applies its (merged) reform
        scenario = scenario.model_copy(
            update={"instruments": _apply_reform(scenario.reform, scenario.instruments, name)}
        )
    if not scenario.markets:
        raise InputError("a scenario needs 'markets' (or a 'base' that has them)", where=name)
    _, root = _parse(text, name)
    _check_shocks(scenario, name, root)
    return LoadedScenario(scenario, name, inputs)


def load_study(refs: Sequence[str]) -> list[LoadedScenario]:
    """The scenarios to run: ``refs`` or, when empty, the built-in NdPr seed study."""
    return [load_scenario(r) for r in (refs or DEFAULT_STUDY)]
