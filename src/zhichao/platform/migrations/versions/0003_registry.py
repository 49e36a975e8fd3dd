"""The registry: administrative regions (with seed data), source-unit details,
vehicles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INSTANT = sa.DateTime(timezone=True)

# frozen copy of the seed at this revision (zhichao.platform.regions.SEED_REGIONS
# may grow later; a migration must not change with it)
SEED = (
    ("140000", "山西省", "province", None, True),
    ("140500", "晋城市", "city", "140000", True),
    ("140502", "城区", "county", "140500", True),
    ("140521", "沁水县", "county", "140500", True),
    ("140522", "阳城县", "county", "140500", True),
    ("140524", "陵川县", "county", "140500", True),
    ("140525", "泽州县", "county", "140500", True),
    ("140581", "高平市", "county", "140500", True),
    ("1405KF", "开发区管委会", "zone", "140500", False),
)


def upgrade() -> None:
    regions = op.create_table(
        "regions",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("name", sa.Unicode(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(6), sa.ForeignKey("regions.code")),
        sa.Column("gb_code", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_regions_parent_code", "regions", ["parent_code"])
    op.bulk_insert(
        regions,
        [
            {"code": c, "name": n, "level": lv, "parent_code": p, "gb_code": gb}
            for c, n, lv, p, gb in SEED
        ],
    )

    with op.batch_alter_table("source_units") as batch:
        batch.add_column(sa.Column("address", sa.Unicode(300)))
        batch.add_column(sa.Column("longitude", sa.Float()))
        batch.add_column(sa.Column("latitude", sa.Float()))
        batch.add_column(sa.Column("person_in_charge", sa.Unicode(100)))
        batch.add_column(sa.Column("contact_phone", sa.String(32)))
        batch.add_column(sa.Column("supervision_method", sa.String(32)))
        batch.add_column(sa.Column("responsible_officer", sa.Unicode(100)))
        batch.add_column(
            sa.Column(
                "published", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch.add_column(sa.Column("updated_at", INSTANT))

    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plate", sa.Unicode(16), nullable=False),
        sa.Column("plate_color", sa.String(16), nullable=False),
        sa.Column("axles", sa.Integer()),
        sa.Column("axle_config", sa.String(32)),
        sa.Column("registered_mass_kg", sa.Integer()),
        sa.Column("owner", sa.Unicode(200)),
        sa.Column("transport_company", sa.Unicode(200)),
        sa.Column("region_code", sa.String(6)),
        sa.Column("updated_at", INSTANT),
        sa.UniqueConstraint("plate", "plate_color"),
    )
    op.create_index("ix_vehicles_plate", "vehicles", ["plate"])
    op.create_index("ix_vehicles_region_code", "vehicles", ["region_code"])


def downgrade() -> None:
    op.drop_index("ix_vehicles_region_code", "vehicles")
    op.drop_index("ix_vehicles_plate", "vehicles")
    op.drop_table("vehicles")
    with op.batch_alter_table("source_units") as batch:
        for column in (
            "updated_at",
            "published",
            "responsible_officer",
            "supervision_method",
            "contact_phone",
            "person_in_charge",
            "latitude",
            "longitude",
            "address",
        ):
            batch.drop_column(column)
    op.drop_index("ix_regions_parent_code", "regions")
    op.drop_table("regions")
