"""Engines and migrations: SQLite (WAL, one writer at a time) or PostgreSQL.

SQLite is opened in WAL mode with ``synchronous=FULL`` (a commit is on disk before it is
acknowledged, so a SIGKILL or power loss after a 2xx loses nothing) and every transaction
starts with ``BEGIN IMMEDIATE``: the write lock is taken at the start, so two concurrent
writers queue on ``busy_timeout`` instead of one failing with "database is locked" when it
upgrades a read lock. PostgreSQL needs none of this; its writers serialise on row locks
(see :mod:`critmin.api.service`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

DEFAULT_SQLITE_NAME = "critmin-registry.sqlite3"
BUSY_TIMEOUT_MS = 30_000


def sqlite_url_for(folder: Path) -> str:
    """The default database: a SQLite file in ``folder`` (the working folder)."""
    return f"sqlite:///{(folder / DEFAULT_SQLITE_NAME).resolve()}"


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # readers take no lock (WAL gives them a snapshot); writers take it up front
        immediate = conn.get_execution_options().get("critmin_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_tx(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction: committed on success, rolled back on any exception.

    On SQLite it starts with ``BEGIN IMMEDIATE`` (see the module docstring); readers use
    ``engine.connect()`` and start a deferred transaction.
    """
    if engine.dialect.name != "sqlite":
        with engine.connect() as raw, raw.begin():
            yield raw
        return
    # one writer at a time per process, queued in order on a Python lock: SQLite's own busy
    # handler polls with growing sleeps, which lets an unlucky writer wait a second or more
    # behind later arrivals; across processes the busy handler still arbitrates
    with _writer_lock(engine), engine.connect() as raw:
        conn = raw.execution_options(critmin_write=True)
        with conn.begin():
            yield conn


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _writer_lock(engine: sa.Engine) -> threading.Lock:
    key = engine.url.render_as_string(hide_password=False)
    with _LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the settings above (no migration)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # configparser interpolates "%": a socket path in the URL is percent-encoded
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the database to the newest migration (creates it on first start)."""
    command.upgrade(alembic_config(engine), "head")


def open_store(url: str) -> sa.Engine:
    """Open (create, migrate) the registry database at ``url`` and return its engine."""
    from critmin.store.origins import backfill_origins

    engine = make_engine(url)
    migrate(engine)
    backfill_origins(engine)
    return engine
