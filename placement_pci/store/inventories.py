"""Inventories of a resource provider: read, add one, update one, replace
all, delete one or all.  Every change bumps the provider's generation in
the same transaction; removing a class that has allocations is refused
(shrinking below usage is allowed and logged, as Placement does)."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.inventory import FIELDS, Inventory
from placement_pci.store import capacity, common
from placement_pci.store.providers import Provider, load_provider, lock_provider

LOG = logging.getLogger(__name__)
T = TypeVar("T")
INV = tables.inventories
RC = tables.resource_classes

class InvalidCapacity(errors.BadRequest):
    """reserved is too large for total; callers prefix their context."""


def check_capacity(inventory: Inventory, provider_uuid: str, *,
                   reserved_may_equal_total: bool) -> None:
    """Placement refuses reserved >= total (reserved > total from 1.26)."""
    if reserved_may_equal_total:
        if inventory.reserved > inventory.total:
            raise InvalidCapacity(
                f"Invalid inventory for '{inventory.resource_class}' on resource provider "
                f"'{provider_uuid}'. The reserved value is greater than total.")
    elif inventory.reserved >= inventory.total:
        raise InvalidCapacity(
            f"Invalid inventory for '{inventory.resource_class}' on resource provider "
            f"'{provider_uuid}'. The reserved value is greater than or equal to total.")


def inventories_of(connection: Connection, provider_ids: Iterable[int]
                   ) -> dict[int, dict[str, Inventory]]:
    """Provider id -> {class name: inventory} for every provider given
    (an empty map for providers without inventory), in one query."""
    wanted = sorted(set(provider_ids))
    result: dict[int, dict[str, Inventory]] = {provider_id: {} for provider_id in wanted}
    if not wanted:
        return result
    rows = connection.execute(
        sa.select(INV.c.resource_provider_id, RC.c.name, *[INV.c[name] for name in FIELDS],
                  INV.c.created_at, INV.c.updated_at)
        .select_from(INV.join(RC, INV.c.resource_class_id == RC.c.id))
        .where(INV.c.resource_provider_id.in_(wanted)).order_by(RC.c.name))
    for row in rows:
        result[row.resource_provider_id][row.name] = Inventory(
            resource_class=row.name,
            **{name: row._mapping[name] for name in FIELDS},
            updated_at=row.updated_at or row.created_at)
    return result


def load_inventories(connection: Connection, provider_id: int) -> dict[str, Inventory]:
    return inventories_of(connection, [provider_id])[provider_id]


def get_inventories(database: Database, provider_uuid: str
                    ) -> tuple[Provider, dict[str, Inventory]]:
    def read(connection: Connection) -> tuple[Provider, dict[str, Inventory]]:
        provider = load_provider(connection, provider_uuid)
        return provider, load_inventories(connection, provider.id)
    return database.run_read(read)


def _class_id(connection: Connection, name: str) -> int | None:
    return common.resource_class_ids(connection, [name]).get(name)


def _in_use(connection: Connection, provider_id: int, class_ids: list[int]) -> list[int]:
    alloc = tables.allocations
    return list(connection.execute(
        sa.select(alloc.c.resource_class_id).distinct()
        .where(alloc.c.resource_provider_id == provider_id,
               alloc.c.resource_class_id.in_(class_ids))).scalars())


def _warn_over_capacity(connection: Connection, provider: Provider,
                        inventories: Mapping[str, Inventory], class_ids: Mapping[str, int]) -> None:
    usage = capacity.usage_by_class_id(connection, provider.id)
    for name, inventory in inventories.items():
        if usage.get(class_ids[name], 0) > inventory.capacity:
            LOG.warning("Resource provider %s is now over-capacity for %s",
                        provider.uuid, name)


def add_inventory(database: Database, provider_uuid: str, inventory: Inventory, *,
                  reserved_may_equal_total: bool) -> tuple[int, Inventory]:
    """Add one class not yet inventoried; return (new generation, inventory)."""

    def add(connection: Connection) -> tuple[int, Inventory]:
        provider = lock_provider(connection, provider_uuid)
        prefix = f"Unable to create inventory for resource provider {provider.uuid}: "
        try:
            check_capacity(inventory, provider.uuid,
                           reserved_may_equal_total=reserved_may_equal_total)
        except InvalidCapacity as error:
            raise errors.BadRequest(prefix + error.detail) from None
        class_id = _class_id(connection, inventory.resource_class)
        if class_id is None:
            raise errors.BadRequest(
                prefix + f"No such resource class {inventory.resource_class}.")
        if connection.execute(sa.select(INV.c.id).where(
                INV.c.resource_provider_id == provider.id,
                INV.c.resource_class_id == class_id)).first():
            raise errors.Conflict(
                f"Update conflict: Inventory for '{inventory.resource_class}' on resource "
                f"provider '{provider.uuid}' already exists.",
                code=errors.CONCURRENT_UPDATE)
        now = common.utcnow()
        connection.execute(INV.insert().values(
            resource_provider_id=provider.id, resource_class_id=class_id,
            created_at=now, updated_at=now, **inventory.as_dict()))
        generation = common.bump_generation(connection, provider.id, provider.generation,
                                            provider_uuid=provider.uuid)
        return generation, inventory

    return _run_write(database, add)


def _run_write(database: Database, operation: Callable[[Connection], T]) -> T:
    """run_write, with a concurrently deleted resource class (a foreign
    key failure) reported as a conflict to retry rather than a 500."""
    try:
        return database.run_write(operation)
    except sa.exc.IntegrityError:
        raise errors.Conflict("Update conflict: a resource class or provider used by "
                              "this inventory changed concurrently; retry.",
                              code=errors.CONCURRENT_UPDATE) from None


def _generation_conflict() -> errors.Conflict:
    return errors.Conflict("resource provider generation conflict",
                           code=errors.CONCURRENT_UPDATE)


def update_inventory(database: Database, provider_uuid: str, expected_generation: int,
                     inventory: Inventory, *, reserved_may_equal_total: bool
                     ) -> tuple[int, Inventory]:
    """Change one existing class's inventory."""

    def update(connection: Connection) -> tuple[int, Inventory]:
        provider = lock_provider(connection, provider_uuid)
        if provider.generation != expected_generation:
            raise _generation_conflict()
        _check_for_update(inventory, provider, reserved_may_equal_total)
        class_id = _class_id(connection, inventory.resource_class)
        if class_id is None or connection.execute(sa.update(INV).where(
                INV.c.resource_provider_id == provider.id,
                INV.c.resource_class_id == class_id).values(
                    updated_at=common.utcnow(), **inventory.as_dict())).rowcount == 0:
            raise errors.BadRequest(
                "No inventory record with resource class for resource provider "
                f"{provider.uuid}: No inventory of class {inventory.resource_class} found.")
        _warn_over_capacity(connection, provider, {inventory.resource_class: inventory},
                            {inventory.resource_class: class_id})
        generation = common.bump_generation(connection, provider.id, provider.generation,
                                            provider_uuid=provider.uuid)
        return generation, inventory

    return _run_write(database, update)


def _check_for_update(inventory: Inventory, provider: Provider,
                      reserved_may_equal_total: bool) -> None:
    """400 with Placement's wording when an updated inventory is invalid."""
    try:
        check_capacity(inventory, provider.uuid,
                       reserved_may_equal_total=reserved_may_equal_total)
    except InvalidCapacity as error:
        raise errors.BadRequest(
            f"Unable to update inventory for resource provider {provider.uuid}: "
            + error.detail) from None


def replace_inventories_locked(connection: Connection, provider: Provider,
                               inventories: Mapping[str, Inventory], *,
                               reserved_may_equal_total: bool,
                               in_use_message_prefix: str = "update conflict: ",
                               bump: bool = True) -> int:
    """Make ``inventories`` the provider's whole inventory and (unless
    ``bump`` is false: the caller bumped it already in this transaction)
    bump its generation; the caller holds the provider lock and checked
    the generation.  Refuses (409 inventory in use) to drop a class that
    has allocations; shrinking below usage is logged.  Used by PUT and
    DELETE .../inventories, the reshaper and the PCI host sync.  Returns
    the provider's generation afterwards."""
    inventories = {name: dataclasses.replace(inventory, resource_class=name)
                   for name, inventory in inventories.items()}
    for inventory in inventories.values():
        _check_for_update(inventory, provider, reserved_may_equal_total)
    class_ids = common.resource_class_ids(connection, inventories)
    unknown = common.missing(inventories, class_ids)
    if unknown:
        raise errors.BadRequest(
            "Unknown resource class in inventory for resource provider "
            f"{provider.uuid}: No such resource class {unknown[0]}.")
    current = dict(connection.execute(
        sa.select(RC.c.name, INV.c.resource_class_id)
        .select_from(INV.join(RC, INV.c.resource_class_id == RC.c.id))
        .where(INV.c.resource_provider_id == provider.id)).all())
    removed = {name: class_id for name, class_id in current.items() if name not in inventories}
    if removed:
        busy = set(_in_use(connection, provider.id, list(removed.values())))
        if busy:
            # Class id order: standard classes in os-resource-classes order,
            # which is the order Placement names them in this message.
            names = ", ".join(sorted((n for n, i in removed.items() if i in busy),
                                     key=removed.__getitem__))
            raise errors.Conflict(
                f"{in_use_message_prefix}Inventory for '{names}' on resource provider "
                f"'{provider.uuid}' in use.", code=errors.INVENTORY_INUSE)
        connection.execute(sa.delete(INV).where(
            INV.c.resource_provider_id == provider.id,
            INV.c.resource_class_id.in_(list(removed.values()))))
    now = common.utcnow()
    for name, inventory in inventories.items():
        if name in current:
            connection.execute(sa.update(INV).where(
                INV.c.resource_provider_id == provider.id,
                INV.c.resource_class_id == class_ids[name]).values(
                    updated_at=now, **inventory.as_dict()))
        else:
            connection.execute(INV.insert().values(
                resource_provider_id=provider.id, resource_class_id=class_ids[name],
                created_at=now, updated_at=now, **inventory.as_dict()))
    _warn_over_capacity(connection, provider, inventories, class_ids)
    if not bump:
        return provider.generation
    return common.bump_generation(connection, provider.id, provider.generation,
                                  provider_uuid=provider.uuid)


def replace_inventories(database: Database, provider_uuid: str, expected_generation: int,
                        inventories: Mapping[str, Inventory], *,
                        reserved_may_equal_total: bool) -> tuple[int, dict[str, Inventory]]:
    def replace(connection: Connection) -> tuple[int, dict[str, Inventory]]:
        provider = lock_provider(connection, provider_uuid)
        if provider.generation != expected_generation:
            raise _generation_conflict()
        generation = replace_inventories_locked(
            connection, provider, inventories,
            reserved_may_equal_total=reserved_may_equal_total)
        return generation, dict(inventories)

    return _run_write(database, replace)


def delete_all_inventories(database: Database, provider_uuid: str) -> None:
    def delete(connection: Connection) -> None:
        provider = lock_provider(connection, provider_uuid)
        replace_inventories_locked(connection, provider, {}, reserved_may_equal_total=True,
                                   in_use_message_prefix="")

    _run_write(database, delete)


def delete_inventory(database: Database, provider_uuid: str, resource_class: str) -> None:
    def delete(connection: Connection) -> None:
        provider = lock_provider(connection, provider_uuid)
        class_id = _class_id(connection, resource_class)
        if class_id is not None and _in_use(connection, provider.id, [class_id]):
            raise errors.Conflict(
                f"Unable to delete inventory of class {resource_class}: Inventory for "
                f"'{resource_class}' on resource provider '{provider.uuid}' in use.",
                code=errors.INVENTORY_INUSE)
        deleted = 0
        if class_id is not None:
            deleted = connection.execute(sa.delete(INV).where(
                INV.c.resource_provider_id == provider.id,
                INV.c.resource_class_id == class_id)).rowcount
        if not deleted:
            raise errors.NotFound(
                f"No inventory of class {resource_class} found for delete: "
                f"No inventory of class {resource_class} found.")
        common.bump_generation(connection, provider.id, provider.generation,
                               provider_uuid=provider.uuid)

    _run_write(database, delete)
