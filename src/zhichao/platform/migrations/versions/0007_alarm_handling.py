"""Alarm handling: an alarm is open, acknowledged or closed, by whom, why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="open")
        )
        batch.add_column(sa.Column("handled_by", sa.String(64)))
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("note", sa.Text()))
    op.create_index("ix_alarms_status", "alarms", ["status"])


def downgrade() -> None:
    op.drop_index("ix_alarms_status", "alarms")
    with op.batch_alter_table("alarms") as batch:
        for column in ("note", "handled_at", "handled_by", "status"):
            batch.drop_column(column)
