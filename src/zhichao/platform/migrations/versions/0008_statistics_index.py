"""Period statistics: an index that holds every column the counts read.

``(detected_at, station_code, overloaded, over_rate_pct)``: the period's range
on ``detected_at``, the jurisdiction filter on ``station_code``, and the
overloaded flag and overload rate of the bands, so PostgreSQL counts a period
by an index-only scan instead of reading each record's row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_weighing_records_statistics"
COLUMNS = ["detected_at", "station_code", "overloaded", "over_rate_pct"]


def upgrade() -> None:
    op.create_index(INDEX, "weighing_records", COLUMNS)


def downgrade() -> None:
    op.drop_index(INDEX, "weighing_records")
