"""Alembic environment: runs online against the URL given in the configuration."""

from alembic import context

from zhichao.platform.db import make_engine
from zhichao.platform.models import Base

config = context.config


def run_online() -> None:
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_online()
