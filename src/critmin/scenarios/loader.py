"""Load and validate scenario YAML; every error names the file, the line and the field.

Pydantic reports locations as paths (``("markets", 0, "supply", 1, "qty_t")``);
:mod:`critmin.yamlio` maps them to the line in the file. Only the first problem is raised
(as :class:`~critmin.errors.InputError`), with a count of the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from critmin.bounds import checkpoint, stage
from critmin.errors import CritminError, InputError, UnknownNameError
from critmin.fileio import read_text
from critmin.market.spec import Loc, check_references
from critmin.policy.instrument import REGISTRY, parse_instrument
from critmin.scenarios.plugins import load_instruments
from critmin.scenarios.spec import Scenario
from critmin.yamlio import (
    Document,
    dotted,
    error_loc,
    error_message,
    error_text,
    field_names,
    first_error,
    parse_yaml,
    validate,
)

BUILTIN_PREFIX = "builtin:"
DEFAULT_STUDY = ("ndpr_baseline", "ndpr_china_ban", "ndpr_managed_market")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with where it came from and the hashes of its input files."""

    scenario: Scenario
    source: str
    inputs: dict[str, str]


load_instruments()  # register every instrument kind before any scenario is parsed
_INSTRUMENT_FIELDS = field_names(*REGISTRY.values())


def _parse(text: str, name: str) -> Document:
    doc = parse_yaml(text, name)
    doc.require_mapping("a mapping with at least 'name' and 'markets'")
    return doc


def validate_text(text: str, name: str) -> Scenario:
    """Validate one scenario document (``base`` is not resolved here)."""
    return _validate(_parse(text, name))


def _validate(doc: Document) -> Scenario:
    scenario = validate(Scenario, doc, extra_names=_INSTRUMENT_FIELDS)
    problems = _problems(scenario)
    if problems:
        loc, msg, keep_last = problems[0]
        raise doc.error(loc, msg, len(problems) - 1, keep_last)
    return scenario


def _problems(scenario: Scenario) -> list[tuple[Loc, str, bool]]:
    """What a valid schema can still get wrong: references between markets, instruments'
    own fields, the month range. Each: (location, message, whether the location's last part
    is a field missing from the file)."""
    problems: list[tuple[Loc, str, bool]] = []
    for i, market in enumerate(scenario.markets or []):
        problems += [(loc, msg, False) for loc, msg in check_references(market, ("markets", i))]
    for i, item in enumerate(scenario.instruments):
        try:
            parse_instrument(item)
        except ValidationError as exc:
            err, _ = first_error(exc)
            msg = error_message(err, _INSTRUMENT_FIELDS, REGISTRY.get(str(item.get("kind"))))
            problems.append((("instruments", i, *error_loc(err)), msg, err["type"] == "missing"))
        except ValueError as exc:
            problems.append((("instruments", i, "kind"), str(exc), False))
    if scenario.months is not None:
        try:
            scenario.months.labels()
        except ValueError as exc:
            problems.append((("months", "end"), str(exc), False))
    return problems


def _reference_problems(
    scenario: Scenario, compiled: dict[int, Any] | None = None
) -> list[tuple[Loc, str]]:
    """What a scenario whose markets, shocks and instruments are each valid can still get
    wrong between them; a run would refuse the same (``validate`` finds it first)."""
    return _shock_problems(scenario) or _instrument_problems(scenario, compiled)


def _instrument_problems(
    scenario: Scenario, compiled: dict[int, Any] | None = None
) -> list[tuple[Loc, str]]:
    """Each instrument initialised against the compiled markets it acts on, without solving:
    a product, region or route it names that its market lacks is refused here, at the
    instrument, instead of in the middle of a run with no location. ``compiled``, when
    given, receives each market compiled for the check, by its index in ``markets``."""
    from critmin.market.compile import compile_market
    from critmin.market.engine import initialize_instruments

    specs = scenario.instrument_specs()
    if not specs:
        return []
    months = scenario.month_labels()
    for index, market in enumerate(scenario.markets or []):
        mine = [i for i, spec in enumerate(specs) if spec.mineral in (None, market.mineral)]
        if not mine:
            continue
        checkpoint()  # (a cooperative check between chains, for a thread's time limit)
        cm = compile_market(market, months, scenario.shocks)
        if compiled is not None:
            compiled[index] = cm
        for i in mine:
            try:
                initialize_instruments(cm, [specs[i].build()])
            except CritminError as exc:
                return [(("instruments", i), str(exc))]
    return []


def _locate(problem: tuple[Loc, str], base: LoadedScenario | None) -> tuple[Loc, str, str | None]:
    """A problem found in the merged scenario, located in the file that wrote it: items of
    ``shocks`` and ``instruments`` come first from the base (``_extend``), then the file's own.
    Returns (location, message, source of a base item or None for the file itself)."""
    loc, msg = problem
    if base is None or len(loc) < 2 or loc[0] not in ("shocks", "instruments"):
        return loc, msg, None
    inherited = len(getattr(base.scenario, str(loc[0])))
    index = int(loc[1])
    if index < inherited:
        return loc, msg, base.source
    return (loc[0], index - inherited, *loc[2:]), msg, None


def _check_references(scenario: Scenario, doc: Document, base: LoadedScenario | None) -> None:
    problems = _reference_problems(scenario)
    if problems:
        loc, msg, source = _locate(problems[0], base)
        if source is not None:
            raise InputError(msg, where=f"{source} (the base) field {dotted(loc)!r}")
        raise doc.error(loc, msg)


def _shock_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """Shocks naming a market, product or region the scenario does not have, and instruments
    naming a market it does not have (the runner gives an instrument only the markets of its
    ``mineral``: a typo there was an instrument that silently did nothing)."""
    problems: list[tuple[Loc, str]] = []
    markets = scenario.markets or []
    ids = [m.mineral for m in markets]
    for i, item in enumerate(scenario.instruments):
        named = item.get("mineral") if isinstance(item, dict) else None
        if named is not None and named not in ids:
            msg = UnknownNameError("market", str(named), ids)
            problems.append((("instruments", i, "mineral"), str(msg)))
    all_products = {p for m in markets for p in m.product_ids()}
    all_regions = {r for m in markets for r in m.region_list()}
    for i, shock in enumerate(scenario.shocks):
        if shock.mineral is not None and shock.mineral not in ids:
            msg = UnknownNameError("market", shock.mineral, ids)
            problems.append((("shocks", i, "mineral"), str(msg)))
        products = getattr(shock, "product", None)
        for p in [products] if isinstance(products, str) else products or []:
            if p not in all_products:
                msg = UnknownNameError("product", p, sorted(all_products))
                problems.append((("shocks", i, "product"), str(msg)))
        for field in ("region", "exporter"):
            reg = getattr(shock, field, None)
            if reg is not None and reg not in all_regions:
                msg = UnknownNameError("region", reg, sorted(all_regions))
                problems.append((("shocks", i, field), str(msg)))
    return problems


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
    if path.is_dir():
        raise InputError(
            f"{str(path)!r} is a folder, not a scenario file; name the YAML files in it "
            f"(e.g. {path}/*.yaml) or a built-in scenario (critmin scenarios list)",
            where=ref,
        )
    if not path.exists():  # an unreadable file: read_text says why
        raise InputError(f"no such scenario file {str(path)!r}", where=ref)
    return read_text(path, "scenario file"), str(path), path


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


def _extend(b: Scenario, scenario: Scenario) -> Scenario:
    """``scenario`` with what it leaves out taken from its base ``b`` (shocks, instruments
    and reform entries add up; the scenario's own win)."""
    return scenario.model_copy(
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


def load_scenario(
    ref: str, *, relative_to: Path | None = None, fold_reform: bool = True
) -> LoadedScenario:
    """Load, validate and resolve ``base`` inheritance of a scenario file or built-in name.

    ``relative_to``: a file that ``ref`` is relative to (as a ``base:`` is read relative to
    the scenario naming it; None: the working folder, or a built-in name).
    ``fold_reform=False`` keeps the scenario's merged ``reform`` as data, not yet written
    under its instruments' ``parameters`` - for a caller that changes the scenario before
    running it (a sweep writes sampled values, perhaps into the reform) and then checks the
    result with :func:`scenario_from_data`, which folds it once.
    """
    return _load(ref, (), relative_to, fold_reform)


#: the time-limit message's advice for a scenario too large to read, check or compile in time
SMALLER_SCENARIO = "make the scenario smaller (fewer months, regions or supply blocks)"


def _load(
    ref: str, seen: tuple[str, ...], relative_to: Path | None, fold_reform: bool
) -> LoadedScenario:
    # --time-limit-s counts reading and checking too: a huge valid file is refused in time
    with stage("reading the scenario file", where=ref, hint="give a smaller file"):
        text, name, path = _read(ref, relative_to)
    with stage("reading and checking the scenario", where=name, hint=SMALLER_SCENARIO):
        return _load_text(text, name, path, seen, fold_reform)


def _load_text(
    text: str, name: str, path: Path | None, seen: tuple[str, ...], fold_reform: bool
) -> LoadedScenario:
    if name in seen:
        raise InputError(f"'base' chain loops back to {name}", where=name)
    doc = _parse(text, name)
    scenario = _validate(doc)
    inputs = {name: _sha256(text.encode("utf-8"))}
    base: LoadedScenario | None = None
    if scenario.base is not None:
        # a base never folds its reform: the top scenario folds the merged one
        base = _load(scenario.base, (*seen, name), path, False)
        scenario = _extend(base.scenario, scenario)
        inputs = {**base.inputs, **inputs}
    if scenario.reform and fold_reform:
        scenario = scenario.model_copy(
            update={"instruments": _apply_reform(scenario.reform, scenario.instruments, name)}
        )
    if not scenario.markets:
        raise InputError("a scenario needs 'markets' (or a 'base' that has them)", where=name)
    _check_references(scenario, doc, base)
    return LoadedScenario(scenario, name, inputs)


def load_study(refs: Sequence[str]) -> list[LoadedScenario]:
    """The scenarios to run: ``refs`` or, when empty, the built-in NdPr seed study."""
    return [load_scenario(r) for r in (refs or DEFAULT_STUDY)]


def scenario_from_object(
    scenario: Scenario,
    source: str | None = None,
    *,
    compiled: dict[int, Any] | None = None,
    record_inputs: bool = True,
) -> LoadedScenario:
    """A :class:`Scenario` built in Python, checked as a file would be (references, instrument
    fields, shocks; ``base`` resolved as a path or built-in name from the working folder),
    with its reform applied. Errors name ``source`` (default ``python:<name>``) and the field.

    Its input hash is the SHA-256 of the scenario's canonical JSON, so two equal objects
    record the same input. ``record_inputs=False`` leaves ``inputs`` empty: a sweep records
    each sample's values instead, and the hash (a JSON dump of every market, curve steps
    included) was ~3 % of a sweep sample. ``compiled``, when given, receives the markets the
    instrument check compiled (by index in ``markets``; over the scenario's months with all
    its shocks, as :func:`~critmin.market.compile.compile_market` compiles them for a run),
    so that a caller runs them instead of compiling them again.
    """
    name = source or f"python:{scenario.name}"

    def fail(loc: Loc, msg: str, more: int = 0) -> InputError:
        extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return InputError(msg + extra, where=f"{name} field {dotted(loc)!r}")

    problems = _problems(scenario)
    if problems:
        loc, msg, _ = problems[0]
        raise fail(loc, msg, len(problems) - 1)
    inputs = {name: _sha256(scenario.model_dump_json().encode("utf-8"))} if record_inputs else {}
    base: LoadedScenario | None = None
    if scenario.base is not None:
        base = _load(scenario.base, (name,), None, False)
        scenario = _extend(base.scenario, scenario)
        inputs = {**base.inputs, **inputs}
    if scenario.reform:
        scenario = scenario.model_copy(
            update={"instruments": _apply_reform(scenario.reform, scenario.instruments, name)}
        )
    if not scenario.markets:
        raise InputError("a scenario needs 'markets' (or a 'base' that has them)", where=name)
    ref_problems = _reference_problems(scenario, compiled)
    if ref_problems:
        loc, msg, source = _locate(ref_problems[0], base)
        if source is not None:
            raise InputError(msg, where=f"{source} (the base) field {dotted(loc)!r}")
        raise fail(loc, msg)
    return LoadedScenario(scenario, name, inputs)


def scenario_from_data(
    data: Mapping[str, Any],
    source: str,
    *,
    compiled: dict[int, Any] | None = None,
    record_inputs: bool = True,
) -> LoadedScenario:
    """A scenario given as plain data (what a scenario file holds, e.g. a scenario dumped
    with ``model_dump(by_alias=True)`` and changed), validated and checked as
    :func:`scenario_from_object` checks an object (``compiled`` and ``record_inputs`` as
    there), its reform folded in. The first problem raises
    :class:`~critmin.errors.InputError` naming ``source`` and the field."""
    with stage("checking the scenario", where=source, hint=SMALLER_SCENARIO):
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            err, more = first_error(exc)
            extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            loc = dotted(error_loc(err))
            raise InputError(f"{error_text(err)}{extra}", where=f"{source} field {loc!r}") from None
        return scenario_from_object(
            scenario, source, compiled=compiled, record_inputs=record_inputs
        )
