"""Tables of the county platform.

- ``regions``: administrative regions by GB/T 2260 code, with local codes for
  areas GB/T 2260 does not list (``zhichao.platform.regions``);
- ``source_units``: the places that load freight (源头单位);
- ``vehicles``: registered vehicles by plate and plate colour;
- ``stations``: a unit's weighbridge station, known by its station code; a code
  first seen in an upload is created unregistered (未登记) until enrolment;
- ``lanes``: the lanes of a station;
- ``weighing_records``: one row per weighing pass, every field of the record in
  ``docs/protocol.md`` as a column, plus when it arrived and the record as sent;
- ``photos``: evidence photos whose bytes have arrived;
- ``record_photos``: the photos a record references, which may not have arrived;
- ``lane_keys``: the public keys enrolled per lane; a replaced key stays, to
  verify the records it signed;
- ``lane_events``: event records (``kind`` = ``event``), in the same per-lane
  chain as the passes in ``weighing_records``;
- ``alarms``: what chain verification found (gap, fork, bad signature, replay);
- ``station_status`` and ``station_heartbeats``: the latest heartbeat of each
  station and a bounded history of them;
- ``lane_devices``: the device register, one row per device of a lane
  (``zhichao.platform.devices``).
"""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from zhichao.platform.db import UTCDateTime

# SQLite only auto-increments a column declared exactly INTEGER
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PLATE_LENGTH = 16  # a plate is 7 or 8 characters; room for more, never truncated


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class SourceUnit(Base):
    """A source unit (源头单位): mine, quarry, plant, freight yard."""

    __tablename__ = "source_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    # the unit's region (a county or a zone): a code in ``regions``
    county_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    address: Mapped[str | None] = mapped_column(sa.Unicode(300))
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    person_in_charge: Mapped[str | None] = mapped_column(sa.Unicode(100))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    supervision_method: Mapped[str | None] = mapped_column(sa.String(32))
    responsible_officer: Mapped[str | None] = mapped_column(sa.Unicode(100))
    # shown on the public list (公示名单)
    published: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime | None]

    stations: Mapped[list["Station"]] = relationship(back_populates="unit")


class Region(Base):
    """An administrative region (行政区划): province, city, county or zone."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Unicode(100))
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("regions.code"), index=True
    )
    # false for a local code that GB/T 2260 does not list
    gb_code: Mapped[bool] = mapped_column(default=True)


class Vehicle(Base):
    """A registered vehicle (车辆), known by plate and plate colour."""

    __tablename__ = "vehicles"
    __table_args__ = (sa.UniqueConstraint("plate", "plate_color"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(sa.Unicode(PLATE_LENGTH), index=True)
    plate_color: Mapped[str] = mapped_column(sa.String(16))
    axles: Mapped[int | None]
    axle_config: Mapped[str | None] = mapped_column(sa.String(32))
    registered_mass_kg: Mapped[int | None]
    owner: Mapped[str | None] = mapped_column(sa.Unicode(200))
    transport_company: Mapped[str | None] = mapped_column(sa.Unicode(200))
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    updated_at: Mapped[datetime | None]


class VehiclePair(Base):
    """A tractor and a trailer known to run together (牵引车与挂车)."""

    __tablename__ = "vehicle_pairs"
    __table_args__ = (sa.UniqueConstraint("tractor_plate", "trailer_plate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tractor_plate: Mapped[str] = mapped_column(sa.Unicode(PLATE_LENGTH))
    trailer_plate: Mapped[str] = mapped_column(sa.Unicode(PLATE_LENGTH))
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    updated_at: Mapped[datetime | None]


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("source_units.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    registered: Mapped[bool] = mapped_column(default=False)

    unit: Mapped[SourceUnit | None] = relationship(back_populates="stations")
    lanes: Mapped[list["Lane"]] = relationship(back_populates="station")


class Lane(Base):
    __tablename__ = "lanes"
    __table_args__ = (sa.UniqueConstraint("station_id", "lane_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    # the chain head: the highest seq stored in good standing, and its hash
    head_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    head_hash: Mapped[str | None] = mapped_column(sa.String(64))

    station: Mapped[Station] = relationship(back_populates="lanes")


class WeighingRecord(Base):
    """One weighing pass (称重记录) as the station reported it."""

    __tablename__ = "weighing_records"
    __table_args__ = (
        sa.Index("ix_weighing_records_station_detected", "station_id", "detected_at"),
        sa.Index(
            "ix_weighing_records_overloaded_detected", "overloaded", "detected_at"
        ),
        sa.Index("ix_weighing_records_lane_seq", "lane_id", "seq"),
        # period statistics read only this index (platform.statistics)
        sa.Index(
            "ix_weighing_records_statistics",
            "detected_at",
            "station_code",
            "overloaded",
            "over_rate_pct",
        ),
    )

    # arrival order; the live list's cursor
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    schema_version: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id"))
    station_code: Mapped[str] = mapped_column(sa.String(10))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(128))
    signature: Mapped[str | None] = mapped_column(sa.Text)
    detected_at: Mapped[datetime] = mapped_column(index=True)
    entered_at: Mapped[datetime | None]
    front_plate: Mapped[str | None] = mapped_column(
        sa.Unicode(PLATE_LENGTH), index=True
    )
    front_plate_color: Mapped[str] = mapped_column(sa.String(16))
    rear_plate: Mapped[str | None] = mapped_column(sa.Unicode(PLATE_LENGTH), index=True)
    rear_plate_color: Mapped[str] = mapped_column(sa.String(16))
    vehicle_kind: Mapped[str | None] = mapped_column(sa.String(32))
    axles: Mapped[int | None]
    axle_weights_kg: Mapped[list[int] | None] = mapped_column(sa.JSON)
    gross_kg: Mapped[int]
    limit_kg: Mapped[int]
    tolerance_kg: Mapped[int]
    over_kg: Mapped[int]
    over_rate_pct: Mapped[float] = mapped_column(sa.Float)
    overloaded: Mapped[bool]
    verdict: Mapped[str] = mapped_column(sa.String(16))
    basis: Mapped[str] = mapped_column(sa.Text)
    rules_version: Mapped[str] = mapped_column(sa.Text)
    flags: Mapped[list[str]] = mapped_column(sa.JSON)
    reweigh_of: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    left_without_weighing: Mapped[bool]
    video: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime]
    raw: Mapped[dict[str, Any]]
    record_hash: Mapped[str | None] = mapped_column(sa.String(64))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    verification: Mapped[str] = mapped_column(
        sa.String(16), default="unsigned", index=True
    )

    station: Mapped[Station] = relationship()
    lane: Mapped[Lane] = relationship()
    photos: Mapped[list["RecordPhoto"]] = relationship(
        order_by="RecordPhoto.id", viewonly=True
    )


class Photo(Base):
    """An evidence photo whose bytes are in the evidence store."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    stored_at: Mapped[datetime]


class RecordPhoto(Base):
    """A record's reference to a photo; the photo itself may still be on its way."""

    __tablename__ = "record_photos"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(
        sa.ForeignKey("weighing_records.record_id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    camera: Mapped[str] = mapped_column(sa.Text)
    captured_at: Mapped[datetime]
    size: Mapped[int | None] = mapped_column(sa.BigInteger)

    photo: Mapped[Photo | None] = relationship(
        primaryjoin="foreign(RecordPhoto.sha256) == Photo.sha256", viewonly=True
    )


class LaneKey(Base):
    """A lane's enrolled public key (Ed25519); ``replaced_at`` ends its use."""

    __tablename__ = "lane_keys"
    __table_args__ = (sa.Index("ix_lane_keys_station_lane", "station_code", "lane_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id"))
    station_code: Mapped[str] = mapped_column(sa.String(10))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    public_key: Mapped[str] = mapped_column(sa.String(64))
    fingerprint: Mapped[str] = mapped_column(sa.String(32))
    enrolled_at: Mapped[datetime]
    enrolled_via: Mapped[str] = mapped_column(sa.String(16))
    replaced_at: Mapped[datetime | None]


class LaneEvent(Base):
    """An event record (事件记录): device fault, operator action, and the like."""

    __tablename__ = "lane_events"
    __table_args__ = (sa.Index("ix_lane_events_lane_seq", "lane_id", "seq"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    schema_version: Mapped[int]
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id"))
    station_code: Mapped[str] = mapped_column(sa.String(10))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(128))
    signature: Mapped[str | None] = mapped_column(sa.Text)
    event_type: Mapped[str] = mapped_column(sa.String(64), index=True)
    detected_at: Mapped[datetime] = mapped_column(index=True)
    detail: Mapped[dict[str, Any]]
    flags: Mapped[list[str]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime]
    raw: Mapped[dict[str, Any]]
    record_hash: Mapped[str | None] = mapped_column(sa.String(64))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    verification: Mapped[str] = mapped_column(
        sa.String(16), default="unsigned", index=True
    )

    station: Mapped[Station] = relationship()


class Alarm(Base):
    """What chain verification found about one record (告警)."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    station_code: Mapped[str] = mapped_column(sa.String(10))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    record_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]]
    raised_at: Mapped[datetime]
    # handling (告警处理): open → acknowledged (seen, being looked at) → closed
    status: Mapped[str] = mapped_column(
        sa.String(16), default="open", server_default="open", index=True
    )
    handled_by: Mapped[str | None] = mapped_column(sa.String(64))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.Text)


class StationStatus(Base):
    """A station's latest heartbeat (心跳), one row per station."""

    __tablename__ = "station_status"

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id"), primary_key=True
    )
    received_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    clock: Mapped[datetime]
    skew_ms: Mapped[int] = mapped_column(sa.BigInteger)
    software_version: Mapped[str] = mapped_column(sa.String(64))
    queue_records: Mapped[int] = mapped_column(sa.BigInteger)
    queue_photos: Mapped[int] = mapped_column(sa.BigInteger)
    disk_free_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    lanes: Mapped[list[Any]] = mapped_column(sa.JSON)

    station: Mapped[Station] = relationship()


class StationHeartbeat(Base):
    """One heartbeat as it arrived; the oldest are pruned past a bound."""

    __tablename__ = "station_heartbeats"
    __table_args__ = (sa.Index("ix_station_heartbeats_station", "station_id", "id"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    received_at: Mapped[datetime]
    skew_ms: Mapped[int] = mapped_column(sa.BigInteger)
    raw: Mapped[dict[str, Any]]


# -- people, sessions, tokens and the audit log (zhichao.platform.auth, .audit) --


class User(Base):
    """A person who signs in to the pages (账号); see ``zhichao.platform.auth``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.String(16))
    # GB/T 2260 code of the jurisdiction: province 140000, city 140500, county 140525
    region_code: Mapped[str] = mapped_column(sa.String(6))
    # a source-unit operator's station; the unit's other stations are theirs too
    unit_station_code: Mapped[str | None] = mapped_column(sa.String(10))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser; the cookie holds a secret whose SHA-256 is ``id``."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(sa.String(64))


class LoginFailure(Base):
    """A failed sign-in, counted per account and per address for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)


class ApiToken(Base):
    """A bearer token for the remote monitoring port (远程监控端口)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.Unicode(100))
    # SHA-256 of the token; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One line of the audit log (操作日志): append-only, each hashes the last."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    # the actor's jurisdiction as a station-code prefix ("" = every region)
    region: Mapped[str] = mapped_column(sa.String(10))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]]
    address: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))


class LaneDevice(Base):
    """A device of a lane (车道设备) in the device register (设备台账).

    ``kind``, ``state``, ``state_since``, ``detail`` and ``last_seen_at`` come
    from the station's heartbeats; make, model, serial number, the scale's
    verification certificate (检定证书) and the installed date are recorded by
    an officer, and a heartbeat never changes them. See
    ``zhichao.platform.devices``.
    """

    __tablename__ = "lane_devices"
    __table_args__ = (sa.UniqueConstraint("station_id", "lane_no", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    lane_no: Mapped[str] = mapped_column(sa.String(2))
    # the station's own name for the device: scale, front_camera, …
    name: Mapped[str] = mapped_column(sa.Unicode(100))
    kind: Mapped[str] = mapped_column(sa.Unicode(50))
    state: Mapped[str] = mapped_column(sa.String(16))  # ok, fault, unknown
    state_since: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(sa.Unicode(500))
    last_seen_at: Mapped[datetime]
    make: Mapped[str | None] = mapped_column(sa.Unicode(100))
    model: Mapped[str | None] = mapped_column(sa.Unicode(100))
    serial_no: Mapped[str | None] = mapped_column(sa.Unicode(64))
    certificate_no: Mapped[str | None] = mapped_column(sa.Unicode(64))
    certificate_expires: Mapped[date | None] = mapped_column(sa.Date)
    installed_on: Mapped[date | None] = mapped_column(sa.Date)
    # when an officer last changed the register fields
    updated_at: Mapped[datetime | None]

    station: Mapped[Station] = relationship()
