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


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})


# built once: every change runs it
_HEAD = sa.select(audit.c.seq, audit.c.sha256).order_by(audit.c.seq.desc()).limit(1)


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
) -> dict[str, Any]:
    """Append one audit row in the caller's transaction; return it."""
    _lock(conn)
    head = conn.execute(_HEAD).first()
    seq, prev = (1, GENESIS) if head is None else (head.seq + 1, head.sha256)
    fields = {
        "seq": seq,
        "at": now_iso(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "member_id": member_id,
        # round-trip through JSON so the hash is over what the database will hand back
        "before": json.loads(canonical(before)),
        "after": json.loads(canonical(after)),
    }
    digest = row_hash(prev, fields)
    # parameters apart from the statement: one cached compiled INSERT for every row
    conn.execute(audit.insert(), {**fields, "prev_sha256": prev, "sha256": digest})
    return {**fields, "prev_sha256": prev, "sha256": digest}


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
