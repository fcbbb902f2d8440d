"""The rows the audit compares, read in one transaction, and the small
guarded writes a heal makes besides allocations.

``read_facts`` gathers providers (with generation, capacity and usage),
device rows, consumers with their allocations, the claims
(store/claim_records.py) and, for claims that lost their allocations,
what the ledger last saw them hold, into the plain structures of
``pci.audit``.  ``lock_providers_at`` and ``bump_consumer_at`` are
compare-and-swaps: a heal that finds anything changed since its audit is
refused, never applied over the change.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.inventory import capacity
from placement_pci.pci.audit import AuditFacts, ConsumerFact, DeviceFact, ProviderFact
from placement_pci.store import claim_records, ledger
from placement_pci.store.common import utcnow
from placement_pci.store.device_availability import ASSIGNABLE_TYPES

RP = tables.resource_providers
INV = tables.inventories
RC = tables.resource_classes
ALLOC = tables.allocations
DEVICES = tables.pci_devices
CONSUMERS = tables.consumers


def read_facts(connection: Connection) -> AuditFacts:
    root = RP.alias("root")
    providers = {row.uuid: row for row in connection.execute(
        sa.select(RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation,
                  root.c.name.label("hostname"))
        .outerjoin(root, root.c.id == RP.c.root_provider_id))}
    uuid_of = {row.id: uuid for uuid, row in providers.items()}
    capacities: dict[str, dict[str, int]] = defaultdict(dict)
    for row in connection.execute(
            sa.select(INV.c.resource_provider_id, RC.c.name, INV.c.total, INV.c.reserved,
                      INV.c.allocation_ratio)
            .join(RC, RC.c.id == INV.c.resource_class_id)):
        capacities[uuid_of[row.resource_provider_id]][row.name] = capacity(
            row.total, row.reserved, row.allocation_ratio)

    allocations: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    usages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for consumer, provider_id, name, used in connection.execute(
            sa.select(ALLOC.c.consumer_id, ALLOC.c.resource_provider_id, RC.c.name,
                      ALLOC.c.used)
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)):
        provider = uuid_of[provider_id]
        held = allocations[consumer][provider]
        held[name] = held.get(name, 0) + used
        usages[provider][name] += used

    consumer_rows = {row.uuid: row for row in connection.execute(
        sa.select(CONSUMERS.c.uuid, CONSUMERS.c.generation,
                  tables.consumer_types.c.name.label("consumer_type"),
                  tables.projects.c.external_id.label("project_id"),
                  tables.users.c.external_id.label("user_id"))
        .join(tables.projects, tables.projects.c.id == CONSUMERS.c.project_id)
        .join(tables.users, tables.users.c.id == CONSUMERS.c.user_id)
        .outerjoin(tables.consumer_types,
                   tables.consumer_types.c.id == CONSUMERS.c.consumer_type_id))}
    consumers = {}
    for uuid in set(allocations) | set(consumer_rows):
        found = consumer_rows.get(uuid)
        consumers[uuid] = ConsumerFact(
            uuid=uuid, generation=found.generation if found else None,
            consumer_type=found.consumer_type if found else None,
            project_id=found.project_id if found else None,
            user_id=found.user_id if found else None,
            allocations={p: dict(r) for p, r in allocations.get(uuid, {}).items()})

    devices = [
        DeviceFact(hostname=row.hostname, address=row.address,
                   provider_uuid=row.provider_uuid, resource_class=row.resource_class,
                   reported_to=row.assigned_to)
        for row in connection.execute(
            sa.select(DEVICES.c.hostname, DEVICES.c.address, DEVICES.c.provider_uuid,
                      DEVICES.c.resource_class, DEVICES.c.assigned_to)
            .where(DEVICES.c.dev_type.in_(ASSIGNABLE_TYPES),
                   DEVICES.c.provider_uuid.is_not(None))
            .order_by(DEVICES.c.hostname, DEVICES.c.address))]
    claims = claim_records.read_all(connection)
    return AuditFacts(
        providers={uuid: ProviderFact(
            uuid=uuid, name=row.name, hostname=row.hostname or row.name,
            generation=row.generation, capacities=dict(capacities.get(uuid, {})),
            usages=dict(usages.get(uuid, {})))
            for uuid, row in providers.items()},
        devices=devices, consumers=consumers, claims=claims,
        lost_allocations=ledger.lost_allocations(
            connection, [uuid for uuid in claims if uuid not in allocations]))


def lock_providers_at(connection: Connection, expected: Mapping[str, int]) -> None:
    """Compare-and-swap each provider's generation from the one the audit
    saw (in id order, like every other writer); Conflict when any moved."""
    rows = connection.execute(sa.select(RP.c.id, RP.c.uuid).where(
        RP.c.uuid.in_(sorted(expected)))).all()
    if len(rows) != len(expected):
        raise errors.Conflict("a provider of the finding was deleted since the audit",
                              code=errors.CONCURRENT_UPDATE)
    for row in sorted(rows, key=lambda r: r.id):
        generation = expected[row.uuid]
        result = connection.execute(
            sa.update(RP).where(RP.c.id == row.id, RP.c.generation == generation)
            .values(generation=generation + 1, updated_at=utcnow()))
        if result.rowcount != 1:
            raise errors.Conflict(f"resource provider {row.uuid} changed since the audit",
                                  code=errors.CONCURRENT_UPDATE)


def bump_consumer_at(connection: Connection, consumer_uuid: str,
                     expected_generation: int | None) -> None:
    """Compare-and-swap the consumer's generation from the audit's (None:
    the consumer must still not exist), for heals that move devices
    without changing allocations."""
    if expected_generation is None:
        exists = connection.execute(sa.select(CONSUMERS.c.id).where(
            CONSUMERS.c.uuid == consumer_uuid)).first()
        if exists is not None:
            raise errors.Conflict(f"consumer {consumer_uuid} changed since the audit",
                                  code=errors.CONCURRENT_UPDATE)
        return
    result = connection.execute(
        sa.update(CONSUMERS)
        .where(CONSUMERS.c.uuid == consumer_uuid,
               CONSUMERS.c.generation == expected_generation)
        .values(generation=expected_generation + 1, updated_at=utcnow()))
    if result.rowcount != 1:
        raise errors.Conflict(f"consumer {consumer_uuid} changed since the audit",
                              code=errors.CONCURRENT_UPDATE)
