"""Planned tree vs. current state -> the changes to apply (pure).

The current state comes in as plain data (providers under the host's root
with inventories, traits, usages and the device types recorded for them),
so the rules live here and the store only executes the result:

- a class's total is the number of matched devices, raised to its usage
  when allocations exceed it (with a warning);
- an operator-set ``reserved`` is kept; an allocated one-time-use device
  gets ``reserved = total``;
- unallocated providers that no device explains are removed, allocated
  ones are kept at their usage (with a warning);
- turning an allocated PF provider into a VF provider or back is refused.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import os_traits

from placement_pci import errors
from placement_pci.inventory import Inventory
from placement_pci.pci import host_devices, viommu
from placement_pci.pci import provider_tree as tree_module
from placement_pci.pci.provider_tree import PlannedProvider, PlannedTree

ALLOCATED_PF_VF_CHANGE = "placement_pci.allocated_pf_vf_change"
ROOT_OWNER_TRAIT = os_traits.OWNER_NOVA

CREATE = "create"
UPDATE = "update"
UNCHANGED = "unchanged"
DELETE = "delete"


@dataclass(frozen=True)
class ExistingProvider:
    """A provider under the host's root as it is stored now."""

    uuid: str
    name: str
    generation: int
    inventories: dict[str, Inventory] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    usages: dict[str, int] = field(default_factory=dict)
    # dev_types of the pci_devices rows recorded for this provider
    device_types: frozenset[str] = frozenset()

    @property
    def kind(self) -> str | None:
        if self.device_types & set(host_devices.PARENT_TYPES):
            return tree_module.KIND_DEVICE
        if self.device_types & set(host_devices.CHILD_TYPES):
            return tree_module.KIND_VFS
        return None

    @property
    def is_allocated(self) -> bool:
        return any(used > 0 for used in self.usages.values())


@dataclass
class ProviderChange:
    """The final state of one provider and what must happen to reach it.

    ``traits`` None means: leave the provider's traits as they are.
    """

    name: str
    action: str
    uuid: str | None
    inventories: dict[str, Inventory]
    traits: frozenset[str] | None
    planned: PlannedProvider | None = None


@dataclass(frozen=True)
class AllocationFix:
    """Set ``consumer``'s allocation of ``resource_class`` on a provider."""

    consumer_uuid: str
    provider_name: str
    resource_class: str
    used: int
    previous: int


@dataclass
class TreeChanges:
    providers: list[ProviderChange]      # every kept provider, by name
    deleted: list[ProviderChange]
    root_traits: frozenset[str] | None   # full new set, None = unchanged
    healing: list[AllocationFix]
    warnings: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.deleted or self.healing
                    or self.root_traits is not None
                    or any(change.action != UNCHANGED
                           for change in self.providers))


def is_managed_provider(hostname: str, name: str,
                        traits: frozenset[str]) -> bool:
    """Whether a child of the host's root is one the sync owns."""
    if not name.startswith(f"{hostname}_"):
        return False
    return (traits >= tree_module.ALWAYS_TRAITS
            or name.startswith(f"{hostname}_pci_"))


def plan_allocation_healing(
    planned: PlannedTree,
    allocations: dict[tuple[str, str], dict[str, int]],
) -> list[AllocationFix]:
    """Allocations to create or correct for devices reported as assigned.

    ``allocations`` maps (consumer uuid, provider name) to the consumer's
    current usage per class on that provider.  Only consumers the host
    names in ``assigned_to`` are touched.
    """
    fixes = []
    for provider in planned.providers:
        for consumer, count in sorted(provider.assigned_counts().items()):
            current = allocations.get((consumer, provider.name), {})
            previous = current.get(provider.resource_class, 0)
            if previous != count:
                fixes.append(AllocationFix(
                    consumer_uuid=consumer, provider_name=provider.name,
                    resource_class=provider.resource_class, used=count,
                    previous=previous))
    return fixes


def _usages_after_healing(existing: ExistingProvider | None, name: str,
                          healing: list[AllocationFix]) -> dict[str, int]:
    usages = dict(existing.usages) if existing else {}
    for fix in healing:
        if fix.provider_name == name:
            usages[fix.resource_class] = (
                usages.get(fix.resource_class, 0) - fix.previous + fix.used)
    return usages


def _reconcile_inventories(
    name: str, planned: PlannedProvider | None,
    existing: ExistingProvider | None, usages: dict[str, int],
    warnings: list[str],
) -> dict[str, Inventory]:
    wanted: dict[str, int] = {}
    if planned is not None:
        wanted[planned.resource_class] = planned.total
    for resource_class, used in usages.items():
        if used > 0:
            wanted.setdefault(resource_class, 0)
    result: dict[str, Inventory] = {}
    for resource_class, devices in sorted(wanted.items()):
        used = usages.get(resource_class, 0)
        total = max(devices, used)
        if total <= 0:
            continue
        if used > devices:
            warnings.append(
                f"provider {name}: {used} {resource_class} allocated but "
                f"only {devices} device(s) match; the inventory is kept at "
                f"{total} until the allocations are removed")
        old = existing.inventories.get(resource_class) if existing else None
        reserved = min(old.reserved, total) if old else 0
        if (planned is not None and planned.one_time_use and used > 0
                and resource_class == planned.resource_class):
            reserved = total
        result[resource_class] = Inventory(total=total, reserved=reserved,
                                           max_unit=total,
                                           resource_class=resource_class)
    return result


def _check_pf_vf_flip(planned: PlannedProvider,
                      existing: ExistingProvider) -> None:
    old_kind = existing.kind
    if (old_kind is None or planned.kind == tree_module.KIND_MDEV
            or old_kind == planned.kind or not existing.is_allocated):
        return
    describe = {tree_module.KIND_DEVICE: "the PF itself",
                tree_module.KIND_VFS: "its VFs"}
    raise errors.Conflict(
        f"provider {existing.name} is allocated and now represents "
        f"{describe[old_kind]}; the new device_spec would make it represent "
        f"{describe[planned.kind]}. Remove the allocations first.",
        code=ALLOCATED_PF_VF_CHANGE)


def compute_changes(
    planned: PlannedTree,
    existing: list[ExistingProvider],
    current_root_traits: frozenset[str] | None,
    healing: Sequence[AllocationFix] = (),
) -> TreeChanges:
    """Compare the plan with the managed providers under the root.

    ``existing`` holds only providers the sync manages (see
    :func:`is_managed_provider`); ``current_root_traits`` is None when the
    root provider does not exist yet.  Raises Conflict for an allocated
    PF<->VF change.
    """
    healing = list(healing)
    warnings: list[str] = []
    by_name = {provider.name: provider for provider in existing}
    kept: list[ProviderChange] = []
    deleted: list[ProviderChange] = []
    planned_by_name = {provider.name: provider
                       for provider in planned.providers}
    for name in sorted(set(by_name) | set(planned_by_name)):
        plan = planned_by_name.get(name)
        old = by_name.get(name)
        if plan is not None and old is not None:
            _check_pf_vf_flip(plan, old)
        usages = _usages_after_healing(old, name, healing)
        inventories = _reconcile_inventories(name, plan, old, usages,
                                             warnings)
        if plan is None:
            assert old is not None
            if not inventories:
                deleted.append(ProviderChange(
                    name=name, action=DELETE, uuid=old.uuid,
                    inventories={}, traits=None))
                continue
            warnings.append(
                f"provider {name} no longer matches any device but has "
                "allocations; it is kept until they are removed")
            traits = None
        elif plan.traits is None:
            # mdev providers keep the operator's traits, plus OWNER_NOVA
            # like every provider built for the compute host.
            traits = (old.traits if old else frozenset()) | {
                os_traits.OWNER_NOVA}
        else:
            traits = plan.traits
        if old is None:
            action = CREATE
        elif (inventories != old.inventories
              or (traits is not None and traits != old.traits)):
            action = UPDATE
        else:
            action = UNCHANGED
        kept.append(ProviderChange(
            name=name, action=action, uuid=old.uuid if old else None,
            inventories=inventories, traits=traits, planned=plan))
    # The root always carries OWNER_NOVA: translated requests put it in
    # root_required (spec §6), so a root without it would never be a
    # candidate.  Other operator-set root traits are left alone.
    root_traits = None
    if current_root_traits is None:
        root_traits = (planned.root_viommu_traits or frozenset()) | {ROOT_OWNER_TRAIT}
    else:
        wanted = set(current_root_traits) | {ROOT_OWNER_TRAIT}
        if planned.root_viommu_traits is not None:
            wanted = {trait for trait in wanted
                      if not viommu.is_viommu_trait(trait)} | planned.root_viommu_traits
        if frozenset(wanted) != current_root_traits:
            root_traits = frozenset(wanted)
    return TreeChanges(providers=kept, deleted=deleted,
                       root_traits=root_traits, healing=healing,
                       warnings=warnings)
