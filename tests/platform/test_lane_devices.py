"""The device register: migration, heartbeat upsert, jurisdiction, the edit form."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import add_user, sign_in

from zhichao.platform import devices, services
from zhichao.platform.auth import Scope, scope_session
from zhichao.platform.devices import CertificateState
from zhichao.platform.migrations import current_revision, downgrade, run_migrations
from zhichao.platform.models import AuditEntry, LaneDevice, Station
from zhichao.timeutil import iso_utc, utcnow

URL = "/api/v1/heartbeats"
OWN, OTHER = "1405250001", "1405810001"  # 泽州县, 高平市


def beat(station=OWN, devices_=None, lane_no="01"):
    now = utcnow()
    return {
        "station_code": station,
        "sent_at": iso_utc(now),
        "software_version": "0.4.0",
        "clock": iso_utc(now),
        "queue": {"records": 0, "photos": 0},
        "disk_free_bytes": 10**10,
        "lanes": [{"lane_no": lane_no, "devices": devices_ or []}],
    }


SCALE = {"name": "scale", "kind": "xk3190", "state": "ok"}
CAMERA = {
    "name": "front_camera",
    "kind": "hikvision",
    "state": "fault",
    "since": "2026-12-04T01:02:03.000Z",
    "detail": "no answer",
}


def rows(sessions):
    with sessions() as session:
        return {
            (row.lane_no, row.name): row
            for row in session.scalars(sa.select(LaneDevice).order_by(LaneDevice.id))
        }


def post_beat(client, **kwargs):
    answer = client.post(URL, json=beat(**kwargs))
    assert answer.status_code == 200, answer.text


def test_migration_0006_up_and_down_keeps_the_rest(db_url):
    run_migrations(db_url, "0005")
    engine = sa.create_engine(db_url)
    try:
        assert "lane_devices" not in sa.inspect(engine).get_table_names()
        run_migrations(db_url, "0006")
        assert current_revision(db_url) == "0006"
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("lane_devices")}
        assert {"certificate_no", "certificate_expires", "installed_on"} <= columns
        unique = inspector.get_unique_constraints("lane_devices")
        assert [sorted(u["column_names"]) for u in unique] == [
            ["lane_no", "name", "station_id"]
        ]
        downgrade(db_url, "0005")
        tables = sa.inspect(engine).get_table_names()
        assert "lane_devices" not in tables and "stations" in tables
        assert current_revision(db_url) == "0005"
    finally:
        engine.dispose()


def test_heartbeat_creates_a_row_per_device(anonymous, sessions):
    post_beat(anonymous, devices_=[SCALE, CAMERA])

    found = rows(sessions)
    assert set(found) == {("01", "scale"), ("01", "front_camera")}
    camera = found[("01", "front_camera")]
    assert camera.state == "fault" and camera.detail == "no answer"
    assert iso_utc(camera.state_since) == "2026-12-04T01:02:03.000Z"
    assert camera.kind == "hikvision"
    assert found[("01", "scale")].state_since is not None  # first seen then


def test_heartbeat_upsert_keeps_the_officers_fields(anonymous, sessions):
    post_beat(anonymous, devices_=[SCALE, CAMERA])
    with sessions() as session, session.begin():
        scale = session.scalar(sa.select(LaneDevice).where(LaneDevice.name == "scale"))
        fields = devices.RegisterFields(
            make="耀华",
            model="XK3190-A9",
            serial_no="YH-2024-0117",
            certificate_no="晋计检 2026-0383",
            certificate_expires=date(2027, 6, 30),
            installed_on=date(2024, 3, 1),
        )
        devices.update_register(session, scale, fields)
    before = rows(sessions)[("01", "scale")]

    fault = SCALE | {"state": "fault", "detail": "no frames for 5 s"}
    post_beat(
        anonymous,
        devices_=[fault, CAMERA | {"state": "ok", "since": None, "detail": None}],
    )

    after = rows(sessions)
    scale = after[("01", "scale")]
    assert devices.register_of(scale) == fields
    assert scale.updated_at == before.updated_at
    assert scale.state == "fault" and scale.detail == "no frames for 5 s"
    assert scale.last_seen_at > before.last_seen_at
    # the state changed and the station sent no since: the platform's time
    assert scale.state_since == scale.last_seen_at
    camera = after[("01", "front_camera")]
    assert camera.state == "ok" and camera.detail is None


def test_unchanged_state_without_since_keeps_its_since(anonymous, sessions):
    post_beat(anonymous, devices_=[SCALE])
    first = rows(sessions)[("01", "scale")]
    post_beat(anonymous, devices_=[SCALE])
    second = rows(sessions)[("01", "scale")]
    assert second.state_since == first.state_since
    assert second.last_seen_at >= first.last_seen_at


def test_a_device_missing_later_stays_with_its_last_seen(anonymous, sessions):
    post_beat(anonymous, devices_=[SCALE, CAMERA])
    seen = rows(sessions)[("01", "front_camera")].last_seen_at

    post_beat(anonymous, devices_=[SCALE])
    post_beat(anonymous, devices_=[], lane_no="02")

    found = rows(sessions)
    assert set(found) == {("01", "scale"), ("01", "front_camera")}
    assert found[("01", "front_camera")].last_seen_at == seen
    assert found[("01", "front_camera")].state == "fault"


def test_the_same_device_twice_in_one_heartbeat_is_one_row(anonymous, sessions):
    post_beat(anonymous, devices_=[SCALE, SCALE | {"state": "fault"}])
    found = rows(sessions)
    assert list(found) == [("01", "scale")]
    assert found[("01", "scale")].state == "fault"


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (None, None),
        (date(2026, 12, 3), CertificateState.EXPIRED),
        (date(2026, 12, 4), CertificateState.EXPIRING),  # valid through today
        (date(2027, 1, 3), CertificateState.EXPIRING),  # 30 days on
        (date(2027, 1, 4), CertificateState.VALID),
    ],
)
def test_certificate_state(expires, expected):
    assert devices.certificate_state(expires, date(2026, 12, 4)) == expected


TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"certificate_expires": "2027-13-01"}, "certificate_expires", "不是有效日期"),
        ({"certificate_expires": "2027/06/30"}, "certificate_expires", "年-月-日"),
        ({"certificate_expires": "20270630"}, "certificate_expires", "不是有效日期"),
        ({"certificate_expires": "2027-W26-3"}, "certificate_expires", "不是有效日期"),
        ({"installed_on": "0202-06-30"}, "installed_on", "1980 至 2100"),
        ({"installed_on": "2026-12-05"}, "installed_on", "晚于今天"),
        ({"serial_no": "X" * 65}, "serial_no", "最多 64 个字符"),
    ],
)
def test_parse_register_refuses_with_a_reason(form, field, words):
    with pytest.raises(devices.DeviceRegisterError) as caught:
        devices.parse_register(form, TODAY)
    assert caught.value.field == field
    assert words in caught.value.message("zh")
    assert caught.value.message("en")


def test_parse_register_trims_and_clears():
    fields = devices.parse_register(
        {"make": "  耀华 ", "model": "", "installed_on": "2026-12-04"}, TODAY
    )
    assert fields == devices.RegisterFields(make="耀华", installed_on=date(2026, 12, 4))


# -- pages, jurisdiction ------------------------------------------------------


@pytest.fixture
def two_counties(app, anonymous):
    """A station in 泽州县 and one in 高平市, each with a scale reported."""
    with app.state.sessions() as session, session.begin():
        services.register_station(
            session, OWN, "泽州一号磅站", "甲煤业有限公司", "coal_mine", "140525"
        )
        services.register_station(
            session, OTHER, "高平一号磅站", "丙洗煤厂", "coal_mine", "140581"
        )
    post_beat(anonymous, station=OWN, devices_=[SCALE | {"detail": "own-scale"}])
    post_beat(anonymous, station=OTHER, devices_=[SCALE | {"detail": "other-scale"}])
    with app.state.sessions() as session:
        ids = dict(
            session.execute(
                sa.select(Station.station_code, LaneDevice.id).join(
                    Station, Station.id == LaneDevice.station_id
                )
            ).all()
        )
    add_user(app.state.sessions, "zezhou", "officer", "140525")
    return ids


@pytest.fixture
def officer(app, two_counties):
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "zezhou")
        yield client


def form(client, **fields):
    return (
        {"csrf_token": client.csrf}
        | {name: "" for name in devices.REGISTER_FIELDS}
        | fields
    )


def test_officer_sees_own_county_devices_only(officer, two_counties, app):
    own = officer.get(f"/stations/{OWN}/devices")
    assert own.status_code == 200
    assert "own-scale" in own.text and "other-scale" not in own.text
    assert f'id="device-{two_counties[OWN]}"' in own.text

    stations = officer.get("/stations").text
    assert f'href="/stations/{OWN}/devices"' in stations
    assert f"/stations/{OTHER}/devices" not in stations

    other_id = two_counties[OTHER]
    for path in (f"/stations/{OTHER}/devices", f"/stations/{OTHER}/devices/{other_id}"):
        answer = officer.get(path)
        assert answer.status_code == 404, path
        assert "other-scale" not in answer.text
    # another county's device under the officer's own station is no way in
    assert officer.get(f"/stations/{OWN}/devices/{other_id}").status_code == 404
    answer = officer.post(
        f"/stations/{OTHER}/devices/{other_id}", data=form(officer, make="X")
    )
    assert answer.status_code == 404
    answer = officer.post(
        f"/stations/{OWN}/devices/{other_id}", data=form(officer, make="X")
    )
    assert answer.status_code == 404
    with app.state.sessions() as session:
        assert session.get(LaneDevice, other_id).make is None


def test_scoped_session_reads_only_its_devices(app, two_counties):
    with app.state.sessions() as session:
        scope_session(session, Scope(prefix="140525"))
        names = session.scalars(sa.select(LaneDevice.detail)).all()
        count = session.scalar(sa.select(sa.func.count()).select_from(LaneDevice))
        assert devices.find_station(session, OTHER) is None
    assert names == ["own-scale"] and count == 1


def test_edit_saves_and_audits(officer, two_counties, app):
    device_id = two_counties[OWN]
    page = officer.get(f"/stations/{OWN}/devices/{device_id}")
    assert page.status_code == 200 and 'id="device-form"' in page.text

    answer = officer.post(
        f"/stations/{OWN}/devices/{device_id}",
        data=form(
            officer,
            make="耀华",
            model="XK3190-A9",
            serial_no="YH-0117",
            certificate_no="晋计检 2026-0383",
            certificate_expires=(
                devices.beijing_today() - timedelta(days=1)
            ).isoformat(),
            installed_on="2024-03-01",
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/stations/{OWN}/devices?saved=")

    listing = officer.get(answer.headers["location"]).text
    row = listing.split(f'id="device-{device_id}"')[1].split("</tr>")[0]
    assert "耀华" in row and "YH-0117" in row and "晋计检 2026-0383" in row
    assert "检定证书已过期" in row and 'data-certificate="expired"' in listing
    with app.state.sessions() as session:
        entry = session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "device_register")
        )
    assert entry.username == "zezhou" and entry.target == f"{OWN}-01 scale"
    assert entry.detail["changes"]["make"] == [None, "耀华"]

    again = officer.post(
        f"/stations/{OWN}/devices/{device_id}",
        data=form(
            officer,
            make="耀华",
            model="XK3190-A9",
            serial_no="YH-0117",
            certificate_no="晋计检 2026-0383",
            certificate_expires=(
                devices.beijing_today() + timedelta(days=10)
            ).isoformat(),
            installed_on="2024-03-01",
        ),
        follow_redirects=False,
    )
    assert again.status_code == 303
    listing = officer.get(f"/stations/{OWN}/devices?lang=en").text
    assert "certificate expiring" in listing


def test_edit_with_a_bad_date_says_why_and_saves_nothing(officer, two_counties, app):
    device_id = two_counties[OWN]
    answer = officer.post(
        f"/stations/{OWN}/devices/{device_id}",
        data=form(officer, make="耀华", certificate_expires="2027-02-30"),
    )
    assert answer.status_code == 400
    assert 'id="device-error"' in answer.text
    assert "检定证书有效期至“2027-02-30”不是有效日期" in answer.text
    assert 'value="耀华"' in answer.text  # what was typed is kept
    with app.state.sessions() as session:
        device = session.get(LaneDevice, device_id)
        assert device.make is None and device.updated_at is None
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "device_register")
            )
            == 0
        )


def test_edit_needs_csrf_and_an_editing_role(app, officer, two_counties):
    device_id = two_counties[OWN]
    forged = officer.post(
        f"/stations/{OWN}/devices/{device_id}",
        data=form(officer, make="X") | {"csrf_token": "forged"},
    )
    assert forged.status_code == 403
    add_user(app.state.sessions, "watcher", "supervisor", "140525")
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "watcher")
        page = client.get(f"/stations/{OWN}/devices")
        assert page.status_code == 200 and 'class="edit"' not in page.text
        assert client.get(f"/stations/{OWN}/devices/{device_id}").status_code == 403
        answer = client.post(
            f"/stations/{OWN}/devices/{device_id}", data=form(client, make="X")
        )
        assert answer.status_code == 403
