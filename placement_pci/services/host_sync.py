"""Apply a host's planned PCI provider tree to the database.

``sync_host`` plans the tree (pure code in ``placement_pci.pci``), reads
the host's current providers, computes the changes and, unless it is a dry
run, writes them in ONE write transaction: the root provider, the device
providers with their inventories and traits, healed allocations of devices
the host reports as assigned, and the host's ``pci_devices`` rows.  Every
provider write bumps its generation with a compare-and-swap; a lost race
is a 409 ``placement.concurrent_update`` and nothing is written.
"""
from __future__ import annotations

import json
import uuid as uuid_module
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import Database, RetryTransaction, insert_ignoring_duplicates
from placement_pci.inventory import Inventory
from placement_pci.pci import provider_diff, provider_tree
from placement_pci.pci.provider_diff import ExistingProvider, TreeChanges
from placement_pci.pci.provider_tree import PlannedTree
from placement_pci.store import common
from placement_pci.store import consumers as consumer_store

RP = tables.resource_providers
INV = tables.inventories
RC = tables.resource_classes
TRAITS = tables.traits
RP_TRAITS = tables.resource_provider_traits
ALLOC = tables.allocations
DEVICES = tables.pci_devices

# Metadata kept in the pci_devices.tags JSON (the rest has columns).
_TAG_KEYS = ("managed", "live_migratable", "one_time_use",
             "physical_network", "remote_managed", "trusted",
             "device_spec_index")


@dataclass
class HostTree:
    """What PUT and GET /pci/hosts/{hostname} return (pci-api.md)."""

    hostname: str
    root_provider: dict[str, Any] | None
    providers: list[dict[str, Any]]
    root_traits: list[str]
    devices_without_provider: list[dict[str, Any]] = field(
        default_factory=list)
    healed_allocations: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname, "dry_run": self.dry_run,
            "changed": self.changed, "root_provider": self.root_provider,
            "providers": self.providers, "root_traits": self.root_traits,
            "devices_without_provider": self.devices_without_provider,
            "healed_allocations": self.healed_allocations,
            "warnings": self.warnings,
        }


@dataclass
class _StoredHost:
    """The host's current state, read inside the transaction."""

    root_id: int | None = None
    root_uuid: str | None = None
    root_generation: int = 0
    root_traits: frozenset[str] | None = None
    providers: dict[str, ExistingProvider] = field(default_factory=dict)
    provider_ids: dict[str, int] = field(default_factory=dict)
    device_rows: list[dict[str, Any]] = field(default_factory=list)


# --- reading -----------------------------------------------------------


def _traits_of(connection: Connection, provider_ids: list[int]
               ) -> dict[int, set[str]]:
    result: dict[int, set[str]] = defaultdict(set)
    if provider_ids:
        rows = connection.execute(
            sa.select(RP_TRAITS.c.resource_provider_id, TRAITS.c.name)
            .join(TRAITS, TRAITS.c.id == RP_TRAITS.c.trait_id)
            .where(RP_TRAITS.c.resource_provider_id.in_(provider_ids)))
        for provider_id, name in rows:
            result[provider_id].add(name)
    return result


def _inventories_of(connection: Connection, provider_ids: list[int]
                    ) -> dict[int, dict[str, Inventory]]:
    result: dict[int, dict[str, Inventory]] = defaultdict(dict)
    if provider_ids:
        rows = connection.execute(
            sa.select(INV, RC.c.name.label("class_name"))
            .join(RC, RC.c.id == INV.c.resource_class_id)
            .where(INV.c.resource_provider_id.in_(provider_ids)))
        for row in rows:
            result[row.resource_provider_id][row.class_name] = Inventory(
                total=row.total, reserved=row.reserved,
                min_unit=row.min_unit, max_unit=row.max_unit,
                step_size=row.step_size,
                allocation_ratio=float(row.allocation_ratio))
    return result


def _usages_of(connection: Connection, provider_ids: list[int]
               ) -> dict[int, dict[str, int]]:
    result: dict[int, dict[str, int]] = defaultdict(dict)
    if provider_ids:
        rows = connection.execute(
            sa.select(ALLOC.c.resource_provider_id, RC.c.name,
                      sa.func.sum(ALLOC.c.used))
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .where(ALLOC.c.resource_provider_id.in_(provider_ids))
            .group_by(ALLOC.c.resource_provider_id, RC.c.name))
        for provider_id, name, used in rows:
            result[provider_id][name] = int(used)
    return result


def _device_rows(connection: Connection, hostname: str
                 ) -> list[dict[str, Any]]:
    rows = connection.execute(
        sa.select(DEVICES).where(DEVICES.c.hostname == hostname)
        .order_by(DEVICES.c.address))
    return [_device_row_values(row._mapping) for row in rows]


def _device_row_values(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in (
        "hostname", "address", "vendor_id", "product_id", "dev_type",
        "parent_addr", "numa_node", "provider_uuid", "resource_class",
        "tags", "assigned_to")}


def _read_host(connection: Connection, hostname: str, *,
               lock: bool = False) -> _StoredHost:
    """Read the host's state; ``lock`` takes the root row lock first, so
    concurrent syncs of one host queue up and each reads the state the
    previous one committed."""
    stored = _StoredHost()
    if lock:
        connection.execute(sa.select(RP.c.id).where(RP.c.name == hostname)
                           .with_for_update()).first()
    root = connection.execute(
        sa.select(RP.c.id, RP.c.uuid, RP.c.generation,
                  RP.c.parent_provider_id)
        .where(RP.c.name == hostname)).first()
    stored.device_rows = _device_rows(connection, hostname)
    if root is None:
        return stored
    if root.parent_provider_id is not None:
        raise errors.Conflict(
            f"resource provider {hostname} ({root.uuid}) exists but is not "
            "a root provider; it cannot be the host's root",
            code=provider_tree.HOST_INVALID)
    stored.root_id, stored.root_uuid = root.id, root.uuid
    stored.root_generation = root.generation
    stored.root_traits = frozenset(
        _traits_of(connection, [root.id]).get(root.id, set()))
    children = connection.execute(
        sa.select(RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation)
        .where(RP.c.parent_provider_id == root.id)).all()
    ids = [child.id for child in children]
    traits = _traits_of(connection, ids)
    recorded_types: dict[str, set[str]] = defaultdict(set)
    for row in stored.device_rows:
        if row["provider_uuid"]:
            recorded_types[row["provider_uuid"]].add(row["dev_type"])
    managed = [child for child in children
               if child.uuid in recorded_types
               or provider_diff.is_managed_provider(
                   hostname, child.name, frozenset(traits[child.id]))]
    ids = [child.id for child in managed]
    inventories = _inventories_of(connection, ids)
    usages = _usages_of(connection, ids)
    for child in managed:
        stored.provider_ids[child.name] = child.id
        stored.providers[child.name] = ExistingProvider(
            uuid=child.uuid, name=child.name, generation=child.generation,
            inventories=dict(inventories[child.id]),
            traits=frozenset(traits[child.id]),
            usages=dict(usages[child.id]),
            device_types=frozenset(recorded_types.get(child.uuid, ())))
    return stored


def _current_allocations(connection: Connection, stored: _StoredHost,
                         consumers: set[str]
                         ) -> dict[tuple[str, str], dict[str, int]]:
    names_by_id = {provider_id: name
                   for name, provider_id in stored.provider_ids.items()}
    result: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    if not consumers or not names_by_id:
        return result
    rows = connection.execute(
        sa.select(ALLOC.c.consumer_id, ALLOC.c.resource_provider_id,
                  RC.c.name, ALLOC.c.used)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.consumer_id.in_(consumers),
               ALLOC.c.resource_provider_id.in_(list(names_by_id))))
    for consumer, provider_id, name, used in rows:
        key = (consumer, names_by_id[provider_id])
        result[key][name] = result[key].get(name, 0) + used
    return result


# --- planning against the stored state ---------------------------------


def _planned_device_rows(planned: PlannedTree,
                         uuids: dict[str, str | None]
                         ) -> list[dict[str, Any]]:
    rows = []
    for device in planned.all_devices():
        metadata = device.metadata()
        rows.append({
            "hostname": planned.hostname,
            "address": metadata["address"],
            "vendor_id": metadata["vendor_id"],
            "product_id": metadata["product_id"],
            "dev_type": metadata["dev_type"],
            "parent_addr": metadata["parent_addr"],
            "numa_node": metadata["numa_node"],
            "provider_uuid": (uuids.get(device.provider_name)
                              if device.provider_name else None),
            "resource_class": metadata["resource_class"],
            "tags": json.dumps({key: metadata[key] for key in _TAG_KEYS},
                               sort_keys=True),
            "assigned_to": metadata["assigned_to"],
        })
    return rows


def _keep_claimed_assignments(connection: Connection,
                              rows: list[dict[str, Any]],
                              stored_rows: list[dict[str, Any]]
                              ) -> list[dict[str, Any]]:
    """A host that reports a device as free does not undo a claim: the
    stored holder stays while it still has an allocation on the device's
    provider (the host may simply not have attached the device yet)."""
    stored_holders = {row["address"]: row["assigned_to"] for row in stored_rows
                      if row.get("assigned_to")}
    unreported = [row for row in rows
                  if row["assigned_to"] is None and row["address"] in stored_holders
                  and row["provider_uuid"]]
    if not unreported:
        return rows
    allocated = set(connection.execute(
        sa.select(ALLOC.c.consumer_id, RP.c.uuid).distinct()
        .select_from(ALLOC.join(RP, ALLOC.c.resource_provider_id == RP.c.id))
        .where(RP.c.uuid.in_({row["provider_uuid"] for row in unreported}))).all())
    for row in unreported:
        holder = stored_holders[row["address"]]
        if (holder, row["provider_uuid"]) in allocated:
            row["assigned_to"] = holder
    return rows


@dataclass
class _Plan:
    planned: PlannedTree
    stored: _StoredHost
    changes: TreeChanges
    uuids: dict[str, str | None]
    device_rows: list[dict[str, Any]]

    @property
    def devices_changed(self) -> bool:
        return self.device_rows != self.stored.device_rows

    @property
    def changed(self) -> bool:
        return self.changes.changed or self.devices_changed


def _plan(connection: Connection, planned: PlannedTree, *,
          lock: bool = False) -> _Plan:
    stored = _read_host(connection, planned.hostname, lock=lock)
    consumers = {device.device.assigned_to
                 for provider in planned.providers
                 for device in provider.devices if device.device.assigned_to}
    allocations = _current_allocations(connection, stored, consumers)
    healing = provider_diff.plan_allocation_healing(planned, allocations)
    changes = provider_diff.compute_changes(
        planned, list(stored.providers.values()), stored.root_traits,
        healing)
    uuids: dict[str, str | None] = {
        change.name: change.uuid for change in changes.providers}
    return _Plan(planned, stored, changes, uuids, _keep_claimed_assignments(
        connection, _planned_device_rows(planned, uuids), stored.device_rows))


# --- writing -------------------------------------------------------------


def _ensure_names(connection: Connection, table: sa.Table,
                  wanted: set[str]) -> dict[str, int]:
    if not wanted:
        return {}
    column = table.c.name
    found = dict(connection.execute(
        sa.select(column, table.c.id).where(column.in_(wanted))).all())
    missing = sorted(wanted - set(found))
    if missing:
        now = common.utcnow()
        insert_ignoring_duplicates(connection, table, [
            {"name": name, "created_at": now, "updated_at": now}
            for name in missing])
        found = dict(connection.execute(
            sa.select(column, table.c.id).where(column.in_(wanted))).all())
    return found


def _insert_provider(connection: Connection, name: str,
                     parent_id: int | None, root_id: int | None) -> tuple[int, str]:
    taken = connection.execute(
        sa.select(RP.c.parent_provider_id).where(RP.c.name == name)).first()
    if taken is not None:
        if parent_id is None or taken.parent_provider_id == parent_id:
            # A concurrent sync of this host created it after we read:
            # run again, which then sees it.
            raise RetryTransaction(errors.Conflict(
                f"resource provider {name} was created concurrently; retry",
                code=errors.CONCURRENT_UPDATE))
        raise errors.Conflict(
            f"a resource provider named {name} already exists outside the "
            "host's tree", code=errors.DUPLICATE_NAME)
    uuid = str(uuid_module.uuid4())
    now = common.utcnow()
    new_id = connection.execute(RP.insert().values(
        uuid=uuid, name=name, generation=0, parent_provider_id=parent_id,
        root_provider_id=root_id, created_at=now, updated_at=now)
    ).inserted_primary_key[0]
    if root_id is None:
        connection.execute(sa.update(RP).where(RP.c.id == new_id)
                           .values(root_provider_id=new_id))
    return new_id, uuid


def _write_inventories(connection: Connection, provider_id: int,
                       inventories: dict[str, Inventory],
                       class_ids: dict[str, int]) -> None:
    connection.execute(sa.delete(INV).where(
        INV.c.resource_provider_id == provider_id))
    now = common.utcnow()
    rows = [{"resource_provider_id": provider_id,
             "resource_class_id": class_ids[name], **inventory.as_dict(),
             "created_at": now, "updated_at": now}
            for name, inventory in sorted(inventories.items())]
    if rows:
        connection.execute(sa.insert(INV), rows)


def _write_traits(connection: Connection, provider_id: int,
                  traits: frozenset[str], trait_ids: dict[str, int]) -> None:
    connection.execute(sa.delete(RP_TRAITS).where(
        RP_TRAITS.c.resource_provider_id == provider_id))
    now = common.utcnow()
    rows = [{"resource_provider_id": provider_id,
             "trait_id": trait_ids[name], "created_at": now,
             "updated_at": now} for name in sorted(traits)]
    if rows:
        connection.execute(sa.insert(RP_TRAITS), rows)


class _Generations:
    """Bumps each provider's generation at most once per transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.bumped: set[int] = set()

    def bump(self, provider_id: int, read_generation: int,
             uuid: str) -> None:
        if provider_id in self.bumped:
            return
        common.bump_generation(self.connection, provider_id,
                               read_generation, provider_uuid=uuid)
        self.bumped.add(provider_id)


def _apply(connection: Connection, plan: _Plan) -> list[dict[str, Any]]:
    changes, stored = plan.changes, plan.stored
    generations = _Generations(connection)
    wanted_classes = {name for change in changes.providers
                      for name in change.inventories}
    wanted_traits = set(changes.root_traits or ()) | {
        trait for change in changes.providers for trait in change.traits or ()}
    class_ids = _ensure_names(connection, RC, wanted_classes)
    trait_ids = _ensure_names(connection, TRAITS, wanted_traits)

    root_id, root_uuid = stored.root_id, stored.root_uuid
    if root_id is None:
        root_id, root_uuid = _insert_provider(
            connection, plan.planned.hostname, None, None)
        generations.bumped.add(root_id)  # new: nobody else can hold it
        if changes.root_traits:
            connection.execute(sa.update(RP).where(RP.c.id == root_id)
                               .values(generation=1))
    else:
        if changes.root_traits is not None:
            generations.bump(root_id, stored.root_generation, root_uuid)
    if changes.root_traits is not None:
        _write_traits(connection, root_id, changes.root_traits, trait_ids)

    provider_ids = dict(stored.provider_ids)
    for change in changes.providers:
        if change.action == provider_diff.UNCHANGED:
            continue
        if change.action == provider_diff.CREATE:
            provider_id, uuid = _insert_provider(
                connection, change.name, root_id, root_id)
            generations.bumped.add(provider_id)
            connection.execute(sa.update(RP).where(RP.c.id == provider_id)
                               .values(generation=1))
            provider_ids[change.name] = provider_id
            plan.uuids[change.name] = uuid
        else:
            provider_id = provider_ids[change.name]
            old = stored.providers[change.name]
            generations.bump(provider_id, old.generation, old.uuid)
        _write_inventories(connection, provider_id, change.inventories,
                           class_ids)
        if change.traits is not None:
            _write_traits(connection, provider_id, change.traits, trait_ids)

    healed = _heal(connection, plan, provider_ids, class_ids, generations)

    for change in changes.deleted:
        old = stored.providers[change.name]
        provider_id = provider_ids[change.name]
        if connection.execute(sa.select(RP.c.id).where(
                RP.c.parent_provider_id == provider_id).limit(1)).first():
            changes.warnings.append(
                f"provider {change.name} has child providers; not removed")
            continue
        generations.bump(provider_id, old.generation, old.uuid)
        for table in (INV, RP_TRAITS, tables.resource_provider_aggregates):
            connection.execute(sa.delete(table).where(
                table.c.resource_provider_id == provider_id))
        connection.execute(sa.update(RP).where(RP.c.id == provider_id)
                           .values(root_provider_id=None))
        connection.execute(sa.delete(RP).where(RP.c.id == provider_id))

    # New providers now have uuids, which the device rows refer to.
    device_rows = _keep_claimed_assignments(
        connection, _planned_device_rows(plan.planned, plan.uuids),
        stored.device_rows)
    if device_rows != stored.device_rows:
        connection.execute(sa.delete(DEVICES).where(
            DEVICES.c.hostname == plan.planned.hostname))
        now = common.utcnow()
        if device_rows:
            connection.execute(sa.insert(DEVICES), [
                {**row, "created_at": now, "updated_at": now}
                for row in device_rows])
    plan.device_rows = device_rows
    plan.uuids[plan.planned.hostname] = root_uuid
    return healed


def _heal(connection: Connection, plan: _Plan, provider_ids: dict[str, int],
          class_ids: dict[str, int], generations: _Generations
          ) -> list[dict[str, Any]]:
    healed = []
    by_consumer: dict[str, list[provider_diff.AllocationFix]] = defaultdict(list)
    for fix in plan.changes.healing:
        by_consumer[fix.consumer_uuid].append(fix)
    for consumer_uuid, fixes in sorted(by_consumer.items()):
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
                project_row_id=consumer_store.ensure_project(
                    connection, consumer.project_id),
                user_row_id=consumer_store.ensure_user(
                    connection, consumer.user_id),
                consumer_type_row_id=None)
        now = common.utcnow()
        for fix in fixes:
            provider_id = provider_ids[fix.provider_name]
            old = plan.stored.providers.get(fix.provider_name)
            if old is not None:
                generations.bump(provider_id, old.generation, old.uuid)
            class_id = class_ids[fix.resource_class]
            connection.execute(sa.delete(ALLOC).where(
                ALLOC.c.consumer_id == consumer_uuid,
                ALLOC.c.resource_provider_id == provider_id,
                ALLOC.c.resource_class_id == class_id))
            connection.execute(sa.insert(ALLOC).values(
                resource_provider_id=provider_id, consumer_id=consumer_uuid,
                resource_class_id=class_id, used=fix.used, created_at=now,
                updated_at=now))
            healed.append(_fix_view(fix, plan.uuids.get(fix.provider_name)))
    return healed


def _fix_view(fix: provider_diff.AllocationFix,
              provider_uuid: str | None) -> dict[str, Any]:
    return {"consumer_uuid": fix.consumer_uuid,
            "provider_name": fix.provider_name,
            "resource_provider_uuid": provider_uuid,
            "resource_class": fix.resource_class,
            "used": fix.used, "previous": fix.previous}


# --- rendering -----------------------------------------------------------


def _device_view(row: dict[str, Any]) -> dict[str, Any]:
    tags = json.loads(row["tags"] or "{}")
    view = {key: row[key] for key in (
        "address", "dev_type", "vendor_id", "product_id", "parent_addr",
        "numa_node", "resource_class", "assigned_to", "provider_uuid")}
    view.update({key: tags.get(key) for key in _TAG_KEYS})
    return view


def _provider_view(name: str, uuid: str | None, root_uuid: str | None,
                   generation: int | None,
                   inventories: dict[str, Inventory],
                   traits: frozenset[str] | None,
                   devices: list[dict[str, Any]],
                   mdev_type: str | None = None) -> dict[str, Any]:
    view = {
        "uuid": uuid, "name": name, "parent_provider_uuid": root_uuid,
        "generation": generation,
        "inventories": {rc: inventory.as_dict()
                        for rc, inventory in sorted(inventories.items())},
        "traits": sorted(traits or ()),
        "devices": devices,
    }
    if mdev_type is not None:
        view["mdev_type"] = mdev_type
    return view


def _render(connection: Connection, plan: _Plan, *, dry_run: bool,
            healed: list[dict[str, Any]]) -> HostTree:
    hostname = plan.planned.hostname
    root_uuid = plan.uuids.get(hostname) or plan.stored.root_uuid
    names = [change.name for change in plan.changes.providers]
    generations: dict[str, int] = {}
    if names:
        generations = dict(connection.execute(
            sa.select(RP.c.name, RP.c.generation)
            .where(RP.c.name.in_(names))).all())
    holders = {row["address"]: row["assigned_to"] for row in plan.device_rows}
    providers = []
    for change in plan.changes.providers:
        uuid = plan.uuids.get(change.name)
        old = plan.stored.providers.get(change.name)
        traits = change.traits if change.traits is not None else (
            old.traits if old else frozenset())
        planned = change.planned
        devices = []
        for device in (planned.devices if planned else []):
            view = dict(device.metadata(), provider_uuid=uuid)
            view["assigned_to"] = holders.get(view["address"], view["assigned_to"])
            devices.append(view)
        mdev = planned.mdev if planned else None
        providers.append(_provider_view(
            change.name, uuid, root_uuid,
            generations.get(change.name) if uuid else None,
            change.inventories, traits, devices,
            mdev.mdev_type if mdev else None))
    root_traits = plan.changes.root_traits
    if root_traits is None:
        root_traits = plan.stored.root_traits or frozenset()
    return HostTree(
        hostname=hostname,
        root_provider={"uuid": root_uuid, "name": hostname},
        providers=providers, root_traits=sorted(root_traits),
        devices_without_provider=[
            dict(device.metadata(), provider_uuid=None)
            for device in plan.planned.devices_without_provider],
        healed_allocations=healed,
        warnings=plan.planned.warnings + plan.changes.warnings,
        changed=plan.changed, dry_run=dry_run)


# --- entry points ----------------------------------------------------------


def sync_host(database: Database, hostname: str, body: object, *,
              dry_run: bool = False) -> HostTree:
    """Apply (or with ``dry_run`` only compute) a host's reported devices.

    Raises BadRequest for invalid input and the refusals of spec §3,
    Conflict for an allocated PF<->VF change, a provider name taken
    outside the tree, or a lost generation race.
    """
    planned = provider_tree.plan_host_request(hostname, body)
    if dry_run:
        def preview(connection: Connection) -> HostTree:
            plan = _plan(connection, planned)
            healed = [_fix_view(fix, plan.uuids.get(fix.provider_name))
                      for fix in plan.changes.healing]
            return _render(connection, plan, dry_run=True, healed=healed)
        return database.run_read(preview)

    def apply(connection: Connection) -> HostTree:
        plan = _plan(connection, planned, lock=True)
        try:
            healed = _apply(connection, plan) if plan.changed else []
        except sa.exc.IntegrityError as error:
            # A concurrent sync created the same root/provider/name first:
            # run again, which then sees its rows.
            raise RetryTransaction(errors.Conflict(
                f"host {hostname} was changed concurrently; retry",
                code=errors.CONCURRENT_UPDATE)) from error
        return _render(connection, plan, dry_run=False, healed=healed)

    return database.run_write(apply)


def get_host(database: Database, hostname: str) -> HostTree:
    """The host's stored tree (404 when the host has never been synced)."""
    def read(connection: Connection) -> HostTree:
        stored = _read_host(connection, hostname)
        if stored.root_id is None and not stored.device_rows:
            raise errors.NotFound(f"No PCI host {hostname} found",
                                  code=errors.PROVIDER_NOT_FOUND)
        devices_by_provider: dict[str | None, list[dict[str, Any]]] = \
            defaultdict(list)
        for row in stored.device_rows:
            devices_by_provider[row["provider_uuid"]].append(
                _device_view(row))
        providers = [
            _provider_view(name, existing.uuid, stored.root_uuid,
                           existing.generation, existing.inventories,
                           existing.traits,
                           devices_by_provider.get(existing.uuid, []))
            for name, existing in sorted(stored.providers.items())]
        return HostTree(
            hostname=hostname,
            root_provider=({"uuid": stored.root_uuid, "name": hostname}
                           if stored.root_uuid else None),
            providers=providers,
            root_traits=sorted(stored.root_traits or ()),
            devices_without_provider=devices_by_provider.get(None, []))
    return database.run_read(read)
