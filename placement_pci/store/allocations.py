"""Allocations: claiming, replacing, deleting and listing them.

The claim is THE transactional check of the service.  One write
transaction does, in this order:

1. lock the consumers (sorted by uuid): create new ones, compare-and-swap
   the generation of existing ones after checking the caller's expected
   generation;
2. read the consumers' current allocations (stable: we hold the consumers);
3. lock every provider claimed from (sorted by id, so concurrent
   claims never deadlock) by bumping its generation; the UPDATE takes the
   row lock that every other writer of the provider takes;
4. only then read inventory and usage and decide whether the claim fits;
5. replace the allocation rows and drop consumers left with none;
6. append the ledger entries (store/ledger.py): before and after of every
   consumer, with the caller's identity.  Every writer of allocations goes
   through ``check_and_write`` or ``delete_allocations`` here (or, for the
   host-sync heal, ``write_allocation_amounts_locked``), so no write skips
   the ledger.  The statements the ledger entries describe (the rows and
   the generation bumps of the claimed providers) carry
   ``LEDGERED_WRITE``: snapshots learn of them from the ledger
   (db/change_marker.py).

The claim is the service's hottest write, so it keeps its round trips
few without changing what it decides: the owner's rows are found by the
consumer's INSERT ... SELECT (or reused from the consumer read in step
1), step 2's read of the old rows is also the ledger's "before", step 4
is one SELECT that also brings the providers' root names, and the
ledger's "after" is what step 5 wrote, not a second read.  Nothing is
deleted for consumers that held nothing, and only consumers left empty
are looked at for dropping.

Because the decision is taken while holding the provider locks, and every
writer of a provider's inventory or allocations takes the same lock first,
no interleaving of concurrent claims can overcommit (on PostgreSQL and
MySQL at READ COMMITTED each statement sees what committed before it; on
SQLite write transactions are serialised by BEGIN IMMEDIATE).  A lost
compare-and-swap reruns the whole transaction (``RetryTransaction``); only
a stale caller-supplied generation, or running out of retries, surfaces as
409 placement.concurrent_update.
"""
from __future__ import annotations

import collections
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db import tables
from placement_pci.db.change_marker import LEDGERED_WRITE
from placement_pci.db.engine import Database, RetryTransaction
from placement_pci.inventory import amount_fits_units
from placement_pci.inventory import capacity as inventory_capacity
from placement_pci.store import consumers as consumer_store
from placement_pci.store import ledger
from placement_pci.store.common import missing, resource_class_ids, utcnow
from placement_pci.store.providers import load_provider

ALLOC = tables.allocations
RP = tables.resource_providers
RC = tables.resource_classes
INV = tables.inventories


# The claim's statements are built once, with bound parameters, not per
# claim: building and keying a statement costs more Python than running it.

# Step 2: the consumers' rows as the ledger shows them too (its "before").
_OLD_ROWS = ledger.holdings_select(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id)

# The providers named in the claim and those the consumers hold now, and
# the resource classes named, in one round trip.
_NAMES = sa.union_all(
    sa.select(sa.literal("provider").label("kind"), RP.c.id, RP.c.uuid.label("name"))
    .where(RP.c.uuid.in_(sa.bindparam("uuids", expanding=True))),
    sa.select(sa.literal("class"), RC.c.id, RC.c.name)
    .where(RC.c.name.in_(sa.bindparam("classes", expanding=True))))


def _fits_select() -> sa.Select:
    """Step 4 in one statement: the inventories of the bound ``providers``
    and ``classes``, each with its usage and its provider's root name."""
    used = (sa.select(sa.func.coalesce(sa.func.sum(ALLOC.c.used), 0))
            .where(ALLOC.c.resource_provider_id == INV.c.resource_provider_id,
                   ALLOC.c.resource_class_id == INV.c.resource_class_id)
            .scalar_subquery())
    root = ledger.ROOT
    return (sa.select(INV.c.resource_provider_id, INV.c.resource_class_id, INV.c.total,
                      INV.c.reserved, INV.c.min_unit, INV.c.max_unit, INV.c.step_size,
                      INV.c.allocation_ratio, used.label("used"),
                      root.c.name.label("hostname"))
            .select_from(INV.join(RP, RP.c.id == INV.c.resource_provider_id)
                         .outerjoin(root, root.c.id == RP.c.root_provider_id))
            .where(INV.c.resource_provider_id.in_(sa.bindparam("providers", expanding=True)),
                   INV.c.resource_class_id.in_(sa.bindparam("classes", expanding=True))))


_FITS = _fits_select()


@dataclass(frozen=True)
class ConsumerAllocations:
    """What one consumer should hold after the claim.

    ``allocations`` maps provider uuid -> {resource class: amount}; an
    empty mapping removes all of the consumer's allocations.  When
    ``check_generation`` is true (microversion 1.28+) the claim only lands
    if the consumer's generation is ``expected_generation`` (None: the
    consumer must not exist yet).  ``project_id``/``user_id`` None means
    Placement's "incomplete consumer" placeholders; ``consumer_type`` None
    leaves an existing consumer's type as it is.
    """

    consumer_uuid: str
    allocations: Mapping[str, Mapping[str, int]]
    project_id: str | None = None
    user_id: str | None = None
    consumer_type: str | None = None
    expected_generation: int | None = None
    check_generation: bool = False


class UnknownResourceClass(errors.BadRequest):
    """A claim named a resource class that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"No such resource class {name}.")
        self.resource_class = name


class AllocationRefused(errors.Conflict):
    """The claim does not fit the inventory (capacity, units, no inventory)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Unable to allocate inventory: {reason}")
        self.reason = reason


@dataclass
class ClaimPlan:
    """A claim whose consumers are locked and whose names are resolved;
    what is left is locking the providers, checking and writing."""

    requests: list[ConsumerAllocations]
    consumer_generations: dict[str, int]  # generation after this claim
    provider_ids: dict[str, int]  # uuid -> id of every provider in the claim
    class_ids: dict[str, int]
    context: RequestContext
    action: str  # what the ledger calls this write
    before: dict[str, ledger.Holding]  # consumer -> allocations before
    old_rows: list[sa.Row] = field(default_factory=list)

    @property
    def claimed_provider_ids(self) -> set[int]:
        """The providers whose generation the claim bumps, as Placement
        does: those allocated from, plus those a consumer is released from
        entirely (moving a consumer leaves its old providers' generation
        alone; releasing cannot overcommit anything)."""
        emptied = {r.consumer_uuid for r in self.requests if not r.allocations}
        return set(self.provider_ids.values()) | {
            r.resource_provider_id for r in self.old_rows if r.consumer_id in emptied}


def replace_allocations(database: Database,
                        consumer_allocations: Sequence[ConsumerAllocations], *,
                        context: RequestContext, action: str,
                        ) -> dict[str, int | None]:
    """Atomically set the allocations of every consumer given (the claim
    of PUT /allocations/{c}, POST /allocations and the PCI engine).

    Returns consumer uuid -> its new generation (None when the consumer
    holds nothing any more and so no longer exists).  Raises BadRequest
    (unknown provider or resource class), Conflict with
    ``placement.concurrent_update`` (stale consumer generation, or lost
    races beyond the retry budget) or AllocationRefused (does not fit).
    """
    def claim(connection: Connection) -> dict[str, int | None]:
        plan = prepare_claim(connection, consumer_allocations, context=context,
                             action=action)
        lock_providers(connection, plan.claimed_provider_ids)
        return check_and_write(connection, plan)

    return database.run_write(claim)


def prepare_claim(connection: Connection,
                  consumer_allocations: Sequence[ConsumerAllocations], *,
                  context: RequestContext, action: str) -> ClaimPlan:
    """Steps 1-2: lock the consumers, read their allocations, resolve the
    providers and resource classes named (400 for unknown ones).
    ``context`` and ``action`` are what the ledger records of the write."""
    requests = sorted(consumer_allocations, key=lambda r: r.consumer_uuid)
    seen = [r.consumer_uuid for r in requests]
    if len(set(seen)) != len(seen):
        raise errors.BadRequest("A consumer appears more than once in the request.")

    existing = consumer_store.get_consumers(connection, seen)
    generations: dict[str, int] = {}
    for request in requests:
        consumer = existing.get(request.consumer_uuid)
        _check_expected_generation(request, consumer)
        generations[request.consumer_uuid] = _lock_consumer(connection, request, consumer)

    old_rows = list(connection.execute(_OLD_ROWS, {"consumer_uuids": seen}))

    provider_ids, class_ids = _resolve_names(connection, requests)
    return ClaimPlan(requests=requests, consumer_generations=generations,
                     provider_ids=provider_ids,
                     class_ids=class_ids, context=context, action=action,
                     before=ledger.holdings_from_rows(old_rows, seen),
                     old_rows=old_rows)


def _check_expected_generation(request: ConsumerAllocations,
                               consumer: consumer_store.Consumer | None) -> None:
    if not request.check_generation:
        return
    actual = consumer.generation if consumer is not None else None
    if actual != request.expected_generation:
        expected = "null" if actual is None else actual
        given = "null" if request.expected_generation is None else request.expected_generation
        raise errors.Conflict(
            f"consumer generation conflict - expected {expected} but got {given}",
            code=errors.CONCURRENT_UPDATE)


def _lock_consumer(connection: Connection, request: ConsumerAllocations,
                   consumer: consumer_store.Consumer | None) -> int:
    """Create or compare-and-swap the consumer; its generation afterwards."""
    project_id = request.project_id or consumer_store.INCOMPLETE_CONSUMER_PROJECT_ID
    user_id = request.user_id or consumer_store.INCOMPLETE_CONSUMER_USER_ID
    consumer_type = request.consumer_type or None
    if consumer is None:
        if not request.allocations:
            return 0  # nothing to hold: no consumer row is needed
        consumer_store.create_owned_consumer(
            connection, request.consumer_uuid, project_id=project_id, user_id=user_id,
            consumer_type=consumer_type, generation=1)
        return 1
    return consumer_store.bump_owned_consumer(
        connection, consumer, project_id=project_id, user_id=user_id,
        consumer_type=consumer_type)


def _resolve_names(connection: Connection, requests: Iterable[ConsumerAllocations]
                   ) -> tuple[dict[str, int], dict[str, int]]:
    """Provider uuid -> id of the claim's providers, class name -> id;
    400 for an unknown provider, else for an unknown class."""
    wanted: list[str] = []
    for request in requests:
        wanted.extend(u for u in request.allocations if u not in wanted)
    classes = {name for request in requests
               for resources in request.allocations.values() for name in resources}
    rows = connection.execute(_NAMES, {"uuids": wanted, "classes": sorted(classes)}).all()
    providers = [row for row in rows if row.kind == "provider"]
    by_uuid = {row.name: row.id for row in providers}
    for uuid in wanted:
        if uuid not in by_uuid:
            raise errors.BadRequest(
                f"Allocation for resource provider '{uuid}' that does not exist.",
                code=errors.PROVIDER_NOT_FOUND)
    class_ids = {row.name: row.id for row in rows if row.kind == "class"}
    unknown = missing(classes, class_ids)
    if unknown:
        raise UnknownResourceClass(unknown[0])
    return {uuid: by_uuid[uuid] for uuid in wanted}, class_ids


def _class_ids(connection: Connection, wanted: set[str]) -> dict[str, int]:
    """Name -> id; UnknownResourceClass (400) for a class that does not exist."""
    found = resource_class_ids(connection, wanted)
    unknown = missing(wanted, found)
    if unknown:
        raise UnknownResourceClass(unknown[0])
    return found


def lock_providers(connection: Connection, provider_ids: Iterable[int], *,
                   expected_generations: Mapping[int, int] | None = None,
                   provider_uuids: Mapping[int, str] | None = None) -> None:
    """Step 3: lock every provider in id order by bumping its generation.

    ``expected_generations`` are generations a caller asserted (reshaper):
    a compare-and-swap from them, a mismatch being the caller's conflict,
    reported at once.  The others are bumped whatever their generation is
    now: nothing read before the lock decides the claim (step 4 reads
    inventory and usage under it), so a claim that lost a race to another
    claim on the same provider (a shared disk pool, the last GPUs of a
    host) waits for the row lock and goes on, instead of rerunning its
    whole transaction as a compare-and-swap from the generation read
    before the lock would make it.  A provider deleted meanwhile reruns the transaction,
    which then reports it as unknown.
    """
    expected_generations = expected_generations or {}
    provider_uuids = provider_uuids or {}
    for provider_id in sorted(set(provider_ids)):
        if provider_id in expected_generations:
            generation = expected_generations[provider_id]
            result = connection.execute(
                sa.update(RP)
                .where(RP.c.id == provider_id, RP.c.generation == generation)
                .values(generation=generation + 1, updated_at=utcnow())
                .execution_options(**LEDGERED_WRITE))
            if result.rowcount != 1:
                raise errors.Conflict(
                    "resource provider generation conflict for "
                    f"{provider_uuids.get(provider_id, provider_id)}: another process "
                    "changed it; refresh and retry", code=errors.CONCURRENT_UPDATE)
            continue
        result = connection.execute(
            sa.update(RP).where(RP.c.id == provider_id)
            .values(generation=RP.c.generation + 1, updated_at=utcnow())
            .execution_options(**LEDGERED_WRITE))
        if result.rowcount != 1:
            raise RetryTransaction(errors.Conflict(
                f"resource provider {provider_uuids.get(provider_id, provider_id)} "
                "was deleted; refresh and retry", code=errors.CONCURRENT_UPDATE))


def check_and_write(connection: Connection, plan: ClaimPlan) -> dict[str, int | None]:
    """Steps 4-6, with the providers locked: check, write, record."""
    hostnames = _check_fits(connection, plan)
    seen = [r.consumer_uuid for r in plan.requests]
    if plan.old_rows:
        # Without old rows there is nothing to delete: they were read with
        # the consumers locked, and every writer of allocations takes the
        # consumer's lock first.
        connection.execute(sa.delete(ALLOC).where(ALLOC.c.consumer_id.in_(seen))
                           .execution_options(**LEDGERED_WRITE))
    now = utcnow()
    rows = [
        {"resource_provider_id": plan.provider_ids[provider_uuid],
         "consumer_id": request.consumer_uuid,
         "resource_class_id": plan.class_ids[name], "used": amount,
         "created_at": now, "updated_at": now}
        for request in plan.requests
        for provider_uuid, resources in request.allocations.items()
        for name, amount in resources.items()
    ]
    if rows:
        connection.execute(sa.insert(ALLOC).execution_options(**LEDGERED_WRITE), rows)
    holding = {row["consumer_id"] for row in rows}
    gone = consumer_store.delete_consumers_without_allocations(
        connection, [uuid for uuid in seen if uuid not in holding])
    ledger.append(connection, plan.context, plan.action, [
        (request.consumer_uuid, plan.before[request.consumer_uuid],
         _holding_after(request, plan.provider_ids, hostnames))
        for request in plan.requests])
    return {uuid: (None if uuid in gone else generation)
            for uuid, generation in plan.consumer_generations.items()}


def _holding_after(request: ConsumerAllocations, provider_ids: Mapping[str, int],
                   hostnames: Mapping[int, str | None]) -> ledger.Holding:
    """What the consumer holds once its rows are written, as
    ``ledger.read_holdings`` would read it back (hostnames: the root
    names of its providers, as read while they were locked)."""
    allocations = {provider_uuid: {"resources": dict(resources)}
                   for provider_uuid, resources in request.allocations.items() if resources}
    return ledger.Holding(allocations, frozenset(
        name for name in (hostnames[provider_ids[uuid]] for uuid in allocations) if name))


def _check_fits(connection: Connection, plan: ClaimPlan) -> dict[int, str | None]:
    """Refuse the claim if any inventory would be overcommitted or any
    amount breaks min_unit/max_unit/step_size.

    As Placement does, a claim on an already overcommitted inventory (an
    inventory shrunk below its usage) is allowed when it leaves the usage
    no higher than before.  Returns provider id -> its root's name for
    every provider allocated from (the ledger's hostnames).
    """
    wanted: dict[tuple[int, int], int] = collections.defaultdict(int)
    entries: list[tuple[str, str, int]] = []
    for request in plan.requests:
        for provider_uuid, resources in request.allocations.items():
            for name, amount in resources.items():
                key = (plan.provider_ids[provider_uuid], plan.class_ids[name])
                wanted[key] += amount
                entries.append((provider_uuid, name, amount))
    if not entries:
        return {}
    provider_ids = {p for p, _ in wanted}
    class_ids = {c for _, c in wanted}
    # Read with the providers locked: the usage is current.
    rows = connection.execute(_FITS, {"providers": sorted(provider_ids),
                                      "classes": sorted(class_ids)}).all()
    inventories = {(row.resource_provider_id, row.resource_class_id): row for row in rows}
    usage_before = {key: int(row.used or 0) for key, row in inventories.items()}
    hostnames = {row.resource_provider_id: row.hostname for row in rows}
    released: dict[tuple[int, int], int] = collections.defaultdict(int)
    for row in plan.old_rows:
        released[(row.resource_provider_id, row.resource_class_id)] += row.used

    providers_with_inventory = {p for p, _ in inventories}
    missing = [u for u, i in plan.provider_ids.items()
               if i in provider_ids and i not in providers_with_inventory]
    if missing:
        names = ", ".join(sorted({name for _, name, _ in entries}))
        raise AllocationRefused(
            f"Inventory for '{names}' on resource provider '{', '.join(missing)}' invalid.")

    for provider_uuid, name, amount in entries:
        key = (plan.provider_ids[provider_uuid], plan.class_ids[name])
        inventory = inventories.get(key)
        if inventory is None:
            raise AllocationRefused(
                f"Inventory for '{name}' on resource provider '{provider_uuid}' invalid.")
        if not amount_fits_units(amount, inventory.min_unit,
                                          inventory.max_unit, inventory.step_size):
            raise AllocationRefused(
                f"Unable to create allocation for '{name}' on resource provider "
                f"'{provider_uuid}'. The requested amount would violate inventory "
                "constraints.")
        before = usage_before.get(key, 0)
        after = before - released.get(key, 0) + wanted[key]
        limit = inventory_capacity(inventory.total, inventory.reserved,
                                  inventory.allocation_ratio)
        if after > limit and after > before:
            raise AllocationRefused(
                f"Unable to create allocation for '{name}' on resource provider "
                f"'{provider_uuid}'. The requested amount would exceed the capacity.")
    return hostnames


def write_allocation_amounts_locked(connection: Connection, consumer_uuid: str,
                                    amounts: Mapping[tuple[int, str], int], *,
                                    context: RequestContext, action: str) -> None:
    """Set the consumer's allocation of each (provider id, class name) to
    the amount given, leaving its other allocations alone: the PCI host
    sync's healing of devices a host reports as assigned.

    The caller holds the providers' locks (it bumped their generations)
    and raised their inventories to cover the amounts.  The consumer is
    created with Placement's incomplete-consumer owner when it does not
    exist, else its generation is bumped (keeping its owner), so
    concurrent writers of the consumer serialise as in a claim.  The
    ledger records the change as ``action`` by ``context``.
    """
    consumer = consumer_store.get_consumer(connection, consumer_uuid)
    if consumer is None:
        consumer_store.create_consumer(
            connection, consumer_uuid,
            project_row_id=consumer_store.ensure_project(
                connection, consumer_store.INCOMPLETE_CONSUMER_PROJECT_ID),
            user_row_id=consumer_store.ensure_user(
                connection, consumer_store.INCOMPLETE_CONSUMER_USER_ID),
            consumer_type_row_id=None)
    else:
        consumer_store.bump_consumer(
            connection, consumer,
            project_row_id=consumer_store.ensure_project(connection, consumer.project_id),
            user_row_id=consumer_store.ensure_user(connection, consumer.user_id),
            consumer_type_row_id=None)
    before = ledger.read_holdings(connection, [consumer_uuid])
    class_ids = _class_ids(connection, {name for _, name in amounts})
    now = utcnow()
    for (provider_id, name), used in sorted(amounts.items()):
        connection.execute(sa.delete(ALLOC).where(
            ALLOC.c.consumer_id == consumer_uuid,
            ALLOC.c.resource_provider_id == provider_id,
            ALLOC.c.resource_class_id == class_ids[name]))
        connection.execute(sa.insert(ALLOC).values(
            resource_provider_id=provider_id, consumer_id=consumer_uuid,
            resource_class_id=class_ids[name], used=used, created_at=now,
            updated_at=now))
    ledger.record_change(connection, context, action, before)


def delete_allocations(database: Database, consumer_uuid: str, *,
                       context: RequestContext) -> None:
    """DELETE /allocations/{consumer}: drop everything the consumer holds;
    404 when it holds nothing.  Releasing cannot overcommit, so (as in
    Placement) the providers' generations stay as they are."""
    def delete(connection: Connection) -> None:
        # Serialise with other writers of this consumer's allocations.
        connection.execute(
            sa.update(tables.consumers)
            .where(tables.consumers.c.uuid == consumer_uuid)
            .values(generation=tables.consumers.c.generation + 1))
        before = ledger.read_holdings(connection, [consumer_uuid])
        deleted = connection.execute(
            sa.delete(ALLOC).where(ALLOC.c.consumer_id == consumer_uuid)
            .execution_options(**LEDGERED_WRITE)).rowcount
        if not deleted:
            raise errors.NotFound(f"No allocations for consumer '{consumer_uuid}'")
        consumer_store.delete_consumers_without_allocations(connection, [consumer_uuid])
        ledger.record_change(connection, context, ledger.DELETE_ALLOCATIONS, before)

    database.run_write(delete)


# --- reading ----------------------------------------------------------------

@dataclass(frozen=True)
class ConsumerAllocationsView:
    """GET /allocations/{consumer}."""

    allocations: dict[str, dict]  # provider uuid -> {"generation", "resources"}
    consumer: consumer_store.Consumer | None
    last_modified: datetime.datetime | None


def get_consumer_allocations(database: Database, consumer_uuid: str) -> ConsumerAllocationsView:
    def read(connection: Connection) -> ConsumerAllocationsView:
        rows = connection.execute(
            sa.select(RP.c.uuid, RP.c.generation, RC.c.name, ALLOC.c.used,
                      ALLOC.c.created_at, ALLOC.c.updated_at)
            .select_from(ALLOC.join(RP, RP.c.id == ALLOC.c.resource_provider_id)
                         .join(RC, RC.c.id == ALLOC.c.resource_class_id))
            .where(ALLOC.c.consumer_id == consumer_uuid)
            # Rows are written in the request's order: answer in it on every
            # backend (clients compare what they wrote with what they read).
            .order_by(ALLOC.c.id)).all()
        allocations: dict[str, dict] = {}
        for row in rows:
            entry = allocations.setdefault(row.uuid, {"generation": row.generation,
                                                      "resources": {}})
            entry["resources"][row.name] = row.used
        consumer = consumer_store.get_consumer(connection, consumer_uuid) if rows else None
        return ConsumerAllocationsView(allocations, consumer, _newest(rows))

    return database.run_read(read)


@dataclass(frozen=True)
class ProviderAllocationsView:
    """GET /resource_providers/{uuid}/allocations."""

    provider_generation: int
    allocations: dict[str, dict]  # consumer uuid -> {"resources", "consumer_generation"}
    last_modified: datetime.datetime | None


def get_provider_allocations(database: Database, provider_uuid: str) -> ProviderAllocationsView:
    def read(connection: Connection) -> ProviderAllocationsView:
        provider = load_provider(connection, provider_uuid)
        consumers = tables.consumers
        rows = connection.execute(
            sa.select(ALLOC.c.consumer_id, RC.c.name, ALLOC.c.used,
                      consumers.c.generation.label("consumer_generation"),
                      ALLOC.c.created_at, ALLOC.c.updated_at)
            .select_from(ALLOC.join(RC, RC.c.id == ALLOC.c.resource_class_id)
                         .outerjoin(consumers, consumers.c.uuid == ALLOC.c.consumer_id))
            .where(ALLOC.c.resource_provider_id == provider.id)
            .order_by(ALLOC.c.id)).all()
        allocations: dict[str, dict] = {}
        for row in rows:
            entry = allocations.setdefault(row.consumer_id, {
                "resources": {}, "consumer_generation": row.consumer_generation})
            entry["resources"][row.name] = row.used
        return ProviderAllocationsView(provider.generation, allocations, _newest(rows))

    return database.run_read(read)


def allocations_on(connection: Connection, consumer_uuids: Iterable[str],
                   provider_ids: Iterable[int]) -> dict[tuple[str, int], dict[str, int]]:
    """(consumer uuid, provider id) -> {class name: amount} of the given
    consumers on the given providers, in one query."""
    consumers, providers = sorted(set(consumer_uuids)), sorted(set(provider_ids))
    result: dict[tuple[str, int], dict[str, int]] = collections.defaultdict(dict)
    if not consumers or not providers:
        return result
    rows = connection.execute(
        sa.select(ALLOC.c.consumer_id, ALLOC.c.resource_provider_id, RC.c.name, ALLOC.c.used)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.consumer_id.in_(consumers),
               ALLOC.c.resource_provider_id.in_(providers)))
    for consumer, provider_id, name, used in rows:
        key = (consumer, provider_id)
        result[key][name] = result[key].get(name, 0) + used
    return result


def consumers_on_providers(connection: Connection,
                           provider_uuids: Iterable[str]) -> dict[str, set[str]]:
    """Provider uuid -> the consumers holding any allocation on it."""
    wanted = sorted(set(provider_uuids))
    holders: dict[str, set[str]] = collections.defaultdict(set)
    if not wanted:
        return holders
    rows = connection.execute(
        sa.select(RP.c.uuid, ALLOC.c.consumer_id).distinct()
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .where(RP.c.uuid.in_(wanted)))
    for provider_uuid, consumer in rows:
        holders[provider_uuid].add(consumer)
    return holders


def allocation_amounts_of_consumers(connection: Connection, consumer_uuids: Iterable[str]
                                    ) -> dict[str, dict[str, dict[str, int]]]:
    """Consumer uuid -> {provider uuid: {class name: amount}} for those of
    the consumers that hold anything, in one query."""
    wanted = sorted(set(consumer_uuids))
    result: dict[str, dict[str, dict[str, int]]] = {}
    if not wanted:
        return result
    rows = connection.execute(
        sa.select(ALLOC.c.consumer_id, RP.c.uuid, RC.c.name, ALLOC.c.used)
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.consumer_id.in_(wanted)))
    for consumer, provider_uuid, name, used in rows:
        amounts = result.setdefault(consumer, {}).setdefault(provider_uuid, {})
        amounts[name] = amounts.get(name, 0) + used
    return result


def _newest(rows: Iterable[sa.Row]) -> datetime.datetime | None:
    stamps = [s for row in rows for s in (row.created_at, row.updated_at) if s is not None]
    return max(stamps) if stamps else None
