"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI document).

Requests forbid unknown fields, so a misspelt field is a 422 problem naming it rather than
silently ignored. Quantities carry their unit in the name, as everywhere in critmin.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from critmin.bounds import StrictNumbers

Money = Annotated[float, Field(ge=0, allow_inf_nan=False, le=1e15)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, le=1e12)]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-04"])]


def _iso_date_text(v: object) -> object:
    # pydantic's lax mode would read 0 or "0" as 1970-01-01; dates travel as ISO text only
    if isinstance(v, dt.date) or (isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)):
        return v
    raise ValueError("expected a date as YYYY-MM-DD")


Date = Annotated[dt.date, BeforeValidator(_iso_date_text)]
Role = Literal["operator", "price_publisher", "initiator", "approver", "auditor"]


class In(StrictNumbers, BaseModel):
    # StrictNumbers: a JSON body's number must be a JSON number ("12" or true is a 422
    # naming the field, not read as 12 or 1.0), as in every input file
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- registry


class MembershipIn(In):
    bloc: Ident
    start_date: Date
    end_date: Date | None = None


class Membership(BaseModel):
    id: int
    bloc: str
    start_date: str
    end_date: str | None
    recorded_at: str | None = Field(
        description="when the registry recorded it (UTC, ISO-8601): a declaration's as_of "
        "counts it from then on; null for a membership recorded before migration 0005, "
        "which counts as recorded from the start"
    )


class MemberIn(In):
    id: Ident
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["state", "company", "stockpile_operator"]
    country_iso3: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class MemberPatch(In):
    name: str | None = Field(None, min_length=1, max_length=200)
    country_iso3: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class Member(BaseModel):
    id: str
    name: str
    kind: str
    country_iso3: str | None
    version: int
    memberships: list[Membership]


class UserIn(In):
    name: str = Field(min_length=1, max_length=200)
    member_id: Ident | None = None
    roles: list[Role] = Field(min_length=1)


class User(BaseModel):
    id: int
    name: str
    member_id: str | None
    roles: list[str]


class TokenIn(In):
    ttl_days: float = Field(30, gt=0, le=366)


class Token(BaseModel):
    id: int
    user_id: int
    token: str = Field(description="shown once; only its SHA-256 is stored")
    expires_at: str


class TokenRevoked(BaseModel):
    id: int
    revoked_at: str


class Me(BaseModel):
    user_id: int
    name: str
    member_id: str | None
    roles: list[str]


# --------------------------------------------------------------------------- prices


class PriceIn(In):
    product: Ident
    stage: Ident
    month: Month
    price_usd_per_t: Positive
    methodology_version: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(
        default_factory=dict, description="the data the price was computed from (sources)"
    )


class PriceCorrection(In):
    price_usd_per_t: Positive
    reason: str = Field(min_length=1, max_length=2000)
    methodology_version: str | None = Field(None, min_length=1, max_length=64)


class Empty(In):
    pass


class Price(BaseModel):
    id: int
    product: str
    stage: str
    month: str
    version: int
    status: str
    price_usd_per_t: float
    methodology_version: str
    data: dict[str, Any]
    reason: str | None
    published_at: str


# --------------------------------------------------------------------------- declarations


class DeclarationIn(In):
    product: Ident
    stage: Ident
    quantity_t: Positive
    customs_value_usd: Money
    declared_on: Date
    origin_iso3: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    lot_id: str | None = Field(None, min_length=1, max_length=200)
    origin_stage: Literal["mine", "refining", "metal", "component", "product"] | None = Field(
        None,
        description="with lot_id: the traced stage whose countries are the origin "
        "(default: the stage that makes the declared product's stage)",
    )


class Declaration(BaseModel):
    id: int
    member_id: str
    product: str
    stage: str
    quantity_t: float
    customs_value_usd: float
    declared_on: str
    origin_iso3: str | None
    lot_id: str | None
    levy_usd: float
    assessment: dict[str, Any]
    created_at: str


# --------------------------------------------------------------------------- contracts


class ContractIn(In):
    member_id: Ident
    contract: dict[str, Any] = Field(description="the fields of a critmin contract file")


class ContractAmendment(In):
    contract: dict[str, Any] = Field(
        description="the amended contract: every field of a critmin contract file"
    )
    reason: str = Field(min_length=1, max_length=2000)


class Contract(BaseModel):
    id: int
    member_id: str
    name: str
    version: int
    contract: dict[str, Any]


class StatementIn(In):
    first_month: Month | None = None
    through_month: Month | None = None
    as_of: Date | None = Field(
        None, description="settle on the prices as published by the end of this day (UTC)"
    )


class Statement(BaseModel):
    id: int
    contract_id: int
    inputs: dict[str, Any]
    result: dict[str, Any]
    created_at: str


class Verification(BaseModel):
    statement_id: int
    matches: bool
    differences: list[dict[str, Any]]
    recomputed: dict[str, Any]


# --------------------------------------------------------------------------- stockpiles


class StockpileIn(In):
    id: Ident
    member_id: Ident
    name: str = Field(min_length=1, max_length=200)
    spec: dict[str, Any] = Field(default_factory=dict, description="the stockpile file's fields")


class Stockpile(BaseModel):
    id: str
    member_id: str
    name: str
    balance: dict[str, Any]


class MovementIn(In):
    kind: Literal["fund_in", "purchase", "release", "draw"]
    month: Month
    account: Ident = "cash"
    qty_t: Positive | None = None
    price_usd_per_t: Money | None = None
    amount_usd: Positive | None = None
    counterparty: str = Field("", max_length=200)
    reason: str = Field("", max_length=2000)


class Movement(BaseModel):
    id: int
    holder: str
    kind: str
    status: str
    request: dict[str, Any]
    initiated_by: int
    decided_by: int | None
    entry_seq: int | None
    version: int


class LedgerEntry(BaseModel):
    seq: int
    month: str
    holder: str
    account: str
    kind: str
    qty_kg: int
    cash_cents: int
    cost_cents: int
    debt_cents: int
    counterparty: str
    reason: str
    price_usd_per_t: float | None
    corrects: int | None


# --------------------------------------------------------------------------- traceability


class EpcisIn(In):
    member_id: Ident | None = Field(None, description="operators only: whose lots these are")
    document: dict[str, Any] = Field(description="an EPCIS 2.0 JSON-LD document")


class LotRow(BaseModel):
    id: str
    member_id: str
    document_id: int
    product: str | None
    quantity_t: float | None


class EpcisReceipt(BaseModel):
    document_id: int
    lots: list[LotRow]


class Origin(BaseModel):
    lot: str
    value_basis_missing_for: list[str]
    shares: list[dict[str, Any]]
    upstream_facilities: list[dict[str, Any]]
    #: with ``?as_of=``: the day, the EPCIS documents (ids) registered by then that the origin
    #: was composed over (the lot's own first), and the code that composed it
    as_of: str | None = None
    documents: list[int] | None = None
    rules_version: str | None = None


# --------------------------------------------------------------------------- audit


class AuditRow(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    member_id: str | None
    before: Any
    after: Any
    prev_sha256: str
    sha256: str


class AuditVerification(BaseModel):
    ok: bool
    rows: int
    head_sha256: str
    problems: list[str]


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """The paginated list model of ``item`` (``items`` + ``next_cursor``)."""
    from pydantic import create_model

    return create_model(
        f"{item.__name__}Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, None),
    )


# --------------------------------------------------------------------------- origin rules


class RulesetIn(In):
    name: str = Field(min_length=1, max_length=200)
    ruleset: dict[str, Any] = Field(description="the fields of a critmin rules file")


class Ruleset(BaseModel):
    id: int
    name: str
    ruleset: dict[str, Any]
    created_at: str


class Verdicts(BaseModel):
    lot: str
    on: str
    ok: bool
    violations: list[dict[str, Any]]
    results: list[dict[str, Any]]
    treatment: str | None
    #: with ``?as_of=``: the day whose registry state the verdicts were computed on
    as_of: str | None = None


class CertificateIn(In):
    ruleset_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    on: Date


class Certificate(BaseModel):
    id: int
    lot_id: str
    member_id: str
    ruleset_id: int
    content: dict[str, Any]
    sha256: str = Field(description="SHA-256 of the canonical JSON of content")
    issued_at: str
