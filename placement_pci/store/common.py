"""Building blocks shared by the repositories: timestamps, the name -> id
lookups of resource classes and traits, and the generation
compare-and-swap that guards every provider write."""
from __future__ import annotations

import datetime
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import insert_ignoring_duplicates

RP = tables.resource_providers


def utcnow() -> datetime.datetime:
    """Naive UTC timestamp (the schema stores naive DateTime)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def insert_returning_id(connection: Connection, statement: sa.Insert) -> int:
    """Run a one-row INSERT and answer the new row's id."""
    key = connection.execute(statement).inserted_primary_key
    # Only an executemany leaves no key; one row always has one.
    assert key is not None
    return int(key[0])


def newest_change(rows: Iterable[sa.Row]) -> datetime.datetime | None:
    """The newest of the rows' change times (``updated_at``, else
    ``created_at``): a listing's Last-Modified; None for no rows."""
    stamps = [s for s in (row.updated_at or row.created_at for row in rows)
              if s is not None]
    return max(stamps) if stamps else None


def bump_generation(connection: Connection, provider_id: int,
                    expected_generation: int, *, provider_uuid: str = "") -> int:
    """Compare-and-swap the provider's generation; return the new one.

    The UPDATE both checks that nobody changed the provider since the
    caller read ``expected_generation`` and takes the row lock that
    serialises every other writer of this provider until we commit, so
    whatever the caller reads *after* this call is current.
    """
    result = connection.execute(
        sa.update(RP)
        .where(RP.c.id == provider_id, RP.c.generation == expected_generation)
        .values(generation=expected_generation + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise errors.Conflict(
            f"resource provider generation conflict for {provider_uuid or provider_id}: "
            "another process changed it; refresh and retry",
            code=errors.CONCURRENT_UPDATE)
    return expected_generation + 1


def _ids_by_name(connection: Connection, table: sa.Table,
                 names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return dict(connection.execute(
        sa.select(table.c.name, table.c.id).where(table.c.name.in_(wanted))).all())


def resource_class_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """Name -> id of those of ``names`` that exist (callers word the error
    for the missing ones)."""
    return _ids_by_name(connection, tables.resource_classes, names)


def trait_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """Name -> id of those trait ``names`` that exist."""
    return _ids_by_name(connection, tables.traits, names)


def ensure_named_rows(connection: Connection, table: sa.Table, names: Iterable[str]) -> None:
    """Create the rows of ``table`` (resource classes, traits) for those
    of ``names`` that do not exist; concurrent creators of the same name
    all end up with the one row."""
    wanted = set(names)
    absent = missing(wanted, _ids_by_name(connection, table, wanted))
    if absent:
        now = utcnow()
        insert_ignoring_duplicates(connection, table, [
            {"name": name, "created_at": now, "updated_at": now} for name in absent])


def missing(wanted: Iterable[str], found: dict[str, int]) -> list[str]:
    """The names of ``wanted`` that a lookup did not find, sorted."""
    return sorted(set(wanted) - set(found))
