"""Alembic environment: runs the migrations on the engine :func:`critmin.store.db.migrate`
passes in (or on ``sqlalchemy.url``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from critmin.store.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
