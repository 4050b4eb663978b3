"""Lots and EPCIS events: members submit EPCIS 2.0 documents; origin per lot."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response

from critmin import LotOrigin, __version__
from critmin.api import engine as domain
from critmin.api import models as m
from critmin.api.auth import INITIATOR, OPERATOR, Principal
from critmin.api.deps import Caller, Engine, RowId, known_query_only, record
from critmin.api.http import (
    DEFAULT_LIMIT,
    PROBLEM_RESPONSES,
    ProblemError,
    bad_input,
    conflict,
    idempotent_post,
    not_found,
    page,
)
from critmin.errors import CritminError
from critmin.store.audit import canonical, now_iso
from critmin.store.db import insert_row
from critmin.store.origins import store_origins
from critmin.store.schema import certificates, lot_origins, lots, members, networks, rulesets

router = APIRouter(
    prefix="/v1", dependencies=[Depends(known_query_only)], responses=PROBLEM_RESPONSES
)

LotPage = m.page_of(m.LotRow)


def lot_dict(r: Any) -> dict[str, Any]:
    row = r if isinstance(r, dict) else r._mapping
    return m.LotRow.model_validate(row).model_dump(mode="json")


@router.post("/epcis", response_model=m.EpcisReceipt, status_code=201, tags=["lots"])
def submit_epcis(body: m.EpcisIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Register the lots and events of an EPCIS 2.0 JSON-LD document (member initiator, or
    the operator for a named member), read by critmin's trace import."""
    who.require(INITIATOR, OPERATOR)
    owner = body.member_id if who.has(OPERATOR) and body.member_id else who.member_id
    if owner is None:
        raise bad_input("body.member_id", "name the member whose lots these are")
    try:
        found, recipes = domain.registered_lots(body.document, source="body.document")
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
        if found:
            conn.execute(
                lots.insert(), [{"member_id": owner, "document_id": doc_id, **x} for x in found]
            )
        try:
            # each new lot's origin, composed from its inputs' stored origins, and the
            # stored lots that were waiting for one of the new lots, composed again
            recomposed = store_origins(conn, recipes, now_iso())
        except CritminError as exc:
            raise conflict(str(exc), "body.document") from None
        out = {
            "document_id": doc_id,
            "lots": [
                lot_dict({"member_id": owner, "document_id": doc_id, **x})
                for x in sorted(found, key=lambda x: x["id"])
            ],
        }
        after: dict[str, Any] = {"lots": [x["id"] for x in found]}
        if recomposed:
            after["origins_recomposed"] = recomposed
        record(conn, who, "register", "epcis_document", doc_id, member_id=owner, after=after)
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
        sa.select(lots, networks.c.document, networks.c.created_at.label("registered_at"))
        .join(networks, networks.c.id == lots.c.document_id)
        .where(lots.c.id == lot_id)
    ).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("lot", lot_id)
    return row


MAX_UPSTREAM_DOCUMENTS = 1000


def upstream_documents(
    conn: sa.Connection, row: Any, registered_before: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The lot's own EPCIS document, then every registered document that produced a lot it
    (transitively) uses: only the lot's upstream chain is read, never the whole registry.
    ``registered_before`` (a timestamp): only documents registered before it count, the
    registry as it stood then (a lot produced by a later document is untraced)."""
    docs: list[tuple[str, dict[str, Any]]] = [(f"document {row.document_id}", row.document)]
    seen = {row.document_id}
    frontier = [row.document]
    while frontier:
        wanted: set[str] = set()
        for doc in frontier:
            wanted |= domain.untraced_inputs(doc, "upstream document")
        frontier = []
        if not wanted:
            break
        # ids first: PostgreSQL's json type has no equality, so no DISTINCT over documents
        doc_ids = (
            conn.execute(
                sa.select(lots.c.document_id).where(lots.c.id.in_(sorted(wanted))).distinct()
            )
            .scalars()
            .all()
        )
        new_ids = sorted(set(doc_ids) - seen)
        docs_q = sa.select(networks.c.id, networks.c.document).where(networks.c.id.in_(new_ids))
        if registered_before is not None:
            docs_q = docs_q.where(networks.c.created_at < registered_before)
        found = conn.execute(docs_q).all() if new_ids else []
        for doc_id, document in found:
            if doc_id not in seen:
                if len(seen) >= MAX_UPSTREAM_DOCUMENTS:
                    raise conflict(
                        f"lot {row.id!r} has more than {MAX_UPSTREAM_DOCUMENTS} upstream documents",
                        "lot_id",
                    )
                seen.add(doc_id)
                docs.append((f"document {doc_id}", document))
                frontier.append(document)
    return docs


@router.get("/lots/{lot_id}", response_model=m.LotRow, tags=["lots"])
def get_lot(lot_id: str, who: Caller, engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return lot_dict(_lot(conn, who, lot_id))


# exclude_unset: the as_of fields appear only in an answer as of a day
@router.get(
    "/lots/{lot_id}/origin",
    response_model=m.Origin,
    response_model_exclude_unset=True,
    tags=["lots"],
)
def lot_origin(
    lot_id: str, who: Caller, engine: Engine, as_of: m.Date | None = None
) -> dict[str, Any]:
    """Origin by stage and country, by mass and value, with the mines and refineries (as
    ``critmin trace origin --json --lot``), through the documents registered upstream of it
    (a refiner's lots registered by another member are followed to their mine).

    ``as_of``: the origin as the registry stood at the end of that day (UTC): composed over
    the documents registered by then only, so an input registered later is untraced, and a
    lot registered later is a 404."""
    with engine.connect() as conn:
        if as_of is None:
            return lot_origin_of(conn, who, lot_id)
        return lot_origin_as_of(conn, who, lot_id, as_of)


def lot_origin_as_of(
    conn: sa.Connection, who: Principal, lot_id: str, as_of: dt.date
) -> dict[str, Any]:
    """The lot's origin at the end of ``as_of``: recomposed over its upstream documents
    registered by then (stored origins keep only the newest state), with the documents used."""
    row = _lot(conn, who, lot_id)
    bound = _registered_by(row, as_of)
    docs = upstream_documents(conn, row, registered_before=bound)
    origin = domain.origin_from_documents(docs, lot_id)
    return domain.stored_lot_origin(origin, lot_id) | {
        "as_of": as_of.isoformat(),
        "documents": [int(source.removeprefix("document ")) for source, _ in docs],
        "rules_version": f"critmin.trace.origin {__version__}",
    }


#: a lot's member and stored origin (built once: origin reads and traced levies run it)
STORED_ORIGIN = (
    sa.select(lots.c.member_id, lot_origins.c.origin)
    .join(lot_origins, lot_origins.c.lot_id == lots.c.id)
    .where(lots.c.id == sa.bindparam("lot_id"))
)


def lot_origin_of(conn: sa.Connection, who: Principal, lot_id: str) -> dict[str, Any]:
    """The lot's stored origin (composed when it, or a late input, was registered): one
    primary-key read whatever the size of the registry or the length of the lot's chain."""
    row = conn.execute(STORED_ORIGIN, {"lot_id": lot_id}).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("lot", lot_id)
    return domain.stored_lot_origin(LotOrigin.from_json(row.origin), lot_id)


# --------------------------------------------------------------------------- rules, certificates

RulesetPage = m.page_of(m.Ruleset)


def ruleset_dict(r: Any) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "ruleset": r.spec, "created_at": r.created_at}


@router.post("/rulesets", response_model=m.Ruleset, status_code=201, tags=["lots"])
def register_ruleset(body: m.RulesetIn, who: Caller, engine: Engine, request: Request) -> Response:
    """Register an origin rule set (operator) in critmin's rules file format."""
    who.require(OPERATOR)
    try:
        spec = domain.validate_ruleset(body.ruleset)
    except CritminError as exc:
        raise bad_input("body.ruleset", str(exc)) from None

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = insert_row(
            conn, rulesets, name=body.name, spec=spec, created_by=who.user_id, created_at=now_iso()
        )
        out = ruleset_dict(row)
        record(conn, who, "register", "ruleset", row.id, after=out)
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/rulesets", response_model=RulesetPage, tags=["lots"])
def list_rulesets(
    _who: Caller, engine: Engine, limit: int = Query(DEFAULT_LIMIT), cursor: str | None = None
) -> dict[str, Any]:
    """Registered origin rule sets (every role may read them)."""
    with engine.connect() as conn:
        return page(conn, sa.select(rulesets), rulesets.c.id, limit, cursor, ruleset_dict)


def _ruleset_row(conn: sa.Connection, ruleset_id: int, field: str) -> Any:
    row = conn.execute(sa.select(rulesets).where(rulesets.c.id == ruleset_id)).first()
    if row is None:
        raise bad_input(field, f"no rule set {ruleset_id}")
    return row


@router.get(
    "/lots/{lot_id}/verdicts",
    response_model=m.Verdicts,
    response_model_exclude_unset=True,
    tags=["lots"],
)
def lot_verdicts(
    lot_id: str,
    ruleset_id: Annotated[int, Query(ge=1, le=2_147_483_647)],
    on: m.Date,
    who: Caller,
    engine: Engine,
    as_of: m.Date | None = None,
) -> dict[str, Any]:
    """Mass balance and each rule of a rule set on the lot on a day (as
    ``critmin trace check --json``), with its tariff treatment.

    ``as_of``: as the registry stood at the end of that day: over the documents registered
    by then (as the origin's ``as_of``), and only with a rule set registered by then."""
    with engine.connect() as conn:
        row = _lot(conn, who, lot_id)
        rs = _ruleset_row(conn, ruleset_id, "query.ruleset_id")
        if as_of is None:
            docs = upstream_documents(conn, row)
        else:
            bound = _registered_by(row, as_of)
            if rs.created_at >= bound:
                raise bad_input(
                    "query.ruleset_id",
                    f"rule set {ruleset_id} was registered on {rs.created_at[:10]}, after {as_of}",
                )
            docs = upstream_documents(conn, row, registered_before=bound)
    out = domain.lot_verdicts(docs, lot_id, rs.spec, on)
    return out if as_of is None else out | {"as_of": as_of.isoformat()}


def _registered_by(row: Any, as_of: dt.date) -> str:
    """The end of ``as_of`` as a timestamp bound; a 404 when the lot was registered later."""
    from critmin.api.routes_market import _as_of_bound

    bound = _as_of_bound(as_of)
    assert bound is not None
    if row.registered_at >= bound:
        raise ProblemError(
            404,
            "not-found",
            "Not found",
            f"lot {row.id!r} was registered on {row.registered_at[:10]}, after {as_of}",
            [("query.as_of", f"the lot was not registered by the end of {as_of}")],
        )
    return bound


@router.post(
    "/lots/{lot_id}/certificate", response_model=m.Certificate, status_code=201, tags=["lots"]
)
def issue_certificate(
    lot_id: str, body: m.CertificateIn, who: Caller, engine: Engine, request: Request
) -> Response:
    """Issue an origin certificate for a lot (its member's initiator, or the operator): the
    lot's origin, the rule verdicts on a day and its treatment, hashed and kept."""
    who.require(INITIATOR, OPERATOR)

    def work(conn: sa.Connection) -> tuple[int, dict[str, Any]]:
        row = _lot(conn, who, lot_id)
        rs = _ruleset_row(conn, body.ruleset_id, "body.ruleset_id")
        docs = upstream_documents(conn, row)
        origin = lot_origin_of(conn, who, lot_id)
        verdicts = domain.lot_verdicts(docs, lot_id, rs.spec, body.on)
        content = {
            "lot": lot_id,
            "member_id": row.member_id,
            "product": row.product,
            "quantity_t": row.quantity_t,
            "epcis_document_id": row.document_id,
            "epcis_document_sha256": hashlib.sha256(canonical(row.document).encode()).hexdigest(),
            "ruleset": {
                "id": rs.id,
                "name": rs.name,
                "sha256": hashlib.sha256(canonical(rs.spec).encode()).hexdigest(),
            },
            "on": body.on.isoformat(),
            "origin": origin["shares"],
            "upstream_facilities": origin["upstream_facilities"],
            "verdicts": verdicts,
            "critmin_version": __version__,
        }
        digest = hashlib.sha256(canonical(content).encode()).hexdigest()
        at = now_iso()
        res = conn.execute(
            certificates.insert().values(
                lot_id=lot_id,
                member_id=row.member_id,
                ruleset_id=rs.id,
                content=content,
                sha256=digest,
                issued_by=who.user_id,
                issued_at=at,
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        out = {
            "id": int(pk[0]),
            "lot_id": lot_id,
            "member_id": row.member_id,
            "ruleset_id": rs.id,
            "content": content,
            "sha256": digest,
            "issued_at": at,
        }
        record(
            conn,
            who,
            "issue",
            "certificate",
            pk[0],
            member_id=row.member_id,
            after={"lot": lot_id, "sha256": digest, "ok": verdicts["ok"]},
        )
        return 201, out

    return idempotent_post(engine, request, who.user_id, body.model_dump(mode="json"), work)


@router.get("/certificates/{certificate_id}", response_model=m.Certificate, tags=["lots"])
def get_certificate(certificate_id: RowId, who: Caller, engine: Engine) -> dict[str, Any]:
    """An issued origin certificate (recompute ``sha256`` over its content to check it)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(certificates).where(certificates.c.id == certificate_id)
        ).first()
    if row is None or not who.may_see(row.member_id):
        raise not_found("certificate", certificate_id)
    return {
        "id": row.id,
        "lot_id": row.lot_id,
        "member_id": row.member_id,
        "ruleset_id": row.ruleset_id,
        "content": row.content,
        "sha256": row.sha256,
        "issued_at": row.issued_at,
    }
