"""Schema migration (Alembic) and seeding of the standard names."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from placement_pci import names
from placement_pci.db import change_marker, tables
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
        connection = connection.execution_options(**change_marker.UNTRACKED)
        config = alembic_config(url)
        config.attributes["connection"] = connection
        before = _heads(connection)
        command.upgrade(config, "head")
        if _heads(connection) != before:
            # A migration may have changed what snapshots are built from.
            change_marker.bump_structure_version(connection)
    sync_standard_names(database)


def _heads(connection: sa.Connection) -> frozenset[str]:
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(connection).get_current_heads())


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


class SchemaBehind(Exception):
    """A PostgreSQL or MariaDB schema older than this code's, which the
    service does not upgrade by itself (many API hosts would race)."""


def prepare_for_serving(database: Database, *, migrate: bool = False) -> None:
    """What every way of serving does before its first request: the
    embedded SQLite database (or any, with ``migrate``) is brought up to
    date; a server database behind this code's raises SchemaBehind; a
    current one gets the standard names new os-traits and
    os-resource-classes releases add."""
    if is_current(database):
        sync_standard_names(database)
        return
    if database.backend != "sqlite" and not migrate:
        current = ", ".join(sorted(current_revisions(database))) or "empty"
        raise SchemaBehind(
            f"the database schema is at {current}, this code needs "
            f"{', '.join(sorted(head_revisions()))}: run `placement-pci db upgrade`")
    upgrade(database)


def head_revisions() -> frozenset[str]:
    """The newest revision(s) this code knows."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(database: Database) -> frozenset[str]:
    """The database's revision(s); empty before the first migration."""
    with database.engine.connect() as connection:
        return _heads(connection)


def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(revision.revision for revision in script.walk_revisions())


def is_current(database: Database) -> bool:
    """True when the database already has the newest schema revision."""
    return current_revisions(database) == head_revisions()


def downgrade(database: Database, revision: str) -> None:
    """Step the schema back (``-1``: one revision); for tests and rollbacks."""
    url = database.url.render_as_string(hide_password=False)
    with database.engine.begin() as connection:
        connection = connection.execution_options(**change_marker.UNTRACKED)
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
