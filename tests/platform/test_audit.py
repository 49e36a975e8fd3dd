"""The audit log: every change recorded with who, when, what and from where;
the hash chain holds, and an altered or removed entry is found."""

import sqlalchemy as sa
from click.testing import CliRunner
from people import PASSWORD, add_user, sign_in

from zhichao.cli import main
from zhichao.platform import audit
from zhichao.platform.models import AuditEntry


def _entries(sessions):
    with sessions() as session:
        return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)))


def _tamper(sessions, sql):
    """Change the log as someone with the database's own rights could."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            session.execute(sa.text(sql))
            session.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            session.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            session.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            session.execute(sa.text(sql))


def _append(sessions, n):
    with sessions() as session, session.begin():
        for i in range(n):
            audit.append(
                session,
                username="li",
                role="admin",
                region="140525",
                action="test",
                target=f"thing {i}",
                detail={"i": i, "名": "泽州"},
                address="10.0.0.1",
            )


def test_sign_in_token_and_logout_are_recorded_with_address(app, client):
    client.post(
        "/tokens",
        data={
            "name": "m",
            "scopes": ["records:read"],
            "days": "3",
            "csrf_token": client.csrf,
        },
    )
    client.post("/logout", data={"csrf_token": client.csrf})
    entries = _entries(app.state.sessions)
    assert [e.action for e in entries] == ["login", "token_create", "logout"]
    assert {e.username for e in entries} == {"root"}
    assert all(e.address == "testclient" for e in entries)
    assert entries[1].detail["scopes"] == ["records:read"]


def test_chain_is_intact_then_an_altered_entry_is_found(app, client):
    _append(app.state.sessions, 5)
    page = client.get("/audit")
    assert 'data-intact="1"' in page.text
    with app.state.sessions() as session:
        assert audit.verify_chain(session).intact

    _tamper(app.state.sessions, "UPDATE audit_log SET target = 'nothing' WHERE seq = 3")

    with app.state.sessions() as session:
        report = audit.verify_chain(session)
    assert not report.intact
    assert report.first_bad_seq == 3
    assert 'data-intact="0"' in client.get("/audit").text


def test_a_removed_entry_is_found(app):
    _append(app.state.sessions, 4)
    _tamper(app.state.sessions, "DELETE FROM audit_log WHERE seq = 2")
    with app.state.sessions() as session:
        report = audit.verify_chain(session)
    assert (report.intact, report.first_bad_seq) == (False, 2)


def test_the_database_refuses_to_change_the_log(app):
    _append(app.state.sessions, 1)
    with app.state.sessions() as session:
        for sql in ("UPDATE audit_log SET target = 'x'", "DELETE FROM audit_log"):
            try:
                session.execute(sa.text(sql))
                refused = False
            except sa.exc.DBAPIError:
                refused = True
            session.rollback()
            assert refused, sql
    assert len(_entries(app.state.sessions)) == 1


def test_search_by_user_and_action(app, client):
    _append(app.state.sessions, 3)
    page = client.get("/audit", params={"user": "li", "action": "test"}).text
    assert page.count('data-action="test"') == 3
    assert 'data-action="login"' not in page
    assert (
        client.get("/audit", params={"user": "nobody"}).text.count("data-action=") == 0
    )


def test_a_county_sees_its_own_entries_only(app, anonymous):
    _append(app.state.sessions, 2)  # region 140525
    with app.state.sessions() as session, session.begin():
        audit.append(
            session,
            username="gp",
            role="admin",
            region="140581",
            action="test",
            target="other county",
        )
    add_user(app.state.sessions, "zz", "officer", "140525")
    sign_in(anonymous, "zz")
    page = anonymous.get("/audit").text
    assert "other county" not in page
    assert page.count('data-action="test"') == 2


def test_create_user_command(db_url, settings):
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "platform",
            "create-user",
            "wang",
            "--role",
            "officer",
            "--region",
            "140525",
            "--password-stdin",
            "--database-url",
            db_url,
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "wang" in result.output and "140525" in result.output
    again = runner.invoke(
        main,
        [
            "platform",
            "create-user",
            "wang",
            "--role",
            "officer",
            "--region",
            "140525",
            "--password-stdin",
            "--database-url",
            db_url,
        ],
        input=PASSWORD + "\n",
    )
    assert again.exit_code != 0
    assert "exists" in again.output
