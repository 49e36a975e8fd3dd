"""The device register: one row per device of a lane, from the heartbeats,
with the facts an officer records at acceptance (make, model, serial number,
the scale's verification certificate, installed date).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lane_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False
        ),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.Column("name", sa.Unicode(100), nullable=False),
        sa.Column("kind", sa.Unicode(50), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", INSTANT),
        sa.Column("detail", sa.Unicode(500)),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.Column("make", sa.Unicode(100)),
        sa.Column("model", sa.Unicode(100)),
        sa.Column("serial_no", sa.Unicode(64)),
        sa.Column("certificate_no", sa.Unicode(64)),
        sa.Column("certificate_expires", sa.Date()),
        sa.Column("installed_on", sa.Date()),
        sa.Column("updated_at", INSTANT),
        sa.UniqueConstraint("station_id", "lane_no", "name"),
    )


def downgrade() -> None:
    op.drop_table("lane_devices")
