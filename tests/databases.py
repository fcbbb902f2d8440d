"""Throwaway databases on the three backends for the test suite.

Each test session (each xdist worker) creates its own uniquely named
database on PostgreSQL and MariaDB, migrates it once, and empties it
between tests, so parallel runs and parallel developers never collide.
When a server is unreachable the tests that need it are skipped locally,
but fail under CI (CI=true), where every backend must really be tested.
"""
from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

from placement_pci.db import migrations, tables
from placement_pci.db.engine import Database

POSTGRESQL_ADMIN_URL = os.environ.get(
    "PLACEMENT_PCI_TEST_POSTGRESQL_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get(
    "PLACEMENT_PCI_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ("sqlite", "postgresql", "mysql")
RUNNING_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class BackendUnavailable(Exception):
    pass


def create_database(backend: str, tmp_dir: str) -> tuple[str, callable]:
    """Create an empty database; return its URL and a function dropping it."""
    name = f"ppci_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        path = os.path.join(tmp_dir, f"{name}.sqlite")
        return f"sqlite:///{path}", lambda: None
    admin_url = POSTGRESQL_ADMIN_URL if backend == "postgresql" else MYSQL_ADMIN_URL
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as error:
        raise BackendUnavailable(f"{backend} unreachable: {error}") from None
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql(
                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()

    return url, drop


def create_database_for_test(backend: str, tmp_dir: str) -> tuple[str, callable]:
    """``create_database`` for one test: an unreachable server skips the
    test locally and fails it under CI."""
    import pytest

    try:
        return create_database(backend, tmp_dir)
    except BackendUnavailable as error:
        if RUNNING_IN_CI:
            pytest.fail(f"CI must test every backend: {error}")
        pytest.skip(str(error))


def migrated_database(url: str) -> Database:
    database = Database(url, pool_size=10)
    migrations.upgrade(database)
    return database


def empty_database(database: Database) -> None:
    """Delete every row a test could have written; keep standard names."""
    with database.engine.begin() as connection:
        for table in reversed(tables.metadata.sorted_tables):
            if table is tables.snapshot_markers:
                continue  # its one row is part of the schema
            if table is tables.resource_providers:
                # Self-referencing rows: break the links before deleting.
                connection.execute(sa.update(table).values(
                    root_provider_id=None, parent_provider_id=None))
                connection.execute(sa.delete(table))
            elif table is tables.traits or table is tables.resource_classes:
                custom = table.c.name.like("CUSTOM\\_%", escape="\\")
                connection.execute(sa.delete(table).where(custom))
            else:
                connection.execute(sa.delete(table))
