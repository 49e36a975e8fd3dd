"""``zhichao platform``: serve the platform and manage its database schema."""

import logging
from pathlib import Path

import click

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)

database_url_option = click.option(
    "--database-url",
    help="SQLAlchemy URL (sqlite:///file.db or postgresql+psycopg://…).",
)
config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (see docs/platform.md).",
)


def _settings(config_file: Path | None, **overrides):
    from zhichao.platform.settings import load_settings

    try:
        return load_settings(config_file, **overrides)
    except ConfigError as err:
        raise click.UsageError(str(err)) from err


@click.group()
def platform() -> None:
    """The monitoring platform (县级科技治超监测平台)."""


@platform.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@database_url_option
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the photo store.",
)
@config_option
def serve(host, port, database_url, evidence_dir, config_file) -> None:
    """Upgrade the database to the newest schema, then serve the platform."""
    import uvicorn

    from zhichao.platform.app import create_app
    from zhichao.platform.migrations import run_migrations

    settings = _settings(
        config_file,
        host=host,
        port=port,
        database_url=database_url,
        evidence_dir=evidence_dir,
    )
    run_migrations(settings.database_url)
    app = create_app(settings)
    click.echo(f"serving on http://{settings.host}:{settings.port}/")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


@platform.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@database_url_option
@config_option
def upgrade(database_url, config_file) -> None:
    """Upgrade the database to the newest schema (head)."""
    from zhichao.platform.migrations import current_revision, run_migrations

    settings = _settings(config_file, database_url=database_url)
    run_migrations(settings.database_url)
    click.echo(f"database at revision {current_revision(settings.database_url)}")


@db.command()
@click.argument("revision")
@database_url_option
@config_option
def downgrade(revision, database_url, config_file) -> None:
    """Downgrade the database to REVISION (``base`` removes every table)."""
    from zhichao.platform.migrations import current_revision
    from zhichao.platform.migrations import downgrade as run_downgrade

    settings = _settings(config_file, database_url=database_url)
    run_downgrade(settings.database_url, revision)
    click.echo(f"database at revision {current_revision(settings.database_url)}")


@platform.command("enroll-station")
@click.argument("code")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the lane's enrolled key (a replaced station computer).",
)
@database_url_option
@config_option
def enroll_station(code, replace, database_url, config_file) -> None:
    """Enrol a lane's key from its enrolment code (ZC1.…, from `station init`)."""
    from zhichao.chain import ChainError, Enrolment
    from zhichao.platform.db import make_engine, make_sessionmaker, session_scope
    from zhichao.platform.registry import EnrolmentError, enrol_lane

    settings = _settings(config_file, database_url=database_url)
    try:
        enrolment = Enrolment.parse(code)
    except ChainError as err:
        raise click.UsageError(f"bad enrolment code: {err}") from err

    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = enrol_lane(session, enrolment, replace=replace, via="cli")
            fingerprint = result.key.fingerprint
            old = result.replaced.fingerprint if result.replaced else None
    except EnrolmentError as err:
        raise click.ClickException(str(err)) from err
    finally:
        engine.dispose()

    lane = f"{enrolment.station_code}-{enrolment.lane_no}"
    if result.already:
        click.echo(f"lane {lane} is enrolled already with key {fingerprint}")
    elif old:
        click.echo(f"lane {lane}: key {old} replaced by {fingerprint}")
    else:
        click.echo(f"lane {lane} enrolled, key {fingerprint}")
