"""Shared pieces of the policy instruments: dated parameters, month windows, units.

Every instrument that reads a policy parameter (reference price, levy bound, floor, budget)
reads it from the shipped baseline :class:`~critmin.policy.parameters.ParameterSet`, patched
by the instrument's own ``parameters:`` mapping (a reform in the shape of a parameter file,
see :meth:`ParameterSet.with_reform`). The baseline itself is never changed; what a reform
changes is listed by :func:`reform_changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError
from critmin.periods import Month
from critmin.policy.parameters import Change, ParameterSet, baseline, diff

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]

KG_PER_T = 1000.0
#: units a price parameter may have, and the factor to usd_per_t
PRICE_UNITS = {"usd_per_t": 1.0, "usd_per_kg": KG_PER_T}


@lru_cache(maxsize=1)
def _baseline() -> ParameterSet:
    return baseline()


def parameter_set(overrides: Mapping[str, Any] | None, label: str) -> ParameterSet:
    """The baseline parameters with ``overrides`` applied as a reform (baseline untouched)."""
    base = _baseline()
    if not overrides:
        return base.for_reader(label)
    reformed = base.with_reform(overrides, label=label, where=f"instrument {label!r} parameters")
    return reformed.for_reader(label)


def reform_changes(overrides: Mapping[str, Any] | None, label: str) -> list[Change]:
    """What ``overrides`` change relative to the shipped baseline (empty when none)."""
    if not overrides:
        return []
    return diff(_baseline(), parameter_set(overrides, label))


def price_usd_per_t(params: ParameterSet, name: str, month: str) -> float | None:
    """A price parameter in force in ``month``, in usd_per_t (None when ended or not yet set).

    Accepts parameters in ``usd_per_kg`` (x 1000) or ``usd_per_t``; another unit is an
    :class:`InputError` naming the parameter.
    """
    param = params[name]
    if param.unit not in PRICE_UNITS:
        raise InputError(
            f"parameter {name!r} has unit {param.unit!r}; a price must be in "
            f"{' or '.join(PRICE_UNITS)}",
            where=f"parameter {name!r}",
        )
    entry = params.entry_in(name, month)
    if entry is None or entry.value is None:
        return None
    value = entry.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"parameter {name!r} in {month} is {value!r}, not a number")
    return float(value) * PRICE_UNITS[param.unit]


def plain_value(params: ParameterSet, name: str, month: str) -> float | bool | None:
    """A numeric or boolean parameter in force in ``month`` (None when ended or not yet set)."""
    entry = params.entry_in(name, month)
    if entry is None or entry.value is None:
        return None
    value = entry.value
    if isinstance(value, bool):
        return value
    if not isinstance(value, int | float):
        raise InputError(f"parameter {name!r} in {month} is {value!r}, not a number")
    return float(value)


class DatedSpec(BoundedNumbers, BaseModel):
    """Mixin: an instrument's own ``start``/``end`` window and its parameter ``reform``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: Month | None = None
    end: Month | None = None
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="reform: parameter name -> {values: {date: {value, reference}}}",
    )
    source: str | None = Field(None, description="where the instrument's numbers come from")
    estimate: bool = Field(False, description="true when its numbers are estimates")

    @model_validator(mode="after")
    def _ordered_window(self) -> DatedSpec:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self
