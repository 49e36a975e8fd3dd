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
