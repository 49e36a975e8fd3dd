"""Schema migrations (Alembic), configured in code: no ``alembic.ini`` needed."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

logger = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for this package's migrations and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # passed as an attribute, not an option: a URL may hold '%' characters
    config.attributes["database_url"] = database_url
    return config


def run_migrations(database_url: str, revision: str = "head") -> None:
    """Upgrade the database at ``database_url`` to ``revision`` (default: head)."""
    logger.info("upgrading database schema to %s", revision)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database at ``database_url`` to ``revision`` (``base`` = empty)."""
    logger.info("downgrading database schema to %s", revision)
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    from zhichao.platform.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
