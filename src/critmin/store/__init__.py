"""critmin's registry store: SQLAlchemy tables, Alembic migrations, the audit chain.

One layer below the HTTP service (:mod:`critmin.api`): it knows rows, not requests.
:func:`open_store` creates (or opens) a database, runs the migrations and returns the
engine; the same migrations run on SQLite and PostgreSQL.
"""

from critmin.store.db import open_store, sqlite_url_for

__all__ = ["open_store", "sqlite_url_for"]
