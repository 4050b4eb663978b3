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


def test_lots_registered_before_0004_get_their_origins_on_upgrade(tmp_path: Path) -> None:
    """A registry at 0003 holding the magnet chain in two documents, the downstream one
    registered first: opening it with this release migrates to 0004 and stores every lot's
    origin (document by document, the early document's lots recomposed when the later one
    supplies their input), equal to ``compute_origin`` on the whole file."""
    import json

    import pytest
    import sqlalchemy as sa
    from alembic import command

    from critmin.api.engine import registered_lots
    from critmin.store.db import alembic_config, make_engine
    from critmin.store.origins import read_origin
    from critmin.store.schema import lots, members, networks
    from critmin.trace.epcis import from_epcis
    from critmin.trace.origin import compute_origin

    path = Path(__file__).resolve().parents[2] / "examples" / "trace" / "magnet_chain.jsonld"
    full = json.loads(path.read_text())
    events = full["epcisBody"]["eventList"]
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:
        conn.execute(
            members.insert().values(id="M", name="M", kind="company", version=1, created_at="t")
        )
        for part in (events[2:], events[:2]):
            doc = full | {"epcisBody": {"eventList": part}}
            doc_id = conn.execute(
                networks.insert().values(member_id="M", document=doc, created_at="t")
            ).inserted_primary_key[0]  # type: ignore[index]
            found, _ = registered_lots(doc, "old")
            conn.execute(
                lots.insert(), [{"member_id": "M", "document_id": doc_id, **x} for x in found]
            )
    engine = open_store(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    table = compute_origin(from_epcis(full)).table()
    with engine.connect() as conn:
        ids = conn.execute(sa.select(lots.c.id)).scalars().all()
        assert len(ids) == 5
        for lot in ids:
            origin = read_origin(conn, lot)
            assert origin is not None
            want = table[table["lot"] == lot]
            got = origin.table(lot)
            assert [(r["stage"], r["country_iso3"]) for r in got] == list(
                zip(want["stage"], want["country_iso3"], strict=True)
            )
            assert [r["share_mass"] for r in got] == pytest.approx(list(want["share_mass"]))
