"""Reading a (fake) sysfs tree into the device-list JSON."""
from __future__ import annotations

import os

import pytest

from placement_pci.host_agent import sysfs
from placement_pci.pci import host_devices


def make_device(root, address, vendor, device, pci_class="0x030200",
                numa_node="0", **files):
    path = root / address
    path.mkdir(parents=True)
    (path / "vendor").write_text(f"{vendor}\n")
    (path / "device").write_text(f"{device}\n")
    (path / "class").write_text(f"{pci_class}\n")
    (path / "numa_node").write_text(f"{numa_node}\n")
    for name, text in files.items():
        (path / name).write_text(f"{text}\n")
    return path


def link(path, name, target_address):
    os.symlink(f"../{target_address}", path / name)


@pytest.fixture
def fake_sysfs(tmp_path):
    """An A16 PF with two VFs, an Intel X520, a bridge, an mdev parent."""
    root = tmp_path / "devices"
    pf = make_device(root, "0000:25:00.0", "0x10de", "0x25b6",
                     sriov_totalvfs="16", sriov_numvfs="2")
    for index, function in enumerate((4, 5)):
        vf = make_device(root, f"0000:25:00.{function}", "0x10de", "0x25b6")
        link(vf, "physfn", "0000:25:00.0")
        link(pf, f"virtfn{index}", f"0000:25:00.{function}")
    make_device(root, "0000:41:00.0", "0x8086", "0x154d",
                pci_class="0x020000", numa_node="-1")
    make_device(root, "0000:00:01.0", "0x8086", "0x1234",
                pci_class="0x060400")
    parent = make_device(root, "0000:86:00.0", "0x15b3", "0x101d",
                         pci_class="0x020000", numa_node="1")
    for mdev_type, available, existing in (("mlx5_core-local", 4, 1),
                                           ("nvidia-35", 0, 0)):
        type_dir = parent / "mdev_supported_types" / mdev_type
        (type_dir / "devices").mkdir(parents=True)
        (type_dir / "available_instances").write_text(f"{available}\n")
        for number in range(existing):
            (type_dir / "devices" / f"mdev-{number}").mkdir()
    return root


def test_devices(fake_sysfs):
    devices = {d["address"]: d for d in sysfs.read_pci_devices(fake_sysfs)}
    assert sorted(devices) == ["0000:25:00.0", "0000:25:00.4",
                               "0000:25:00.5", "0000:41:00.0",
                               "0000:86:00.0"]     # the bridge is skipped
    assert devices["0000:25:00.0"] == {
        "address": "0000:25:00.0", "vendor_id": "10de",
        "product_id": "25b6", "dev_type": "type-PF", "numa_node": 0,
        "vf_product_id": "25b6", "class": "0x030200"}
    assert devices["0000:25:00.4"]["dev_type"] == "type-VF"
    assert devices["0000:25:00.4"]["parent_addr"] == "0000:25:00.0"
    assert devices["0000:41:00.0"]["dev_type"] == "type-PCI"
    assert devices["0000:41:00.0"]["numa_node"] is None
    assert devices["0000:41:00.0"]["product_id"] == "154d"


def test_output_is_a_valid_device_list(fake_sysfs):
    devices, warnings = host_devices.parse_host_devices(
        sysfs.read_pci_devices(fake_sysfs))
    assert len(devices) == 5 and warnings == []


def test_pf_with_sriov_capability_but_no_vfs_yet(tmp_path):
    make_device(tmp_path, "0000:41:00.0", "0x8086", "0x154d",
                sriov_totalvfs="63", sriov_numvfs="0", sriov_vf_device="10ed")
    [device] = sysfs.read_pci_devices(tmp_path)
    assert device["dev_type"] == "type-PF"
    assert device["vf_product_id"] == "10ed"


def test_progress_is_reported_once_per_device(fake_sysfs):
    reports = []
    devices = sysfs.read_pci_devices(fake_sysfs, lambda done, total: reports.append(
        (done, total)))
    # Six device directories, the skipped bridge among them.
    assert reports == [(done, 6) for done in range(1, 7)]
    assert len(devices) == 5


def test_device_without_ids_is_skipped(tmp_path):
    (tmp_path / "0000:41:00.0").mkdir()
    assert sysfs.read_pci_devices(tmp_path) == []


def test_mdev_capacity(fake_sysfs):
    assert sysfs.read_mdev_capacity(fake_sysfs) == [
        {"parent_addr": "0000:86:00.0", "type": "mlx5_core-local",
         "available_instances": 4, "existing": 1},
        {"parent_addr": "0000:86:00.0", "type": "nvidia-35",
         "available_instances": 0, "existing": 0},
    ]


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        sysfs.read_pci_devices(tmp_path / "nope")
