"""Scenario files: the YAML form of a study (pydantic, frozen, unknown fields are errors).

A scenario names its months, states its markets (explicitly or by ``base:`` inheritance
from another scenario file / built-in) and adds shocks and instruments. The schema is
documented field by field in docs/scenarios.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import MAX_TONNES, BoundedNumbers
from critmin.market.spec import Market, Shock
from critmin.periods import Month, month_index, month_label
from critmin.policy.instrument import InstrumentSpec, parse_instrument
from critmin.yamlio import FieldValueError, drop_extension_keys

DEFAULT_START = "2026-01"
DEFAULT_END = "2035-12"
#: the longest horizon: 100 years of months (the default is 10); each month is one LP solve
#: per chain, so the run time grows with it
MAX_MONTHS = 1200
#: the entropy of :meth:`Scenario.seed_sequence` when a scenario gives no ``seed``
DEFAULT_SEED = 0


class _Model(BoundedNumbers, BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Months(_Model):
    """Inclusive month range, ``YYYY-MM``."""

    start: Month = DEFAULT_START
    end: Month = DEFAULT_END

    def labels(self) -> list[str]:
        lo, hi = month_index(self.start), month_index(self.end)
        if hi < lo:
            raise ValueError(f"months.end {self.end} is before months.start {self.start}")
        if hi - lo >= MAX_MONTHS:  # 0001-01..9999-12 (120,000 months) ran for hours
            raise ValueError(
                f"months {self.start}..{self.end} span more than {MAX_MONTHS // 12} years"
                f" ({MAX_MONTHS:,} months), the longest horizon critmin runs"
            )
        return [month_label(i) for i in range(lo, hi + 1)]


class Scenario(_Model):
    """A scenario: ``name``, ``months``, ``markets`` (or ``base``), shocks, instruments."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str | None = Field(
        default=None, description="scenario to extend: a path relative to this file or builtin:NAME"
    )
    months: Months | None = None
    seed: int | None = Field(
        default=None,
        ge=0,
        description=(
            "root of every random draw made for this scenario (numpy SeedSequence entropy; "
            "none = 0); recorded in summary.json"
        ),
    )
    markets: list[Market] | None = None
    shocks: list[Shock] = []
    instruments: list[dict[str, Any]] = []
    reform: dict[str, Any] = Field(
        default={},
        description=(
            "dated policy parameters this scenario overrides (parameter-file shape), applied to "
            "every instrument that reads parameters, inherited ones included; the baseline "
            "parameters stay untouched"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        """Top-level keys starting with ``x-`` are ignored (room for YAML anchors)."""
        return drop_extension_keys(data)

    @model_validator(mode="after")
    def _bids_within_bounds(self) -> Scenario:
        """Every bid, grown at its ``growth_per_year`` over the horizon, stays within
        :data:`~critmin.bounds.MAX_TONNES` a month: each field can be in range (150 t, +100 %
        a year, 100 years) and their product not (1.9e32 t by the end), which the solver got
        as a quantity before. Computed in logarithms (the power itself overflows)."""
        if not self.markets:
            return self
        try:
            labels = self.month_labels()
        except ValueError:
            return self  # the horizon itself is reported by Months
        ends = (month_index(labels[0]), month_index(labels[-1]))
        limit = math.log10(MAX_TONNES)
        for i, market in enumerate(self.markets):
            base = month_index(market.base_month) if market.base_month else ends[0]
            years = [(m - base) / 12.0 for m in ends]
            for j, bid in enumerate(market.demand):
                qty, g = bid.qty_t_per_month, bid.growth_per_year
                if qty <= 0:
                    continue
                # the largest factor is at one end of the horizon (growth is monotone); each
                # logarithm taken once: a sweep checks every bid of every sample (~700 a sample
                # of the benchmark study, curve steps included)
                log_qty, log_growth = math.log10(qty), math.log10(1.0 + g)
                logs = [log_qty + y * log_growth for y in years]
                if max(logs) <= limit:
                    continue
                worst = max(range(2), key=lambda k: logs[k])
                field: tuple[str | int, ...] = ("markets", i, "demand", j, "growth_per_year")
                if bid.curve is not None:  # a step of a demand curve, not a line of the file
                    field = ("markets", i, "demand_curves")
                raise FieldValueError(
                    field,
                    f"{qty:g} t a month growing {g:+.0%} a year from {month_label(base)} is "
                    f"1e{logs[worst]:.0f} t a month by {month_label(ends[worst])}, over "
                    f"{MAX_TONNES:g} t (the bound on any quantity); lower the growth or "
                    "shorten the horizon",
                )
        return self

    def seed_sequence(self) -> np.random.SeedSequence:
        """The root of everything stochastic in a run of this scenario.

        Anything random (sampled shocks, Monte Carlo valuation, a sweep's samples) draws from
        this sequence or from children it :meth:`~numpy.random.SeedSequence.spawn` s, never
        from global state: the same scenario and seed give the same draws in any process.
        ``seed`` None means entropy :data:`DEFAULT_SEED`, so an unseeded run is reproducible
        too. The market clearing itself is deterministic and draws nothing.
        """
        return np.random.SeedSequence(DEFAULT_SEED if self.seed is None else self.seed)

    def month_labels(self) -> list[str]:
        return (self.months or Months()).labels()

    def instrument_specs(self) -> list[InstrumentSpec]:
        return [parse_instrument(item) for item in self.instruments]
