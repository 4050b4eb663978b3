"""Dated policy parameters: every instrument parameter is a time series with a unit and a source.

A parameter file is YAML in the OpenFisca style::

    forge.reference_price.ndpr_oxide:
      description: FORGE reference price for NdPr oxide
      unit: usd_per_kg
      values:
        2026-02-04: {value: 110, reference: "MP Materials/DoD release, 2025-07-10", estimate: true}

A value takes effect on its date and stays in force until the next dated value
(``value: null`` ends a parameter). :meth:`ParameterSet.value` resolves a parameter
for a month: the value in force on the month's **last day**, so a value dated
2026-02-04 already governs 2026-02. :meth:`ParameterSet.with_reform` returns a new set
with some dated values overridden (the baseline is untouched: everything is frozen), and
:func:`diff` lists what a reform changed, for the report.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as _field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError, UnknownNameError
from critmin.yamlio import Document, Loc, error_loc, error_text, load_yaml

__all__ = [
    "Change",
    "Parameter",
    "ParameterReads",
    "ParameterSet",
    "ParameterValue",
    "ScalarValue",
    "baseline",
    "diff",
    "month_end",
    "parse_month",
    "reads_traced",
    "trace_reads",
]

ScalarValue = float | int | bool | str | tuple[str, ...] | None


# --------------------------------------------------------------------------- months and dates


def parse_month(text: object, where: str | None = None) -> str:
    """Normalise ``YYYY-MM`` (a string, or a date whose day is dropped) to ``'YYYY-MM'``."""
    if isinstance(text, dt.date):
        return f"{text.year:04d}-{text.month:02d}"
    if isinstance(text, str):
        month = _month_text(text)
        if month is not None:
            return month
    raise InputError(f"expected a month as YYYY-MM (e.g. 2026-04), got {text!r}", where=where)


# Instruments look months up every market-month of every run (~2,000 times a sample of a
# sweep); the answers of these two pure functions of a short string are kept.
@functools.lru_cache(maxsize=4096)
def _month_text(text: str) -> str | None:
    parts = text.strip().split("-")
    if len(parts) == 2 and len(parts[0]) == 4 and parts[0].isdigit() and parts[1].isdigit():
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    return None


@functools.lru_cache(maxsize=4096)
def month_end(month: str) -> dt.date:
    """The last day of month ``'YYYY-MM'``."""
    year, mon = (int(p) for p in parse_month(month).split("-"))
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _parse_effective_date(key: object, where: str) -> dt.date:
    """A dated-value key: ``2026-02-04`` (a YAML date) or ``2026-02`` (first day of that month)."""
    if isinstance(key, dt.datetime):
        return key.date()
    if isinstance(key, dt.date):
        return key
    if isinstance(key, str):
        text = key.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        month = parse_month(text, where=where)
        return dt.date.fromisoformat(f"{month}-01")
    raise InputError(
        f"expected an effective date as YYYY-MM-DD or YYYY-MM, got {key!r}", where=where
    )


# --------------------------------------------------------------------------- definitions


class ParameterValue(BoundedNumbers, BaseModel):
    """One dated value: in force from ``start`` until the next dated value of its parameter."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: dt.date
    value: ScalarValue
    reference: str = Field(min_length=1, description="where the value comes from (seed, source)")
    estimate: bool = Field(False, description="true when the value is an estimate/assumption")
    note: str | None = None

    @field_validator("reference")
    @classmethod
    def _reference_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("reference must not be blank")
        return v


class Parameter(BoundedNumbers, BaseModel):
    """A named time series with a unit and, for every value, a reference."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    description: str = Field(min_length=1)
    unit: str = Field(min_length=1, description="e.g. usd_per_kg, usd, share, t, bool, date")
    values: tuple[ParameterValue, ...] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _sorted_unique(cls, v: tuple[ParameterValue, ...]) -> tuple[ParameterValue, ...]:
        ordered = tuple(sorted(v, key=lambda pv: pv.start))
        for a, b in itertools.pairwise(ordered):
            if a.start == b.start:
                raise ValueError(f"two values dated {a.start.isoformat()}")
        return ordered

    def entry_at(self, day: dt.date) -> ParameterValue | None:
        """The dated value in force on ``day`` (None before the first date)."""
        found: ParameterValue | None = None
        for pv in self.values:
            if pv.start <= day:
                found = pv
            else:
                break
        return found

    def value_at(self, day: dt.date) -> ScalarValue:
        """The value in force on ``day``; :class:`InputError` before the first dated value."""
        entry = self.entry_at(day)
        if entry is None:
            raise InputError(
                f"parameter {self.name!r} has no value on {day.isoformat()}: "
                f"its first value starts {self.values[0].start.isoformat()}"
            )
        return entry.value


@dataclass(frozen=True)
class Change:
    """One difference between a baseline and a reform, for the report."""

    name: str
    start: dt.date
    before: ScalarValue
    after: ScalarValue
    unit: str
    reference: str
    kind: str  # "changed", "added" (parameter new in the reform), "removed"

    def describe(self) -> str:
        """One line: ``name from date: before -> after unit (reference)``."""
        b = "(none)" if self.kind == "added" else _fmt(self.before)
        a = "(none)" if self.kind == "removed" else _fmt(self.after)
        return (
            f"{self.name} from {self.start.isoformat()}: {b} -> {a} {self.unit} ({self.reference})"
        )


def _fmt(v: ScalarValue) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(v) + "]"
    return "null" if v is None else str(v)


# --------------------------------------------------------------------------- the set


class ParameterSet(Mapping[str, Parameter]):
    """An immutable collection of named :class:`Parameter` s (a baseline or a reformed copy)."""

    __slots__ = ("_params", "label", "reader")

    def __init__(self, parameters: Iterable[Parameter], label: str = "baseline") -> None:
        params: dict[str, Parameter] = {}
        for p in parameters:
            if p.name in params:
                raise InputError(f"parameter {p.name!r} is defined twice")
            params[p.name] = p
        self._params: Mapping[str, Parameter] = MappingProxyType(dict(sorted(params.items())))
        self.label = label
        #: who reads through this set (an instrument's name), for the read tracer
        self.reader: str = label

    def for_reader(self, reader: str) -> ParameterSet:
        """The same parameters (shared, not copied), with reads recorded under ``reader``."""
        view = object.__new__(ParameterSet)
        view._params = self._params
        view.label = self.label
        view.reader = reader
        return view

    def entry_in(self, name: str, month: str) -> ParameterValue | None:
        """The dated value of ``name`` in force in ``month`` (on its last day; None before
        the first date). The read is recorded by the active :func:`trace_reads`, if any:
        this is how a run learns which parameters its instruments actually used."""
        param = self[name]
        tracer = _TRACER.get()
        if tracer is not None:
            tracer.record(self.reader, param, month)
        return param.entry_at(month_end(month))

    # Mapping protocol
    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._params[name]
        except KeyError:
            raise UnknownNameError("parameter", name, self._params) from None

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def get(self, name: str, default: Parameter | None = None) -> Parameter | None:  # type: ignore[override]
        """The parameter ``name`` or ``default`` (no error for unknown names)."""
        return self._params.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"ParameterSet({self.label!r}, {len(self)} parameters)"

    # values
    def value(self, name: str, month: str) -> ScalarValue:
        """Value of ``name`` in force in ``month`` (``'YYYY-MM'``): the one on its last day
        (recorded by the active :func:`trace_reads`, like :meth:`entry_in`)."""
        tracer = _TRACER.get()
        if tracer is not None:
            tracer.record(self.reader, self[name], month)
        return self[name].value_at(month_end(month))

    def value_on(self, name: str, day: dt.date) -> ScalarValue:
        """Value of ``name`` in force on a given day."""
        return self[name].value_at(day)

    def float_value(self, name: str, month: str) -> float:
        """Numeric value of ``name`` in ``month``; :class:`InputError` if it is not a number."""
        v = self.value(name, month)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(f"parameter {name!r} in {month} is {v!r}, not a number")
        return float(v)

    # reforms
    def with_reform(
        self, overrides: Mapping[str, Any], label: str = "reform", where: str = "reform"
    ) -> ParameterSet:
        """A new set in which ``overrides`` replace or add dated values; ``self`` is unchanged.

        ``overrides`` has the shape of a parameter file. For an existing parameter only
        ``values`` is needed (a dated value at an existing date replaces it, a new date is
        inserted), e.g. ``{"policy.price_floor.ndpr_oxide": {"values": {"2027-01":
        {"value": 130, "reference": "scenario X"}}}}``. A plain ``{date: value}`` mapping is
        accepted as shorthand; its reference defaults to ``"reform <label>"``. A new
        parameter must also give ``description`` and ``unit``.
        """
        params = dict(self._params)
        for name, spec in overrides.items():
            here = f"{where} parameter {name!r}"
            if not isinstance(spec, Mapping):
                raise InputError("expected a mapping with 'values'", where=here)
            body: Mapping[str, Any] = spec
            if "values" not in spec and not {"description", "unit"} & set(spec):
                body = {"values": dict(spec)}
            base = params.get(name)
            raw_values = body.get("values")
            if not isinstance(raw_values, Mapping) or not raw_values:
                raise InputError("expected 'values': a mapping of date -> value", where=here)
            new_entries = _parse_values(raw_values, here, default_reference=f"reform {label}")
            if base is None:
                missing = [f for f in ("description", "unit") if not body.get(f)]
                if missing:
                    raise InputError(
                        f"new parameter needs {' and '.join(missing)} "
                        f"(known parameters: {len(params)}); a typo?"
                        + (
                            f" did you mean {', '.join(close)}?"
                            if (close := _close(name, params))
                            else ""
                        ),
                        where=here,
                    )
                merged = new_entries
                description, unit = str(body["description"]), str(body["unit"])
            else:
                if "unit" in body and str(body["unit"]) != base.unit:
                    raise InputError(
                        f"unit {body['unit']!r} differs from the baseline unit {base.unit!r}",
                        where=here,
                    )
                _same_kind(base, new_entries, here)
                by_date = {pv.start: pv for pv in base.values}
                by_date.update({pv.start: pv for pv in new_entries})
                merged = list(by_date.values())
                description = str(body.get("description") or base.description)
                unit = base.unit
            params[name] = _make_parameter(name, description, unit, merged, here)
        return ParameterSet(params.values(), label=label)

    # I/O
    @classmethod
    def load(cls, *paths: Path, label: str = "baseline") -> ParameterSet:
        """Read parameter files (a directory means every ``*.yaml`` in it, sorted)."""
        files: list[Path] = []
        for p in paths:
            files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
        params: dict[str, Parameter] = {}
        for f in files:
            for param in _read_file(f):
                if param.name in params:
                    raise InputError(f"parameter {param.name!r} is defined twice", where=str(f))
                params[param.name] = param
        return cls(params.values(), label=label)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_kind(base: Parameter, entries: Iterable[ParameterValue], where: str) -> None:
    """A reform of a numeric parameter gives numbers: a text value passed ``validate`` and
    failed only inside the run."""
    known = [pv.value for pv in base.values if pv.value is not None]  # None: not in force
    if known and all(_is_number(v) for v in known):
        for pv in entries:
            if not (_is_number(pv.value) or pv.value is None):
                raise InputError(
                    f"expected a number in {base.unit}, got {pv.value!r}",
                    where=f"{where} date {pv.start}",
                )


# --------------------------------------------------------------------------- the read tracer


@dataclass
class ParameterReads:
    """Which parameters were read, by whom and for which months (OpenFisca's tracer idea:
    record parameter access while computing, instead of guessing it from the inputs).

    ``record`` is called by :meth:`ParameterSet.entry_in` / :meth:`ParameterSet.value`
    while a :func:`trace_reads` block is active. Keys are the :class:`Parameter` read (the
    reformed one when a reform applies) and the reader's name.
    """

    months: dict[tuple[Parameter, str], set[str]] = _field(default_factory=dict)

    def record(self, reader: str, param: Parameter, month: str) -> None:
        key = (param, reader)
        seen = self.months.get(key)
        if seen is None:
            self.months[key] = {month}
        else:
            seen.add(month)

    def used(self) -> list[dict[str, Any]]:
        """One row per parameter value in force in a month it was read, sorted by name and
        date: ``parameter``, ``description``, ``from``, ``value``, ``unit``, ``reference``,
        ``estimate``, ``instruments`` (the readers)."""
        readers: dict[tuple[str, ParameterValue], tuple[Parameter, set[str]]] = {}
        for (param, reader), months in self.months.items():
            for month in months:
                pv = param.entry_at(month_end(month))
                if pv is None:
                    continue
                _, who = readers.setdefault((param.name, pv), (param, set()))
                who.add(reader)
        rows: list[dict[str, Any]] = []
        for (name, pv), (param, who) in sorted(
            readers.items(), key=lambda kv: (kv[0][0], kv[0][1].start)
        ):
            rows.append(
                {
                    "parameter": name,
                    "description": param.description,
                    "from": pv.start.isoformat(),
                    "value": list(pv.value) if isinstance(pv.value, tuple) else pv.value,
                    "unit": param.unit,
                    "reference": pv.reference,
                    "estimate": pv.estimate,
                    "instruments": sorted(who),
                }
            )
        return rows


_TRACER: ContextVar[ParameterReads | None] = ContextVar("critmin_parameter_reads", default=None)


def reads_traced() -> bool:
    """Whether a :func:`trace_reads` block is active: a cache of what parameters answered
    (the FORGE levy's month plans) is only used outside one, so every read is recorded."""
    return _TRACER.get() is not None


@contextmanager
def trace_reads() -> Iterator[ParameterReads]:
    """Record every parameter read inside the block (nested blocks each see their own)."""
    reads = ParameterReads()
    token = _TRACER.set(reads)
    try:
        yield reads
    finally:
        _TRACER.reset(token)


def _close(name: str, choices: Iterable[str]) -> list[str]:
    from critmin.errors import suggest

    return suggest(name, choices)


def _parse_values(
    raw: Mapping[Any, Any],
    where: str,
    default_reference: str | None = None,
    doc: Document | None = None,
    loc: Loc = (),
) -> list[ParameterValue]:
    """Dated values from ``raw`` (found at ``loc`` in ``doc``, for lines, when read from a file)."""
    out: list[ParameterValue] = []
    for key, entry in raw.items():
        line = doc.line_of((*loc, key)) if doc is not None else None
        here = f"{where}{f':{line}' if line else ''} date {key}"
        start = _parse_effective_date(key, here)
        body = dict(entry) if isinstance(entry, Mapping) else {"value": entry}
        if "value" not in body:
            raise InputError("expected a 'value' field", where=here)
        if "reference" not in body and default_reference is not None:
            body["reference"] = default_reference
        if isinstance(body["value"], list):
            body["value"] = tuple(str(x) for x in body["value"])
        try:
            out.append(ParameterValue(start=start, **body))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in error_loc(err)) or "value"
            line_f = doc.line_of((*loc, key, *error_loc(err)[:1])) if doc is not None else line
            at = f"{where}{f':{line_f}' if line_f else ''} date {key} field {field!r}"
            raise InputError(error_text(err), where=at) from exc
        except TypeError as exc:
            raise InputError(str(exc), where=here) from exc
    return out


def _make_parameter(
    name: str, description: str, unit: str, values: list[ParameterValue], where: str
) -> Parameter:
    try:
        return Parameter(name=name, description=description, unit=unit, values=tuple(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in error_loc(err))
        raise InputError(error_text(err), where=f"{where} field {field!r}") from exc


def _read_file(path: Path) -> list[Parameter]:
    doc = load_yaml(path, unique_keys=True)
    data = doc.require_mapping("a mapping of parameter name -> definition")
    out: list[Parameter] = []
    for name, spec in data.items():
        here = f"{path}:{doc.line_of((name,))} parameter {name!r}"
        if not isinstance(spec, dict):
            raise InputError("expected a mapping with description, unit, values", where=here)
        for field in ("description", "unit", "values"):
            if field not in spec:
                raise InputError(f"missing field {field!r}", where=here)
        extra = set(spec) - {"description", "unit", "values"}
        if extra:
            raise InputError(
                f"unknown field(s) {sorted(extra)}; expected description, unit, values",
                where=here,
            )
        raw_values = spec["values"]
        if not isinstance(raw_values, dict) or not raw_values:
            raise InputError(
                "field 'values' must be a non-empty mapping of date -> {value, reference}",
                where=f"{path}:{doc.line_of((name, 'values'))} parameter {name!r}",
            )
        entries = _parse_values(raw_values, str(path), doc=doc, loc=(name, "values"))
        out.append(
            _make_parameter(str(name), str(spec["description"]), str(spec["unit"]), entries, here)
        )
    return out


@functools.lru_cache(maxsize=1)
def baseline() -> ParameterSet:
    """The shipped baseline (``critmin/policy/data/*.yaml``), parsed once per process (the
    set is immutable, so every caller can share it; parsing takes ~15 ms)."""
    root = resources.files("critmin.policy") / "data"
    with resources.as_file(root) as folder:
        return ParameterSet.load(Path(folder), label="baseline")


# --------------------------------------------------------------------------- diff


def diff(base: ParameterSet, reform: ParameterSet) -> list[Change]:
    """What ``reform`` changes relative to ``base``: one :class:`Change` per differing date.

    For every effective date of either version of a parameter, the values in force on that
    date are compared; a difference is listed with the reform's reference for it.
    """
    changes: list[Change] = []
    for name in sorted(set(base) | set(reform)):
        old = base.get(name)
        new = reform.get(name)
        if old is None and new is not None:
            first = new.values[0]
            changes.append(
                Change(name, first.start, None, first.value, new.unit, first.reference, "added")
            )
            continue
        if new is None and old is not None:
            first = old.values[0]
            changes.append(
                Change(name, first.start, first.value, None, old.unit, "removed", "removed")
            )
            continue
        assert old is not None
        assert new is not None
        dates = sorted({pv.start for pv in old.values} | {pv.start for pv in new.values})
        for day in dates:
            o, n = old.entry_at(day), new.entry_at(day)
            ov = None if o is None else o.value
            nv = None if n is None else n.value
            if ov != nv:
                ref = n.reference if n is not None else "removed in reform"
                changes.append(Change(name, day, ov, nv, new.unit, ref, "changed"))
    return changes
