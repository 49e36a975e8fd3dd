"""The ``zhichao platform`` command group."""

from alembic.script import ScriptDirectory
from click.testing import CliRunner

from zhichao.cli import main
from zhichao.platform.migrations import alembic_config, current_revision


def test_db_upgrade_and_downgrade(db_url):
    runner = CliRunner()

    up = runner.invoke(main, ["platform", "db", "upgrade", "--database-url", db_url])
    assert up.exit_code == 0, up.output
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert head in up.output
    assert current_revision(db_url) == head

    down = runner.invoke(
        main, ["platform", "db", "downgrade", "base", "--database-url", db_url]
    )
    assert down.exit_code == 0, down.output
    assert current_revision(db_url) is None


def test_bad_config_is_a_usage_error(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("port = 0\n")

    answer = CliRunner().invoke(main, ["platform", "serve", "--config", str(config)])

    assert answer.exit_code == 2
    assert "port" in answer.output


def test_commands_on_a_missing_database_say_so_and_create_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "platform.db"
    sheet = tmp_path / "list.xlsx"
    sheet.write_bytes(b"not opened")
    url = f"sqlite:///{missing}"
    commands = [
        ["platform", "import-vehicles", str(sheet), "--database-url", url],
        ["platform", "import-units", str(sheet), "--database-url", url],
        ["platform", "export", "units", "--database-url", url],
        ["platform", "enroll-station", "ZC1.x", "--database-url", url],
    ]
    for args in commands:
        answer = CliRunner().invoke(main, args)

        assert answer.exit_code != 0, args
        if "enroll-station" not in args:  # that one stops at the bad code
            assert "no platform database at" in answer.output, answer.output
            assert "zhichao platform db upgrade" in answer.output
        assert answer.exception is None or isinstance(answer.exception, SystemExit)
    assert not missing.parent.exists()


def test_a_database_without_the_tables_is_named(db_url):
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.connect():  # an SQLite file comes to exist, empty
        pass
    engine.dispose()

    answer = CliRunner().invoke(
        main, ["platform", "export", "units", "--database-url", db_url]
    )

    assert answer.exit_code == 1
    assert "has no platform tables" in answer.output
