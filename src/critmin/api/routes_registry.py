"""Members (with dated bloc membership), users, tokens and the audit trail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from critmin.api import models as m
from critmin.api.auth import AUDITOR, MEMBER_ROLES, OPERATOR, forget_verified_tokens, issue_token
from critmin.api.deps import Caller, Engine, RowId, known_query_only, record
from critmin.api.http import (
    DEFAULT_LIMIT,
    PROBLEM_RESPONSES,
    bad_input,
    check_if_match,
    conflict,
    etag,
    idempotent_post,
    not_found,
    page,
)
from critmin.store.audit import now_iso, verify_chain
from critmin.store.db import insert_row, write_tx
from critmin.store.schema import audit, members, memberships, tokens, users

router = APIRouter(
    prefix="/v1", dependencies=[Depends(known_query_only)], responses=PROBLEM_RESPONSES
)

MemberPage = m.page_of(m.Member)
UserPage = m.page_of(m.User)
AuditPage = m.page_of(m.AuditRow)


def member_dict(conn: sa.Connection, row: Any) -> dict[str, Any]:
    ms = conn.execute(
        sa.select(memberships)
        .where(memberships.c.member_id == row.id)
        .order_by(memberships.c.start_date, memberships.c.id)
    ).all()
    return m.Member(
        id=row.id,
        name=row.name,
        kind=row.kind,
        country_iso3=row.country_iso3,
        version=row.version,
        memberships=[
            m.Membership(
                id=x.id,
                bloc=x.bloc,
                start_date=x.start_date,
                end_date=x.end_date,
                recorded_at=x.recorded_at,
            )
            for x in ms
        ],
    ).model_dump(mode="json")


def user_dict(row: Any) -> dict[str, Any]:
    return m.User(
        id=row.id, name=row.name, member_id=row.member_id, roles=list(row.roles)
    ).model_dump()


@router.get("/me", response_model=m.Me, tags=["registry"])
def me(who: Caller) -> dict[str, Any]:
    """The caller: user, member and roles."""
    return {
        "user_id": who.user_id,
        "name": who.name,
        "member_id": who.member_id,
        "roles": sorted(who.roles),
    }


@router.get("/members", response_model=MemberPage, tags=["registry"])
def list_members(
    who: Caller,
    engine: Engine,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Members (a member representative sees its own member only)."""
    q = sa.select(members)
    if not who.sees_all:
        q = q.where(members.c.id == (who.member_id or ""))
    with engine.connect() as conn:
        return page(conn, q, members.c.id, limit, cursor, lambda r: member_dict(conn, r))


@router.post("/members", response_model=m.Member, status_code=201, tags=["registry"])
def create_member(body: m.MemberIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Register a member (operator)."""
    who.require(OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if conn.execute(sa.select(members.c.id).where(members.c.id == body.id)).first():
            raise conflict(f"member {body.id!r} exists", "body.id")
        conn.execute(members.insert().values(**body.model_dump(), version=1, created_at=now_iso()))
        row = conn.execute(sa.select(members).where(members.c.id == body.id)).one()
        out = member_dict(conn, row)
        record(conn, who, "create", "member", body.id, member_id=body.id, after=out)
        return 201, out

    return idempotent_post(
        engine,
        request,
        who.user_id,
        body.model_dump(mode="json"),
        work,
        headers=lambda b: {"ETag": etag(b["version"])},
    )


def _member_row(conn: sa.Connection, who: Any, member_id: str) -> Any:
    row = conn.execute(sa.select(members).where(members.c.id == member_id)).first()
    if row is None or not who.may_see(member_id):
        raise not_found("member", member_id)
    return row


@router.get("/members/{member_id}", response_model=m.Member, tags=["registry"])
def get_member(member_id: str, who: Caller, engine: Engine, response: Response) -> dict[str, Any]:
    """One member with its dated bloc memberships (ETag = its version)."""
    with engine.connect() as conn:
        row = _member_row(conn, who, member_id)
        response.headers["ETag"] = etag(row.version)
        return member_dict(conn, row)


@router.patch("/members/{member_id}", response_model=m.Member, tags=["registry"])
def patch_member(
    member_id: str,
    body: m.MemberPatch,
    who: Caller,
    engine: Engine,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Change a member's name or country (operator; needs If-Match)."""
    who.require(OPERATOR)
    changes = body.model_dump(exclude_unset=True)
    with write_tx(engine) as conn:
        row = _member_row(conn, who, member_id)
        check_if_match(request, row.version)
        before = member_dict(conn, row)
        conn.execute(
            members.update()
            .where(members.c.id == member_id, members.c.version == row.version)
            .values(**changes, version=row.version + 1)
        )
        after = member_dict(
            conn, conn.execute(sa.select(members).where(members.c.id == member_id)).one()
        )
        record(
            conn,
            who,
            "update",
            "member",
            member_id,
            member_id=member_id,
            before=before,
            after=after,
        )
    response.headers["ETag"] = etag(after["version"])
    return after


@router.post(
    "/members/{member_id}/memberships", response_model=m.Member, status_code=201, tags=["registry"]
)
def add_membership(
    member_id: str, body: m.MembershipIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Record a dated bloc membership (operator)."""
    who.require(OPERATOR)
    if body.end_date is not None and body.end_date < body.start_date:
        raise bad_input("body.end_date", "must not be before start_date")

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _member_row(conn, who, member_id)
        before = member_dict(conn, row)
        conn.execute(
            memberships.insert().values(
                member_id=member_id,
                bloc=body.bloc,
                start_date=body.start_date.isoformat(),
                end_date=body.end_date.isoformat() if body.end_date else None,
                recorded_at=now_iso(),
            )
        )
        conn.execute(
            members.update().where(members.c.id == member_id).values(version=row.version + 1)
        )
        after = member_dict(
            conn, conn.execute(sa.select(members).where(members.c.id == member_id)).one()
        )
        record(
            conn,
            who,
            "add_membership",
            "member",
            member_id,
            member_id=member_id,
            before=before,
            after=after,
        )
        return 201, after

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/users", response_model=UserPage, tags=["registry"])
def list_users(
    who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> dict[str, Any]:
    """Users and their roles (operator, auditor)."""
    who.require(OPERATOR, AUDITOR)
    with engine.connect() as conn:
        return page(conn, sa.select(users), users.c.id, limit, cursor, user_dict)


@router.post("/users", response_model=m.User, status_code=201, tags=["registry"])
def create_user(body: m.UserIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Create a user with roles (operator). Member roles need a member_id."""
    who.require(OPERATOR)
    if set(body.roles) & set(MEMBER_ROLES) and body.member_id is None:
        raise bad_input("body.member_id", "initiator and approver act for a member: give member_id")

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if (
            body.member_id is not None
            and not conn.execute(
                sa.select(members.c.id).where(members.c.id == body.member_id)
            ).first()
        ):
            raise bad_input("body.member_id", f"no member {body.member_id!r}")
        if conn.execute(sa.select(users.c.id).where(users.c.name == body.name)).first():
            raise conflict(f"user {body.name!r} exists", "body.name")
        row = insert_row(
            conn,
            users,
            name=body.name,
            member_id=body.member_id,
            roles=sorted(set(body.roles)),
            created_at=now_iso(),
        )
        out = user_dict(row)
        record(conn, who, "create", "user", row.id, member_id=body.member_id, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.post("/users/{user_id}/tokens", response_model=m.Token, status_code=201, tags=["registry"])
def create_token(
    user_id: RowId, body: m.TokenIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Issue an access token (operator). The token is returned once; only its hash is kept."""
    who.require(OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if not conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first():
            raise not_found("user", user_id)
        out = issue_token(conn, user_id, body.ttl_days)
        shown = {k: v for k, v in out.items() if k != "token"}
        record(conn, who, "issue_token", "token", out["id"], after=shown)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.post("/tokens/{token_id}/revoke", response_model=m.TokenRevoked, tags=["registry"])
def revoke_token(
    token_id: RowId, _body: m.Empty | None = None, *, who: Caller, engine: Engine, request: Request
) -> Response:
    """Revoke a token (operator); it stops working at once in this worker process and within
    a second in the others (``critmin.api.auth.TOKEN_CACHE_S``)."""
    who.require(OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise not_found("token", token_id)
        if row.revoked_at is not None:
            return 200, {"id": token_id, "revoked_at": row.revoked_at}
        at = now_iso()
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked_at=at))
        record(
            conn,
            who,
            "revoke",
            "token",
            token_id,
            before={"revoked_at": None},
            after={"revoked_at": at},
        )
        return 200, {"id": token_id, "revoked_at": at}

    try:
        return idempotent_post(engine, request, who.user_id, {}, work)
    finally:
        # after the commit: a request verifying the token from now on reads the revocation
        forget_verified_tokens()


def audit_dict(r: Any) -> dict[str, Any]:
    return m.AuditRow.model_validate(r._mapping).model_dump(mode="json")


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def list_audit(
    who: Caller,
    engine: Engine,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
    entity: str | None = None,
) -> dict[str, Any]:
    """The audit trail in order (operator, auditor)."""
    who.require(OPERATOR, AUDITOR)
    q = sa.select(audit)
    if entity is not None:
        q = q.where(audit.c.entity == entity)
    with engine.connect() as conn:
        return page(conn, q, audit.c.seq, limit, cursor, audit_dict)


@router.get("/audit/verify", response_model=m.AuditVerification, tags=["audit"])
def verify_audit(who: Caller, engine: Engine) -> dict[str, Any]:
    """Recompute the hash chain (operator, auditor)."""
    who.require(OPERATOR, AUDITOR)
    with engine.connect() as conn:
        rep = verify_chain(conn)
    return {
        "ok": rep.ok,
        "rows": rep.rows,
        "head_sha256": rep.head_sha256,
        "problems": list(rep.problems),
    }
