"""The audit chain's hash text and its head under group commit (:mod:`critmin.store.audit`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.store.audit import append, canonical, fields_canonical, stored_canonical, verify_chain
from critmin.store.db import JsonText, open_store, run_write
from critmin.store.schema import audit

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    seq=st.integers(1, 10**9),
    text=st.lists(st.text(), min_size=5, max_size=5),
    member=st.none() | st.text(),
    before=_json,
    after=st.dictionaries(st.text(), _json, max_size=4) | st.tuples(st.integers()),
)
@settings(max_examples=200, deadline=None)
def test_spliced_row_text_equals_canonical_of_the_row(
    seq: int, text: list[str], member: str | None, before: Any, after: Any
) -> None:
    """The row's hashed text is built from its parts' canonical text without serialising
    the record again; it must be exactly ``canonical`` of the row as a dict, with before and
    after as the database hands them back (tuples as lists)."""
    at, actor, action, entity, entity_id = text
    b, a = stored_canonical(before), stored_canonical(after)
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "member_id": member,
        "before": before,
        "after": list(after) if isinstance(after, tuple) else after,
    }
    spliced = fields_canonical(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        member_id=member,
        before_c=b,
        after_c=a,
    )
    assert spliced == canonical(fields)
    assert stored_canonical(JsonText(a)) == a


def test_chain_verifies_when_writers_of_one_group_commit_fail_after_their_audit_row(
    tmp_path: Path,
) -> None:
    """30 concurrent writers through the group commit each append an audit row; every third
    then raises, so its savepoint (holding its row) rolls back. The head a transaction keeps
    for the next row must not point at a rolled-back row: the chain verifies and holds
    exactly the 20 rows that were committed, numbered 1..20."""
    engine = open_store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    barrier = threading.Barrier(30)
    failed: list[int] = []

    def writer(i: int) -> None:
        def fn(conn: sa.Connection) -> int:
            append(conn, actor="t", action="write", entity="e", entity_id=str(i), after={"i": i})
            if i % 3 == 0:
                raise ValueError(i)
            return i

        barrier.wait()
        try:
            run_write(engine, fn)
        except ValueError:
            failed.append(i)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        report = verify_chain(conn)
        ids = conn.execute(sa.select(audit.c.entity_id)).scalars().all()
        seqs = conn.execute(sa.select(audit.c.seq).order_by(audit.c.seq)).scalars().all()
    assert sorted(failed) == list(range(0, 30, 3))
    assert report.ok, report.problems
    assert sorted(int(i) for i in ids) == [i for i in range(30) if i % 3]
    assert seqs == list(range(1, 21))
