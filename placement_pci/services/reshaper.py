"""POST /reshaper: replace providers' inventories and the allocations of the
consumers on them in one transaction (e.g. moving VCPU from a compute node
to a new NUMA child provider with the instances' allocations).

Inventories change in two steps around the claim, as in Placement: first
the union of old and new inventory (so allocations can land on new
classes while old ones still exist), then exactly the new inventory (which
refuses to drop classes that still hold allocations).  Locks follow the
claim's order: consumers, then providers by id.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db.engine import Database
from placement_pci.inventory import Inventory
from placement_pci.store import allocations as allocation_store
from placement_pci.store import ledger
from placement_pci.store.allocations import ConsumerAllocations
from placement_pci.store.inventories import load_inventories, replace_inventories_locked
from placement_pci.store.providers import Provider, load_provider, lock_provider


@dataclasses.dataclass(frozen=True)
class ProviderInventories:
    """The whole new inventory of one provider, at the generation the
    caller last saw."""

    provider_uuid: str
    expected_generation: int
    inventories: Mapping[str, Inventory]


def reshape(database: Database, inventories: Sequence[ProviderInventories],
            consumer_allocations: Sequence[ConsumerAllocations], *,
            context: RequestContext) -> None:
    """Apply the reshape atomically or not at all."""

    def run(connection: Connection) -> None:
        providers = _check_inventory_providers(connection, inventories)
        plan = allocation_store.prepare_claim(connection, consumer_allocations,
                                              context=context, action=ledger.RESHAPE)
        _lock(connection, plan, providers, inventories)
        for new in inventories:
            if new.inventories:
                provider = load_provider(connection, new.provider_uuid)
                interim = {**load_inventories(connection, provider.id), **new.inventories}
                _replace(connection, provider, interim)
        allocation_store.check_and_write(connection, plan)
        for new in inventories:
            _replace(connection, load_provider(connection, new.provider_uuid),
                     new.inventories)

    database.run_write(run)


def _check_inventory_providers(connection: Connection,
                               inventories: Sequence[ProviderInventories]) -> dict[str, int]:
    """uuid -> id; 400 for unknown providers, 409 for stale generations."""
    found = {}
    for new in inventories:
        try:
            provider = load_provider(connection, new.provider_uuid)
        except errors.NotFound:
            raise errors.BadRequest(
                f"Resource provider {new.provider_uuid} in inventories not found: "
                f"No resource provider with uuid {new.provider_uuid} found",
                code=errors.PROVIDER_NOT_FOUND) from None
        _check_generation(new, provider.generation)
        found[new.provider_uuid] = provider.id
    return found


def _check_generation(new: ProviderInventories, actual: int) -> None:
    if actual != new.expected_generation:
        raise errors.Conflict(
            f"resource provider generation conflict for provider {new.provider_uuid}: "
            f"actual: {actual}, given: {new.expected_generation}",
            code=errors.CONCURRENT_UPDATE)


def _lock(connection: Connection, plan: allocation_store.ClaimPlan,
          provider_ids: Mapping[str, int],
          inventories: Sequence[ProviderInventories]) -> None:
    """Lock every provider in id order: the claim's providers with the
    generation compare-and-swap (asserting the caller's generation where it
    gave one), the others with SELECT ... FOR UPDATE and a check."""
    expected = {provider_ids[new.provider_uuid]: new for new in inventories}
    claimed = plan.claimed_provider_ids
    uuids = {i: u for u, i in {**plan.provider_ids, **provider_ids}.items()}
    for provider_id in sorted(claimed | set(expected)):
        if provider_id in claimed:
            asserted = ({provider_id: expected[provider_id].expected_generation}
                        if provider_id in expected else None)
            allocation_store.lock_providers(
                connection, [provider_id],
                expected_generations=asserted, provider_uuids=uuids)
        else:
            new = expected[provider_id]
            _check_generation(new, lock_provider(connection, new.provider_uuid).generation)


def _replace(connection: Connection, provider: Provider, new: Mapping[str, Inventory]) -> None:
    replace_inventories_locked(connection, provider, new, reserved_may_equal_total=True)
