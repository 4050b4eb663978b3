"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from critmin.store import open_store
from critmin.store.schema import metadata


def test_migrated_schema_matches_the_tables_in_code(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    # running the migrations again is a no-op
    open_store(f"sqlite:///{tmp_path / 'r.sqlite3'}")
