"""Tractor and trailer pairs for the vehicle register; rear-plate index.

A search for a plate looks at the front and the rear plate, so the rear plate
needs its own index as the front plate has.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_weighing_records_rear_plate", "weighing_records", ["rear_plate"]
    )
    op.create_table(
        "vehicle_pairs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tractor_plate", sa.Unicode(16), nullable=False),
        sa.Column("trailer_plate", sa.Unicode(16), nullable=False),
        sa.Column("region_code", sa.String(6)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("tractor_plate", "trailer_plate"),
    )
    op.create_index("ix_vehicle_pairs_region_code", "vehicle_pairs", ["region_code"])


def downgrade() -> None:
    op.drop_index("ix_vehicle_pairs_region_code", "vehicle_pairs")
    op.drop_table("vehicle_pairs")
    op.drop_index("ix_weighing_records_rear_plate", "weighing_records")
