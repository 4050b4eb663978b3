"""The offtake contract definition (a frozen pydantic model) and its YAML reader.

A contract file states who sells what to whom, for how long, at what volume, and the price
terms: a floor (topped up by the buyer or by a third party such as the DoD), an optional
cap, and an optional upside-sharing clause (above a threshold the buyer keeps
``buyer_share`` of the excess). See docs/contracts.md for every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError
from critmin.periods import Month, month_index, month_label
from critmin.policy.parameters import parse_month
from critmin.yamlio import FieldValueError, load_yaml, validate

__all__ = [
    "FieldValueError",
    "OfftakeContract",
    "UpsideShare",
    "load_contract",
    "month_range",
]


_month_index = month_index
_index_month = month_label


#: the longest contract term: 100 years (offtakes run 5-20); the Monte Carlo holds months x
#: paths numbers, so an unbounded term is unbounded memory
MAX_TERM_MONTHS = 1200


def month_range(start: str, end: str) -> list[str]:
    """Months from ``start`` to ``end`` inclusive (``'YYYY-MM'``)."""
    return [_index_month(i) for i in range(_month_index(start), _month_index(end) + 1)]


def _month(v: object) -> str:
    try:
        return parse_month(v)
    except InputError as exc:
        raise ValueError(str(exc)) from None


def _written_month(v: object) -> object:
    """``2026-4`` or a YAML date (``2026-04-01``) as ``2026-04``, the forms contract files
    have always accepted; anything else is left for :data:`~critmin.periods.Month` to refuse
    with its message (``expected a month YYYY-MM (e.g. 2026-07), got 'July 2026'``)."""
    try:
        return parse_month(v)
    except InputError:
        return v


#: a contract's delivery month: the one month type (:data:`critmin.periods.Month`, so the
#: value is always ``YYYY-MM``), read leniently from files (``2026-4``, a YAML date)
ContractMonth = Annotated[Month, BeforeValidator(_written_month)]


class UpsideShare(BoundedNumbers, BaseModel):
    """Above ``above_usd_per_kg`` the buyer keeps ``buyer_share`` of the excess over it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    above_usd_per_kg: float = Field(gt=0, description="threshold market price")
    buyer_share: float = Field(ge=0, le=1, description="buyer's fraction of the upside (0..1)")


class OfftakeContract(BoundedNumbers, BaseModel):
    """An offtake (or price-floor) contract; money in USD, prices in USD/kg, volumes in t."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    buyer: str = Field(min_length=1)
    seller: str = Field(min_length=1)
    mineral: str = Field(min_length=1, description="e.g. ndpr_oxide")
    stage: str | None = Field(None, description="product stage, e.g. oxide")
    volume_t_per_year: float = Field(ge=0, description="contracted volume; monthly = /12")
    volume_schedule: dict[str, float] = Field(
        default_factory=dict,
        description="overrides: 'YYYY' -> t per year (spread /12) or 'YYYY-MM' -> t that month",
    )
    start: ContractMonth = Field(description="first delivery month YYYY-MM")
    end: ContractMonth = Field(description="last delivery month YYYY-MM (inclusive)")
    floor_usd_per_kg: float | None = Field(None, ge=0)
    cap_usd_per_kg: float | None = Field(None, gt=0)
    upside_share: UpsideShare | None = None
    floor_payer: str | None = Field(
        None, description="who pays the floor top-up; default: the buyer"
    )
    priority_rank: int = Field(1, ge=1, description="1 is served first in a shortage")
    source: str | None = Field(None, description="where the terms come from (seed, document)")
    assumptions: tuple[str, ...] = Field((), description="terms not in the source, labelled")

    @field_validator("volume_schedule", mode="before")
    @classmethod
    def _schedule_keys(cls, v: object) -> object:
        if not isinstance(v, Mapping):
            return v
        out: dict[str, object] = {}
        for key, qty in v.items():
            text = str(key).strip()
            if len(text) == 4 and text.isdigit():
                out[text] = qty
            else:
                out[_month(text)] = qty
        return out

    @field_validator("volume_schedule")
    @classmethod
    def _schedule_non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        for key, qty in v.items():
            if qty < 0:
                raise ValueError(f"volume for {key} is {qty} t; volumes must be >= 0")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> OfftakeContract:
        if _month_index(self.end) < _month_index(self.start):
            raise FieldValueError("end", f"end {self.end} is before start {self.start}")
        if _month_index(self.end) - _month_index(self.start) >= MAX_TERM_MONTHS:
            # a 9999-12 end made `contract value` allocate gigabytes (months x paths)
            raise FieldValueError(
                "end",
                f"a term of more than {MAX_TERM_MONTHS // 12} years ({self.start} to {self.end})",
            )
        if (
            self.floor_usd_per_kg is not None
            and self.cap_usd_per_kg is not None
            and self.floor_usd_per_kg > self.cap_usd_per_kg
        ):
            raise FieldValueError(
                "floor_usd_per_kg",
                f"floor {self.floor_usd_per_kg} USD/kg is above cap {self.cap_usd_per_kg} USD/kg",
            )
        if self.upside_share is not None:
            above = self.upside_share.above_usd_per_kg
            if self.floor_usd_per_kg is not None and above < self.floor_usd_per_kg:
                raise FieldValueError(
                    "upside_share",
                    f"upside threshold {above} USD/kg is below the floor "
                    f"{self.floor_usd_per_kg} USD/kg; it must be >= the floor",
                )
            if self.cap_usd_per_kg is not None and above > self.cap_usd_per_kg:
                raise FieldValueError(
                    "cap_usd_per_kg",
                    f"cap {self.cap_usd_per_kg} USD/kg is below the upside threshold {above} "
                    "USD/kg; it must be >= the threshold",
                )
        for key in self.volume_schedule:
            if len(key) == 4:
                lo, hi = int(self.start[:4]), int(self.end[:4])
                if not lo <= int(key) <= hi:
                    raise FieldValueError(
                        "volume_schedule",
                        f"year {key} is outside the contract ({self.start} to {self.end})",
                    )
            elif not _month_index(self.start) <= _month_index(key) <= _month_index(self.end):
                raise FieldValueError(
                    "volume_schedule",
                    f"month {key} is outside the contract ({self.start} to {self.end})",
                )
        return self

    # ---------------------------------------------------------------- schedule
    @property
    def months(self) -> list[str]:
        """Delivery months, start to end inclusive."""
        return month_range(self.start, self.end)

    @property
    def payer_of_floor(self) -> str:
        """Who pays the floor top-up (the buyer unless ``floor_payer`` is set)."""
        return self.floor_payer or self.buyer

    def volume_t(self, month: str) -> float:
        """Contracted tonnes in ``month`` (0 outside the contract).

        A ``'YYYY-MM'`` schedule entry gives that month's tonnes; otherwise a ``'YYYY'``
        entry gives the year's rate (t/yr, /12 per month); otherwise volume_t_per_year / 12.
        """
        m = parse_month(month)
        if not _month_index(self.start) <= _month_index(m) <= _month_index(self.end):
            return 0.0
        if m in self.volume_schedule:
            return float(self.volume_schedule[m])
        if m[:4] in self.volume_schedule:
            return float(self.volume_schedule[m[:4]]) / 12.0
        return self.volume_t_per_year / 12.0

    def volumes_t(self, months: list[str] | None = None) -> list[float]:
        """Tonnes per month over ``months`` (default: the contract months)."""
        return [self.volume_t(m) for m in (months if months is not None else self.months)]


def load_contract(path: Path) -> OfftakeContract:
    """Read and validate a contract YAML; errors name the file, line and field."""
    doc = load_yaml(path, what="contract file")
    doc.require_mapping("a mapping of contract fields")
    return validate(OfftakeContract, doc)
