"""The evidence chain: lane keys, chain heads, verification, events, alarms,
heartbeats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-06-18
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("lanes") as batch:
        batch.add_column(
            sa.Column("head_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("head_hash", sa.String(64)))
    with op.batch_alter_table("weighing_records") as batch:
        _chain_columns(batch)
    op.create_index(
        "ix_weighing_records_lane_seq", "weighing_records", ["lane_id", "seq"]
    )
    _create_keys()
    _create_events()
    _create_alarms()
    _create_heartbeats()


def _chain_columns(batch) -> None:
    batch.add_column(sa.Column("record_hash", sa.String(64)))
    batch.add_column(sa.Column("content_hash", sa.String(64)))
    batch.add_column(
        sa.Column(
            "verification", sa.String(16), nullable=False, server_default="unsigned"
        )
    )


def _indexes(table: str) -> None:
    op.create_index(f"ix_{table}_content_hash", table, ["content_hash"])
    op.create_index(f"ix_{table}_verification", table, ["verification"])


def _create_keys() -> None:
    op.create_table(
        "lane_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lane_id", sa.Integer(), sa.ForeignKey("lanes.id"), nullable=False),
        sa.Column("station_code", sa.String(10), nullable=False),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("enrolled_at", INSTANT, nullable=False),
        sa.Column("enrolled_via", sa.String(16), nullable=False),
        sa.Column("replaced_at", INSTANT),
    )
    op.create_index(
        "ix_lane_keys_station_lane", "lane_keys", ["station_code", "lane_no"]
    )


def _create_events() -> None:
    op.create_table(
        "lane_events",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("record_id", sa.String(64), nullable=False, unique=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column(
            "station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False
        ),
        sa.Column("lane_id", sa.Integer(), sa.ForeignKey("lanes.id"), nullable=False),
        sa.Column("station_code", sa.String(10), nullable=False),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(128)),
        sa.Column("signature", sa.Text()),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("detected_at", INSTANT, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("record_hash", sa.String(64)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("verification", sa.String(16), nullable=False),
    )
    op.create_index("ix_lane_events_lane_seq", "lane_events", ["lane_id", "seq"])
    op.create_index("ix_lane_events_event_type", "lane_events", ["event_type"])
    op.create_index("ix_lane_events_detected_at", "lane_events", ["detected_at"])
    _indexes("lane_events")
    _indexes("weighing_records")


def _create_alarms() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("station_code", sa.String(10), nullable=False),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.Column("seq", sa.BigInteger()),
        sa.Column("record_id", sa.String(64)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("raised_at", INSTANT, nullable=False),
    )
    op.create_index("ix_alarms_kind", "alarms", ["kind"])
    op.create_index("ix_alarms_record_id", "alarms", ["record_id"])


def _create_heartbeats() -> None:
    op.create_table(
        "station_status",
        sa.Column(
            "station_id",
            sa.Integer(),
            sa.ForeignKey("stations.id"),
            primary_key=True,
        ),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("sent_at", INSTANT, nullable=False),
        sa.Column("clock", INSTANT, nullable=False),
        sa.Column("skew_ms", sa.BigInteger(), nullable=False),
        sa.Column("software_version", sa.String(64), nullable=False),
        sa.Column("queue_records", sa.BigInteger(), nullable=False),
        sa.Column("queue_photos", sa.BigInteger(), nullable=False),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=False),
        sa.Column("lanes", sa.JSON(), nullable=False),
    )
    op.create_table(
        "station_heartbeats",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False
        ),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("skew_ms", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_station_heartbeats_station", "station_heartbeats", ["station_id", "id"]
    )


def downgrade() -> None:
    for table in (
        "station_heartbeats",
        "station_status",
        "alarms",
        "lane_events",
        "lane_keys",
    ):
        op.drop_table(table)
    op.drop_index("ix_weighing_records_lane_seq", "weighing_records")
    op.drop_index("ix_weighing_records_content_hash", "weighing_records")
    op.drop_index("ix_weighing_records_verification", "weighing_records")
    with op.batch_alter_table("weighing_records") as batch:
        for column in ("verification", "content_hash", "record_hash"):
            batch.drop_column(column)
    with op.batch_alter_table("lanes") as batch:
        batch.drop_column("head_hash")
        batch.drop_column("head_seq")
