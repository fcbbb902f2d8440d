"""Claims: a chosen candidate becomes a consumer's allocation and devices.

One write transaction (on top of the core's allocation claim):

1. the core claim: lock the consumer (its generation is honoured), lock
   every provider touched in id order, check capacity, write allocations;
2. for every alias request group, pick a concrete device on the provider
   the candidate mapped the group to (a VF of the PF provider, or the PCI
   device itself) and set ``pci_devices.assigned_to`` with a
   compare-and-swap; devices the consumer already holds there are kept;
3. release the consumer's other devices and record the claim (the request
   it was made for, and which device serves which group) in
   ``pci_config_objects`` (kind ``claim``, named by the consumer).

Because step 2 runs while the transaction holds the provider locks taken in
step 1, two consumers claiming devices of the same provider are serialised:
they never get the same device and never more devices than the allocation
allows.  A device marked as assigned to a consumer that no longer holds an
allocation on its provider (allocations deleted through the plain
Placement API) is stale and may be taken over.  The claim records are
consulted too, so a host report that rewrites its device rows without the
service's assignments cannot make a held device look free.
"""
from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db import tables
from placement_pci.db.engine import Database, RetryTransaction
from placement_pci.pci.hostdev_xml import PciHostdev
from placement_pci.pci.live_migration import AssignedDevice
from placement_pci.pci.request_groups import GroupSource, TranslatedRequest, translate_body
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.store import allocations as allocation_store
from placement_pci.store import consumers as consumer_store
from placement_pci.store import device_availability, ledger
from placement_pci.store.common import utcnow

DEVICES = tables.pci_devices
CONFIG = tables.pci_config_objects
ALLOC = tables.allocations
RP = tables.resource_providers

KIND_CLAIM = "claim"
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
    provider_uuid: str
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


def _consumers_with_allocations(connection: Connection,
                                provider_uuids: set[str]) -> dict[str, set[str]]:
    rows = connection.execute(
        sa.select(RP.c.uuid, ALLOC.c.consumer_id).distinct()
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .where(RP.c.uuid.in_(provider_uuids)))
    holders: dict[str, set[str]] = defaultdict(set)
    for provider_uuid, consumer in rows:
        holders[provider_uuid].add(consumer)
    return holders


def _recorded_devices(connection: Connection,
                      consumers: set[str]) -> dict[tuple[str, str], str]:
    """(hostname, address) -> consumer, from the claim records of the
    given consumers."""
    if not consumers:
        return {}
    rows = connection.execute(sa.select(CONFIG.c.name, CONFIG.c.body).where(
        CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name.in_(consumers)))
    return {(device["hostname"], device["address"]): name
            for name, body in rows for device in json.loads(body)["devices"]}


def _eligible(row: Any, resource_class: str, device_type: str | None) -> bool:
    return (row.dev_type in ASSIGNABLE_TYPES
            and row.resource_class == resource_class
            and (device_type is None or row.dev_type == device_type))


def _take(connection: Connection, row: Any, consumer_uuid: str) -> None:
    """Compare-and-swap the device's holder from what we read to us."""
    holder = (DEVICES.c.assigned_to.is_(None) if row.assigned_to is None
              else DEVICES.c.assigned_to == row.assigned_to)
    result = connection.execute(
        sa.update(DEVICES).where(DEVICES.c.id == row.id, holder)
        .values(assigned_to=consumer_uuid, updated_at=utcnow()))
    if result.rowcount != 1:
        raise RetryTransaction(errors.Conflict(
            f"device {row.hostname} {row.address} was taken concurrently; "
            f"retry", code=errors.CONCURRENT_UPDATE))


def _assign_devices(connection: Connection, claim: ClaimInput,
                    groups: list[tuple[str, GroupSource, str, str]],
                    aliases_device_type: Mapping[str, str | None]
                    ) -> list[ClaimedDevice]:
    consumer_uuid = claim.consumer_uuid
    provider_uuids = {provider for _, _, provider, _ in groups}
    rows = connection.execute(
        sa.select(DEVICES).where(sa.or_(
            DEVICES.c.provider_uuid.in_(provider_uuids),
            DEVICES.c.assigned_to == consumer_uuid))
        .order_by(DEVICES.c.hostname, DEVICES.c.address)).all()
    holders = _consumers_with_allocations(connection, provider_uuids)
    recorded = _recorded_devices(
        connection, set().union(*holders.values()) | {consumer_uuid})

    def holder(row: Any) -> str | None:
        """Who holds the device: its row says so, or (when a host report
        rewrote the row) a claim record says so; either way only while
        that consumer still has an allocation on the provider."""
        allocated = holders.get(row.provider_uuid, set())
        for candidate in (row.assigned_to,
                          recorded.get((row.hostname, row.address))):
            if candidate is not None and candidate in allocated:
                return candidate
        return None

    chosen: dict[int, Any] = {}
    result = []
    for suffix, source, provider, resource_class in groups:
        device_type = aliases_device_type.get(source.alias or "")
        candidates = [row for row in rows
                      if row.provider_uuid == provider and row.id not in chosen
                      and _eligible(row, resource_class, device_type)]
        kept = [row for row in candidates if holder(row) == consumer_uuid]
        free = [row for row in candidates if holder(row) is None]
        pick = (kept or free or [None])[0]
        if pick is None:
            raise errors.Conflict(
                f"No free {resource_class} device on provider {provider} for "
                f"request group '{suffix}' (alias '{source.alias}'): "
                f"placement has capacity but every device the host reported "
                f"there is assigned", code=NO_FREE_DEVICE)
        chosen[pick.id] = pick
        if pick.assigned_to != consumer_uuid:
            _take(connection, pick, consumer_uuid)
        result.append(claimed_device_from_row(pick, suffix, source.as_dict(),
                                      assigned=True))
    released = [row.id for row in rows
                if row.assigned_to == consumer_uuid and row.id not in chosen]
    if released:
        connection.execute(
            sa.update(DEVICES)
            .where(DEVICES.c.id.in_(released),
                   DEVICES.c.assigned_to == consumer_uuid)
            .values(assigned_to=None, updated_at=utcnow()))
    return result


# --- the claim record -------------------------------------------------------

def _record_body(claim: ClaimInput, devices: list[ClaimedDevice]) -> str:
    # The allocations and owner are kept so the audit can re-create a
    # claim whose allocations were deleted behind the service's back.
    return json.dumps({
        "request": dict(claim.request_body),
        "allocations": {uuid: dict(resources)
                        for uuid, resources in claim.allocations.items()},
        "project_id": claim.project_id, "user_id": claim.user_id,
        "consumer_type": claim.consumer_type,
        "devices": [{"group": d.group, "alias": d.alias, "item": d.item,
                     "index": d.index, "hostname": d.hostname,
                     "address": d.address, "provider_uuid": d.provider_uuid}
                    for d in devices],
    }, sort_keys=True)


def _write_record(connection: Connection, consumer_uuid: str, body: str) -> None:
    now = utcnow()
    updated = connection.execute(
        sa.update(CONFIG)
        .where(CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == consumer_uuid)
        .values(body=body, generation=CONFIG.c.generation + 1, updated_at=now))
    if updated.rowcount == 0:
        connection.execute(sa.insert(CONFIG).values(
            kind=KIND_CLAIM, name=consumer_uuid, body=body, generation=0,
            created_at=now, updated_at=now))


def _read_record(connection: Connection, consumer_uuid: str) -> Any | None:
    return connection.execute(sa.select(CONFIG).where(
        CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == consumer_uuid)).first()


def _write_allocations(connection: Connection,
                       consumer_allocations: allocation_store.ConsumerAllocations,
                       context: RequestContext, action: str
                       ) -> dict[str, int | None]:
    """The core's allocation claim, inside our transaction (steps 1-6 of
    store/allocations.py: consumer, provider locks, capacity, rows, ledger)."""
    plan = allocation_store.prepare_claim(connection, [consumer_allocations],
                                          context=context, action=action)
    allocation_store.lock_providers(connection, plan.claimed_provider_ids,
                                    plan.provider_generations)
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
        devices = _assign_devices(connection, claim, groups,
                                  aliases_device_type)
        _write_record(connection, claim.consumer_uuid,
                      _record_body(claim, devices))
        return Claim(
            consumer_uuid=claim.consumer_uuid,
            consumer_generation=generations[claim.consumer_uuid],
            allocations={uuid: dict(resources)
                         for uuid, resources in claim.allocations.items()},
            devices=devices, request=dict(claim.request_body),
            request_groups=render_request_groups(claim.translated))

    return database.run_write(write)


def _current_allocations(connection: Connection,
                         consumer_uuid: str) -> dict[str, dict[str, int]]:
    rows = connection.execute(
        sa.select(RP.c.uuid, tables.resource_classes.c.name, ALLOC.c.used)
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .join(tables.resource_classes,
              tables.resource_classes.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.consumer_id == consumer_uuid))
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for uuid, name, used in rows:
        result[uuid][name] = result[uuid].get(name, 0) + used
    return dict(result)


def read_claim(connection: Connection, consumer_uuid: str) -> Claim:
    """The claim as stored, devices enriched from their current rows."""
    record = _read_record(connection, consumer_uuid)
    if record is None:
        raise errors.NotFound(f"No PCI claim for consumer {consumer_uuid}",
                              code=CLAIM_NOT_FOUND)
    body = json.loads(record.body)
    devices = []
    for entry in body["devices"]:
        row = connection.execute(sa.select(DEVICES).where(
            DEVICES.c.hostname == entry["hostname"],
            DEVICES.c.address == entry["address"])).first()
        if row is None:
            devices.append(ClaimedDevice(
                group=entry["group"], alias=entry["alias"], item=entry["item"],
                index=entry["index"], hostname=entry["hostname"],
                address=entry["address"], provider_uuid=entry["provider_uuid"],
                dev_type="unknown", resource_class=None, parent_addr=None,
                numa_node=None, managed=True, live_migratable=False,
                assigned=False))
            continue
        devices.append(claimed_device_from_row(
            row, entry["group"], entry,
            assigned=row.assigned_to == consumer_uuid))
    consumer = consumer_store.get_consumer(connection, consumer_uuid)
    return Claim(
        consumer_uuid=consumer_uuid,
        consumer_generation=consumer.generation if consumer else None,
        allocations=_current_allocations(connection, consumer_uuid),
        devices=devices, request=body["request"],
        request_groups=render_request_groups(
            translate_body(body["request"], [])),
        created_at=record.created_at, updated_at=record.updated_at)


def get_claim(database: Database, consumer_uuid: str) -> Claim:
    return database.run_read(
        lambda connection: read_claim(connection, consumer_uuid))


def list_claims(database: Database) -> list[Claim]:
    def read(connection: Connection) -> list[Claim]:
        names = connection.execute(sa.select(CONFIG.c.name).where(
            CONFIG.c.kind == KIND_CLAIM)).scalars().all()
        return [read_claim(connection, name) for name in sorted(names)]
    return database.run_read(read)


def release_claim(database: Database, consumer_uuid: str, *,
                  context: RequestContext) -> None:
    """Delete the consumer's allocations, free its devices, drop the record.

    404 when the consumer has neither a claim nor allocations.
    """
    def release(connection: Connection) -> None:
        record = _read_record(connection, consumer_uuid)
        if record is None and not _current_allocations(connection,
                                                       consumer_uuid):
            raise errors.NotFound(
                f"No PCI claim for consumer {consumer_uuid}",
                code=CLAIM_NOT_FOUND)
        _write_allocations(connection, allocation_store.ConsumerAllocations(
            consumer_uuid, {}), context, ledger.RELEASE)
        connection.execute(
            sa.update(DEVICES).where(DEVICES.c.assigned_to == consumer_uuid)
            .values(assigned_to=None, updated_at=utcnow()))
        connection.execute(sa.delete(CONFIG).where(
            CONFIG.c.kind == KIND_CLAIM, CONFIG.c.name == consumer_uuid))
    database.run_write(release)
