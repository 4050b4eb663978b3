"""Numbers in range at the boundary: what an input file or an option may hold.

Every number critmin reads must be finite (the pydantic specs use ``allow_inf_nan=False``)
and of a size the model can compute with. :class:`BoundedNumbers` is a pydantic mixin that
checks each number field of a spec (and numbers in its lists and dicts) against the limits
below, by the unit its name carries:

=====================  ============================  =========================================
field name ends in     allowed                       why
=====================  ============================  =========================================
``_usd_per_t``         0, or 0.01 .. 1e9 in size     the clearing LP's tolerances are ~1e-7:
                                                     prices under a cent per tonne (1e-6 USD/t)
                                                     blur into zero and the equilibrium comes
                                                     out wrong; 1e9 USD/t (1,000 USD per gram)
                                                     is above any traded mineral
``_t``, ``_t_per_year``  at most 1e10 in size        ten billion tonnes: above the world's
``_t_per_month``                                     largest mined commodity (iron ore, ~2.5e9
                                                     t a year)
anything else          at most 1e15 in size          a quadrillion: above any amount of money
                                                     or count the model uses; 1e308 overflows
=====================  ============================  =========================================

A number must also *be* a number (:class:`StrictNumbers`, which :class:`BoundedNumbers`
includes): pydantic's lax mode reads ``true`` as 1.0 and the string ``"12"`` as 12, so
``capacity_t: yes`` or ``price_usd_per_t: "1,200"``-style typos would pass silently or with a
number the user never wrote. A field typed as a number (also inside lists, tuples and dicts)
refuses booleans and strings; a field whose type admits a string or a boolean is left alone.

:func:`check_option` applies the same rules to a command-line option.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import functools
import math
import signal
import sys
import threading
import time
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, model_validator

from critmin.errors import CritminError, FieldValueError, InputError
from critmin.fileio import uninterrupted_now

__all__ = [
    "MAX_ABS",
    "MAX_TONNES",
    "MAX_USD_PER_T",
    "MIN_USD_PER_T",
    "YEAR_MAX",
    "YEAR_MIN",
    "BoundedNumbers",
    "Stage",
    "StrictNumbers",
    "TimeLimit",
    "TimeLimitError",
    "TimeUp",
    "check",
    "check_memory",
    "check_memory_limit",
    "check_time_limit",
    "checkpoint",
    "current_time_limit",
    "memory_backstop",
    "memory_limit",
    "memory_limit_gib",
    "stage",
    "time_limit",
]

MAX_ABS = 1e15
MAX_TONNES = 1e10
MAX_USD_PER_T = 1e9
MIN_USD_PER_T = 0.01
#: years a data option (``--year``) may name: the catalog's sources cover 1984 (World Mining
#: Data) to 2024 (USGS); a year outside 1900..2100 is a typo, not a question about data
YEAR_MIN, YEAR_MAX = 1900, 2100

_TONNE_SUFFIXES = ("_t", "_t_per_year", "_t_per_month")


def check(name: str, value: float, *, lp_price: bool = True) -> str | None:
    """Why ``value`` cannot be the number ``name`` (None when it is fine); the floor of
    :data:`MIN_USD_PER_T` applies when ``lp_price`` (the number reaches the clearing LP)."""
    if not math.isfinite(value):
        return f"expected a finite number, got {value}"
    size = abs(value)
    if name.endswith("_usd_per_t"):
        if size > MAX_USD_PER_T:
            return f"{value:g} USD/t is out of range (at most {MAX_USD_PER_T:g} USD/t)"
        if lp_price and 0 < size < MIN_USD_PER_T:
            return (
                f"{value:g} USD/t is below {MIN_USD_PER_T} USD/t, under the solver's "
                "tolerance: state prices in USD per tonne (or 0)"
            )
        return None
    if name.endswith(_TONNE_SUFFIXES):
        if size > MAX_TONNES:
            return f"{value:g} t is out of range (at most {MAX_TONNES:g} t)"
        return None
    if size > MAX_ABS:
        return f"{value:g} is out of range (at most {MAX_ABS:g} in size)"
    return None


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    return []


def _may_hold_numbers(annotation: Any) -> bool:
    """Whether a field of this type can hold a number the check must see. Nested models
    check their own fields; ``Any`` is raw data that its own model validates later; a
    ``Literal`` holds constants the spec wrote, not input; an unknown type is checked."""
    if annotation is Any:
        return False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _may_hold_numbers(args[0])
    if origin is typing.Literal:
        return False
    if args:
        return any(_may_hold_numbers(a) for a in args if a is not type(None))
    plain = bool | str | BaseModel | datetime.date | enum.Enum
    return not (isinstance(annotation, type) and issubclass(annotation, plain))


@functools.cache
def _checked_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``cls`` whose numbers are checked (:func:`_may_hold_numbers`). Cached
    per class and typed, not tested value by value: a sweep validates a scenario per sample,
    and walking lists of nested models that check themselves was most of that time."""
    return tuple(
        name for name, info in cls.model_fields.items() if _may_hold_numbers(info.annotation)
    )


# ------------------------------------------------------------------------ numbers are numbers


@dataclass(frozen=True)
class _Shape:
    """Where booleans and strings are refused in the value of one field.

    ``refuse_text``: a bool or str here is an error (the type is a number, or a union of
    numbers and containers, none of which takes text); ``item`` / ``items`` / ``values``:
    the shapes inside a homogeneous sequence, a fixed tuple, a mapping's values.
    ``text_ok``: a str or bool may be valid here (for the union rule); ``literals``: the
    strings and booleans a ``Literal`` arm allows (``float | Literal["auto"]`` takes
    ``"auto"`` and refuses ``"3"``).
    """

    refuse_text: bool = False
    text_ok: bool = False
    literals: frozenset[str | bool] = frozenset()
    item: _Shape | None = None
    items: tuple[_Shape | None, ...] | None = None
    values: _Shape | None = None


_NUMBER = _Shape(refuse_text=True)
_SEQUENCES = (list, tuple, set, frozenset, Sequence, typing.Sequence)
_MAPPINGS = (dict, Mapping, typing.Mapping)


def _is_number_type(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and issubclass(annotation, int | float | Decimal)
        and not issubclass(annotation, bool | enum.Enum)
    )


def _union_shape(args: tuple[Any, ...]) -> _Shape | None:
    """A union refuses text where one arm is a number and no arm takes text (a ``Literal``
    arm's own strings excepted); it looks into a list or dict when one arm is one."""
    arms = [a for a in args if a is not type(None)]
    shapes = [_shape(a) for a in arms]
    text_ok = any(sh is None or sh.text_ok for sh in shapes)
    numbers = any(sh is not None and sh.refuse_text for sh in shapes)
    seqs = [sh for sh in shapes if sh is not None and (sh.item or sh.items)]
    maps = [sh for sh in shapes if sh is not None and sh.values]
    one_seq = seqs[0] if len(seqs) == 1 else None
    union = _Shape(
        refuse_text=numbers and not text_ok,
        text_ok=text_ok,
        literals=frozenset().union(*(sh.literals for sh in shapes if sh is not None)),
        item=one_seq.item if one_seq else None,
        items=one_seq.items if one_seq else None,
        values=maps[0].values if len(maps) == 1 else None,
    )
    return None if union.text_ok and not (union.item or union.items or union.values) else union


def _shape(annotation: Any) -> _Shape | None:
    """The :class:`_Shape` of a type, or None where nothing is refused (a str, a bool, a
    date, an enum, a model, ``Any``, a ``Literal``: pydantic's own checks apply)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _shape(args[0])
    if _is_number_type(annotation):
        return _NUMBER
    if origin is typing.Literal:
        return _Shape(literals=frozenset(a for a in args if isinstance(a, str | bool)))
    if origin in (typing.Union, types.UnionType):
        return _union_shape(args)
    if origin in _SEQUENCES or origin in _MAPPINGS or annotation in (list, tuple, dict, set):
        return _container_shape(origin, args)
    return None


def _container_shape(origin: Any, args: tuple[Any, ...]) -> _Shape:
    """A list, tuple, set or dict: the shape of its items or values (a container of anything,
    or a str or bool given for it, is pydantic's to refuse)."""
    if origin in _SEQUENCES and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = tuple(_shape(a) for a in args)
            return _Shape(items=items) if any(items) else _Shape()
        item = _shape(args[0])
        return _Shape(item=item) if item else _Shape()
    if origin in _MAPPINGS and len(args) == 2:
        values = _shape(args[1])
        return _Shape(values=values) if values else _Shape()
    return _Shape()


def _got(value: bool | str) -> str:
    if isinstance(value, bool):
        # YAML reads yes/no/on/off/true/false as booleans
        return f"got {str(value).lower()} (a yes/no value)"
    shown = repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    return f"got the string {shown}"


def _text_in(shape: _Shape, value: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str] | None:
    """The place (relative to the field) and message of the first bool or str that ``shape``
    refuses in ``value``; None when there is none."""
    if isinstance(value, bool | str):
        if not shape.refuse_text or (value in shape.literals and type(value) in (bool, str)):
            return None
        also = "".join(f" or {x!r}" for x in sorted(map(str, shape.literals)))
        return loc, f"expected a number{also}, {_got(value)}"
    if isinstance(value, list | tuple):
        if shape.items is not None:
            pairs: Iterator[tuple[_Shape | None, Any]] = zip(shape.items, value, strict=False)
            for i, (sh, v) in enumerate(pairs):
                if sh is not None and (problem := _text_in(sh, v, (*loc, i))):
                    return problem
        elif shape.item is not None:
            for i, v in enumerate(value):
                if problem := _text_in(shape.item, v, (*loc, i)):
                    return problem
    elif isinstance(value, dict) and shape.values is not None:
        for k, v in value.items():
            if problem := _text_in(shape.values, v, (*loc, k)):
                return problem
    return None


@functools.cache
def _shapes(cls: type[BaseModel]) -> tuple[tuple[str, ...], tuple[tuple[str, _Shape], ...]]:
    """The input keys (alias and name) of the fields of ``cls`` where text is refused: those
    typed as a plain number, and the others with their shapes. Per class, computed once: a
    sweep validates a scenario (~240 models) per sample, so the plain-number fields get a
    loop without calls."""
    plain: list[str] = []
    nested: list[tuple[str, _Shape]] = []
    for name, info in cls.model_fields.items():
        shape = _shape(info.annotation)
        if shape is None:
            continue
        keys = dict.fromkeys(k for k in (info.alias, name) if isinstance(k, str))
        if shape == _NUMBER:
            plain += keys
        elif shape.refuse_text or shape.item or shape.items or shape.values:
            nested += [(k, shape) for k in keys]
    return tuple(plain), tuple(nested)


class StrictNumbers(BaseModel):
    """Mixin: a field typed as a number refuses ``true``/``false`` and strings (``"12"``,
    ``"1e3"``, ``"1,200"``), also in its lists, tuples and dicts, with one message naming
    the field: ``expected a number, got true (a yes/no value)``. Pydantic's lax mode would
    have read them as 1.0 and 12. JSON numbers and YAML numbers (``1e6`` too: see
    :mod:`critmin.yamlio`) are numbers and pass; a field whose type admits a str or a bool
    (``float | str``, ``Any``) is pydantic's to check, and ``float | Literal["auto"]`` takes
    only ``"auto"``.

    One model-level check of the raw input, not a validator per field: pydantic forbids a
    ``mode="before"`` field validator on a union's discriminator field (``kind``), and one
    call per model is cheaper than one per field for the specs a sweep builds.
    """

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        plain, nested = _shapes(cls)
        for key in plain:
            if isinstance(data.get(key), bool | str):
                raise FieldValueError((key,), f"expected a number, {_got(data[key])}")
        for key, shape in nested:
            if key in data and (problem := _text_in(shape, data[key], (key,))):
                raise FieldValueError(*problem)
        return data


class BoundedNumbers(StrictNumbers, BaseModel):
    """Mixin: every number field (and numbers in its lists and dicts) passes :func:`check`,
    and is a number, not a boolean or a string (:class:`StrictNumbers`).

    ``lp_prices`` (a class variable): the model's USD/t prices reach the clearing LP, so
    non-zero prices under :data:`MIN_USD_PER_T` are refused (market and instrument specs).
    """

    lp_prices: ClassVar[bool] = False

    @model_validator(mode="after")
    def _numbers_in_range(self) -> BoundedNumbers:
        for name in _checked_fields(type(self)):
            for x in _numbers(getattr(self, name)):
                problem = check(name, x, lp_price=self.lp_prices)
                if problem:
                    raise FieldValueError(name, problem)
        return self


def check_option(option: str, value: float | None, *, name: str | None = None) -> None:
    """Refuse a non-finite or out-of-range number given to ``option`` (``InputError``)."""
    if value is None:
        return
    problem = check(name or option.lstrip("-").replace("-", "_"), value)
    if problem:
        raise InputError(problem, where=option)


# ------------------------------------------------------------------------ solver time limit

#: the largest ``--time-limit-s``: about four months, beyond which a limit means nothing
MAX_TIME_LIMIT_S = 1e7


@dataclass(frozen=True)
class TimeLimit:
    """A wall-clock budget for a command's work on its input, set by ``--time-limit-s``.

    ``critmin run`` starts it when it starts reading its input: reading and checking the
    files, compiling the chains, solving and building the tables share it (docs/robustness.md,
    "A time limit"). The clearing LP (:mod:`critmin.market.lp`) reads it before every solve:
    it refuses to start a solve once the budget is spent, and passes what is left to HiGHS as
    its ``time_limit`` option, so one runaway solve of a valid but huge model stops too. The
    other stages check it where they are marked (:func:`stage`, :func:`checkpoint`) and, in
    the main thread of a command, a timer interrupts them (:func:`time_limit`'s
    ``interrupt``). ``clock`` is :func:`time.monotonic`; a test may give a frozen one.
    """

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started < 0:
            object.__setattr__(self, "started", self.clock())

    def remaining(self) -> float:
        """Seconds left (<= 0: spent)."""
        return self.seconds - (self.clock() - self.started)

    def message(self) -> str:
        """The solve stage's message (the engine puts the chain, month and iteration first)."""
        return (
            f"solver time limit of {self.seconds:g} s reached (--time-limit-s): the model is "
            "too large to solve in that time; raise the limit (0: none) or make the "
            "scenario smaller (fewer months, regions or supply blocks)"
        )

    def error(self, at: Stage | None) -> TimeLimitError:
        """The one-line error of a budget spent during ``at`` (None: outside any stage)."""
        at = at or Stage("working on the input")
        return TimeLimitError(
            f"time limit of {self.seconds:g} s reached (--time-limit-s) while {at.doing}; "
            f"raise the limit (0: none) or {at.hint}",
            where=at.where,
        )


class TimeLimitError(InputError):
    """A command's ``--time-limit-s`` was spent outside the solver (reading, compiling,
    building the tables): ``FILE: time limit of S s reached (--time-limit-s) while ...``."""


@dataclass(frozen=True)
class Stage:
    """What a command is doing, for the time-limit message: ``doing`` follows "while",
    ``where`` (a file) leads the line, ``hint`` follows "raise the limit (0: none) or".
    ``interruptible=False`` (the solve stage) leaves the stop to the clearing LP, whose
    message names the chain, month and instrument iteration."""

    doing: str
    where: str | None = None
    hint: str = "make the input smaller"
    interruptible: bool = True


_TIME_LIMIT: ContextVar[TimeLimit | None] = ContextVar("critmin_time_limit", default=None)
_STAGE: ContextVar[Stage | None] = ContextVar("critmin_stage", default=None)


def current_time_limit() -> TimeLimit | None:
    """The :class:`TimeLimit` of the work now running, or None (no limit)."""
    return _TIME_LIMIT.get()


def checkpoint() -> None:
    """Stop with the :class:`TimeLimitError` of the current stage if the budget is spent (a
    cooperative check: a ContextVar read, and a clock read when a limit is set). It is raised
    as :class:`TimeUp`, which :func:`time_limit` turns into the error as it leaves."""
    limit = _TIME_LIMIT.get()
    if limit is not None and limit.remaining() <= 0:
        raise TimeUp(limit, limit.error(_STAGE.get()))


@contextlib.contextmanager
def stage(
    doing: str,
    where: str | None = None,
    *,
    hint: str = "make the input smaller",
    interruptible: bool = True,
    check_at_end: bool = True,
) -> Iterator[None]:
    """Mark the work inside the block for the time-limit message (:class:`Stage`); the budget
    is checked on entering and on leaving normally, naming this stage (on leaving, unless it
    is the solve stage: the LP's own check names the chain and month, or ``check_at_end`` is
    False: a whole command's stage, whose work, once done, has written its output)."""
    this = Stage(doing, where, hint, interruptible)
    limit = _TIME_LIMIT.get()
    if limit is not None and limit.remaining() <= 0:
        raise TimeUp(limit, limit.error(this))  # (spent before: the stop is at this one)
    token = None
    try:
        token = _STAGE.set(this)  # (inside the try: a timer firing here still resets it)
        yield
        if interruptible and check_at_end:
            checkpoint()
    finally:
        if token is not None:
            _STAGE.reset(token)


def check_time_limit(seconds: float) -> float:
    """``seconds`` if it is 0 (no limit) or in (0, :data:`MAX_TIME_LIMIT_S`]; else one
    ``InputError`` naming ``--time-limit-s`` (NaN, inf and negatives are refused)."""
    if not 0 <= seconds <= MAX_TIME_LIMIT_S:  # NaN fails too
        raise InputError(
            f"expected 0 (no limit) or seconds up to {MAX_TIME_LIMIT_S:g}, got {seconds:g}",
            where="--time-limit-s",
        )
    return seconds


@contextlib.contextmanager
def time_limit(
    limit: float | TimeLimit | None, *, interrupt: bool = False
) -> Iterator[TimeLimit | None]:
    """Work inside the block shares one wall-clock budget of ``limit`` seconds (None or 0:
    no limit), starting now (or when the given :class:`TimeLimit` started). Out-of-range
    values are refused (:func:`check_time_limit`).

    ``interrupt``: also arm a SIGALRM timer for what is left, whose handler raises the
    current :func:`stage`'s :class:`TimeLimitError` in the middle of pure-Python work (YAML
    parsing, validation, table building) that marks no checkpoint. Only where that works: the
    main thread of a process on a system with ``setitimer`` (Linux, macOS); elsewhere (a
    thread, Windows) the block gets the cooperative checks alone. A handler runs between
    Python bytecodes, so one long call into C (a numpy operation, a HiGHS run) ends first;
    HiGHS has the budget as its own limit. The solve stage is not interrupted (its stop is
    the LP's, with the chain and month)."""
    if isinstance(limit, int | float):
        seconds = check_time_limit(float(limit))
        limit = TimeLimit(seconds) if seconds > 0 else None
    token = _TIME_LIMIT.set(limit)
    alarm = _Alarm(limit) if interrupt and limit is not None else None
    try:
        if alarm is not None:
            alarm.start()  # (inside the try: a timer firing at once is caught below)
        yield limit
    except TimeUp as exc:
        if exc.limit is not limit:
            raise  # an outer budget's: its own block turns it into the error
        raise exc.error from None
    finally:
        if alarm is not None:
            alarm.disarm()
        _TIME_LIMIT.reset(token)


class TimeUp(BaseException):
    """A spent budget on its way out, carrying its :class:`TimeLimitError`. A BaseException
    (as ``KeyboardInterrupt``), so that no ``except Exception``/``except CritminError`` on
    its way turns it into another message (a country lookup's "unknown code", a study's
    "field 'base': ...", a sample's field error); :func:`time_limit` turns it back into the
    error as it leaves (the block of *its* budget: an inner ``time_limit(0)`` lets it pass),
    and the CLI's entry point would too."""

    def __init__(self, limit: TimeLimit, error: TimeLimitError) -> None:
        super().__init__(str(error))
        self.limit = limit
        self.error = error


class _Alarm:
    """A one-shot ``ITIMER_REAL`` timer whose SIGALRM raises the current stage's error."""

    def __init__(self, limit: TimeLimit) -> None:
        self.limit = limit
        self.previous: Any = None
        self.armed = False
        self.installed = False

    def start(self) -> None:
        if not hasattr(signal, "setitimer") or threading.current_thread() is not (
            threading.main_thread()
        ):
            return  # signals reach the main thread only; Windows has no setitimer
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return  # someone else's timer runs (a test harness): leave it alone
        if self.limit.remaining() <= 0:
            return  # spent already: the next stage or checkpoint says where
        self.armed = True
        self.previous = signal.signal(signal.SIGALRM, self._fire)
        self.installed = True
        signal.setitimer(signal.ITIMER_REAL, max(self.limit.remaining(), 1e-6))

    def _fire(self, _signum: int, _frame: object) -> None:
        if not self.armed:
            return
        left = self.limit.remaining()
        if left > 0:  # the timer and the clock disagree by microseconds: wait the rest
            signal.setitimer(signal.ITIMER_REAL, left)
            return
        at = _STAGE.get()
        if at is not None and not at.interruptible:
            return  # the LP stops before its next solve (HiGHS at its own limit) and names it
        if uninterrupted_now():
            # an output folder's lock or commit (milliseconds): never cut in two; a budget
            # spent meanwhile is named by the next stage, and a committed command finishes
            return
        self.armed = False
        raise TimeUp(self.limit, self.limit.error(at))

    def disarm(self) -> None:
        self.armed = False  # first: a signal arriving from here on is ignored
        if self.installed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(
                signal.SIGALRM, signal.SIG_DFL if self.previous is None else self.previous
            )
            self.installed = False


# ------------------------------------------------------------------------ memory limit

#: what one command may set out to hold, by its own estimate, unless raised (issue 13): the
#: shipped studies need well under 0.5 GiB; 4 GiB leaves room on an 8 GiB laptop
DEFAULT_MEMORY_LIMIT_GIB = 4.0
#: the environment variable that sets the limit (the command's ``--memory-limit-gib`` wins)
MEMORY_LIMIT_ENV = "CRITMIN_MEMORY_LIMIT_GIB"
#: the largest limit accepted: a mebibyte of gibibytes, far above any machine
MAX_MEMORY_LIMIT_GIB = 2.0**20

#: ``--help`` of the ``--memory-limit-gib`` option of ``run``, ``sweep``, ``stockpile policy``
MEMORY_LIMIT_HELP = (
    "refuse an input whose estimated memory is over this many GiB, 0 (no limit) .. 1,048,576 "
    f"(default: ${MEMORY_LIMIT_ENV} or {DEFAULT_MEMORY_LIMIT_GIB:g})"
)

_MEMORY_LIMIT: ContextVar[float | None] = ContextVar("critmin_memory_limit", default=None)


def check_memory_limit(gib: float, where: str = "--memory-limit-gib") -> float:
    """``gib`` if it is 0 (no limit) or in (0, :data:`MAX_MEMORY_LIMIT_GIB`]; else one
    ``InputError`` naming the option (NaN, inf and negatives are refused)."""
    if not 0 <= gib <= MAX_MEMORY_LIMIT_GIB:  # NaN fails too
        raise InputError(
            f"expected 0 (no limit) or GiB up to {MAX_MEMORY_LIMIT_GIB:,.0f}, got {gib:g}",
            where=where,
        )
    return gib


def memory_limit_gib() -> float:
    """The limit in force: the command's option, else ``CRITMIN_MEMORY_LIMIT_GIB``, else
    :data:`DEFAULT_MEMORY_LIMIT_GIB` (0: no limit)."""
    import os

    set_ = _MEMORY_LIMIT.get()
    if set_ is not None:
        return set_
    env = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if not env:
        return DEFAULT_MEMORY_LIMIT_GIB
    try:
        value = float(env)
    except ValueError:
        raise InputError(
            f"expected a number of GiB, 0 (no limit) .. {MAX_MEMORY_LIMIT_GIB:,.0f}, got {env!r}",
            where=MEMORY_LIMIT_ENV,
        ) from None
    return check_memory_limit(value, where=MEMORY_LIMIT_ENV)


@contextlib.contextmanager
def memory_limit(gib: float | None) -> Iterator[float]:
    """Estimates checked inside the block (:func:`check_memory`) are held to ``gib`` GiB
    (0: no limit; None: the environment's or the default)."""
    value = memory_limit_gib() if gib is None else check_memory_limit(float(gib))
    token = _MEMORY_LIMIT.set(value)
    try:
        yield value
    finally:
        _MEMORY_LIMIT.reset(token)


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``312 MiB``, ``12 KiB``."""
    for unit, size in (("TiB", 2.0**40), ("GiB", 2.0**30), ("MiB", 2.0**20), ("KiB", 2.0**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def check_memory(estimate_bytes: float, what: str, *, hint: str) -> None:
    """One ``InputError`` when ``what`` would need more than the memory limit, before any of
    it is allocated. ``hint`` says how to make the input smaller. The estimates are upper
    bounds of the arrays the command holds at once, not measurements."""
    limit = memory_limit_gib()
    if limit and estimate_bytes > limit * 2**30:
        raise InputError(
            f"{what} would need about {format_bytes(estimate_bytes)} of memory, over the "
            f"limit of {limit:g} GiB; {hint}, or raise the limit with --memory-limit-gib or "
            f"{MEMORY_LIMIT_ENV} (0: no limit)"
        )


# ------------------------------------------------------------------------ OS memory backstop

#: what the libraries of a command reserve beyond the arrays its estimate counts, as the
#: process's data segment (``VmData``, what ``RLIMIT_DATA`` counts): measured on Linux 6.18,
#: 2 cores, 2026-12-04: ``critmin run`` (the default study) peaks at VmData 1.23 GiB with
#: 0.19 GiB resident, ``stockpile policy`` at 1.29 GiB; of that, ~1 GiB is the reservation
#: of pyarrow's allocator (mapped read-write, never touched) and ~0.3 GiB numpy, pandas,
#: scipy and HiGHS. 2 GiB leaves room for more threads' stacks and allocator arenas
BACKSTOP_ALLOWANCE_GIB = 2.0
#: the backstop holds the command to this many times its estimate limit (plus the allowance
#: and what the process held when the command started): the estimates are upper bounds of
#: the arrays held at once, and the margin is for the copies made around them (a DataFrame
#: built from arrays, a parquet write), so a normal run never meets the backstop
BACKSTOP_FACTOR = 1.5


class OutOfMemoryError(CritminError):
    """An allocation failed under the memory backstop (:func:`memory_backstop`): exit 2."""

    def __init__(self, limit_gib: float) -> None:
        self.limit_gib = limit_gib
        super().__init__(
            f"ran out of memory (limit {limit_gib:g} GiB); raise it with --memory-limit-gib "
            f"or {MEMORY_LIMIT_ENV} (0: no limit), or make the input smaller"
        )


def _vm_data_bytes() -> int:
    """This process's data segment now (``VmData`` of ``/proc/self/status``), 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def backstop_bytes(limit_gib: float) -> int:
    """The ``RLIMIT_DATA`` set for a command under an estimate limit of ``limit_gib``: what
    the process holds now + :data:`BACKSTOP_FACTOR` x the limit + :data:`BACKSTOP_ALLOWANCE_GIB`."""
    extra = BACKSTOP_FACTOR * limit_gib + BACKSTOP_ALLOWANCE_GIB
    return _vm_data_bytes() + int(extra * 2**30)


@contextlib.contextmanager
def memory_backstop(limit_gib: float) -> Iterator[int | None]:
    """An OS limit behind the estimated memory limit (Linux): inside the block the process's
    data segment may not grow past :func:`backstop_bytes`, so an allocation the estimates
    missed fails at once with ``MemoryError`` - turned into one :class:`OutOfMemoryError`
    naming the limit - instead of swapping the machine or meeting the kernel's OOM killer.
    Processes started inside the block (a sweep's Dask workers) inherit the limit, each its
    own. Yields the limit set in bytes (None: none set). ``limit_gib`` 0: no backstop.

    Why ``RLIMIT_DATA`` and not ``RLIMIT_AS``: both count thread stacks and the read-write
    reservations of allocators, but the address-space limit also counts every shared
    library's code and the ``PROT_NONE`` reservations glibc makes for each thread's malloc
    arena (64 MiB each, up to 8 per core): on a 64-core machine that alone is gigabytes
    that are never memory. ``critmin run`` measured VmPeak 1.65 GiB (address space) against
    VmData 1.23 GiB. The data limit counts what can become memory (Linux >= 4.7 counts
    private writable mappings in it, not only the heap).

    The soft limit only is lowered (never raised, never below a tighter limit already in
    force) and put back when the block ends, so a process that runs several commands (the
    test suite, the fuzz harness) keeps its own limit.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        yield None
        return
    kind = getattr(resource, "RLIMIT_DATA", None)
    if not limit_gib or kind is None or not sys.platform.startswith("linux"):
        yield None
        return
    soft, hard = resource.getrlimit(kind)
    want = backstop_bytes(limit_gib)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft <= want:
        yield None  # a tighter limit is already in force
        return
    resource.setrlimit(kind, (want, hard))
    try:
        yield want
    except MemoryError:
        raise OutOfMemoryError(limit_gib) from None
    finally:
        resource.setrlimit(kind, (soft, hard))
