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


def test_upgrade_from_0001_keeps_the_data(tmp_path: Path) -> None:
    """A registry created by the first release (0001) upgrades in place to the newest."""
    import sqlalchemy as sa
    from alembic import command

    from critmin.store.db import alembic_config, make_engine
    from critmin.store.schema import members

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(
            members.insert().values(
                id="KOR", name="Korea", kind="state", version=1, created_at="2026-02-04"
            )
        )
    engine = open_store(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(members.c.name)).scalar_one() == "Korea"
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("declarations")}
    assert "ix_declarations_member_id" in indexes
