"""Stockpile accounts on critmin's append-only ledger, with two-person releases and draws.

Funding and purchases are booked at once by the holder's initiator (or the operator).
A release or a draw (a member's pre-purchase draw on the stockpile) is first a pending
movement; a second user with the ``approver`` role (of the holder's member, or the
operator) approves it, and only then is it booked. Every booking rebuilds the holder's
:class:`critmin.stockpile.ledger.Ledger` from the stored entries, appends the new entry
with critmin's FIFO cost basis and runs ``check_balance``: a movement that would overdraw
the stock or the cash is refused (409) and nothing is written. Bookings of one holder are
serialised by a row lock on the account (``SELECT ... FOR UPDATE`` on PostgreSQL, the
database write lock on SQLite), so concurrent draws cannot overdraw it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from critmin.api import engine as domain
from critmin.api import models as m
from critmin.api.auth import APPROVER, INITIATOR, OPERATOR, Principal
from critmin.api.deps import Caller, Engine, RowId, known_query_only, record
from critmin.api.http import (
    DEFAULT_LIMIT,
    PROBLEM_RESPONSES,
    bad_input,
    conflict,
    forbidden,
    idempotent_post,
    not_found,
    page,
)
from critmin.errors import InputError
from critmin.store.audit import now_iso
from critmin.store.db import insert_row
from critmin.store.schema import ledger_entries, members, movements, stockpiles

router = APIRouter(
    prefix="/v1", dependencies=[Depends(known_query_only)], responses=PROBLEM_RESPONSES
)

StockpilePage = m.page_of(m.Stockpile)
EntryPage = m.page_of(m.LedgerEntry)
MovementPage = m.page_of(m.Movement)
APPROVAL_KINDS = ("release", "draw")
ENTRY_COLS = (
    "holder",
    "seq",
    "month",
    "account",
    "kind",
    "qty_kg",
    "cash_cents",
    "cost_cents",
    "debt_cents",
    "counterparty",
    "reason",
    "price_usd_per_t",
    "corrects",
)


def _entries(conn: sa.Connection, holder: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(*(ledger_entries.c[c] for c in ENTRY_COLS))
        .where(ledger_entries.c.holder == holder)
        .order_by(ledger_entries.c.seq)
    ).all()
    return [dict(r._mapping) for r in rows]


def stockpile_dict(conn: sa.Connection, r: Any) -> dict[str, Any]:
    return m.Stockpile(
        id=r.id,
        member_id=r.member_id,
        name=r.name,
        balance=domain.ledger_summary(_entries(conn, r.id)),
    ).model_dump(mode="json")


def _account(conn: sa.Connection, who: Principal, holder: str, lock: bool = False) -> Any:
    q = sa.select(stockpiles).where(stockpiles.c.id == holder)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("stockpile account", holder)
    return row


@router.post("/stockpiles", response_model=m.Stockpile, status_code=201, tags=["stockpiles"])
def open_account(body: m.StockpileIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Open a stockpile account (operator): the ledger holder, owned by a member."""
    who.require(OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if not conn.execute(sa.select(members.c.id).where(members.c.id == body.member_id)).first():
            raise bad_input("body.member_id", f"no member {body.member_id!r}")
        if conn.execute(sa.select(stockpiles.c.id).where(stockpiles.c.id == body.id)).first():
            raise conflict(f"stockpile account {body.id!r} exists", "body.id")
        conn.execute(
            stockpiles.insert().values(
                **body.model_dump(mode="json"), version=1, created_at=now_iso()
            )
        )
        out = stockpile_dict(
            conn, conn.execute(sa.select(stockpiles).where(stockpiles.c.id == body.id)).one()
        )
        record(conn, who, "open", "stockpile", body.id, member_id=body.member_id, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/stockpiles", response_model=StockpilePage, tags=["stockpiles"])
def list_accounts(
    who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> dict[str, Any]:
    """Stockpile accounts with their balance check (a member sees its own)."""
    q = sa.select(stockpiles)
    if not who.sees_all:
        q = q.where(stockpiles.c.member_id == (who.member_id or ""))
    with engine.connect() as conn:
        return page(conn, q, stockpiles.c.id, limit, cursor, lambda r: stockpile_dict(conn, r))


@router.get("/stockpiles/{holder}", response_model=m.Stockpile, tags=["stockpiles"])
def get_account(holder: str, who: Caller, engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return stockpile_dict(conn, _account(conn, who, holder))


@router.get("/stockpiles/{holder}/entries", response_model=EntryPage, tags=["stockpiles"])
def list_entries(
    holder: str,
    who: Caller,
    engine: Engine,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    """The ledger, oldest first."""
    with engine.connect() as conn:
        _account(conn, who, holder)
        q = sa.select(*(ledger_entries.c[c] for c in ENTRY_COLS)).where(
            ledger_entries.c.holder == holder
        )
        return page(
            conn,
            q,
            ledger_entries.c.seq,
            limit,
            cursor,
            lambda r: m.LedgerEntry.model_validate(r._mapping).model_dump(mode="json"),
        )


def _members(row: Any) -> list[tuple[str, float]]:
    """The stockpile file's members and their pre-purchase shares (none: no rights)."""
    return [(str(x["id"]), float(x["share"])) for x in (row.spec or {}).get("members", [])]


def _book(conn: sa.Connection, who: Principal, row: Any, movement: dict[str, Any]) -> int:
    """Book one movement on the holder's ledger (critmin's Ledger) or raise 409; return the
    last new entry's seq."""
    rows = _entries(conn, row.id)
    try:
        entries = domain.book_entry(rows, {**movement, "holder": row.id}, _members(row))
    except InputError as exc:
        field = (exc.where or "").removeprefix("field ").strip("'")
        if field not in ("counterparty", "qty_t", "amount_usd"):
            field = "qty_t" if movement.get("qty_t") else "amount_usd"
        raise conflict(str(exc), f"body.{field}") from None
    at = now_iso()
    for entry in entries:
        conn.execute(ledger_entries.insert().values(**entry, created_at=at))
        record(
            conn,
            who,
            "book",
            "ledger_entry",
            f"{row.id}:{entry['seq']}",
            member_id=row.member_id,
            after=entry,
        )
    # bump the account row: on SQLite this is also the write that holds the lock
    conn.execute(
        stockpiles.update().where(stockpiles.c.id == row.id).values(version=row.version + 1)
    )
    return int(entries[-1]["seq"])


def movement_dict(r: Any) -> dict[str, Any]:
    return m.Movement.model_validate(r._mapping).model_dump(mode="json")


def _check_movement(body: m.MovementIn) -> None:
    if body.kind == "fund_in":
        if body.amount_usd is None:
            raise bad_input("body.amount_usd", "fund_in needs amount_usd")
    else:
        if body.qty_t is None:
            raise bad_input("body.qty_t", f"{body.kind} needs qty_t")
        if body.price_usd_per_t is None:
            raise bad_input("body.price_usd_per_t", f"{body.kind} needs price_usd_per_t")
        if body.account == "cash":
            raise bad_input("body.account", f"{body.kind} needs a mineral account, e.g. ndpr_oxide")


@router.post(
    "/stockpiles/{holder}/movements",
    response_model=m.Movement,
    status_code=201,
    tags=["stockpiles"],
)
def initiate_movement(
    holder: str, body: m.MovementIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Fund, buy (booked at once), or initiate a release/draw (pending a second approval)."""
    who.require(OPERATOR, INITIATOR)
    _check_movement(body)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _account(conn, who, holder, lock=True)
        req = body.model_dump(mode="json")
        status, seq = "pending", None
        if body.kind not in APPROVAL_KINDS:
            seq = _book(conn, who, row, req)
            status = "approved"
        stored = insert_row(
            conn,
            movements,
            holder=holder,
            kind=body.kind,
            request=req,
            status=status,
            initiated_by=who.user_id,
            decided_by=None,
            entry_seq=seq,
            version=1,
            created_at=now_iso(),
        )
        out = movement_dict(stored)
        record(conn, who, "initiate", "movement", stored.id, member_id=row.member_id, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/stockpiles/{holder}/movements", response_model=MovementPage, tags=["stockpiles"])
def list_movements(
    holder: str,
    who: Caller,
    engine: Engine,
    status: str | None = None,
    limit: int = Query(DEFAULT_LIMIT),
    cursor: str | None = None,
) -> dict[str, Any]:
    with engine.connect() as conn:
        _account(conn, who, holder)
        q = sa.select(movements).where(movements.c.holder == holder)
        if status is not None:
            q = q.where(movements.c.status == status)
        return page(conn, q, movements.c.id, limit, cursor, movement_dict)


def _decide(
    movement_id: RowId,
    approve: bool,
    who: Principal,
    engine: sa.Engine,
    request: Request,
    _body: m.Empty | None,
) -> Response:
    who.require(OPERATOR, APPROVER)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        mv = conn.execute(sa.select(movements).where(movements.c.id == movement_id)).first()
        if mv is None:
            raise not_found("movement", movement_id)
        row = _account(conn, who, mv.holder, lock=True)
        if not who.has(OPERATOR) and who.member_id != row.member_id:
            raise not_found("movement", movement_id)
        mv = conn.execute(sa.select(movements).where(movements.c.id == movement_id)).one()
        if mv.status != "pending":
            raise conflict(f"movement {movement_id} is {mv.status}", "movement_id")
        if mv.initiated_by == who.user_id:
            raise forbidden("a release or draw needs a second person: you initiated this one")
        before = movement_dict(mv)
        seq = _book(conn, who, row, dict(mv.request)) if approve else None
        conn.execute(
            movements.update()
            .where(movements.c.id == movement_id, movements.c.version == mv.version)
            .values(
                status="approved" if approve else "rejected",
                decided_by=who.user_id,
                entry_seq=seq,
                version=mv.version + 1,
            )
        )
        out = movement_dict(
            conn.execute(sa.select(movements).where(movements.c.id == movement_id)).one()
        )
        record(
            conn,
            who,
            "approve" if approve else "reject",
            "movement",
            movement_id,
            member_id=row.member_id,
            before=before,
            after=out,
        )
        return 200, out

    return idempotent_post(engine, request, who.user_id, {}, work)


@router.post("/movements/{movement_id}/approve", response_model=m.Movement, tags=["stockpiles"])
def approve(
    movement_id: RowId,
    body: m.Empty | None = None,
    *,
    who: Caller,
    engine: Engine,
    request: Request,
) -> Response:
    """Approve a pending release or draw (a second person: approver or operator); books it."""
    return _decide(movement_id, True, who, engine, request, body)


@router.post("/movements/{movement_id}/reject", response_model=m.Movement, tags=["stockpiles"])
def reject(
    movement_id: RowId,
    body: m.Empty | None = None,
    *,
    who: Caller,
    engine: Engine,
    request: Request,
) -> Response:
    """Reject a pending release or draw; nothing is booked."""
    return _decide(movement_id, False, who, engine, request, body)
