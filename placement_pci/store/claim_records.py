"""What the service recorded of each PCI claim, as the audit sees it.

The audit and heal (services/audit.py) read and amend claims only through
this module: ``read_all`` gives every consumer's recorded devices and
allocations, ``set_devices`` rewrites a claim's device list with a
compare-and-swap on the record's generation, ``delete`` drops it.  Today
claims are JSON rows of ``pci_config_objects`` (kind ``claim``, written by
services/pci_claims.py); when claims move to their own tables only this
module changes.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.pci.audit import RecordedClaim, RecordedDevice
from placement_pci.store.common import utcnow

CONFIG = tables.pci_config_objects
KIND_CLAIM = "claim"


def _claim_from_row(name: str, body_text: str, generation: int) -> RecordedClaim:
    body = json.loads(body_text)
    devices = tuple(
        RecordedDevice(hostname=entry["hostname"], address=entry["address"],
                       provider_uuid=entry.get("provider_uuid"),
                       group=entry.get("group"), alias=entry.get("alias"),
                       item=entry.get("item"), index=entry.get("index"))
        for entry in body.get("devices", []))
    return RecordedClaim(
        consumer_uuid=name, devices=devices, allocations=body.get("allocations"),
        project_id=body.get("project_id"), user_id=body.get("user_id"),
        consumer_type=body.get("consumer_type"), generation=generation)


def read_all(connection: Connection,
             consumers: Iterable[str] | None = None) -> dict[str, RecordedClaim]:
    """Every recorded claim (or those of ``consumers``), by consumer."""
    query = sa.select(CONFIG.c.name, CONFIG.c.body, CONFIG.c.generation).where(
        CONFIG.c.kind == KIND_CLAIM)
    if consumers is not None:
        query = query.where(CONFIG.c.name.in_(sorted(set(consumers))))
    return {name: _claim_from_row(name, body, generation)
            for name, body, generation in connection.execute(query)}


def set_devices(connection: Connection, claim: RecordedClaim,
                devices: Iterable[RecordedDevice]) -> None:
    """Rewrite the claim's device list, if the record is still the one
    read (else the caller's transaction is refused: someone re-claimed)."""
    row = connection.execute(sa.select(CONFIG.c.body).where(
        CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == claim.consumer_uuid)).first()
    if row is None:
        raise _changed(claim.consumer_uuid)
    body = json.loads(row.body)
    body["devices"] = [device.as_dict() for device in devices]
    updated = connection.execute(
        sa.update(CONFIG)
        .where(CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == claim.consumer_uuid,
               CONFIG.c.generation == claim.generation)
        .values(body=json.dumps(body, sort_keys=True),
                generation=claim.generation + 1, updated_at=utcnow()))
    if updated.rowcount != 1:
        raise _changed(claim.consumer_uuid)


def delete(connection: Connection, claim: RecordedClaim) -> None:
    deleted = connection.execute(sa.delete(CONFIG).where(
        CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == claim.consumer_uuid,
        CONFIG.c.generation == claim.generation))
    if deleted.rowcount != 1:
        raise _changed(claim.consumer_uuid)


def _changed(consumer_uuid: str) -> errors.Conflict:
    return errors.Conflict(f"the claim of consumer {consumer_uuid} changed since "
                           f"it was read", code=errors.CONCURRENT_UPDATE)
