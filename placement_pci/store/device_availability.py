"""How many of each device provider's devices a claim could still take.

A claim picks a concrete device (services/pci_claims.py): one no claim
holds and no host reports in use, or whose holder no longer has an
allocation on the device's provider (stale).  Headroom uses these counts
so it never promises a unit whose devices are all held, even when the
inventory says there is capacity.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy.engine import Connection

from placement_pci.store import allocations as allocation_store
from placement_pci.store import claims as claim_store
from placement_pci.store import pci_devices as device_store

ASSIGNABLE_TYPES = ("type-PCI", "type-PF", "type-VF")


def takeable_devices(connection: Connection) -> dict[tuple[str, str], int]:
    """(provider uuid, resource class) -> devices a claim could take, for
    every provider that has device rows of that class."""
    rows = [row for row in device_store.all_devices(connection)
            if row.provider_uuid and row.resource_class
            and row.dev_type in ASSIGNABLE_TYPES]
    allocated = allocation_store.consumers_on_providers(
        connection, {row.provider_uuid for row in rows})
    claimed = claim_store.holders(connection, [(row.hostname, row.address) for row in rows])
    result: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        on_provider = allocated.get(row.provider_uuid, set())
        held = any(holder is not None and holder in on_provider
                   for holder in (claimed.get((row.hostname, row.address)), row.assigned_to))
        result[(row.provider_uuid, row.resource_class)] += 0 if held else 1
    return dict(result)
