"""Reference prices, import declarations (with the FORGE levy), contracts and statements."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from critmin import __version__
from critmin.api import engine as domain
from critmin.api import models as m
from critmin.api.auth import AUDITOR, INITIATOR, OPERATOR, PUBLISHER, Principal
from critmin.api.deps import Caller, Engine, RowId, known_query_only, record
from critmin.api.http import (
    DEFAULT_LIMIT,
    PROBLEM_RESPONSES,
    bad_input,
    check_if_match,
    conflict,
    etag,
    forbidden,
    idempotent_post,
    not_found,
    page,
    page_response,
)
from critmin.errors import CritminError
from critmin.store.audit import canonical, now_iso
from critmin.store.db import (
    JsonText,
    insert_later,
    insert_row,
    json_value,
    next_id,
    read_connection,
    reserve_ids,
    write_tx,
)
from critmin.store.schema import contracts, declarations, prices, statements

router = APIRouter(
    prefix="/v1", dependencies=[Depends(known_query_only)], responses=PROBLEM_RESPONSES
)

PricePage = m.page_of(m.Price)
DeclarationPage = m.page_of(m.Declaration)
ContractPage = m.page_of(m.Contract)
StatementPage = m.page_of(m.Statement)

#: trace stage whose country is a product stage's origin (oxide is made by refining)
TRACE_STAGE = {"oxide": "refining", "concentrate": "mine", "ore": "mine", "magnet": "component"}


_PRICE_FIELDS = tuple(m.Price.model_fields)
_DECLARATION_FIELDS = tuple(m.Declaration.model_fields)


def price_dict(r: Any) -> dict[str, Any]:
    # rows come from our own tables; the response model validates them once on the way out
    # (validating here too doubled the cost of a list page)
    row = r._mapping
    return {k: row[k] for k in _PRICE_FIELDS}


def _as_of_bound(as_of: dt.date | None) -> str | None:
    """Records published up to the end of ``as_of`` (UTC) count as of that day."""
    if as_of is None:
        return None
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), dt.UTC).isoformat(
        timespec="microseconds"
    )


def latest_prices(as_of: dt.date | None = None) -> sa.Select[Any]:
    """The newest version of every (product, month) published by ``as_of`` (default: now)."""
    bound = _as_of_bound(as_of)
    inner = sa.select(prices.c.product, prices.c.month, sa.func.max(prices.c.version).label("v"))
    if bound is not None:
        inner = inner.where(prices.c.published_at < bound)
    sub = inner.group_by(prices.c.product, prices.c.month).subquery()
    return sa.select(prices).join(
        sub,
        sa.and_(
            prices.c.product == sub.c.product,
            prices.c.month == sub.c.month,
            prices.c.version == sub.c.v,
        ),
    )


def price_in_force(
    conn: sa.Connection, product: str, month: str, as_of: dt.date | None = None
) -> dict[str, Any] | None:
    """The newest version of one product-month published by ``as_of`` (index lookup)."""
    bound = _as_of_bound(as_of)
    if bound is None:
        row = conn.execute(_PRICE_IN_FORCE, {"product": product, "month": month}).first()
    else:
        q = sa.select(prices).where(
            prices.c.product == product, prices.c.month == month, prices.c.published_at < bound
        )
        row = conn.execute(q.order_by(prices.c.version.desc()).limit(1)).first()
    return price_dict(row) if row is not None else None


# built once: every declaration runs it
_PRICE_IN_FORCE = (
    sa.select(prices)
    .where(prices.c.product == sa.bindparam("product"), prices.c.month == sa.bindparam("month"))
    .order_by(prices.c.version.desc())
    .limit(1)
)


# --------------------------------------------------------------------------- prices


@router.get("/prices", response_model=PricePage, tags=["prices"])
def list_prices(
    _who: Caller,
    engine: Engine,
    product: str | None = None,
    month: str | None = None,
    as_of: m.Date | None = None,
    all_versions: bool = False,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Published reference prices: the newest version of each (product, month) by default;
    ``as_of`` = as published by the end of that day; ``all_versions`` = the full history."""
    q = sa.select(prices) if all_versions else latest_prices(as_of)
    if all_versions and as_of is not None:
        q = q.where(prices.c.published_at < _as_of_bound(as_of))
    if product is not None:
        q = q.where(prices.c.product == product)
    if month is not None:
        q = q.where(prices.c.month == month)
    with engine.connect() as conn:
        return page(conn, q, prices.c.id, limit, cursor, price_dict)


@router.get("/prices/{price_id}", response_model=m.Price, tags=["prices"])
def get_price(price_id: RowId, _who: Caller, engine: Engine) -> dict[str, Any]:
    """One version of a reference price."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(prices).where(prices.c.id == price_id)).first()
    if row is None:
        raise not_found("price", price_id)
    return price_dict(row)


def _insert_price(conn: sa.Connection, who: Principal, values: dict[str, Any]) -> dict[str, Any]:
    row = insert_row(conn, prices, **values, published_by=who.user_id, published_at=now_iso())
    return price_dict(row)


@router.post("/prices", response_model=m.Price, status_code=201, tags=["prices"])
def publish_price(body: m.PriceIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Publish a preliminary reference price for a product and month (price publisher or
    operator)."""
    who.require(PUBLISHER, OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if conn.execute(
            sa.select(prices.c.id).where(
                prices.c.product == body.product, prices.c.month == body.month
            )
        ).first():
            raise conflict(
                f"{body.product} {body.month} is already published; finalise or correct it",
                "body.month",
            )
        out = _insert_price(
            conn,
            who,
            {**body.model_dump(mode="json"), "version": 1, "status": "preliminary", "reason": None},
        )
        record(conn, who, "publish", "price", out["id"], after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


def _latest_version(conn: sa.Connection, price_id: RowId) -> Any:
    row = conn.execute(sa.select(prices).where(prices.c.id == price_id)).first()
    if row is None:
        raise not_found("price", price_id)
    newest = conn.execute(
        sa.select(sa.func.max(prices.c.version)).where(
            prices.c.product == row.product, prices.c.month == row.month
        )
    ).scalar_one()
    if newest != row.version:
        raise conflict(
            f"price {price_id} is version {row.version}; version {newest} supersedes it", "price_id"
        )
    return row


@router.post(
    "/prices/{price_id}/finalize", response_model=m.Price, status_code=201, tags=["prices"]
)
def finalize_price(
    price_id: RowId, _body: m.Empty | None = None, *, who: Caller, engine: Engine, request: Request
) -> Response:
    """Make a preliminary price final (a new version; price publisher or operator)."""
    who.require(PUBLISHER, OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _latest_version(conn, price_id)
        if row.status != "preliminary":
            raise conflict(f"price {price_id} is {row.status}, not preliminary", "price_id")
        before = price_dict(row)
        out = _insert_price(
            conn,
            who,
            {
                k: before[k]
                for k in (
                    "product",
                    "stage",
                    "month",
                    "price_usd_per_t",
                    "methodology_version",
                    "data",
                )
            }
            | {"version": row.version + 1, "status": "final", "reason": None},
        )
        record(conn, who, "finalize", "price", out["id"], before=before, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, {}, work)


@router.post("/prices/{price_id}/correct", response_model=m.Price, status_code=201, tags=["prices"])
def correct_price(
    price_id: RowId, body: m.PriceCorrection, who: Caller, engine: Engine, request: Request
) -> Response:
    """Correct a final price: a new version with a reason (price publisher or operator)."""
    who.require(PUBLISHER, OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _latest_version(conn, price_id)
        if row.status == "preliminary":
            raise conflict(f"price {price_id} is preliminary: finalise it first", "price_id")
        before = price_dict(row)
        out = _insert_price(
            conn,
            who,
            {
                "product": row.product,
                "stage": row.stage,
                "month": row.month,
                "price_usd_per_t": body.price_usd_per_t,
                "methodology_version": body.methodology_version or row.methodology_version,
                "data": row.data,
                "version": row.version + 1,
                "status": "corrected",
                "reason": body.reason,
            },
        )
        record(conn, who, "correct", "price", out["id"], before=before, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


# --------------------------------------------------------------------------- declarations


def declaration_dict(r: Any) -> dict[str, Any]:
    row = r._mapping
    return {k: row[k] for k in _DECLARATION_FIELDS}


def _origin_of(conn: sa.Connection, who: Principal, body: m.DeclarationIn) -> dict[str, float]:
    if (body.origin_iso3 is None) == (body.lot_id is None):
        raise bad_input("body.origin_iso3", "give exactly one of origin_iso3 or lot_id")
    if body.origin_iso3 is not None:
        return {body.origin_iso3: 1.0}
    from critmin import LotOrigin
    from critmin.api.routes_trace import STORED_ORIGIN

    row = conn.execute(STORED_ORIGIN, {"lot_id": body.lot_id}).first()
    if row is None or row.member_id != who.member_id:
        raise bad_input("body.lot_id", f"no lot {body.lot_id!r} registered by your member")
    # the lot's stored origin: composed when it was registered, not recomputed per declaration
    origin = domain.stored_lot_origin(LotOrigin.from_json(row.origin), str(body.lot_id))
    stage = body.origin_stage or TRACE_STAGE.get(body.stage, body.stage)
    return domain.origin_shares_at_stage(origin, stage)


def registry_members(
    conn: sa.Connection, month: str, as_of: dt.date | None = None
) -> list[str] | None:
    """Countries (ISO3) with a FORGE membership in force on ``month``'s last day in the
    registry's records (with ``as_of``: the records made by the end of that day, UTC); None
    when the registry records no FORGE membership at all (by then) (then the catalog's bloc
    decides, as in a market run)."""
    from critmin import month_end

    day = month_end(month).isoformat()
    bound = _as_of_bound(as_of)
    if bound is None:
        members_on, any_membership = _MEMBERS_ON, _ANY_MEMBERSHIP
        params = {"bloc": domain.LEVY_BLOC, "day": day}
    else:
        members_on, any_membership = _MEMBERS_ON_AS_OF, _ANY_MEMBERSHIP_AS_OF
        params = {"bloc": domain.LEVY_BLOC, "day": day, "bound": bound}
    rows = conn.execute(members_on, params).all()
    # no member on that day: the registry may keep no FORGE records at all (then the catalog)
    if not rows and conn.execute(any_membership, params).first() is None:
        return None
    return sorted({r.country_iso3 or r.id for r in rows})


def _membership_queries() -> tuple[sa.Select[Any], sa.Select[Any]]:
    from critmin.store.schema import members, memberships

    on = (
        sa.select(members.c.id, members.c.country_iso3)
        .join(memberships, memberships.c.member_id == members.c.id)
        .where(
            memberships.c.bloc == sa.bindparam("bloc"),
            memberships.c.start_date <= sa.bindparam("day"),
            sa.or_(memberships.c.end_date.is_(None), memberships.c.end_date >= sa.bindparam("day")),
        )
    )
    anyone = sa.select(memberships.c.bloc).where(memberships.c.bloc == sa.bindparam("bloc"))
    return on, anyone.limit(1)


def _recorded_by(q: sa.Select[Any]) -> sa.Select[Any]:
    """``q`` restricted to the memberships recorded before ``:bound`` (a row from before
    revision 0005 has no time and counts as recorded from the start)."""
    from critmin.store.schema import memberships

    rec = memberships.c.recorded_at
    return q.where(sa.or_(rec.is_(None), rec < sa.bindparam("bound")))


# built once: every declaration runs them (the second only when nobody is a member that day)
_MEMBERS_ON, _ANY_MEMBERSHIP = _membership_queries()
_MEMBERS_ON_AS_OF, _ANY_MEMBERSHIP_AS_OF = (_recorded_by(q) for q in _membership_queries())


def assess(
    conn: sa.Connection, who: Principal, body: m.DeclarationIn, as_of: dt.date | None = None
) -> dict[str, Any]:
    shares = _origin_of(conn, who, body)
    month = f"{body.declared_on.year:04d}-{body.declared_on.month:02d}"
    published = price_in_force(conn, body.product, month, as_of)
    basis = {"origin_basis": "declared" if body.lot_id is None else "traced lot"}
    if body.lot_id is not None:
        basis["origin_stage"] = body.origin_stage or TRACE_STAGE.get(body.stage, body.stage)
    return basis | domain.assess_levy(
        members=registry_members(conn, month, as_of),
        product=body.product,
        quantity_t=body.quantity_t,
        customs_value_usd=body.customs_value_usd,
        declared_on=body.declared_on,
        origin_shares=shares,
        published=published,
    )


@router.post("/declarations", response_model=m.Declaration, status_code=201, tags=["declarations"])
def file_declaration(
    body: m.DeclarationIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """File an import declaration (member initiator); the levy is assessed at once."""
    who.require(INITIATOR)
    if who.member_id is None:
        raise forbidden("only a member's representative files declarations")

    # assessed before the write transaction: reading the price and the lot and running the
    # levy need no lock, and on SQLite every write waits for the one holding it (a price
    # published meanwhile is seen by the next declaration, as if this one came first)
    with read_connection(engine) as read:
        result = assess(read, who, body)

    # serialised once each, outside the shared write transaction: the assessment (stored as
    # is, and spliced into the answer) and the answer's other fields; the audit row's
    # canonical text reuses them (py-spy: JSON encoding was a fifth of a declaration's CPU)
    assessment_json = json.dumps(result)
    assessment_canonical = canonical(result)
    fields = {
        "member_id": str(who.member_id),
        "product": body.product,
        "stage": body.stage,
        "quantity_t": body.quantity_t,
        "customs_value_usd": body.customs_value_usd,
        "declared_on": body.declared_on.isoformat(),
        "origin_iso3": body.origin_iso3,
        "lot_id": body.lot_id,
        "levy_usd": result["levy_usd"],
    }

    def work(conn: sa.Connection) -> tuple[int, JsonText]:
        created_at = now_iso()
        row = {
            **fields,
            "assessment": json_value(conn, assessment_json),
            "created_by": who.user_id,
            "created_at": created_at,
        }
        # the id reserved for the batch (_reserve_declaration_ids) lets the row be held back
        # and inserted with the batch's others: on PostgreSQL each statement was a round trip
        # inside the writer, the serial part of a write (py-spy)
        new_id = next_id(conn, declarations)
        if new_id is None:  # no reserved id left (a savepoint rolled back): insert now
            pk = conn.execute(declarations.insert(), row).inserted_primary_key
            assert pk is not None
            new_id = int(pk[0])
        else:
            insert_later(conn, declarations, {"id": new_id, **row})
        out = {"id": new_id, **fields, "created_at": created_at}
        # canonical(out + assessment): "assessment" sorts before every other key
        after = '{"assessment":' + assessment_canonical + "," + canonical(out)[1:]
        record(
            conn, who, "file", "declaration", new_id, member_id=who.member_id, after=JsonText(after)
        )
        return 201, JsonText(json.dumps(out)[:-1] + ',"assessment":' + assessment_json + "}")

    return idempotent_post(
        engine,
        request,
        who.user_id,
        body.model_dump(mode="json"),
        work,
        prepare=[(_reserve_declaration_ids, None)],
        defer_inserts=True,
    )


def _reserve_declaration_ids(conn: sa.Connection, args: list[None]) -> None:
    """Prepare hook of the group commit: one declaration id for each declaration of the
    batch, in one statement (a replayed key leaves its id unused: a gap)."""
    reserve_ids(conn, declarations, len(args))


@router.get("/declarations", response_model=DeclarationPage, tags=["declarations"])
def list_declarations(
    who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> Response:
    """Declarations (a member sees its own)."""
    who.require(OPERATOR, AUDITOR, INITIATOR, "approver")
    q = sa.select(*_DECLARATION_LIST_COLUMNS)
    if not who.sees_all:
        q = q.where(declarations.c.member_id == (who.member_id or ""))
    with engine.connect() as conn:
        return page_response(conn, q, declarations.c.id, limit, cursor, _declaration_json)


# the assessment as its stored JSON text (CAST: psycopg would parse a json column itself)
_DECLARATION_LIST_COLUMNS = [
    *(declarations.c[k] for k in _DECLARATION_FIELDS if k != "assessment"),
    sa.cast(declarations.c.assessment, sa.Text).label("assessment_json"),
]


def _declaration_json(r: Any) -> str:
    """One declaration of a list page as JSON text, its stored assessment copied verbatim:
    parsing and re-encoding 50 assessments was a third of a list request's CPU (py-spy)."""
    row = r._mapping
    head = json.dumps({k: row[k] for k in _DECLARATION_FIELDS if k != "assessment"})
    return head[:-1] + ',"assessment":' + row["assessment_json"] + "}"


@router.get("/declarations/{declaration_id}", response_model=m.Declaration, tags=["declarations"])
def get_declaration(
    declaration_id: RowId, who: Caller, engine: Engine, as_of: m.Date | None = None
) -> dict[str, Any]:
    """One declaration; ``as_of`` re-assesses it with the prices as published and the FORGE
    memberships as recorded by the end of that day."""
    who.require(OPERATOR, AUDITOR, INITIATOR, "approver")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(declarations).where(declarations.c.id == declaration_id)
        ).first()
        if row is None or not who.may_see(row.member_id):
            raise not_found("declaration", declaration_id)
        out = declaration_dict(row)
        if as_of is not None:
            body = m.DeclarationIn(
                product=row.product,
                stage=row.stage,
                quantity_t=row.quantity_t,
                customs_value_usd=row.customs_value_usd,
                declared_on=dt.date.fromisoformat(row.declared_on),
                origin_iso3=row.origin_iso3,
                lot_id=row.lot_id,
                origin_stage=row.assessment.get("origin_stage"),
            )
            owner = Principal(who.user_id, who.name, row.member_id, who.roles)
            out["assessment"] = assess(conn, owner, body, as_of) | {"as_of": as_of.isoformat()}
            out["levy_usd"] = out["assessment"]["levy_usd"]
    return out


# --------------------------------------------------------------------------- contracts


def contract_dict(r: Any) -> dict[str, Any]:
    return m.Contract(
        id=r.id, member_id=r.member_id, name=r.name, version=r.version, contract=r.spec
    ).model_dump(mode="json")


@router.post("/contracts", response_model=m.Contract, status_code=201, tags=["contracts"])
def register_contract(
    body: m.ContractIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Register an offtake or floor contract (operator) in critmin's contract format."""
    who.require(OPERATOR)
    fields = _contract_fields(body.contract)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        from critmin.store.schema import members

        if not conn.execute(sa.select(members.c.id).where(members.c.id == body.member_id)).first():
            raise bad_input("body.member_id", f"no member {body.member_id!r}")
        row = insert_row(
            conn,
            contracts,
            member_id=body.member_id,
            name=fields["name"],
            spec=fields,
            version=1,
            created_at=now_iso(),
        )
        out = contract_dict(row)
        record(conn, who, "register", "contract", row.id, member_id=body.member_id, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/contracts", response_model=ContractPage, tags=["contracts"])
def list_contracts(
    who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> dict[str, Any]:
    """Contracts (a member sees its own)."""
    q = sa.select(contracts)
    if not who.sees_all:
        q = q.where(contracts.c.member_id == (who.member_id or ""))
    with engine.connect() as conn:
        return page(conn, q, contracts.c.id, limit, cursor, contract_dict)


def _contract_row(conn: sa.Connection, who: Principal, contract_id: RowId) -> Any:
    row = conn.execute(sa.select(contracts).where(contracts.c.id == contract_id)).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("contract", contract_id)
    return row


@router.get("/contracts/{contract_id}", response_model=m.Contract, tags=["contracts"])
def get_contract(
    contract_id: RowId, who: Caller, engine: Engine, response: Response
) -> dict[str, Any]:
    """One contract (ETag = its version)."""
    with engine.connect() as conn:
        row = _contract_row(conn, who, contract_id)
    response.headers["ETag"] = etag(row.version)
    return contract_dict(row)


def _contract_fields(contract: dict[str, Any]) -> dict[str, Any]:
    try:
        return domain.validate_contract(contract)
    except CritminError as exc:
        where = (getattr(exc, "where", None) or "").removeprefix("field ").strip("'")
        # a rule across fields (end before start) is reported on the contract itself
        field = "body.contract" if where in ("", "contract") else f"body.contract.{where}"
        raise bad_input(field, str(exc)) from None


@router.patch("/contracts/{contract_id}", response_model=m.Contract, tags=["contracts"])
def amend_contract(
    contract_id: RowId,
    body: m.ContractAmendment,
    who: Caller,
    engine: Engine,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Amend a contract (operator; needs If-Match): a new version with a reason. Statements
    already issued keep the version they were computed on (it is in their inputs)."""
    who.require(OPERATOR)
    fields = _contract_fields(body.contract)
    with write_tx(engine) as conn:
        row = _contract_row(conn, who, contract_id)
        check_if_match(request, row.version)
        before = contract_dict(row)
        conn.execute(
            contracts.update()
            .where(contracts.c.id == contract_id, contracts.c.version == row.version)
            .values(spec=fields, name=fields["name"], version=row.version + 1)
        )
        after = contract_dict(
            conn.execute(sa.select(contracts).where(contracts.c.id == contract_id)).one()
        )
        record(
            conn,
            who,
            "amend",
            "contract",
            contract_id,
            member_id=row.member_id,
            before=before,
            after=after | {"reason": body.reason},
        )
    response.headers["ETag"] = etag(after["version"])
    return after


def statement_dict(r: Any) -> dict[str, Any]:
    return m.Statement.model_validate(r._mapping).model_dump(mode="json")


def _statement_inputs(
    conn: sa.Connection,
    row: Any,
    first: str | None,
    through: str | None,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """What a statement is computed from: contract version, the price versions, versions."""
    spec = row.spec
    used = conn.execute(
        latest_prices(as_of).where(prices.c.product == spec["mineral"]).order_by(prices.c.month)
    ).all()
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "contract_id": row.id,
        "contract_version": row.version,
        "contract": spec,
        "first_month": first,
        "through_month": through,
        "prices": [
            {
                "month": p.month,
                "price_id": p.id,
                "version": p.version,
                "status": p.status,
                "price_usd_per_t": p.price_usd_per_t,
            }
            for p in used
        ],
        "rules_version": f"critmin.contracts.settle {__version__}",
        "critmin_version": __version__,
    }


def compute_statement(inputs: dict[str, Any]) -> dict[str, Any]:
    by_month = {p["month"]: p["price_usd_per_t"] / domain.KG_PER_T for p in inputs["prices"]}
    try:
        return domain.settle_statement(
            inputs["contract"], by_month, inputs["first_month"], inputs["through_month"]
        )
    except CritminError as exc:
        # the registry's prices do not cover the months: a state of the registry, not input
        detail = str(exc).removeprefix("registry reference prices: ")
        raise conflict(f"cannot settle: {detail}", "prices") from None


@router.post(
    "/contracts/{contract_id}/statements",
    response_model=m.Statement,
    status_code=201,
    tags=["contracts"],
)
def create_statement(
    contract_id: RowId, body: m.StatementIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Settle the contract month by month on the published reference prices (operator, or
    the contract member's initiator); the statement stores every input it used."""
    who.require(OPERATOR, INITIATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _contract_row(conn, who, contract_id)
        inputs = _statement_inputs(conn, row, body.first_month, body.through_month, body.as_of)
        result = compute_statement(inputs)
        stored = insert_row(
            conn,
            statements,
            contract_id=contract_id,
            inputs=inputs,
            result=result,
            created_by=who.user_id,
            created_at=now_iso(),
        )
        out = statement_dict(stored)
        record(
            conn,
            who,
            "settle",
            "statement",
            stored.id,
            member_id=row.member_id,
            after={"contract_id": contract_id, "totals": result["totals"]},
        )
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/contracts/{contract_id}/statements", response_model=StatementPage, tags=["contracts"])
def list_statements(
    contract_id: RowId,
    who: Caller,
    engine: Engine,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    with engine.connect() as conn:
        _contract_row(conn, who, contract_id)
        q = sa.select(statements).where(statements.c.contract_id == contract_id)
        return page(conn, q, statements.c.id, limit, cursor, statement_dict)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Line by line, field by field: what changed between two statements (to the cent)."""
    diffs: list[dict[str, Any]] = []
    old_lines = {line["month"]: line for line in old["lines"]}
    new_lines = {line["month"]: line for line in new["lines"]}
    for month in sorted(set(old_lines) | set(new_lines)):
        a, b = old_lines.get(month), new_lines.get(month)
        if a is None or b is None:
            diffs.append(
                {"month": month, "field": "line", "before": a is not None, "after": b is not None}
            )
            continue
        for k, va in a.items():
            vb = b.get(k)
            if isinstance(va, float) and isinstance(vb, float):
                if (k.endswith("_usd") and round(va, 2) != round(vb, 2)) or (
                    not k.endswith("_usd") and not math.isclose(va, vb, rel_tol=0, abs_tol=1e-9)
                ):
                    diffs.append(
                        {
                            "month": month,
                            "field": k,
                            "before": va,
                            "after": vb,
                            "difference": vb - va,
                        }
                    )
            elif va != vb and k != "explanation":
                diffs.append({"month": month, "field": k, "before": va, "after": vb})
    return diffs


def _statement_row(conn: sa.Connection, who: Principal, statement_id: RowId) -> Any:
    row = conn.execute(sa.select(statements).where(statements.c.id == statement_id)).first()
    if row is None:
        raise not_found("statement", statement_id)
    _contract_row(conn, who, row.contract_id)
    return row


@router.post("/statements/{statement_id}/verify", response_model=m.Verification, tags=["contracts"])
def verify_statement(
    statement_id: RowId,
    _body: m.Empty | None = None,
    *,
    who: Caller,
    engine: Engine,
    request: Request,
) -> Response:
    """Recompute a statement from its stored inputs and compare it to the cent."""

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _statement_row(conn, who, statement_id)
        inputs = dict(row.inputs)
        # the prices exactly as the statement used them, re-read by id from the registry
        used = []
        for p in inputs["prices"]:
            pr = conn.execute(sa.select(prices).where(prices.c.id == p["price_id"])).one()
            used.append({**p, "price_usd_per_t": pr.price_usd_per_t})
        recomputed = compute_statement({**inputs, "prices": used})
        diffs = _differences(row.result, recomputed)
        return 200, {
            "statement_id": statement_id,
            "matches": not diffs,
            "differences": diffs,
            "recomputed": recomputed,
        }

    return idempotent_post(engine, request, who.user_id, {}, work)


@router.post(
    "/statements/{statement_id}/restate",
    response_model=m.Statement,
    status_code=201,
    tags=["contracts"],
)
def restate(
    statement_id: RowId,
    _body: m.Empty | None = None,
    *,
    who: Caller,
    engine: Engine,
    request: Request,
) -> Response:
    """A new statement on the prices published now (after corrections); its inputs name the
    statement it restates and list the differences line by line."""
    who.require(OPERATOR, INITIATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        old = _statement_row(conn, who, statement_id)
        crow = _contract_row(conn, who, old.contract_id)
        inputs = _statement_inputs(
            conn, crow, old.inputs["first_month"], old.inputs["through_month"]
        )
        result = compute_statement(inputs)
        inputs["restates"] = statement_id
        inputs["differences"] = _differences(old.result, result)
        stored = insert_row(
            conn,
            statements,
            contract_id=old.contract_id,
            inputs=inputs,
            result=result,
            created_by=who.user_id,
            created_at=now_iso(),
        )
        out = statement_dict(stored)
        record(
            conn,
            who,
            "restate",
            "statement",
            stored.id,
            member_id=crow.member_id,
            after={"restates": statement_id, "differences": inputs["differences"]},
        )
        return 201, out

    return idempotent_post(engine, request, who.user_id, {}, work)
