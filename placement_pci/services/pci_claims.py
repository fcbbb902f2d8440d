"""Claims: a chosen candidate becomes a consumer's allocation and devices.

One write transaction (on top of the core's allocation claim):

1. the core claim: lock the consumer (its generation is honoured), lock
   every provider touched in id order, check capacity, write allocations;
2. for every alias request group, pick a concrete device on the provider
   the candidate mapped the group to (a VF of the PF provider, or the PCI
   device itself): one the consumer holds there already, else a free one;
3. record the claim (the request it was made for, and which device serves
   which group) in the claims tables (store/claims.py), which releases the
   consumer's other devices.

Because step 2 runs while the transaction holds the provider locks taken in
step 1, two consumers claiming devices of the same provider are serialised:
they never get the same device and never more devices than the allocation
allows (and the UNIQUE device column of the claims tables refuses a second
holder whatever happens).  A device whose holder no longer has an
allocation on its provider (allocations deleted through the plain
Placement API) is stale and may be taken over.  Host syncs never write
claims, so a host re-sync racing claims cannot make a held device look
free.
"""
from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db.engine import Database
from placement_pci.pci.hostdev_xml import PciHostdev
from placement_pci.pci.live_migration import AssignedDevice
from placement_pci.pci.request_groups import GroupSource, TranslatedRequest, translate_body
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.store import allocations as allocation_store
from placement_pci.store import claims as claim_store
from placement_pci.store import consumers as consumer_store
from placement_pci.store import device_availability, ledger
from placement_pci.store import pci_devices as device_store

CLAIM_INVALID = "placement_pci.claim.invalid"
NO_FREE_DEVICE = "placement_pci.claim.no_free_device"
CLAIM_NOT_FOUND = "placement_pci.claim.not_found"
ASSIGNABLE_TYPES = device_availability.ASSIGNABLE_TYPES


@dataclass(frozen=True)
class ClaimInput:
    """A claim as the caller asks for it.

    ``request_body`` is the flavor/image/alias input the groups were
    translated from, with the aliases it used (kept so the claim can be
    re-examined later, e.g. for live migration, whatever happens to the
    stored aliases); ``allocations`` maps provider uuid -> resources and
    ``mappings`` group suffix -> provider uuids, as in one allocation
    request of GET /allocation_candidates at 1.34+.
    """

    consumer_uuid: str
    request_body: Mapping[str, Any]
    translated: TranslatedRequest
    allocations: Mapping[str, Mapping[str, int]]
    mappings: Mapping[str, list[str]]
    project_id: str
    user_id: str
    consumer_generation: int | None = None
    consumer_type: str | None = None


@dataclass(frozen=True)
class ClaimedDevice:
    group: str
    alias: str | None
    item: int | None
    index: int | None
    hostname: str
    address: str
    provider_uuid: str | None
    dev_type: str
    resource_class: str | None
    parent_addr: str | None
    numa_node: int | None
    managed: bool
    live_migratable: bool
    assigned: bool = True  # False when the device row no longer says so

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (
            "group", "alias", "item", "index", "hostname", "address",
            "provider_uuid", "dev_type", "resource_class", "parent_addr",
            "numa_node", "managed", "live_migratable", "assigned")}

    def as_hostdev(self) -> PciHostdev:
        return PciHostdev(address=self.address, managed=self.managed)

    def as_assigned_device(self) -> AssignedDevice:
        return AssignedDevice(
            address=self.address, hostname=self.hostname,
            group_suffix=self.group, live_migratable=self.live_migratable,
            managed=self.managed, alias=self.alias,
            provider_uuid=self.provider_uuid)


@dataclass(frozen=True)
class Claim:
    consumer_uuid: str
    consumer_generation: int | None
    allocations: dict[str, dict[str, int]]
    devices: list[ClaimedDevice]
    request: dict[str, Any]
    request_groups: dict[str, Any]
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    @property
    def hostnames(self) -> list[str]:
        return sorted({device.hostname for device in self.devices})

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumer_uuid": self.consumer_uuid,
            "consumer_generation": self.consumer_generation,
            "allocations": {uuid: {"resources": resources}
                            for uuid, resources in sorted(self.allocations.items())},
            "devices": [device.as_dict() for device in self.devices],
            "hostnames": self.hostnames,
            "request": self.request,
            "request_groups": self.request_groups,
        }


# --- checking the claim against its request ---------------------------------

def _alias_group_providers(claim: ClaimInput) -> list[tuple[str, GroupSource,
                                                            str, str]]:
    """(suffix, source, provider uuid, resource class) per alias group,
    checked against the allocations the caller wants written."""
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    result = []
    for group, source in claim.translated.alias_groups():
        providers = claim.mappings.get(group.suffix)
        if not providers or len(providers) != 1:
            raise errors.BadRequest(
                f"mappings must name exactly one provider for request group "
                f"'{group.suffix}' (alias '{source.alias}'); use an "
                f"allocation request of microversion 1.34 or later",
                code=CLAIM_INVALID)
        provider = providers[0]
        resource_class = next(iter(group.resources))
        wanted[(provider, resource_class)] += 1
        result.append((group.suffix, source, provider, resource_class))
    for (provider, resource_class), count in wanted.items():
        allocated = claim.allocations.get(provider, {}).get(resource_class, 0)
        if allocated < count:
            raise errors.BadRequest(
                f"the allocations give {allocated} {resource_class} on "
                f"provider {provider}, but {count} request group(s) are "
                f"mapped to it", code=CLAIM_INVALID)
    return result


# --- device rows --------------------------------------------------------------

def _tags(row: Any) -> dict[str, Any]:
    try:
        return json.loads(row.tags or "{}")
    except ValueError:
        return {}


def claimed_device_from_row(row: Any, suffix: str, source: Mapping[str, Any],
                            assigned: bool) -> ClaimedDevice:
    """A pci_devices row serving request group ``suffix`` of alias item
    ``source`` (alias, item, index)."""
    tags = _tags(row)
    managed = tags.get("managed")
    return ClaimedDevice(
        group=suffix, alias=source.get("alias"), item=source.get("item"),
        index=source.get("index"), hostname=row.hostname, address=row.address,
        provider_uuid=row.provider_uuid, dev_type=row.dev_type,
        resource_class=row.resource_class, parent_addr=row.parent_addr,
        numa_node=row.numa_node,
        managed=True if managed is None else bool(managed),
        live_migratable=bool(tags.get("live_migratable")),
        assigned=assigned)


def _eligible(row: Any, resource_class: str, device_type: str | None) -> bool:
    return (row.dev_type in ASSIGNABLE_TYPES
            and row.resource_class == resource_class
            and (device_type is None or row.dev_type == device_type))


def device_holder(row: Any, claim_holders: Mapping[tuple[str, str], str],
                  allocated: Mapping[str, set[str]]) -> str | None:
    """Who holds the device now: the consumer whose claim holds it, else
    the one the host reports as using it; either only while that consumer
    still has an allocation on the device's provider (a holder whose
    allocations were deleted through the plain Placement API is stale and
    may be taken over)."""
    on_provider = allocated.get(row.provider_uuid, set())
    for candidate in (claim_holders.get((row.hostname, row.address)), row.assigned_to):
        if candidate is not None and candidate in on_provider:
            return candidate
    return None


def _choose_devices(connection: Connection, claim: ClaimInput,
                    groups: list[tuple[str, GroupSource, str, str]],
                    aliases_device_type: Mapping[str, str | None]
                    ) -> list[ClaimedDevice]:
    """A device per alias group on the provider the group is mapped to:
    one the consumer holds there already, else a free one (by address).
    Runs holding the providers' locks (taken by the allocation claim), so
    claims on one provider are serialised."""
    consumer_uuid = claim.consumer_uuid
    rows = device_store.devices_on_providers(
        connection, {provider for _, _, provider, _ in groups})
    allocated = allocation_store.consumers_on_providers(
        connection, {provider for _, _, provider, _ in groups})
    claim_holders = claim_store.holders(
        connection, [(row.hostname, row.address) for row in rows])

    chosen: set[int] = set()
    result = []
    for suffix, source, provider, resource_class in groups:
        device_type = aliases_device_type.get(source.alias or "")
        candidates = [row for row in rows
                      if row.provider_uuid == provider and row.id not in chosen
                      and _eligible(row, resource_class, device_type)]
        holders = {row.id: device_holder(row, claim_holders, allocated)
                   for row in candidates}
        kept = [row for row in candidates if holders[row.id] == consumer_uuid]
        free = [row for row in candidates if holders[row.id] is None]
        pick = next(iter(kept or free), None)
        if pick is None:
            raise errors.Conflict(
                f"No free {resource_class} device on provider {provider} for "
                f"request group '{suffix}' (alias '{source.alias}'): "
                f"placement has capacity but every device the host reported "
                f"there is assigned", code=NO_FREE_DEVICE)
        chosen.add(pick.id)
        result.append(claimed_device_from_row(pick, suffix, source.as_dict(),
                                              assigned=True))
    return result


def _record(device: ClaimedDevice) -> claim_store.ClaimedDeviceRecord:
    return claim_store.ClaimedDeviceRecord(
        group=device.group, alias=device.alias, item=device.item, index=device.index,
        hostname=device.hostname, address=device.address,
        provider_uuid=device.provider_uuid)


def _write_allocations(connection: Connection,
                       consumer_allocations: allocation_store.ConsumerAllocations,
                       context: RequestContext, action: str
                       ) -> dict[str, int | None]:
    """The core's allocation claim, inside our transaction (steps 1-6 of
    store/allocations.py: consumer, provider locks, capacity, rows, ledger)."""
    plan = allocation_store.prepare_claim(connection, [consumer_allocations],
                                          context=context, action=action)
    allocation_store.lock_providers(connection, plan.claimed_provider_ids)
    return allocation_store.check_and_write(connection, plan)


# --- entry points ---------------------------------------------------------------

def claim_devices(database: Database, claim: ClaimInput,
                  aliases_device_type: Mapping[str, str | None], *,
                  context: RequestContext) -> Claim:
    """Write the allocation and assign devices, all or nothing.

    ``aliases_device_type`` maps alias name -> the alias's device_type
    (None: any), which a chosen device must match.  Raises BadRequest for
    a claim that does not fit its request, Conflict for a stale consumer
    generation (placement.concurrent_update), no capacity
    (AllocationRefused) or no free device (placement_pci.claim.no_free_device).
    """
    if not claim.allocations:
        raise errors.BadRequest("allocations must not be empty; release a "
                                "claim with DELETE", code=CLAIM_INVALID)
    groups = _alias_group_providers(claim)
    consumer_allocations = allocation_store.ConsumerAllocations(
        consumer_uuid=claim.consumer_uuid,
        allocations={uuid: dict(resources)
                     for uuid, resources in claim.allocations.items()},
        project_id=claim.project_id, user_id=claim.user_id,
        consumer_type=claim.consumer_type,
        expected_generation=claim.consumer_generation, check_generation=True)

    def write(connection: Connection) -> Claim:
        generations = _write_allocations(connection, consumer_allocations,
                                         context, ledger.CLAIM)
        devices = _choose_devices(connection, claim, groups, aliases_device_type)
        claim_store.write_claim(connection, claim.consumer_uuid, dict(claim.request_body),
                                [_record(device) for device in devices])
        return Claim(
            consumer_uuid=claim.consumer_uuid,
            consumer_generation=generations[claim.consumer_uuid],
            allocations={uuid: dict(resources)
                         for uuid, resources in claim.allocations.items()},
            devices=devices, request=dict(claim.request_body),
            request_groups=render_request_groups(claim.translated))

    return database.run_write(write)


def _read_claims(connection: Connection,
                 consumer_uuids: Iterable[str] | None = None) -> list[Claim]:
    """Claims as stored, devices enriched from their current rows; a fixed
    number of queries whatever the number of claims."""
    records = claim_store.read_claims(connection, consumer_uuids)
    if not records:
        return []
    rows = device_store.devices_at(connection, {
        device.key for record in records.values() for device in record.devices})
    consumers = consumer_store.get_consumers(connection, records)
    allocations = allocation_store.allocation_amounts_of_consumers(connection, records)
    claims = []
    for consumer_uuid, record in sorted(records.items()):
        devices = []
        for entry in record.devices:
            row = rows.get(entry.key)
            if row is None:
                devices.append(ClaimedDevice(
                    group=entry.group, alias=entry.alias, item=entry.item,
                    index=entry.index, hostname=entry.hostname,
                    address=entry.address, provider_uuid=entry.provider_uuid,
                    dev_type="unknown", resource_class=None, parent_addr=None,
                    numa_node=None, managed=True, live_migratable=False,
                    assigned=False))
                continue
            devices.append(claimed_device_from_row(
                row, entry.group, {"alias": entry.alias, "item": entry.item,
                                   "index": entry.index},
                assigned=entry.held))
        consumer = consumers.get(consumer_uuid)
        claims.append(Claim(
            consumer_uuid=consumer_uuid,
            consumer_generation=consumer.generation if consumer else None,
            allocations=allocations.get(consumer_uuid, {}),
            devices=devices, request=record.request,
            request_groups=render_request_groups(translate_body(record.request, [])),
            created_at=record.created_at, updated_at=record.updated_at))
    return claims


def read_claim(connection: Connection, consumer_uuid: str) -> Claim:
    """The consumer's claim; 404 when it has none."""
    found = _read_claims(connection, [consumer_uuid])
    if not found:
        raise errors.NotFound(f"No PCI claim for consumer {consumer_uuid}",
                              code=CLAIM_NOT_FOUND)
    return found[0]


def get_claim(database: Database, consumer_uuid: str) -> Claim:
    return database.run_read(
        lambda connection: read_claim(connection, consumer_uuid))


def list_claims(database: Database) -> list[Claim]:
    return database.run_read(_read_claims)


def release_claim(database: Database, consumer_uuid: str, *,
                  context: RequestContext) -> None:
    """Delete the consumer's allocations, free its devices, drop the claim.

    404 when the consumer has neither a claim nor allocations.
    """
    def release(connection: Connection) -> None:
        # The consumer's compare-and-swap (in the allocation write) comes
        # first: a claim of the same consumer running concurrently either
        # committed before (and is released here) or runs after us.
        has_allocations = bool(allocation_store.allocation_amounts_of_consumers(
            connection, [consumer_uuid]))
        _write_allocations(connection, allocation_store.ConsumerAllocations(
            consumer_uuid, {}), context, ledger.RELEASE)
        if not claim_store.delete_claim(connection, consumer_uuid) and not has_allocations:
            raise errors.NotFound(
                f"No PCI claim for consumer {consumer_uuid}",
                code=CLAIM_NOT_FOUND)
    database.run_write(release)
