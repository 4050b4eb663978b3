"""Group commit on SQLite (:func:`critmin.store.db.run_write`): writers committed together
behave as if each ran alone, one after the other, and each hears only its own failure."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from critmin.store.db import GroupCommitter, make_engine, run_write


class Refused(Exception):
    pass


def test_concurrent_writers_are_serialised_and_a_failure_rolls_back_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """48 threads each read the largest counter and insert the next one (a lost update would
    repeat a value); every fourth inserts and then fails. Expected: the 36 successful writers
    hold the values 1..36 exactly once, no failed writer's row survives, each failed caller
    gets its own exception."""
    sizes: list[int] = []
    commit = GroupCommitter._commit

    def counting(self: GroupCommitter, batch: list[Any], *rest: Any) -> Any:
        sizes.append(len(batch))
        return commit(self, batch, *rest)

    monkeypatch.setattr(GroupCommitter, "_commit", counting)
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER NOT NULL UNIQUE, who INTEGER)")
    errors: dict[int, BaseException] = {}
    results: dict[int, int] = {}
    barrier = threading.Barrier(48)

    def writer(i: int) -> None:
        def fn(conn: sa.Connection) -> int:
            top = conn.exec_driver_sql("SELECT COALESCE(MAX(v), 0) FROM t").scalar_one()
            conn.exec_driver_sql("INSERT INTO t (v, who) VALUES (?, ?)", (top + 1, i))
            if i % 4 == 0:
                raise Refused(f"writer {i}")
            return int(top + 1)

        barrier.wait()
        try:
            results[i] = run_write(engine, fn)
        except Refused as exc:
            errors[i] = exc

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == list(range(0, 48, 4))
    assert all(str(errors[i]) == f"writer {i}" for i in errors)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT v, who FROM t ORDER BY v").all()
    assert [v for v, _ in rows] == list(range(1, 37))
    assert {who: v for v, who in rows} == results
    assert not any(who % 4 == 0 for _, who in rows)
    # the writers were committed in shared transactions (else this tested nothing new)
    assert sum(sizes) == 48
    assert max(sizes) > 1


def test_a_lone_failing_writer_leaves_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INTEGER)")

    def fn(conn: sa.Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (1)")
        raise Refused("no")

    with pytest.raises(Refused):
        run_write(engine, fn)
    assert (
        run_write(engine, lambda c: c.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one()) == 0
    )
