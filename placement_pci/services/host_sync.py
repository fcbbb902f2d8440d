"""Apply a host's planned PCI provider tree to the database.

``sync_host`` plans the tree (pure code in ``placement_pci.pci``), reads
the host's current providers, computes the changes and, unless it is a dry
run, writes them in ONE write transaction: the root provider, the device
providers with their inventories and traits, healed allocations of devices
the host reports as assigned, and the host's ``pci_devices`` rows.

This module only orchestrates: the planning and the diff are pure
(``pci/provider_tree.py``, ``pci/provider_diff.py``) and every write goes
through the core store's locked operations (create/delete provider,
replace inventories, set traits, write allocations), so the rules that
protect inventories in use hold for host syncs too.  Every provider write
bumps its generation with a compare-and-swap; a lost race is a 409
``placement.concurrent_update`` and nothing is written.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db.engine import Database, RetryTransaction
from placement_pci.inventory import Inventory
from placement_pci.pci import provider_diff, provider_tree
from placement_pci.pci.provider_diff import ExistingProvider, TreeChanges
from placement_pci.pci.provider_tree import PlannedTree
from placement_pci.store import allocations as allocation_store
from placement_pci.store import claims as claim_store
from placement_pci.store import common, ledger
from placement_pci.store import inventories as inventory_store
from placement_pci.store import pci_devices as device_store
from placement_pci.store import providers as provider_store
from placement_pci.store import resource_classes as resource_class_store
from placement_pci.store import traits as trait_store
from placement_pci.store import usages as usage_store
from placement_pci.store.providers import Provider

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

    root: Provider | None = None
    root_traits: frozenset[str] | None = None
    providers: dict[str, ExistingProvider] = field(default_factory=dict)
    records: dict[str, Provider] = field(default_factory=dict)
    device_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root_uuid(self) -> str | None:
        return self.root.uuid if self.root is not None else None


# --- reading -----------------------------------------------------------


def _read_host(connection: Connection, hostname: str, *,
               lock: bool = False) -> _StoredHost:
    """Read the host's state; ``lock`` takes the root row lock first, so
    concurrent syncs of one host queue up and each reads the state the
    previous one committed."""
    stored = _StoredHost()
    root = provider_store.provider_named(connection, hostname, lock=lock)
    stored.device_rows = device_store.host_devices(connection, hostname)
    if root is None:
        return stored
    if root.parent_provider_uuid is not None:
        raise errors.Conflict(
            f"resource provider {hostname} ({root.uuid}) exists but is not "
            "a root provider; it cannot be the host's root",
            code=provider_tree.HOST_INVALID)
    stored.root = root
    children = provider_store.children_of(connection, root.id)
    traits = trait_store.traits_of(connection, [root.id] + [c.id for c in children])
    stored.root_traits = traits[root.id]
    recorded_types: dict[str, set[str]] = defaultdict(set)
    for row in stored.device_rows:
        if row["provider_uuid"]:
            recorded_types[row["provider_uuid"]].add(row["dev_type"])
    managed = [child for child in children
               if child.uuid in recorded_types
               or provider_diff.is_managed_provider(hostname, child.name, traits[child.id])]
    ids = [child.id for child in managed]
    inventories = inventory_store.inventories_of(connection, ids)
    usages = usage_store.usages_of(connection, ids)
    for child in managed:
        stored.records[child.name] = child
        stored.providers[child.name] = ExistingProvider(
            uuid=child.uuid, name=child.name, generation=child.generation,
            inventories=inventories[child.id], traits=traits[child.id],
            usages=usages[child.id],
            device_types=frozenset(recorded_types.get(child.uuid, ())))
    return stored


def _current_allocations(connection: Connection, stored: _StoredHost,
                         consumers: set[str]
                         ) -> dict[tuple[str, str], dict[str, int]]:
    """(consumer, provider name) -> its amounts there, for the consumers
    the host reports as using devices."""
    names_by_id = {record.id: name for name, record in stored.records.items()}
    found = allocation_store.allocations_on(connection, consumers, names_by_id)
    return {(consumer, names_by_id[provider_id]): amounts
            for (consumer, provider_id), amounts in found.items()}


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


def _device_rows(connection: Connection, plan: _Plan) -> list[dict[str, Any]]:
    """The host's device rows as they should be stored, once every
    provider has its uuid.

    A host that reports a device as free does not undo an assignment it
    reported before: the stored holder stays while it still has an
    allocation on the device's provider (the host may simply not have
    attached the device yet).
    """
    rows = _planned_device_rows(plan.planned, plan.uuids)
    stored_holders = {row["address"]: row["assigned_to"]
                      for row in plan.stored.device_rows if row.get("assigned_to")}
    unreported = [row for row in rows
                  if row["assigned_to"] is None and row["address"] in stored_holders
                  and row["provider_uuid"]]
    if unreported:
        holders = allocation_store.consumers_on_providers(
            connection, {row["provider_uuid"] for row in unreported})
        for row in unreported:
            holder = stored_holders[row["address"]]
            if holder in holders.get(row["provider_uuid"], ()):
                row["assigned_to"] = holder
    return rows


@dataclass
class _Plan:
    planned: PlannedTree
    stored: _StoredHost
    changes: TreeChanges
    uuids: dict[str, str | None]
    device_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def devices_changed(self) -> bool:
        return self.device_rows != self.stored.device_rows

    @property
    def changed(self) -> bool:
        return self.changes.changed or self.devices_changed


def _plan(connection: Connection, planned: PlannedTree, *,
          lock: bool = False) -> _Plan:
    """Read the host's state and diff it with the planned tree (pure
    rules in pci/provider_diff.py); nothing is written."""
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
    uuids[planned.hostname] = stored.root_uuid
    return _Plan(planned, stored, changes, uuids)


# --- writing -------------------------------------------------------------


class _Generations:
    """Bumps each provider's generation at most once per transaction: the
    compare-and-swap against the generation read by the plan both detects
    a writer that committed since and takes the provider's row lock that
    the store's ``*_locked`` operations require."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.bumped: set[int] = set()

    def bump(self, provider: Provider) -> None:
        if provider.id in self.bumped:
            return
        common.bump_generation(self.connection, provider.id, provider.generation,
                               provider_uuid=provider.uuid)
        self.bumped.add(provider.id)


def _create_provider(connection: Connection, name: str,
                     parent: Provider | None) -> Provider:
    taken = provider_store.provider_named(connection, name)
    if taken is not None:
        if parent is None or taken.parent_provider_uuid == parent.uuid:
            # A concurrent sync of this host created it after we read:
            # run again, which then sees it.
            raise RetryTransaction(errors.Conflict(
                f"resource provider {name} was created concurrently; retry",
                code=errors.CONCURRENT_UPDATE))
        raise errors.Conflict(
            f"a resource provider named {name} already exists outside the "
            "host's tree", code=errors.DUPLICATE_NAME)
    return provider_store.create_provider_locked(connection, name=name, parent=parent)


def _apply(connection: Connection, plan: _Plan,
           context: RequestContext) -> list[dict[str, Any]]:
    """Write the plan with the store's locked operations, in one
    transaction: root, device providers (inventories, traits), healed
    allocations, removed providers, then the device rows (computed once
    the new providers have uuids).  Returns the healed allocations."""
    changes, stored = plan.changes, plan.stored
    generations = _Generations(connection)
    resource_class_store.ensure_resource_classes(
        connection, {name for change in changes.providers for name in change.inventories})
    trait_store.ensure_traits(connection, set(changes.root_traits or ()) | {
        trait for change in changes.providers for trait in change.traits or ()})

    root = stored.root
    if root is None:
        root = _create_provider(connection, plan.planned.hostname, None)
    if changes.root_traits is not None:
        generations.bump(root)
        trait_store.set_traits_locked(connection, root, changes.root_traits, bump=False)
    plan.uuids[plan.planned.hostname] = root.uuid

    records = dict(stored.records)
    for change in changes.providers:
        if change.action == provider_diff.UNCHANGED:
            continue
        if change.action == provider_diff.CREATE:
            records[change.name] = _create_provider(connection, change.name, root)
            plan.uuids[change.name] = records[change.name].uuid
        provider = records[change.name]
        generations.bump(provider)
        inventory_store.replace_inventories_locked(
            connection, provider, change.inventories, reserved_may_equal_total=True,
            bump=False)
        if change.traits is not None:
            trait_store.set_traits_locked(connection, provider, change.traits, bump=False)

    healed = _heal(connection, plan, records, generations, context)

    for change in changes.deleted:
        provider = records[change.name]
        if provider_store.has_children(connection, provider.id):
            changes.warnings.append(
                f"provider {change.name} has child providers; not removed")
            continue
        generations.bump(provider)
        provider_store.delete_provider_locked(connection, provider)

    plan.device_rows = _device_rows(connection, plan)
    if plan.devices_changed:
        device_store.replace_host_devices(connection, plan.planned.hostname,
                                          plan.device_rows)
    return healed


def _heal(connection: Connection, plan: _Plan, records: dict[str, Provider],
          generations: _Generations, context: RequestContext) -> list[dict[str, Any]]:
    healed: list[dict[str, Any]] = []
    by_consumer: dict[str, list[provider_diff.AllocationFix]] = defaultdict(list)
    for fix in plan.changes.healing:
        by_consumer[fix.consumer_uuid].append(fix)
    for consumer_uuid, fixes in sorted(by_consumer.items()):
        for fix in fixes:
            generations.bump(records[fix.provider_name])
        allocation_store.write_allocation_amounts_locked(connection, consumer_uuid, {
            (records[fix.provider_name].id, fix.resource_class): fix.used for fix in fixes},
            context=context, action=ledger.HOST_SYNC_HEAL)
        healed.extend(_fix_view(fix, plan.uuids.get(fix.provider_name)) for fix in fixes)
    return healed


def _fix_view(fix: provider_diff.AllocationFix,
              provider_uuid: str | None) -> dict[str, Any]:
    return {"consumer_uuid": fix.consumer_uuid,
            "provider_name": fix.provider_name,
            "resource_provider_uuid": provider_uuid,
            "resource_class": fix.resource_class,
            "used": fix.used, "previous": fix.previous}


# --- rendering -----------------------------------------------------------


def _holders(connection: Connection, hostname: str,
             device_rows: list[dict[str, Any]]) -> dict[str, str | None]:
    """Address -> who uses the device: the consumer whose claim holds it
    (the claims tables are the source of truth), else the consumer the
    host reports."""
    claimed = claim_store.holders_on_host(connection, hostname)
    return {row["address"]: claimed.get(row["address"]) or row["assigned_to"]
            for row in device_rows}


def _device_view(row: dict[str, Any], holder: str | None) -> dict[str, Any]:
    tags = json.loads(row["tags"] or "{}")
    view = {key: row[key] for key in (
        "address", "dev_type", "vendor_id", "product_id", "parent_addr",
        "numa_node", "resource_class", "provider_uuid")}
    view["assigned_to"] = holder
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
    root_uuid = plan.uuids.get(hostname)
    generations = {name: record.generation for name, record in
                   provider_store.providers_named(
                       connection, [change.name for change in plan.changes.providers]).items()}
    holders = _holders(connection, hostname, plan.device_rows)
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
            view["assigned_to"] = holders.get(view["address"])
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


def sync_host(database: Database, hostname: str, body: Mapping[str, Any], *,
              context: RequestContext, dry_run: bool = False) -> HostTree:
    """Apply (or with ``dry_run`` only compute) a host's reported devices.

    ``context`` is the caller the ledger records for healed allocations.

    Raises BadRequest for invalid input and the refusals of spec §3,
    Conflict for an allocated PF<->VF change, a provider name taken
    outside the tree, or a lost generation race.
    """
    planned = provider_tree.plan_host_request(hostname, body)
    if dry_run:
        def preview(connection: Connection) -> HostTree:
            plan = _plan(connection, planned)
            plan.device_rows = _device_rows(connection, plan)
            healed = [_fix_view(fix, plan.uuids.get(fix.provider_name))
                      for fix in plan.changes.healing]
            return _render(connection, plan, dry_run=True, healed=healed)
        return database.run_read(preview)

    def apply(connection: Connection) -> HostTree:
        plan = _plan(connection, planned, lock=True)
        try:
            healed = _apply(connection, plan, context)
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
        if stored.root is None and not stored.device_rows:
            raise errors.NotFound(f"No PCI host {hostname} found",
                                  code=errors.PROVIDER_NOT_FOUND)
        holders = _holders(connection, hostname, stored.device_rows)
        devices_by_provider: dict[str | None, list[dict[str, Any]]] = \
            defaultdict(list)
        for row in stored.device_rows:
            devices_by_provider[row["provider_uuid"]].append(
                _device_view(row, holders[row["address"]]))
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
