"""Resource classes: standard os-resource-classes names (immutable) and
CUSTOM_ classes that operators create, rename and delete."""
from __future__ import annotations

import datetime
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors, names
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.store import common

RC = tables.resource_classes


def list_resource_classes(database: Database) -> list[tuple[str, datetime.datetime | None]]:
    """(name, timestamp) of every class, standard ones first, by id."""
    rows = database.run_read(lambda c: c.execute(
        sa.select(RC.c.name, RC.c.created_at, RC.c.updated_at).order_by(RC.c.id)).all())
    return [(r.name, r.updated_at or r.created_at) for r in rows]


def _not_found(name: str) -> errors.NotFound:
    return errors.NotFound(f"No such resource class {name}.")


def get_resource_class(database: Database, name: str) -> datetime.datetime | None:
    row = database.run_read(lambda c: c.execute(
        sa.select(RC.c.created_at, RC.c.updated_at).where(RC.c.name == name)).first())
    if row is None:
        raise _not_found(name)
    return row.updated_at or row.created_at


def _exists(connection: Connection, name: str) -> bool:
    return connection.execute(sa.select(RC.c.id).where(RC.c.name == name)).first() is not None


def create_resource_class(database: Database, name: str) -> None:
    """POST: a new CUSTOM_ class; 409 when it exists."""
    conflict = errors.Conflict(f"Conflicting resource class already exists: {name}")

    def create(connection: Connection) -> None:
        if _exists(connection, name):
            raise conflict
        connection.execute(RC.insert().values(name=name, created_at=common.utcnow()))

    try:
        database.run_write(create)
    except sa.exc.IntegrityError:
        raise conflict from None


def ensure_resource_class(database: Database, name: str) -> bool:
    """PUT (1.7+): create unless it exists; True when created."""

    def ensure(connection: Connection) -> bool:
        if _exists(connection, name):
            return False
        connection.execute(RC.insert().values(name=name, created_at=common.utcnow()))
        return True

    try:
        return database.run_write(ensure)
    except sa.exc.IntegrityError:
        return False


def rename_resource_class(database: Database, name: str, new_name: str) -> None:
    """PUT (1.2-1.6): rename a CUSTOM_ class."""
    conflict = errors.Conflict(f"Resource class already exists: {new_name}")

    def rename(connection: Connection) -> None:
        if not _exists(connection, name):
            raise _not_found(name)
        if names.is_standard_resource_class(name):
            raise errors.BadRequest(f"Cannot update standard resource class {name}")
        if new_name != name and _exists(connection, new_name):
            raise conflict
        connection.execute(sa.update(RC).where(RC.c.name == name)
                           .values(name=new_name, updated_at=common.utcnow()))

    try:
        database.run_write(rename)
    except sa.exc.IntegrityError:
        raise conflict from None


def delete_resource_class(database: Database, name: str) -> None:
    def delete(connection: Connection) -> None:
        class_id = connection.execute(sa.select(RC.c.id).where(RC.c.name == name)).scalar()
        if class_id is None:
            raise _not_found(name)
        if names.is_standard_resource_class(name):
            raise errors.BadRequest(
                f"Error in delete resource class: Cannot delete standard resource class {name}.")
        for table in (tables.inventories, tables.allocations):
            if connection.execute(sa.select(table.c.id)
                                  .where(table.c.resource_class_id == class_id).limit(1)).first():
                raise errors.Conflict(
                    f"Error in delete resource class: Cannot delete resource class {name}. "
                    "Class is in use in inventory.")
        connection.execute(sa.delete(RC).where(RC.c.id == class_id))

    try:
        database.run_write(delete)
    except sa.exc.IntegrityError:
        # Inventory or allocations took the class between check and delete.
        raise errors.Conflict(
            f"Error in delete resource class: Cannot delete resource class {name}. "
            "Class is in use in inventory.") from None


def ensure_resource_classes(connection: Connection, class_names: Iterable[str]) -> None:
    """Create those of ``class_names`` (CUSTOM_ ones) that do not exist;
    concurrent creators of the same name all end up with the one row."""
    common.ensure_named_rows(connection, RC, class_names)
