"""The host's device list: validation and ignored devices (spec §1, §3)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci import host_devices
from placement_pci.pci.address import PciAddress

PF = {"address": "0000:25:00.0", "vendor_id": "10de", "product_id": "25b6",
      "dev_type": "type-PF", "numa_node": 0, "vf_product_id": "25b6"}
VF = {"address": "0000:25:00.4", "vendor_id": "10de", "product_id": "25b6",
      "dev_type": "type-VF", "parent_addr": "0000:25:00.0", "numa_node": 0,
      "assigned_to": None}
X520 = {"address": "0000:41:00.0", "vendor_id": "8086",
        "product_id": "154d", "dev_type": "type-PCI"}


def test_seed_devices():
    devices, warnings = host_devices.parse_host_devices([PF, VF, X520])
    assert warnings == []
    pf, vf, x520 = devices
    assert pf.vf_product_id == "25b6"
    assert vf.parent_addr == PciAddress(0, 0x25, 0, 0)
    assert vf.is_child and not pf.is_child and not x520.is_child
    assert x520.numa_node is None


def test_values_are_normalised():
    [device], _ = host_devices.parse_host_devices([dict(
        X520, address="0:41:0.0", vendor_id="0x8086", product_id="154D",
        assigned_to="6A9B5D3C-0A8E-4F7C-9E1D-2B3C4D5E6F70")])
    assert str(device.address) == "0000:41:00.0"
    assert device.vendor_id == "8086" and device.product_id == "154d"
    assert device.assigned_to == "6a9b5d3c-0a8e-4f7c-9e1d-2b3c4d5e6f70"


@pytest.mark.parametrize("address", [
    "10000:41:00.0", "0000:100:00.0", "0000:41:20.0", "0000:41:00.8"])
def test_out_of_range_addresses_are_ignored_with_a_warning(address):
    devices, warnings = host_devices.parse_host_devices(
        [dict(X520, address=address), PF])
    assert [str(d.address) for d in devices] == ["0000:25:00.0"]
    assert len(warnings) == 1 and "devices[0] ignored" in warnings[0]


def test_out_of_range_parent_is_ignored_with_a_warning():
    devices, warnings = host_devices.parse_host_devices(
        [dict(VF, parent_addr="0000:25:20.0")])
    assert devices == [] and len(warnings) == 1


@pytest.mark.parametrize("change, field_name, reason", [
    ({"dev_type": "type-XYZ"}, "dev_type", "unknown device type"),
    ({"dev_type": None}, "dev_type", "is required"),
    ({"address": None}, "address", "is required"),
    ({"address": "zz"}, "address", "not a PCI address"),
    ({"vendor_id": "zzzz"}, "vendor_id", "not a hex number"),
    ({"vendor_id": 8086}, "vendor_id", "hex string"),
    ({"product_id": None}, "product_id", "is required"),
    ({"numa_node": -1}, "numa_node", "must be an integer from 0"),
    ({"numa_node": "0"}, "numa_node", "must be an integer from 0"),
    ({"numa_node": True}, "numa_node", "must be an integer from 0"),
    ({"numa_node": 2 ** 31}, "numa_node", "must be an integer from 0 to 2147483647"),
    ({"assigned_to": "not-a-uuid"}, "assigned_to", "not a uuid"),
    ({"dev_type": "type-VF"}, "parent_addr", "needs the address"),
    ({"dev_type": "vdpa"}, "parent_addr", "needs the address"),
    ({"dev_type": "type-VF", "parent_addr": "x"}, "parent_addr",
     "not a PCI address"),
])
def test_device_errors(change, field_name, reason):
    with pytest.raises(errors.BadRequest) as caught:
        host_devices.parse_host_devices([PF, dict(X520, **change)])
    assert caught.value.code == "placement_pci.devices.invalid"
    assert "devices[1]" in caught.value.detail
    assert f"field '{field_name}'" in caught.value.detail
    assert reason in caught.value.detail


@pytest.mark.parametrize("items", [{"address": "x"}, "devices", 3])
def test_devices_must_be_a_list(items):
    with pytest.raises(errors.BadRequest):
        host_devices.parse_host_devices(items)


def test_device_must_be_an_object():
    with pytest.raises(errors.BadRequest, match="devices\\[0\\]"):
        host_devices.parse_host_devices(["0000:41:00.0"])


def test_duplicate_address_is_an_error():
    with pytest.raises(errors.BadRequest, match="listed twice"):
        host_devices.parse_host_devices([X520, dict(X520)])


def test_unknown_keys_are_ignored():
    devices, _ = host_devices.parse_host_devices([dict(X520, label="nic")])
    assert len(devices) == 1
