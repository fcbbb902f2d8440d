"""Alembic environment: migrates the database named by the caller's
configuration (``sqlalchemy.url``) or by placement_pci's settings."""
from __future__ import annotations

from alembic import context
from placement_pci.db.engine import make_engine
from placement_pci.db.tables import metadata
from placement_pci.settings import Settings

config = context.config


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.load().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
