"""How many of each device provider's devices a claim could still take.

A claim picks a concrete device row (services/pci_claims.py): one that is
free, or whose holder no longer has an allocation on the provider (stale).
Headroom uses these counts so it never promises a unit whose devices are
all held, even when the inventory says there is capacity.
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.db import tables

DEVICES = tables.pci_devices
ALLOC = tables.allocations
RP = tables.resource_providers
ASSIGNABLE_TYPES = ("type-PCI", "type-PF", "type-VF")


def takeable_devices(connection: Connection) -> dict[tuple[str, str], int]:
    """(provider uuid, resource class) -> devices a claim could take, for
    every provider that has device rows of that class."""
    holder_allocated = sa.exists(
        sa.select(ALLOC.c.id)
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .where(ALLOC.c.consumer_id == DEVICES.c.assigned_to,
               RP.c.uuid == DEVICES.c.provider_uuid))
    held = sa.and_(DEVICES.c.assigned_to.is_not(None), holder_allocated)
    rows = connection.execute(
        sa.select(DEVICES.c.provider_uuid, DEVICES.c.resource_class,
                  sa.func.sum(sa.case((held, 0), else_=1)))
        .where(DEVICES.c.provider_uuid.is_not(None),
               DEVICES.c.resource_class.is_not(None),
               DEVICES.c.dev_type.in_(ASSIGNABLE_TYPES))
        .group_by(DEVICES.c.provider_uuid, DEVICES.c.resource_class))
    result: dict[tuple[str, str], int] = defaultdict(int)
    for provider_uuid, resource_class, free in rows:
        result[(provider_uuid, resource_class)] += int(free or 0)
    return dict(result)
