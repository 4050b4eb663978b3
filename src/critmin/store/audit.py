"""The audit trail: append-only and hash-chained.

Each row records who did what to which record, with the record before and after, and

    sha256 = SHA-256(prev_sha256 || canonical JSON of the row's other fields)

where ``prev_sha256`` is the previous row's ``sha256`` (64 zeros for the first row) and
canonical JSON is ``json.dumps(..., sort_keys=True, separators=(",", ":"))``. Editing,
deleting or reordering any row changes a hash that a later row (or the recomputation)
disagrees with, which :func:`verify_chain` reports; only rewriting every later row too
escapes it, which is why the head hash is printed for operators to note elsewhere
(``critmin serve verify-audit`` prints it).

Appends are serialised: on SQLite by the write lock every transaction takes
(``BEGIN IMMEDIATE``); on PostgreSQL by a transaction-scoped advisory lock, so two
concurrent writers can never both chain onto the same previous row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from critmin.store.db import JsonText, insert_later, json_value
from critmin.store.schema import audit

GENESIS = "0" * 64
_ADVISORY_KEY = 1414  # arbitrary, constant: the audit chain's lock id on PostgreSQL


def now_iso() -> str:
    """Current UTC time as ISO-8601 text (the store's timestamp format)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev: str, fields: dict[str, Any]) -> str:
    """The chain hash of one row (see the module docstring)."""
    return hashlib.sha256((prev + canonical(fields)).encode("utf-8")).hexdigest()


_LOCKED_KEY = "critmin_audit_locked"


def _lock(conn: sa.Connection) -> None:
    """Serialise appends on PostgreSQL (SQLite's writers hold the database's write lock):
    once per transaction, since a group commit appends many rows in one."""
    if conn.dialect.name != "postgresql":
        return
    tx = conn.get_transaction()
    if tx is not None and conn.info.get(_LOCKED_KEY) is tx:
        return
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
    if tx is not None:
        conn.info[_LOCKED_KEY] = tx


def lock_chain(conn: sa.Connection) -> None:
    """Take the audit chain's lock now, at the start of a write transaction on PostgreSQL:
    every write appends to the chain, so taking it first orders all writers the same way
    (no writer holds a row lock while waiting for the chain, which could deadlock)."""
    _lock(conn)


# built once: every change runs it
_HEAD = sa.select(audit.c.seq, audit.c.sha256).order_by(audit.c.seq.desc()).limit(1)


def stored_canonical(value: Any) -> str:
    """Canonical JSON of ``value`` as the database will hand it back (round-tripped through
    JSON: tuples become lists, non-string keys strings); a :class:`~critmin.store.db.JsonText`
    is taken as canonical text of JSON-native data already (its producer guarantees it)."""
    if isinstance(value, JsonText):
        return str(value)
    return canonical(json.loads(canonical(value)))


def fields_canonical(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    member_id: str | None,
    before_c: str,
    after_c: str,
) -> str:
    """``canonical(fields)`` of one audit row, with ``before`` and ``after`` given as their
    canonical text: the keys in sorted order, so the text is the same as ``canonical`` of the
    whole dict (tested) without serialising the record a second time."""
    c = canonical
    return (
        f'{{"action":{c(action)},"actor":{c(actor)},"after":{after_c},"at":{c(at)},'
        f'"before":{before_c},"entity":{c(entity)},"entity_id":{c(entity_id)},'
        f'"member_id":{c(member_id)},"seq":{c(seq)}}}'
    )


#: the chain head as this transaction left it: (transaction, seq, sha256). A group commit
#: appends many rows in one transaction; after the first, the head is the row it just wrote
#: and need not be read again. Keyed by the connection's root transaction, and dropped by
#: :func:`forget_head` when a savepoint holding rows rolls back.
_HEAD_KEY = "critmin_audit_head"


def forget_head(conn: sa.Connection) -> None:
    """Drop the cached chain head (after a rollback to a savepoint that may hold audit rows)."""
    conn.info.pop(_HEAD_KEY, None)


def append(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    member_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    before_c = stored_canonical(before)
    after_c = stored_canonical(after)
    _lock(conn)
    tx = conn.get_transaction()
    cached = conn.info.get(_HEAD_KEY)
    if cached is not None and tx is not None and cached[0] is tx:
        seq, prev = cached[1] + 1, cached[2]
    else:
        head = conn.execute(_HEAD).first()
        seq, prev = (1, GENESIS) if head is None else (head.seq + 1, head.sha256)
    at = now_iso()
    entity_id = str(entity_id)
    text = fields_canonical(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        member_id=member_id,
        before_c=before_c,
        after_c=after_c,
    )
    digest = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
    # parameters apart from the statement: one cached compiled INSERT for every row; in a
    # group commit's held-back batch, one executemany of the batch's rows
    insert_later(
        conn,
        audit,
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "member_id": member_id,
            "before": json_value(conn, before_c),
            "after": json_value(conn, after_c),
            "prev_sha256": prev,
            "sha256": digest,
        },
    )
    if tx is not None:
        conn.info[_HEAD_KEY] = (tx, seq, digest)


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_sha256: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(conn: sa.Connection) -> Iterator[sa.Row[Any]]:
    yield from conn.execute(sa.select(audit).order_by(audit.c.seq))


def verify_chain(conn: sa.Connection) -> ChainReport:
    """Recompute every hash; list each row whose link or hash does not match."""
    problems: list[str] = []
    prev = GENESIS
    expect_seq = 1
    n = 0
    for row in _rows(conn):
        n += 1
        if row.seq != expect_seq:
            problems.append(f"audit row {row.seq}: expected seq {expect_seq} (a row is missing)")
        fields = {
            k: getattr(row, k)
            for k in ("seq", "at", "actor", "action", "entity", "entity_id", "member_id")
        }
        fields["before"], fields["after"] = row.before, row.after
        if row.prev_sha256 != prev:
            problems.append(f"audit row {row.seq}: prev_sha256 does not link to row {row.seq - 1}")
        if row_hash(row.prev_sha256, fields) != row.sha256:
            problems.append(f"audit row {row.seq}: content does not match its sha256")
        prev = row.sha256
        expect_seq = row.seq + 1
    return ChainReport(rows=n, head_sha256=prev, problems=tuple(problems))
