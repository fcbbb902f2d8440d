"""Planned tree vs. stored state: changes, removal rules, healing (§3)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.inventory import Inventory
from placement_pci.pci import provider_diff, provider_tree
from placement_pci.pci.provider_diff import ExistingProvider

HOST = "compute1"
ALWAYS = frozenset({"COMPUTE_MANAGED_PCI_DEVICE", "OWNER_NOVA"})
X520_NAME = "compute1_0000:41:00.0"
PF_NAME = "compute1_0000:25:00.0"
CLASS = "CUSTOM_PCI_8086_154D"
VF_CLASS = "CUSTOM_PCI_10DE_25B6"
CONSUMER = "6a9b5d3c-0a8e-4f7c-9e1d-2b3c4d5e6f70"
X520 = {"address": "0000:41:00.0", "vendor_id": "8086",
        "product_id": "154d", "dev_type": "type-PCI"}
PF = {"address": "0000:25:00.0", "vendor_id": "10de", "product_id": "25b6",
      "dev_type": "type-PF"}


def vf(function, **extra):
    return {"address": f"0000:25:00.{function}", "vendor_id": "10de",
            "product_id": "25b6", "dev_type": "type-VF",
            "parent_addr": "0000:25:00.0", **extra}


def plan(specs, devices, **extra):
    return provider_tree.plan_host_request(
        HOST, {"device_spec": specs, "devices": devices, **extra})


def existing(name=X520_NAME, inventories=None, usages=None, traits=ALWAYS,
             device_types=("type-PCI",)):
    return ExistingProvider(
        uuid=f"uuid-{name}", name=name, generation=1,
        inventories=inventories if inventories is not None
        else {CLASS: Inventory(total=1, max_unit=1)},
        traits=frozenset(traits), usages=usages or {},
        device_types=frozenset(device_types))


def changes(tree, current, root_traits=frozenset({"OWNER_NOVA"}), healing=()):
    return provider_diff.compute_changes(tree, current, root_traits,
                                         list(healing))


def actions(result):
    found = {change.name: change.action for change in result.providers}
    found.update({change.name: "delete" for change in result.deleted})
    return found


def test_new_host_creates_providers_and_root():
    result = changes(plan([{}], [X520]), [], root_traits=None)
    assert actions(result) == {X520_NAME: "create"}
    assert result.root_traits == frozenset({"OWNER_NOVA"})
    assert result.changed


def test_reapplying_changes_nothing():
    result = changes(plan([{}], [X520]), [existing()])
    assert actions(result) == {X520_NAME: "unchanged"}
    assert not result.changed and result.warnings == []


@pytest.mark.parametrize("old_inventory, usages, expected, warns", [
    # an operator-set reserved is kept
    (Inventory(total=1, reserved=1, max_unit=1), {},
     Inventory(total=1, reserved=1, max_unit=1), False),
    # other fields go back to Placement's defaults
    (Inventory(total=1, max_unit=1, allocation_ratio=2.0), {},
     Inventory(total=1, max_unit=1), False),
    # total raised to the usage when allocations exceed the devices
    (Inventory(total=3, max_unit=3), {CLASS: 3},
     Inventory(total=3, max_unit=3), True),
])
def test_inventory_rules(old_inventory, usages, expected, warns):
    result = changes(plan([{}], [X520]),
                     [existing(inventories={CLASS: old_inventory},
                               usages=usages)])
    [change] = result.providers
    assert change.inventories == {CLASS: expected}
    assert bool(result.warnings) is warns


def test_allocated_one_time_use_device_is_reserved():
    tree = plan([{"one_time_use": "yes"}], [X520])
    result = changes(tree, [existing(usages={CLASS: 1}, traits=ALWAYS | {
        "HW_PCI_ONE_TIME_USE"})])
    [change] = result.providers
    assert change.inventories[CLASS].reserved == 1
    free = changes(tree, [existing()])
    assert free.providers[0].inventories[CLASS].reserved == 0


def test_traits_are_replaced_by_the_planned_set():
    result = changes(plan([{"traits": "blue"}], [X520]),
                     [existing(traits=ALWAYS | {"CUSTOM_RED"})])
    [change] = result.providers
    assert change.action == "update"
    assert change.traits == ALWAYS | {"CUSTOM_BLUE"}


@pytest.mark.parametrize("usages, expected_action, inventory", [
    ({}, "delete", None),
    ({CLASS: 1}, "unchanged", {CLASS: Inventory(total=1, max_unit=1)}),
])
def test_disappeared_device(usages, expected_action, inventory):
    result = changes(plan([{}], []), [existing(usages=usages)])
    assert actions(result) == {X520_NAME: expected_action}
    if inventory is not None:
        assert result.providers[0].inventories == inventory
        assert result.providers[0].traits is None   # left alone
        assert any("kept" in warning for warning in result.warnings)


def test_vfs_going_away_shrink_to_the_usage():
    old = existing(name=PF_NAME, device_types=("type-VF",),
                   inventories={VF_CLASS: Inventory(total=4, max_unit=4)},
                   usages={VF_CLASS: 2})
    result = changes(plan([{"product_id": "25b6"}], [vf(1)]), [old])
    [change] = result.providers
    assert change.inventories == {VF_CLASS: Inventory(total=2, max_unit=2)}
    assert result.warnings


def test_class_change_keeps_the_allocated_old_class():
    result = changes(plan([{"resource_class": "nic"}], [X520]),
                     [existing(usages={CLASS: 1})])
    [change] = result.providers
    assert change.inventories == {
        CLASS: Inventory(total=1, max_unit=1),
        "CUSTOM_NIC": Inventory(total=1, max_unit=1)}


def test_class_change_without_allocations_replaces_the_class():
    result = changes(plan([{"resource_class": "nic"}], [X520]), [existing()])
    assert result.providers[0].inventories == {
        "CUSTOM_NIC": Inventory(total=1, max_unit=1)}


@pytest.mark.parametrize("old_types, specs, devices", [
    (("type-PF",), [{"product_id": "25b6", "address": "*:*:*.4"}], [PF, vf(4)]),
    (("type-VF",), [{"address": "0000:25:00.0", "product_id": "25b6"}],
     [PF, vf(4, product_id="101e")]),
])
def test_allocated_pf_vf_flip_is_refused(old_types, specs, devices):
    old = existing(name=PF_NAME, device_types=old_types,
                   inventories={VF_CLASS: Inventory(total=1, max_unit=1)},
                   usages={VF_CLASS: 1})
    with pytest.raises(errors.Conflict) as caught:
        changes(plan(specs, devices), [old])
    assert caught.value.status == 409
    assert "Remove the allocations" in caught.value.detail


def test_unallocated_pf_vf_flip_is_allowed():
    old = existing(name=PF_NAME, device_types=("type-PF",),
                   inventories={VF_CLASS: Inventory(total=1, max_unit=1)})
    result = changes(plan([{"product_id": "25b6", "address": "*:*:*.4"}],
                          [PF, vf(4)]), [old])
    assert actions(result) == {PF_NAME: "unchanged"}


@pytest.mark.parametrize("current, capabilities, expected", [
    (frozenset({"CUSTOM_X", "OWNER_NOVA"}), {"viommu_models": ["intel"]},
     {"CUSTOM_X", "OWNER_NOVA", "COMPUTE_VIOMMU_MODEL_INTEL",
      "COMPUTE_VIOMMU_MODEL_AUTO"}),
    (frozenset({"CUSTOM_X", "OWNER_NOVA", "COMPUTE_VIOMMU_MODEL_INTEL",
                "COMPUTE_VIOMMU_MODEL_AUTO"}),
     {"viommu_models": []}, {"CUSTOM_X", "OWNER_NOVA"}),
    (frozenset({"OWNER_NOVA", "COMPUTE_VIOMMU_MODEL_INTEL",
                "COMPUTE_VIOMMU_MODEL_AUTO"}),
     {"viommu_models": ["intel"]}, None),         # unchanged
    (frozenset({"OWNER_NOVA", "COMPUTE_VIOMMU_MODEL_INTEL"}), None, None),  # not reported
    # a root without OWNER_NOVA gets it: translated requests require it
    (frozenset({"COMPUTE_VIOMMU_MODEL_INTEL"}), None,
     {"OWNER_NOVA", "COMPUTE_VIOMMU_MODEL_INTEL"}),
])
def test_root_traits(current, capabilities, expected):
    extra = {"capabilities": capabilities} if capabilities else {}
    result = changes(plan([], [], **extra), [], root_traits=current)
    assert result.root_traits == (
        None if expected is None else frozenset(expected))


@pytest.mark.parametrize("name, traits, managed", [
    (X520_NAME, ALWAYS, True),
    ("compute1_pci_0000_86_00_0", frozenset(), True),
    ("compute1_something", frozenset(), False),
    ("compute2_0000:41:00.0", ALWAYS, False),
])
def test_is_managed_provider(name, traits, managed):
    assert provider_diff.is_managed_provider(HOST, name, traits) is managed


@pytest.mark.parametrize("allocations, expected", [
    ({}, [(CONSUMER, X520_NAME, CLASS, 1, 0)]),
    ({(CONSUMER, X520_NAME): {CLASS: 1}}, []),
    ({(CONSUMER, X520_NAME): {CLASS: 2}}, [(CONSUMER, X520_NAME, CLASS, 1, 2)]),
])
def test_healing_of_assigned_devices(allocations, expected):
    tree = plan([{}], [dict(X520, assigned_to=CONSUMER)])
    fixes = provider_diff.plan_allocation_healing(tree, allocations)
    assert [(f.consumer_uuid, f.provider_name, f.resource_class, f.used,
             f.previous) for f in fixes] == expected


def test_healing_counts_vfs_per_consumer():
    other = "11111111-2222-3333-4444-555555555555"
    tree = plan([{"product_id": "25b6"}],
                [vf(1, assigned_to=CONSUMER), vf(2, assigned_to=CONSUMER),
                 vf(3, assigned_to=other), vf(4)])
    fixes = provider_diff.plan_allocation_healing(tree, {})
    assert {(f.consumer_uuid, f.used) for f in fixes} == {
        (CONSUMER, 2), (other, 1)}


def test_healing_usage_counts_for_one_time_use_reserved():
    tree = plan([{"one_time_use": "yes"}], [dict(X520, assigned_to=CONSUMER)])
    fixes = provider_diff.plan_allocation_healing(tree, {})
    result = changes(tree, [], root_traits=None, healing=fixes)
    assert result.providers[0].inventories[CLASS].reserved == 1
    assert result.changed


MDEV = {"enabled_mdev_types": ["nvidia-35"],
        "devices": [{"parent_addr": "0000:84:00.0", "type": "nvidia-35",
                     "available_instances": 4}]}
MDEV_NAME = "compute1_pci_0000_84_00_0"


@pytest.mark.parametrize("old_traits, expected_traits, action", [
    # a new mdev provider carries OWNER_NOVA, like Nova's
    (None, {"OWNER_NOVA"}, "create"),
    # an existing one gains it and keeps the operator's traits
    (frozenset({"CUSTOM_A16"}), {"CUSTOM_A16", "OWNER_NOVA"}, "update"),
    (frozenset({"CUSTOM_A16", "OWNER_NOVA"}), {"CUSTOM_A16", "OWNER_NOVA"},
     "unchanged"),
])
def test_mdev_providers_carry_owner_nova(old_traits, expected_traits,
                                         action):
    current = [] if old_traits is None else [existing(
        MDEV_NAME, inventories={"VGPU": Inventory(total=4, max_unit=4)},
        traits=old_traits, device_types=())]
    result = changes(plan([], [], mdev=MDEV), current)
    change = next(c for c in result.providers if c.name == MDEV_NAME)
    assert change.traits == frozenset(expected_traits)
    assert change.action == action
