"""Stockpile definitions: holder, funding, members, accounts and their rules.

Frozen pydantic v2 models loaded from YAML by :func:`load_spec`; a bad value is
reported with file, line and field (``vault.yaml:31 field 'accounts[1].acquisition.
budget_usd': Input should be greater than or equal to 0 (got -5)``).

Units are in the names: ``*_usd``, ``*_t``, ``*_usd_per_t``, ``rate_per_year`` (0.05 =
5 %/yr), ``share`` (0..1). Months are ``YYYY-MM``.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from critmin.bounds import BoundedNumbers
from critmin.periods import Month
from critmin.yamlio import load_yaml, validate

ID_RE = r"^[a-z0-9][a-z0-9_\-]*$"

Id = Annotated[str, Field(pattern=ID_RE, description="lower-case identifier")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class _Frozen(BoundedNumbers, BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Assumption(_Frozen):
    """A labelled figure, shaped like ``summary.json``'s ``assumptions`` rows."""

    item: str
    value: str
    unit: str = ""
    source: str = ""
    estimate: bool = False


class FundingKind(StrEnum):
    """Where money comes from. Only a ``loan`` bears interest and must be repaid."""

    LOAN = "loan"
    EQUITY = "equity"  # private capital, received once
    APPROPRIATION = "appropriation"  # a budget grant (e.g. the DLA's purchase authority)


class FundingSource(_Frozen):
    """One source of money.

    ``equity`` and ``appropriation`` arrive in full in ``available_from``. A ``loan``
    with ``draw: on_demand`` (default) is a facility drawn only when cash is short (so
    interest runs on what was drawn); ``draw: upfront`` draws all of it in
    ``available_from``. Interest accrues monthly at ``rate_per_year / 12`` on the balance
    at the start of the month; the principal is repaid in ``repay_month`` as far as cash
    allows.
    """

    id: Id
    kind: FundingKind
    amount_usd: Positive
    available_from: Month
    rate_per_year: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    draw: Literal["on_demand", "upfront"] = "on_demand"
    repay_month: Month | None = None
    counterparty: str = ""
    source: str = ""
    estimate: bool = False

    @model_validator(mode="after")
    def _loan_fields_only_on_loans(self) -> FundingSource:
        if self.kind is not FundingKind.LOAN:
            if self.rate_per_year:
                raise ValueError(f"rate_per_year is only for loans, not {self.kind.value}")
            if self.repay_month is not None:
                raise ValueError(f"repay_month is only for loans, not {self.kind.value}")
        if self.repay_month is not None and self.repay_month <= self.available_from:
            raise ValueError("repay_month must come after available_from")
        return self


class Member(_Frozen):
    """A member with pre-purchase rights: ``share`` of every release, and a monthly fee."""

    id: Id
    share: Share
    fee_usd_per_month: NonNeg = 0.0
    source: str = ""
    estimate: bool = False


class AcquisitionRule(_Frozen):
    """When and how much an account buys.

    Accumulation: in a month without a release trigger, at a price at or below
    ``max_price_usd_per_t``, buy up to the smallest of: the gap to the target
    (``target_days_of_cover`` and/or ``target_qty_t``; no target = budget-limited),
    ``max_share_of_supply`` x available supply, ``max_buy_t_per_month``, what the
    remaining ``budget_usd`` buys, and what cash plus undrawn loans buy.

    Purchase floor (``floor_price_usd_per_t`` set): whenever the member-market price is
    below the floor, buy the market's excess (available supply - protected demand) at the
    floor price, within budget and funds; the target and max price do not apply.
    """

    budget_usd: NonNeg
    max_price_usd_per_t: Positive | None = None
    target_days_of_cover: NonNeg | None = None
    target_qty_t: NonNeg | None = None
    max_share_of_supply: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    max_buy_t_per_month: Positive | None = None
    floor_price_usd_per_t: Positive | None = None
    from_month: Month | None = None


class ReleaseRule(_Frozen):
    """When and how much an account releases; who pays what.

    Triggers: an export ban (``on_export_ban``), a shortage (``on_shortage``), a price above
    ``price_above_usd_per_t``. With ``requires_emergency`` (the National Defense Stockpile)
    nothing is released unless the month's signal declares an emergency. The quantity is
    the largest need among the triggers that fire -- the shortage (t), or
    ``ban_release_share_of_demand`` / ``price_release_share_of_demand`` x protected
    demand -- capped by the inventory and ``max_release_t_per_month``. Released material
    is sold to members at cost (``sale_price: cost``, the default) or at the month's
    market price.
    """

    on_export_ban: bool = True
    on_shortage: bool = True
    price_above_usd_per_t: Positive | None = None
    requires_emergency: bool = False
    ban_release_share_of_demand: Share = 0.25
    price_release_share_of_demand: Share = 0.1
    max_release_t_per_month: Positive | None = None
    sale_price: Literal["cost", "market"] = "cost"


class Account(_Frozen):
    """One mineral held by the holder."""

    mineral: Id
    stage: Id = "refined"
    protected_consumption_t_per_year: Annotated[float, Field(ge=1e-6, allow_inf_nan=False)]
    storage_usd_per_t_year: NonNeg = 0.0
    initial_qty_t: NonNeg = 0.0
    initial_cost_usd_per_t: NonNeg = 0.0
    acquisition: AcquisitionRule
    release: ReleaseRule = ReleaseRule()
    source: str = ""
    estimate: bool = False


class Holder(_Frozen):
    """Who owns the stockpile, where it sits, to whom it releases if it has no members."""

    id: Id
    name: str
    region: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166 alpha-3")]
    release_to: str = "government"


class StockpileSpec(_Frozen):
    """A stockpile: holder, funding, members (pre-purchase rights), accounts."""

    name: Id
    description: str = ""
    holder: Holder
    start: Month
    funding: list[FundingSource] = Field(min_length=1)
    members: list[Member] = Field(default_factory=list)
    accounts: list[Account] = Field(min_length=1)
    assumptions: list[Assumption] = Field(default_factory=list)

    @field_validator("funding")
    @classmethod
    def _unique_funding(cls, v: list[FundingSource]) -> list[FundingSource]:
        _unique([f.id for f in v], "funding id")
        return v

    @field_validator("members")
    @classmethod
    def _members_shares(cls, v: list[Member]) -> list[Member]:
        _unique([m.id for m in v], "member id")
        if v:
            total = math.fsum(m.share for m in v)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(
                    f"member shares (pre-purchase rights) must sum to 1, got {total:.6g}"
                )
        return v

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, v: list[Account]) -> list[Account]:
        _unique([a.mineral for a in v], "account mineral")
        return v

    @property
    def minerals(self) -> list[str]:
        """The account minerals, in spec order."""
        return [a.mineral for a in self.accounts]

    def account(self, mineral: str) -> Account:
        """The account for ``mineral`` (raises :class:`UnknownNameError`)."""
        for a in self.accounts:
            if a.mineral == mineral:
                return a
        from critmin.errors import UnknownNameError

        raise UnknownNameError("stockpile account", mineral, self.minerals)


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} {i!r}")
        seen.add(i)


def load_spec(path: Path | str) -> StockpileSpec:
    """Load a stockpile spec from YAML; errors name file, line and field."""
    doc = load_yaml(path, what="stockpile spec")
    doc.require_mapping("a mapping with keys name, holder, start, funding, accounts")
    return validate(StockpileSpec, doc)
