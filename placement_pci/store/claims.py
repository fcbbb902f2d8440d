"""Claims: which consumer holds which PCI devices, for which request.

``pci_claims`` has one row per consumer (the request it claimed for);
``pci_claim_devices`` one row per alias request group with the device
serving it.  These tables are the one source of truth for who holds a
device through the API: a device (hostname, address) is held by the claim
whose row has it in the UNIQUE ``device`` column, so the database itself
refuses a second holder.  ``pci_devices.assigned_to`` is only what hosts
report.

Everything runs on a Connection inside the caller's write transaction;
the orchestration (which device serves which group, when a holder is
stale) is services/pci_claims.py.
"""
from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import RetryTransaction
from placement_pci.store.common import insert_returning_id, utcnow

CLAIMS = tables.pci_claims
CLAIM_DEVICES = tables.pci_claim_devices

DeviceKey = tuple[str, str]  # (hostname, address)


def device_key(hostname: str, address: str) -> str:
    """The value of the UNIQUE ``device`` column for a held device."""
    return f"{hostname} {address}"


@dataclass(frozen=True)
class ClaimedDeviceRecord:
    """The device serving one request group of a claim."""

    group: str
    alias: str | None
    item: int | None
    index: int | None
    hostname: str
    address: str
    provider_uuid: str | None
    held: bool = True  # False once another claim took the device over

    @property
    def key(self) -> DeviceKey:
        return (self.hostname, self.address)


@dataclass(frozen=True)
class ClaimRecord:
    consumer_uuid: str
    request: dict[str, Any]
    devices: list[ClaimedDeviceRecord]
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


def read_claims(connection: Connection,
                consumer_uuids: Iterable[str] | None = None) -> dict[str, ClaimRecord]:
    """Consumer uuid -> its claim, for the consumers given (every claim
    when None), in two queries."""
    query = sa.select(CLAIMS)
    if consumer_uuids is not None:
        wanted = sorted(set(consumer_uuids))
        if not wanted:
            return {}
        query = query.where(CLAIMS.c.consumer_uuid.in_(wanted))
    claims = connection.execute(query).all()
    if not claims:
        return {}
    devices: dict[int, list[ClaimedDeviceRecord]] = {claim.id: [] for claim in claims}
    rows = connection.execute(
        sa.select(CLAIM_DEVICES).where(CLAIM_DEVICES.c.claim_id.in_(list(devices)))
        .order_by(CLAIM_DEVICES.c.id))
    for row in rows:
        devices[row.claim_id].append(ClaimedDeviceRecord(
            group=row.group_suffix, alias=row.alias, item=row.alias_item,
            index=row.alias_index, hostname=row.hostname, address=row.address,
            provider_uuid=row.provider_uuid, held=row.device is not None))
    return {claim.consumer_uuid: ClaimRecord(
        consumer_uuid=claim.consumer_uuid, request=json.loads(claim.request),
        devices=devices[claim.id], created_at=claim.created_at,
        updated_at=claim.updated_at) for claim in claims}


def holders(connection: Connection, keys: Iterable[DeviceKey]) -> dict[DeviceKey, str]:
    """(hostname, address) -> the consumer whose claim holds the device,
    for those of ``keys`` that a claim holds."""
    wanted = sorted({device_key(*key) for key in keys})
    if not wanted:
        return {}
    rows = connection.execute(
        sa.select(CLAIM_DEVICES.c.hostname, CLAIM_DEVICES.c.address, CLAIMS.c.consumer_uuid)
        .join(CLAIMS, CLAIMS.c.id == CLAIM_DEVICES.c.claim_id)
        .where(CLAIM_DEVICES.c.device.in_(wanted)))
    return {(hostname, address): consumer for hostname, address, consumer in rows}


def holders_on_host(connection: Connection, hostname: str) -> dict[str, str]:
    """Address -> holding consumer, for every device of the host a claim
    holds."""
    rows = connection.execute(
        sa.select(CLAIM_DEVICES.c.address, CLAIMS.c.consumer_uuid)
        .join(CLAIMS, CLAIMS.c.id == CLAIM_DEVICES.c.claim_id)
        .where(CLAIM_DEVICES.c.hostname == hostname,
               CLAIM_DEVICES.c.device.is_not(None)))
    return dict(rows.all())


def write_claim(connection: Connection, consumer_uuid: str, request: dict[str, Any],
                devices: Sequence[ClaimedDeviceRecord]) -> None:
    """Make ``devices`` the consumer's claim, holding every one of them.

    A device some other claim still holds is taken over from it (the
    caller established that its consumer no longer has an allocation on
    the device's provider, holding that provider's lock); the other claim
    keeps its entry, not held.  Two writers racing for one device cannot
    both hold it: the loser's INSERT violates the UNIQUE ``device`` column
    and its transaction runs again.
    """
    now = utcnow()
    body = json.dumps(request, sort_keys=True)
    claim_id = connection.execute(sa.select(CLAIMS.c.id).where(
        CLAIMS.c.consumer_uuid == consumer_uuid)).scalar()
    if claim_id is None:
        claim_id = insert_returning_id(connection, CLAIMS.insert().values(
            consumer_uuid=consumer_uuid, request=body, created_at=now, updated_at=now))
    else:
        connection.execute(sa.update(CLAIMS).where(CLAIMS.c.id == claim_id)
                           .values(request=body, updated_at=now))
        connection.execute(sa.delete(CLAIM_DEVICES).where(CLAIM_DEVICES.c.claim_id == claim_id))
    keys = [device_key(device.hostname, device.address) for device in devices]
    if keys:
        connection.execute(sa.update(CLAIM_DEVICES)
                           .where(CLAIM_DEVICES.c.device.in_(keys))
                           .values(device=None, updated_at=now))
    rows = [{"claim_id": claim_id, "group_suffix": device.group, "alias": device.alias,
             "alias_item": device.item, "alias_index": device.index,
             "hostname": device.hostname, "address": device.address,
             "provider_uuid": device.provider_uuid, "device": key,
             "created_at": now, "updated_at": now}
            for device, key in zip(devices, keys, strict=True)]
    if rows:
        try:
            connection.execute(sa.insert(CLAIM_DEVICES), rows)
        except sa.exc.IntegrityError as error:
            raise RetryTransaction(errors.Conflict(
                f"a device of consumer {consumer_uuid}'s claim was taken concurrently; "
                "retry", code=errors.CONCURRENT_UPDATE)) from error


def delete_claim(connection: Connection, consumer_uuid: str) -> bool:
    """Drop the consumer's claim and free its devices; False when it had
    none."""
    claim_id = connection.execute(sa.select(CLAIMS.c.id).where(
        CLAIMS.c.consumer_uuid == consumer_uuid)).scalar()
    if claim_id is None:
        return False
    connection.execute(sa.delete(CLAIM_DEVICES).where(CLAIM_DEVICES.c.claim_id == claim_id))
    connection.execute(sa.delete(CLAIMS).where(CLAIMS.c.id == claim_id))
    return True
