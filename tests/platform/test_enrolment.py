"""Enrolment: the command, the page (without a browser), refusals."""

import sqlalchemy as sa
from click.testing import CliRunner

from zhichao.chain import Enrolment, StationKey
from zhichao.cli import main
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import LaneKey


def enrol(db_url, *args):
    return CliRunner().invoke(
        main, ["platform", "enroll-station", *args, "--database-url", db_url]
    )


def keys(db_url):
    from zhichao.platform.db import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(LaneKey.public_key, LaneKey.replaced_at).order_by(LaneKey.id)
            ).all()
    finally:
        engine.dispose()


def test_cli_enrols_then_needs_replace(db_url):
    run_migrations(db_url)
    first, second = StationKey.generate(), StationKey.generate()
    code = Enrolment("1405250001", "01", first.public_key).code
    new_code = Enrolment("1405250001", "01", second.public_key).code

    done = enrol(db_url, code)
    again = enrol(db_url, code)
    refused = enrol(db_url, new_code)
    replaced = enrol(db_url, new_code, "--replace")

    assert done.exit_code == 0 and "1405250001-01 enrolled" in done.output
    assert again.exit_code == 0 and "already" in again.output
    assert refused.exit_code == 1 and "--replace" in refused.output
    assert replaced.exit_code == 0 and "replaced" in replaced.output
    rows = keys(db_url)
    assert [r.public_key for r in rows] == [first.public_key, second.public_key]
    assert rows[0].replaced_at is not None and rows[1].replaced_at is None


def test_cli_bad_code_is_a_clear_usage_error(db_url):
    run_migrations(db_url)
    code = Enrolment("1405250001", "01", StationKey.generate().public_key).code

    answer = enrol(db_url, code[:-1] + ("0" if code[-1] != "0" else "1"))

    assert answer.exit_code == 2
    assert "bad enrolment code: enrolment code check digits do not match" in (
        answer.output
    )


def test_page_preview_confirm_and_bad_code(client, sessions):
    key = StationKey.generate()
    code = Enrolment("1405250001", "02", key.public_key).code

    preview = client.post(
        "/enrol", data={"code": code, "action": "preview", "csrf_token": client.csrf}
    )
    bad = client.post(
        "/enrol",
        data={"code": "ZC1.nonsense", "action": "preview", "csrf_token": client.csrf},
    )
    confirm = client.post(
        "/enrol", data={"code": code, "action": "confirm", "csrf_token": client.csrf}
    )

    assert preview.status_code == 200 and 'id="enrol-preview"' in preview.text
    assert "1405250001" in preview.text and "确认备案" in preview.text
    assert bad.status_code == 400 and "备案码无效" in bad.text
    assert confirm.status_code == 200 and 'id="enrol-done"' in confirm.text
    with sessions() as session:
        assert session.scalar(sa.select(LaneKey.lane_no)) == "02"
