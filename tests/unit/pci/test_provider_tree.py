"""Host devices + specs -> planned provider tree, and refusals (spec §3)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci import provider_tree
from tests.seeds import A16_PF as PF
from tests.seeds import A16_SPEC, X520_SPEC

HOST = "compute1"


def vf(function: int, **extra):
    return {"address": f"0000:25:00.{function}", "vendor_id": "10de",
            "product_id": "25b6", "dev_type": "type-VF",
            "parent_addr": "0000:25:00.0", "numa_node": 0, **extra}


X520 = {"address": "0000:41:00.0", "vendor_id": "8086",
        "product_id": "154d", "dev_type": "type-PCI", "numa_node": 1}
ALWAYS = {"COMPUTE_MANAGED_PCI_DEVICE", "OWNER_NOVA"}


def plan(specs, devices, **extra):
    return provider_tree.plan_host_request(
        HOST, {"device_spec": specs, "devices": devices, **extra})


def summary(tree):
    return {p.name: (p.resource_class, p.total,
                     None if p.traits is None else set(p.traits))
            for p in tree.providers}


def refusal(specs, devices, code):
    with pytest.raises(errors.BadRequest) as caught:
        plan(specs, devices)
    assert caught.value.code == code
    return caught.value.detail


def test_seeds():
    tree = plan([A16_SPEC, X520_SPEC], [PF, vf(4), vf(5), X520])
    assert summary(tree) == {
        "compute1_0000:25:00.0": ("CUSTOM_A16_16A", 1, ALWAYS),
        "compute1_0000:41:00.0": ("CUSTOM_PCI_8086_154D", 1, ALWAYS),
    }
    [a16] = tree.provider("compute1_0000:25:00.0").devices
    assert a16.metadata()["managed"] is False
    assert a16.metadata()["address"] == "0000:25:00.4"
    [x520] = tree.provider("compute1_0000:41:00.0").devices
    assert x520.metadata()["managed"] is True
    assert x520.metadata()["numa_node"] == 1


def test_provider_name_uses_upper_case_address_and_hostname_as_given():
    tree = provider_tree.plan_host_request("Compute-1.example", {
        "device_spec": [{"address": "0000:af:00.0"}],
        "devices": [dict(X520, address="0000:af:00.0")]})
    assert [p.name for p in tree.providers] == ["Compute-1.example_0000:AF:00.0"]


def test_unmatched_devices_get_no_provider():
    assert plan([X520_SPEC], [PF, vf(4)]).providers == []


@pytest.mark.parametrize("specs, devices, expected", [
    # VFs count on their parent PF's provider, matched PF or not
    ([{"vendor_id": "10de", "product_id": "25b6", "address": "*:25:00.*"}], [vf(4), vf(5), vf(6)],
     {"compute1_0000:25:00.0": ("CUSTOM_PCI_10DE_25B6", 3, ALWAYS)}),
    # default class from the device's own ids
    ([{}], [X520], {"compute1_0000:41:00.0":
                    ("CUSTOM_PCI_8086_154D", 1, ALWAYS)}),
    # empty resource_class means the default
    ([{"resource_class": ""}], [X520], {"compute1_0000:41:00.0":
                                        ("CUSTOM_PCI_8086_154D", 1, ALWAYS)}),
    ([{"resource_class": "pgpu"}], [X520],
     {"compute1_0000:41:00.0": ("PGPU", 1, ALWAYS)}),
    ([{"traits": "blue, HW_GPU_API_VULKAN"}], [X520],
     {"compute1_0000:41:00.0": ("CUSTOM_PCI_8086_154D", 1,
                                ALWAYS | {"CUSTOM_BLUE",
                                          "HW_GPU_API_VULKAN"})}),
    ([{"live_migratable": "yes"}], [X520],
     {"compute1_0000:41:00.0": ("CUSTOM_PCI_8086_154D", 1,
                                ALWAYS | {"HW_PCI_LIVE_MIGRATABLE"})}),
    ([{"one_time_use": "true"}], [X520],
     {"compute1_0000:41:00.0": ("CUSTOM_PCI_8086_154D", 1,
                                ALWAYS | {"HW_PCI_ONE_TIME_USE"})}),
    # the first matching spec wins; later ones and their tags are ignored
    ([{"vendor_id": "8086", "resource_class": "first"},
      {"vendor_id": "8086", "resource_class": "second",
       "live_migratable": "yes"}], [X520],
     {"compute1_0000:41:00.0": ("CUSTOM_FIRST", 1, ALWAYS)}),
    # physical_network marks a Neutron device: no provider
    ([{"physical_network": "physnet1"}], [X520], {}),
    # vDPA devices count like VFs
    ([{"product_id": "25b6"}], [dict(vf(4), dev_type="vdpa")],
     {"compute1_0000:25:00.0": ("CUSTOM_PCI_10DE_25B6", 1, ALWAYS)}),
    # a PF alone (its VFs not selected)
    ([{"address": "0000:25:00.0", "product_id": "25b6",
       "vendor_id": "10de"}], [PF],
     {"compute1_0000:25:00.0": ("CUSTOM_PCI_10DE_25B6", 1, ALWAYS)}),
])
def test_tree_rules(specs, devices, expected):
    assert summary(plan(specs, devices)) == expected


def test_neutron_devices_are_kept_without_provider():
    tree = plan([{"physical_network": "physnet1", "trusted": "yes"}], [X520])
    [device] = tree.devices_without_provider
    assert device.metadata()["physical_network"] == "physnet1"
    assert device.metadata()["trusted"] is True


@pytest.mark.parametrize("specs, devices, extra", [
    # the PF and its VFs both selected
    ([{"vendor_id": "10de"}], [PF, vf(4)], ""),
    ([{"vendor_id": "10de"}], [vf(4), PF], ""),
    # an exact PF address selects the PF and its VFs (Nova's rule)
    ([{"address": "0000:25:00.0"}], [PF, vf(4)], "names the PF's exact"),
])
def test_pf_and_vf_both_matched_is_refused(specs, devices, extra):
    detail = refusal(specs, devices, "placement_pci.pf_vf_conflict")
    assert "either the parent PF or its VFs" in detail
    assert "0000:25:00.0" in detail and "0000:25:00.4" in detail
    assert extra in detail


def test_vfs_with_different_resource_classes_are_refused():
    detail = refusal([{"address": "0000:25:00.4", "resource_class": "a"},
                      {"product_id": "25b6", "resource_class": "b"}],
                     [vf(4), vf(5)], "placement_pci.mixed_resource_class")
    assert "CUSTOM_A" in detail and "CUSTOM_B" in detail


@pytest.mark.parametrize("first, second", [
    ({"traits": "a"}, {"traits": "b"}),
    ({"live_migratable": "yes"}, {"live_migratable": "no"}),
])
def test_vfs_with_different_traits_are_refused(first, second):
    refusal([dict(first, address="0000:25:00.4"), second], [vf(4), vf(5)],
            "placement_pci.mixed_traits")


def test_one_time_use_is_refused_for_vfs():
    detail = refusal([{"one_time_use": "yes"}], [vf(4)],
                     "placement_pci.device_spec.invalid")
    assert "field 'one_time_use'" in detail and "device_spec entry 0" in detail


@pytest.mark.parametrize("spec, devices, ok", [
    # remote_managed VFs are fine
    ({"remote_managed": "yes", "product_id": "25b6",
      "address": "0000:25:00.4"}, [PF, vf(4)], True),
    # a PF address with the VFs' product id selects the VFs
    ({"remote_managed": "yes", "product_id": "101e",
      "address": "0000:25:00.0"},
     [dict(PF, vf_product_id="101e"), vf(4, product_id="101e")], True),
    # a PF address selecting the PF itself is refused
    ({"remote_managed": "yes", "address": "0000:25:00.0"}, [PF], False),
    ({"remote_managed": "yes", "product_id": "abcd",
      "address": "0000:25:00.0"}, [PF], False),
    # remote_managed on a plain PCI device is refused
    ({"remote_managed": "yes"}, [X520], False),
])
def test_remote_managed_is_only_for_vfs(spec, devices, ok):
    if ok:
        plan([spec], devices)
    else:
        refusal([spec], devices, "placement_pci.device_spec.invalid")


def test_out_of_range_device_is_ignored_with_warning():
    tree = plan([{}], [dict(X520, address="0000:41:20.0")])
    assert tree.providers == []
    assert any("out of range" in warning for warning in tree.warnings)


def test_duplicate_spec_warning_is_returned():
    tree = plan([X520_SPEC, X520_SPEC], [X520])
    assert any("duplicate" in warning for warning in tree.warnings)


def test_mdev_providers_and_root_traits():
    tree = plan([], [], mdev={
        "enabled_mdev_types": ["nvidia-35", "mlx5_core-local"],
        "types": {"mlx5_core-local": {"device_addresses": ["0000:86:00.0"],
                                      "mdev_class": "CUSTOM_MLX5"}},
        "devices": [{"parent_addr": "0000:86:00.0",
                     "type": "mlx5_core-local", "available_instances": 4,
                     "existing": 0}]},
        capabilities={"viommu_models": ["intel", "virtio"]})
    assert summary(tree) == {
        "compute1_pci_0000_86_00_0": ("CUSTOM_MLX5", 4, None)}
    assert tree.root_viommu_traits == {
        "COMPUTE_VIOMMU_MODEL_AUTO", "COMPUTE_VIOMMU_MODEL_INTEL",
        "COMPUTE_VIOMMU_MODEL_VIRTIO"}


@pytest.mark.parametrize("hostname, body, code", [
    ("", {"device_spec": [], "devices": []}, "placement_pci.host.invalid"),
    ("h" * 190, {"device_spec": [], "devices": []},
     "placement_pci.host.invalid"),
    (HOST, {"device_spec": [], "devices": [dict(X520, dev_type="type-X")]},
     "placement_pci.devices.invalid"),
    (HOST, {"device_spec": [], "devices": [vf(4, parent_addr=None)]},
     "placement_pci.devices.invalid"),
])
def test_request_errors(hostname, body, code):
    with pytest.raises(errors.BadRequest) as caught:
        provider_tree.plan_host_request(hostname, body)
    assert caught.value.code == code
