"""Generic mdev types -> parent inventories (spec §4)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci import mdev


def plan(raw):
    inventories, warnings = mdev.plan_mdev_inventories(raw)
    return ({str(i.parent_addr): (i.mdev_type, i.resource_class, i.total)
             for i in inventories}, warnings)


SEED = {
    "enabled_mdev_types": ["nvidia-35", "mlx5_core-local"],
    "types": {"mlx5_core-local": {"device_addresses": ["0000:86:00.0"],
                                  "mdev_class": "CUSTOM_MLX5"}},
    "devices": [
        {"parent_addr": "0000:86:00.0", "type": "mlx5_core-local",
         "available_instances": 4, "existing": 0},
        {"parent_addr": "0000:86:00.0", "type": "nvidia-35",
         "available_instances": 9, "existing": 0},
        {"parent_addr": "0000:84:00.0", "type": "nvidia-35",
         "available_instances": 14, "existing": 2},
        {"parent_addr": "0000:84:00.0", "type": "mlx5_core-local",
         "available_instances": 3},
    ],
}


def test_seed_types():
    inventories, warnings = plan(SEED)
    assert warnings == []
    assert inventories == {
        "0000:86:00.0": ("mlx5_core-local", "CUSTOM_MLX5", 4),
        # the default type (no addresses) serves unlisted parents, and
        # its class is VGPU unless configured
        "0000:84:00.0": ("nvidia-35", "VGPU", 16),
    }


def test_provider_suffix():
    inventories, _ = mdev.plan_mdev_inventories(SEED)
    assert {i.provider_suffix() for i in inventories} == {
        "pci_0000_86_00_0", "pci_0000_84_00_0"}


def test_default_type_uses_configured_class():
    # Deviation: Nova reports VGPU even when the default type's class is
    # custom.
    inventories, _ = plan({
        "enabled_mdev_types": ["nvidia-35"],
        "types": {"nvidia-35": {"mdev_class": "CUSTOM_A16"}},
        "devices": [{"parent_addr": "0000:84:00.0", "type": "nvidia-35",
                     "available_instances": 2}]})
    assert inventories == {"0000:84:00.0": ("nvidia-35", "CUSTOM_A16", 2)}


def test_second_default_type_is_dropped_with_a_warning():
    inventories, warnings = plan({
        "enabled_mdev_types": ["a", "b"],
        "devices": [{"parent_addr": "0000:84:00.0", "type": "b",
                     "available_instances": 2},
                    {"parent_addr": "0000:84:00.0", "type": "a",
                     "available_instances": 1}]})
    assert inventories == {"0000:84:00.0": ("a", "VGPU", 1)}
    assert len(warnings) == 1 and "'b' is ignored" in warnings[0]


@pytest.mark.parametrize("available, existing, expected", [
    (0, 0, None), (0, 2, 2), (3, 0, 3), (3, 1, 4)])
def test_total_is_existing_plus_available(available, existing, expected):
    inventories, _ = plan({
        "enabled_mdev_types": ["a"],
        "devices": [{"parent_addr": "0000:84:00.0", "type": "a",
                     "available_instances": available,
                     "existing": existing}]})
    got = inventories.get("0000:84:00.0")
    assert (got[2] if got else None) == expected


def test_max_instances_caps_the_type_total():
    inventories, _ = plan({
        "enabled_mdev_types": ["a"],
        "types": {"a": {"max_instances": 5}},
        "devices": [{"parent_addr": "0000:85:00.0", "type": "a",
                     "available_instances": 4},
                    {"parent_addr": "0000:84:00.0", "type": "a",
                     "available_instances": 4},
                    {"parent_addr": "0000:86:00.0", "type": "a",
                     "available_instances": 4}]})
    assert inventories == {"0000:84:00.0": ("a", "VGPU", 4),
                           "0000:85:00.0": ("a", "VGPU", 1)}


@pytest.mark.parametrize("raw, reason", [
    ({"enabled_mdev_types": ["a", "b"],
      "types": {"a": {"device_addresses": ["0000:84:00.0"]},
                "b": {"device_addresses": ["0:84:0.0"]}}},
     "listed under both 'a' and 'b'"),
    ({"enabled_mdev_types": ["a"],
      "types": {"a": {"device_addresses": ["0000:84:00"]}}},
     "device_addresses"),
    ({"enabled_mdev_types": ["a"],
      "types": {"a": {"device_addresses": ["0000:84:20.0"]}}},
     "device_addresses"),
    ({"enabled_mdev_types": ["a"], "types": {"a": {"mdev_class": "GPU"}}},
     "mdev_class"),
    ({"enabled_mdev_types": ["a"],
      "types": {"a": {"mdev_class": "custom_x"}}}, "mdev_class"),
    ({"enabled_mdev_types": ["a"],
      "types": {"a": {"mdev_class": "CUSTOM_" + "X" * 250}}}, "mdev_class"),
    ({"enabled_mdev_types": ["a"], "types": {"a": {"max_instances": 0}}},
     "max_instances"),
    ({"enabled_mdev_types": [1]}, "enabled_mdev_types"),
    ({"enabled_mdev_types": ["a"],
      "devices": [{"parent_addr": "x", "type": "a"}]}, "parent_addr"),
    ({"enabled_mdev_types": ["a"],
      "devices": [{"parent_addr": "0000:84:00.0", "type": "a",
                   "available_instances": -1}]}, "available_instances"),
    ([], "must be an object"),
])
def test_errors(raw, reason):
    with pytest.raises(errors.BadRequest) as caught:
        mdev.plan_mdev_inventories(raw)
    assert caught.value.code == "placement_pci.mdev.invalid"
    assert reason in caught.value.detail


def test_nova_conf_style_strings_are_accepted():
    inventories, _ = plan({
        "enabled_mdev_types": "nvidia-35, mlx5_core-local",
        "types": {"mlx5_core-local": {
            "device_addresses": "0000:86:00.0,0000:87:00.0"}},
        "devices": [{"parent_addr": "0000:87:00.0",
                     "type": "mlx5_core-local", "available_instances": 1}]})
    assert inventories == {"0000:87:00.0": ("mlx5_core-local", "VGPU", 1)}


@pytest.mark.parametrize("max_instances, per_parent, expected", [
    # no cap: every parent keeps its own capacity
    (None, [("0000:84:00.0", 4, 0), ("0000:85:00.0", 4, 0)],
     {"0000:84:00.0": 4, "0000:85:00.0": 4}),
    # the cap is for the type over all its parents
    (6, [("0000:84:00.0", 4, 0), ("0000:85:00.0", 4, 0)],
     {"0000:84:00.0": 4, "0000:85:00.0": 2}),
    # existing mdevs count against the cap
    (5, [("0000:84:00.0", 1, 3), ("0000:85:00.0", 4, 0)],
     {"0000:84:00.0": 4, "0000:85:00.0": 1}),
    # a parent left without capacity gets no inventory
    (4, [("0000:84:00.0", 4, 0), ("0000:85:00.0", 4, 0)],
     {"0000:84:00.0": 4}),
    (10, [("0000:84:00.0", 4, 0), ("0000:85:00.0", 4, 0)],
     {"0000:84:00.0": 4, "0000:85:00.0": 4}),
])
def test_max_instances_table(max_instances, per_parent, expected):
    options = {} if max_instances is None else {
        "max_instances": max_instances}
    inventories, _ = plan({
        "enabled_mdev_types": ["a"], "types": {"a": options},
        "devices": [{"parent_addr": address, "type": "a",
                     "available_instances": available, "existing": existing}
                    for address, available, existing in per_parent]})
    assert {address: total for address, (_, _, total)
            in inventories.items()} == expected
