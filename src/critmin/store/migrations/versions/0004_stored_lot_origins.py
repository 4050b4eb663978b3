"""stored lot origins and lot inputs (incremental origin)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:25:00.000000

Lots registered before this revision get their origins when the store is next opened
(:func:`critmin.store.origins.backfill_origins`, run by ``open_store`` after migrating): the
composition is critmin's own code, which a migration should not freeze a copy of.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lot_origins",
        sa.Column("lot_id", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.PrimaryKeyConstraint("lot_id"),
    )
    op.create_table(
        "lot_inputs",
        sa.Column("lot_id", sa.String(length=200), nullable=False),
        sa.Column("input_lot_id", sa.String(length=200), nullable=False),
        sa.Column("qty_t", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"]),
        sa.PrimaryKeyConstraint("lot_id", "input_lot_id"),
    )
    with op.batch_alter_table("lot_inputs", schema=None) as batch_op:
        batch_op.create_index("ix_lot_inputs_input_lot_id", ["input_lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lot_inputs", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_inputs_input_lot_id")
    op.drop_table("lot_inputs")
    op.drop_table("lot_origins")
