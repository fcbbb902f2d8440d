"""`alembic upgrade head` builds exactly the schema the tables declare."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from placement_pci import names
from placement_pci.db import migrations, tables


def test_migrations_match_declared_tables(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, tables.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_seeds_standard_names(database):
    migrations.upgrade(database)  # second run: nothing to do, no error
    assert migrations.is_current(database)
    with database.engine.connect() as connection:
        classes = set(connection.execute(
            sa.select(tables.resource_classes.c.name)).scalars())
        traits = set(connection.execute(sa.select(tables.traits.c.name)).scalars())
    assert set(names.STANDARD_RESOURCE_CLASSES) <= classes
    assert traits >= names.STANDARD_TRAITS
