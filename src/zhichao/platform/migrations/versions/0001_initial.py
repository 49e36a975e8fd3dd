"""Initial schema: source units, stations, lanes, weighing records, photos.

Revision ID: 0001
Revises:
Create Date: 2026-06-17
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    _create_registry()
    _create_records()
    _create_photos()


def _create_registry() -> None:
    op.create_table(
        "source_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
    )
    op.create_index("ix_source_units_county_code", "source_units", ["county_code"])
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_code", sa.String(10), nullable=False, unique=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("source_units.id")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "lanes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False
        ),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.UniqueConstraint("station_id", "lane_no"),
    )


def _create_records() -> None:
    op.create_table(
        "weighing_records",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("record_id", sa.String(64), nullable=False, unique=True),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "station_id", sa.Integer(), sa.ForeignKey("stations.id"), nullable=False
        ),
        sa.Column("lane_id", sa.Integer(), sa.ForeignKey("lanes.id"), nullable=False),
        sa.Column("station_code", sa.String(10), nullable=False),
        sa.Column("lane_no", sa.String(2), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(128)),
        sa.Column("signature", sa.Text()),
        sa.Column("detected_at", INSTANT, nullable=False),
        sa.Column("entered_at", INSTANT),
        sa.Column("front_plate", sa.Unicode(16)),
        sa.Column("front_plate_color", sa.String(16), nullable=False),
        sa.Column("rear_plate", sa.Unicode(16)),
        sa.Column("rear_plate_color", sa.String(16), nullable=False),
        sa.Column("vehicle_kind", sa.String(32)),
        sa.Column("axles", sa.Integer()),
        sa.Column("axle_weights_kg", sa.JSON()),
        sa.Column("gross_kg", sa.Integer(), nullable=False),
        sa.Column("limit_kg", sa.Integer(), nullable=False),
        sa.Column("tolerance_kg", sa.Integer(), nullable=False),
        sa.Column("over_kg", sa.Integer(), nullable=False),
        sa.Column("over_rate_pct", sa.Float(), nullable=False),
        sa.Column("overloaded", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("reweigh_of", sa.String(64)),
        sa.Column("left_without_weighing", sa.Boolean(), nullable=False),
        sa.Column("video", sa.JSON()),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
    )
    table = "weighing_records"
    op.create_index("ix_weighing_records_detected_at", table, ["detected_at"])
    op.create_index("ix_weighing_records_front_plate", table, ["front_plate"])
    op.create_index("ix_weighing_records_reweigh_of", table, ["reweigh_of"])
    op.create_index(
        "ix_weighing_records_station_detected", table, ["station_id", "detected_at"]
    )
    op.create_index(
        "ix_weighing_records_overloaded_detected", table, ["overloaded", "detected_at"]
    )


def _create_photos() -> None:
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("stored_at", INSTANT, nullable=False),
    )
    op.create_table(
        "record_photos",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "record_id",
            sa.String(64),
            sa.ForeignKey("weighing_records.record_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("camera", sa.Text(), nullable=False),
        sa.Column("captured_at", INSTANT, nullable=False),
        sa.Column("size", sa.BigInteger()),
    )
    op.create_index("ix_record_photos_record_id", "record_photos", ["record_id"])
    op.create_index("ix_record_photos_sha256", "record_photos", ["sha256"])


def downgrade() -> None:
    for table in ("record_photos", "photos", "weighing_records", "lanes", "stations"):
        op.drop_table(table)
    op.drop_table("source_units")
