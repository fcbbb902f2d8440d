"""What the service recorded of each PCI claim, as the audit sees it.

The audit and heal (services/audit.py) read and amend claims only through
this module: ``read_all`` gives every consumer's claimed devices (and
whether the claim still holds each), ``set_devices`` rewrites a claim's
device list and ``delete`` drops a claim, both on the claims tables of
store/claims.py, inside the heal's transaction (which has already
compare-and-swapped the consumer's and the providers' generations).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection

from placement_pci.pci.audit import RecordedClaim, RecordedDevice
from placement_pci.store import claims as claim_store


def read_all(connection: Connection,
             consumers: Iterable[str] | None = None) -> dict[str, RecordedClaim]:
    """Every claim (or those of ``consumers``), by consumer."""
    return {
        uuid: RecordedClaim(
            consumer_uuid=uuid, request=record.request,
            devices=tuple(RecordedDevice(
                hostname=device.hostname, address=device.address,
                provider_uuid=device.provider_uuid, group=device.group,
                alias=device.alias, item=device.item, index=device.index,
                held=device.held) for device in record.devices))
        for uuid, record in claim_store.read_claims(connection, consumers).items()}


def set_devices(connection: Connection, claim: RecordedClaim,
                devices: Iterable[RecordedDevice]) -> None:
    """Make ``devices`` the claim's devices, all held (a device another
    claim still names is taken over from it, as a claim does)."""
    claim_store.write_claim(connection, claim.consumer_uuid, dict(claim.request), [
        claim_store.ClaimedDeviceRecord(
            group=device.group or "", alias=device.alias, item=device.item,
            index=device.index, hostname=device.hostname, address=device.address,
            provider_uuid=device.provider_uuid)
        for device in devices])


def delete(connection: Connection, claim: RecordedClaim) -> None:
    claim_store.delete_claim(connection, claim.consumer_uuid)
