"""Lots and EPCIS events: members submit EPCIS 2.0 documents; origin per lot."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from critmin.api import engine as domain
from critmin.api import models as m
from critmin.api.auth import INITIATOR, OPERATOR, Principal
from critmin.api.deps import Caller, Engine, known_query_only, record
from critmin.api.http import DEFAULT_LIMIT, bad_input, conflict, idempotent_post, not_found, page
from critmin.errors import CritminError
from critmin.store.audit import now_iso
from critmin.store.schema import lots, members, networks

router = APIRouter(prefix="/v1", dependencies=[Depends(known_query_only)])

LotPage = m.page_of(m.LotRow)


def lot_dict(r: Any) -> dict[str, Any]:
    return m.LotRow.model_validate(r._mapping).model_dump(mode="json")


@router.post("/epcis", response_model=m.EpcisReceipt, status_code=201, tags=["lots"])
def submit_epcis(body: m.EpcisIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Register the lots and events of an EPCIS 2.0 JSON-LD document (member initiator, or
    the operator for a named member), read by critmin's trace import."""
    who.require(INITIATOR, OPERATOR)
    owner = body.member_id if who.has(OPERATOR) and body.member_id else who.member_id
    if owner is None:
        raise bad_input("body.member_id", "name the member whose lots these are")
    try:
        found = domain.network_lots(body.document, source="body.document")
    except CritminError as exc:
        raise bad_input("body.document", str(exc)) from None

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        if not conn.execute(sa.select(members.c.id).where(members.c.id == owner)).first():
            raise bad_input("body.member_id", f"no member {owner!r}")
        ids = [x["id"] for x in found]
        taken = conn.execute(sa.select(lots.c.id).where(lots.c.id.in_(ids))).scalars().all()
        if taken:
            raise conflict(
                f"lot(s) already registered: {', '.join(sorted(taken)[:5])}", "body.document"
            )
        res = conn.execute(
            networks.insert().values(member_id=owner, document=body.document, created_at=now_iso())
        )
        pk = res.inserted_primary_key
        assert pk is not None
        doc_id = int(pk[0])
        for x in found:
            conn.execute(lots.insert().values(member_id=owner, document_id=doc_id, **x))
        rows = conn.execute(
            sa.select(lots).where(lots.c.document_id == doc_id).order_by(lots.c.id)
        ).all()
        out = {"document_id": doc_id, "lots": [lot_dict(r) for r in rows]}
        record(
            conn,
            who,
            "register",
            "epcis_document",
            doc_id,
            member_id=owner,
            after={"lots": [x["id"] for x in found]},
        )
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/lots", response_model=LotPage, tags=["lots"])
def list_lots(
    who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> dict[str, Any]:
    """Registered lots (a member sees its own)."""
    q = sa.select(lots)
    if not who.sees_all:
        q = q.where(lots.c.member_id == (who.member_id or ""))
    with engine.connect() as conn:
        return page(conn, q, lots.c.id, limit, cursor, lot_dict)


def _lot(conn: sa.Connection, who: Principal, lot_id: str) -> Any:
    row = conn.execute(
        sa.select(lots, networks.c.document)
        .join(networks, networks.c.id == lots.c.document_id)
        .where(lots.c.id == lot_id)
    ).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("lot", lot_id)
    return row


@router.get("/lots/{lot_id}", response_model=m.LotRow, tags=["lots"])
def get_lot(lot_id: str, who: Caller, engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return lot_dict(_lot(conn, who, lot_id))


@router.get("/lots/{lot_id}/origin", response_model=m.Origin, tags=["lots"])
def lot_origin(lot_id: str, who: Caller, engine: Engine) -> dict[str, Any]:
    """Origin by stage and country, by mass and value, with the mines and refineries
    (as ``critmin trace origin --json --lot``)."""
    with engine.connect() as conn:
        row = _lot(conn, who, lot_id)
    return domain.lot_origin(row.document, lot_id, source=f"document {row.document_id}")
