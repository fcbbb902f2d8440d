"""The PCI devices hosts report (``pci_devices``): one row per device a
device spec matched, as the host's last sync described it.

Rows are plain dicts of :data:`FIELDS` so the host sync can compare the
stored state with the planned one.  ``assigned_to`` is the consumer the
*host* reports as using the device (it drives allocation healing); who
holds a device through the API is recorded by claims (``store/claims.py``),
never here.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.db import tables
from placement_pci.store.common import utcnow

DEVICES = tables.pci_devices
FIELDS = ("hostname", "address", "vendor_id", "product_id", "dev_type",
          "parent_addr", "numa_node", "provider_uuid", "resource_class",
          "tags", "assigned_to")


def _values(row: sa.Row) -> dict[str, Any]:
    return {key: row._mapping[key] for key in FIELDS}


def host_devices(connection: Connection, hostname: str) -> list[dict[str, Any]]:
    """The host's device rows, by address."""
    rows = connection.execute(sa.select(DEVICES).where(DEVICES.c.hostname == hostname)
                              .order_by(DEVICES.c.address))
    return [_values(row) for row in rows]


def replace_host_devices(connection: Connection, hostname: str,
                         rows: Sequence[dict[str, Any]]) -> None:
    """Make ``rows`` the host's device rows: rows of devices no longer
    reported go, changed ones are updated in place, new ones inserted."""
    current = {row.address: row for row in connection.execute(
        sa.select(DEVICES).where(DEVICES.c.hostname == hostname))}
    wanted = {row["address"]: row for row in rows}
    gone = [row.id for address, row in current.items() if address not in wanted]
    if gone:
        connection.execute(sa.delete(DEVICES).where(DEVICES.c.id.in_(gone)))
    now = utcnow()
    new = []
    for address, row in sorted(wanted.items()):
        stored = current.get(address)
        if stored is None:
            new.append({**row, "hostname": hostname, "created_at": now, "updated_at": now})
        elif _values(stored) != {**row, "hostname": hostname}:
            connection.execute(sa.update(DEVICES).where(DEVICES.c.id == stored.id)
                               .values(**row, updated_at=now))
    if new:
        connection.execute(sa.insert(DEVICES), new)


def devices_on_providers(connection: Connection,
                         provider_uuids: Iterable[str]) -> Sequence[sa.Row]:
    """Every device row whose provider is one of ``provider_uuids``, by
    host and address."""
    wanted = sorted(set(provider_uuids))
    if not wanted:
        return []
    return connection.execute(
        sa.select(DEVICES).where(DEVICES.c.provider_uuid.in_(wanted))
        .order_by(DEVICES.c.hostname, DEVICES.c.address)).all()


def devices_at(connection: Connection,
               keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], sa.Row]:
    """(hostname, address) -> device row, for those of ``keys`` a host
    reports now (one query)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = connection.execute(sa.select(DEVICES).where(
        DEVICES.c.hostname.in_(sorted({host for host, _ in wanted})),
        DEVICES.c.address.in_(sorted({address for _, address in wanted}))))
    return {(row.hostname, row.address): row for row in rows
            if (row.hostname, row.address) in wanted}


def all_devices(connection: Connection) -> list[sa.Row]:
    """Every device row of every host, by host and address."""
    return list(connection.execute(
        sa.select(DEVICES).order_by(DEVICES.c.hostname, DEVICES.c.address)).all())
