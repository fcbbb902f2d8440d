"""Schema migration (Alembic) and seeding of the standard names."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from placement_pci import names
from placement_pci.db import tables
from placement_pci.db.engine import Database, insert_ignoring_duplicates

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    # '%' is ConfigParser interpolation syntax; URLs may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision and seed standard names."""
    url = database.url.render_as_string(hide_password=False)
    with database.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    sync_standard_names(database)


def sync_standard_names(database: Database) -> None:
    """Insert the os-resource-classes and os-traits names that are missing."""
    with database.write() as connection:
        have = set(connection.execute(sa.select(tables.resource_classes.c.name)).scalars())
        missing = [{"name": name} for name in names.STANDARD_RESOURCE_CLASSES
                   if name not in have]
        insert_ignoring_duplicates(connection, tables.resource_classes, missing)
        have = set(connection.execute(sa.select(tables.traits.c.name)).scalars())
        missing = [{"name": name} for name in sorted(names.STANDARD_TRAITS)
                   if name not in have]
        insert_ignoring_duplicates(connection, tables.traits, missing)


def is_current(database: Database) -> bool:
    """True when the database already has the newest schema revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())
