"""Building blocks shared by the domain operations: lookups by name or
uuid and the generation compare-and-swap that guards every provider write."""
from __future__ import annotations

import datetime
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from placement_pci import errors
from placement_pci.db import tables

RP = tables.resource_providers


def utcnow() -> datetime.datetime:
    """Naive UTC timestamp (the schema stores naive DateTime)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def provider_by_uuid(connection: Connection, uuid: str) -> Row:
    row = connection.execute(sa.select(RP).where(RP.c.uuid == uuid)).first()
    if row is None:
        raise errors.NotFound(f"No resource provider with uuid {uuid} found",
                              code=errors.PROVIDER_NOT_FOUND)
    return row


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


def resource_class_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """Map class names to ids; 400 naming any class that does not exist."""
    wanted = set(names)
    if not wanted:
        return {}
    rc = tables.resource_classes
    found = dict(connection.execute(
        sa.select(rc.c.name, rc.c.id).where(rc.c.name.in_(wanted))).all())
    missing = sorted(wanted - set(found))
    if missing:
        raise errors.BadRequest(
            f"Unknown resource class in request: {', '.join(missing)}")
    return found


def trait_ids(connection: Connection, names: Iterable[str]) -> dict[str, int]:
    """Map trait names to ids; 400 naming any trait that does not exist."""
    wanted = set(names)
    if not wanted:
        return {}
    found = dict(connection.execute(
        sa.select(tables.traits.c.name, tables.traits.c.id)
        .where(tables.traits.c.name.in_(wanted))).all())
    missing = sorted(wanted - set(found))
    if missing:
        raise errors.BadRequest(f"No such trait(s): {', '.join(missing)}")
    return found
