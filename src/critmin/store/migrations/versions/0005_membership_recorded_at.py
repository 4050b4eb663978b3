"""when each bloc membership was recorded (as-of assessments)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 21:30:00.000000

A declaration re-assessed ``?as_of=DAY`` counts only the memberships the registry had recorded
by the end of DAY. Rows recorded before this revision have no time (NULL) and count as
recorded from the start: the registry cannot tell when they were entered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
