"""Alarms are acknowledged and closed by the people who handle them, audited."""

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import add_user, sign_in
from platform_server import live_server
from test_pages_browser import goto_signed_in, page  # noqa: F401

from browser_support import SCREENSHOTS
from zhichao.platform import registry
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import Alarm, AuditEntry
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import utcnow

OWN = "1405250001"  # 泽州县
OTHER = "1405220001"  # 阳城县


@pytest.fixture
def app(db_url, tmp_path):
    run_migrations(db_url)
    return create_app(
        PlatformSettings(database_url=db_url, evidence_dir=tmp_path / "ev")
    )


def add_alarm(sessions, station=OWN, kind="chain_gap") -> int:
    with sessions() as session, session.begin():
        alarm = Alarm(
            kind=kind,
            station_code=station,
            lane_no="01",
            seq=5,
            record_id=None,
            message=f"records 3..4 of {station}-01 are missing",
            detail={},
            raised_at=utcnow(),
        )
        session.add(alarm)
        session.flush()
        return alarm.id


def alarm(sessions, alarm_id) -> Alarm:
    with sessions() as session:
        return session.get(Alarm, alarm_id)


def client_as(app, username, role="officer", region="140525"):
    add_user(app.state.sessions, username, role, region)
    client = TestClient(app, raise_server_exceptions=False)
    return sign_in(client, username)


def post(client, alarm_id, action, note="", view="unresolved"):
    return client.post(
        f"/alarms/{alarm_id}/{action}",
        data={"csrf_token": client.csrf, "note": note, "view": view},
        follow_redirects=False,
    )


def test_acknowledge_then_close_with_a_note(app):
    sessions = app.state.sessions
    alarm_id = add_alarm(sessions)
    client = client_as(app, "officer1")

    first = post(client, alarm_id, "acknowledge", note="已通知企业")
    assert first.status_code == 303
    assert first.headers["location"] == f"/alarms?view=unresolved#alarm-{alarm_id}"
    assert alarm(sessions, alarm_id).status == "acknowledged"
    assert alarm(sessions, alarm_id).handled_by == "officer1"

    closed = post(client, alarm_id, "close", note="补传后记录完整")
    assert closed.status_code == 303
    found = alarm(sessions, alarm_id)
    assert (found.status, found.note, found.handled_by) == (
        "closed",
        "已通知企业\n补传后记录完整",
        "officer1",
    )
    with sessions() as session:
        actions = session.scalars(
            sa.select(AuditEntry.action).order_by(AuditEntry.seq)
        ).all()
    assert actions[-2:] == ["alarm_acknowledge", "alarm_close"]
    assert "补传后记录完整" in client.get("/audit").text  # not \\u escapes

    unresolved = client.get("/alarms").text
    assert f'id="alarm-{alarm_id}"' not in unresolved
    history = client.get("/alarms?view=closed").text
    assert f'id="alarm-{alarm_id}"' in history and "补传后记录完整" in history


def test_closing_needs_a_note_and_a_closed_alarm_stays_closed(app):
    sessions = app.state.sessions
    alarm_id = add_alarm(sessions)
    client = client_as(app, "officer1")

    no_note = post(client, alarm_id, "close", note="   ")
    assert no_note.status_code == 400
    assert "关闭须填写处理说明" in no_note.text
    assert alarm(sessions, alarm_id).status == "open"

    assert post(client, alarm_id, "close", note="checked").status_code == 303
    again = post(client, alarm_id, "acknowledge")
    assert again.status_code == 400
    assert "告警已关闭" in again.text
    assert alarm(sessions, alarm_id).note == "checked"

    too_long = post(client, add_alarm(sessions), "close", note="x" * 2001)
    assert too_long.status_code == 400


def test_who_may_handle_alarms(app):
    sessions = app.state.sessions
    alarm_id = add_alarm(sessions)
    supervisor = client_as(app, "watcher", role="supervisor")
    enforcement = client_as(app, "enforcer", role="enforcement")

    refused = post(supervisor, alarm_id, "acknowledge")
    assert refused.status_code == 403
    assert 'class="alarm-form"' not in supervisor.get("/alarms").text
    assert post(enforcement, alarm_id, "acknowledge").status_code == 303


def test_an_alarm_of_another_county_is_not_found(app):
    sessions = app.state.sessions
    elsewhere = add_alarm(sessions, station=OTHER)
    client = client_as(app, "officer1")

    answer = post(client, elsewhere, "close", note="x")

    assert answer.status_code == 404
    assert alarm(sessions, elsewhere).status == "open"
    assert f'id="alarm-{elsewhere}"' not in client.get("/alarms?view=all").text


def test_a_form_without_its_csrf_token_is_refused(app):
    alarm_id = add_alarm(app.state.sessions)
    client = client_as(app, "officer1")

    answer = client.post(f"/alarms/{alarm_id}/close", data={"note": "x"})

    assert answer.status_code == 403
    assert alarm(app.state.sessions, alarm_id).status == "open"


def test_unknown_action_is_404_not_a_change(app):
    alarm_id = add_alarm(app.state.sessions)
    client = client_as(app, "officer1")

    answer = post(client, alarm_id, "delete")

    assert answer.status_code in (404, 422)
    assert alarm(app.state.sessions, alarm_id).status == "open"


def test_the_live_count_is_of_alarms_not_closed(app):
    sessions = app.state.sessions
    first, second = add_alarm(sessions), add_alarm(sessions)
    with sessions() as session, session.begin():
        registry.handle_alarm(session, first, "close", "root", "done")

    with sessions() as session:
        assert registry.alarm_count(session) == 1
        assert registry.alarm_count(session, "closed") == 1
        assert registry.alarm_count(session, "all") == 2
        assert [a.id for a in registry.latest_alarms(session, view="unresolved")] == [
            second
        ]


@pytest.mark.browser
def test_alarm_is_handled_in_the_browser(tmp_path, page):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    run_migrations(url)
    app = create_app(PlatformSettings(database_url=url, evidence_dir=tmp_path / "e"))
    add_user(app.state.sessions, "root")
    alarm_id = add_alarm(app.state.sessions)
    with live_server(app) as base:
        goto_signed_in(page, base + "/alarms")
        row = page.locator(f"#alarm-{alarm_id}")
        assert "未处理" in row.inner_text()
        row.locator(".alarm-ack").click()
        page.wait_for_selector(f"#alarm-{alarm_id}[data-status=acknowledged]")
        row = page.locator(f"#alarm-{alarm_id}")
        row.locator("input[name=note]").fill("已联系企业，补传中")
        page.screenshot(path=str(SCREENSHOTS / "platform-alarms.png"), full_page=True)
        row.locator(".alarm-close").click()
        page.wait_for_load_state()
        assert page.locator(f"#alarm-{alarm_id}").count() == 0
        page.click("#alarm-views >> text=已关闭")
        closed = page.locator(f"#alarm-{alarm_id}")
        assert "已联系企业，补传中" in closed.inner_text()
        assert "root" in closed.inner_text()


def test_the_live_page_links_alarms_only_for_those_who_may_see_them(app):
    add_user(app.state.sessions, "op", "operator", "140525", OWN)
    operator = sign_in(TestClient(app, raise_server_exceptions=False), "op")
    officer = client_as(app, "officer1")

    assert 'href="/alarms"' not in operator.get("/").text
    assert 'href="/alarms"' in officer.get("/").text
