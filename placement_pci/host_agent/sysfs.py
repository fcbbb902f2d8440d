"""Read the local host's PCI devices from sysfs into the device-list JSON.

Produces the ``devices`` list and the ``mdev.devices`` list of a
``PUT /pci/hosts/{hostname}`` body (api-ref/pci-hosts.md) from
``/sys/bus/pci/devices`` (or any directory laid out like it, which is how
the tests feed it a fake tree):

- ``vendor``, ``device``, ``class``: ids (``0x10de``) and PCI class;
- ``physfn`` link: the device is a VF of that PF;
- ``virtfnN`` links / ``sriov_totalvfs``: the device is an SR-IOV PF, its
  VF product id from ``sriov_vf_device`` or the first VF's ``device``;
- ``numa_node``: ``-1`` means unknown;
- ``mdev_supported_types/<type>/available_instances`` and the entries of
  ``.../devices``: mdev capacity per parent and type.

Bridges (PCI class 0x06xxxx) are skipped: they cannot be passed through.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_SYSFS_ROOT = Path("/sys/bus/pci/devices")
BRIDGE_CLASS_PREFIX = "0x06"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _hex_id(path: Path) -> str | None:
    text = _read(path)
    if not text:
        return None
    try:
        return f"{int(text, 16):04x}"
    except ValueError:
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _link_target_name(path: Path) -> str | None:
    try:
        return Path(os.readlink(path)).name
    except OSError:
        return None


def _virtual_functions(device_dir: Path) -> list[Path]:
    return sorted(device_dir.glob("virtfn*"),
                  key=lambda link: int(link.name[len("virtfn"):] or 0))


def _vf_product_id(device_dir: Path) -> str | None:
    product = _hex_id(device_dir / "sriov_vf_device")
    if product:
        return product
    for link in _virtual_functions(device_dir):
        product = _hex_id(link / "device")
        if product:
            return product
    return None


def _read_device(device_dir: Path) -> dict[str, Any] | None:
    vendor_id = _hex_id(device_dir / "vendor")
    product_id = _hex_id(device_dir / "device")
    if vendor_id is None or product_id is None:
        return None
    pci_class = _read(device_dir / "class") or ""
    if pci_class.lower().startswith(BRIDGE_CLASS_PREFIX):
        return None
    numa_node = _int(device_dir / "numa_node")
    device: dict[str, Any] = {
        "address": device_dir.name,
        "vendor_id": vendor_id,
        "product_id": product_id,
        "dev_type": "type-PCI",
        "numa_node": numa_node if numa_node is not None and numa_node >= 0
        else None,
    }
    if pci_class:
        device["class"] = pci_class
    parent = _link_target_name(device_dir / "physfn")
    if parent:
        device["dev_type"] = "type-VF"
        device["parent_addr"] = parent
    elif _virtual_functions(device_dir) or (
            _int(device_dir / "sriov_totalvfs") or 0) > 0:
        device["dev_type"] = "type-PF"
        vf_product_id = _vf_product_id(device_dir)
        if vf_product_id:
            device["vf_product_id"] = vf_product_id
    return device


def _device_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    return sorted(path for path in root.iterdir() if path.is_dir())


def read_pci_devices(root: Path | str = DEFAULT_SYSFS_ROOT,
                     progress: Callable[[int, int], None] | None = None
                     ) -> list[dict[str, Any]]:
    """The host's PCI devices, sorted by address.  ``progress(done,
    total)`` is called after each device directory is read (bridges and
    unreadable devices included)."""
    devices = []
    device_dirs = _device_dirs(Path(root))
    for done, device_dir in enumerate(device_dirs, start=1):
        device = _read_device(device_dir)
        if device is not None:
            devices.append(device)
        if progress is not None:
            progress(done, len(device_dirs))
    return devices


def read_mdev_capacity(root: Path | str = DEFAULT_SYSFS_ROOT
                       ) -> list[dict[str, Any]]:
    """Per parent device and mdev type: available and existing mdevs."""
    capacity = []
    for device_dir in _device_dirs(Path(root)):
        types_dir = device_dir / "mdev_supported_types"
        if not types_dir.is_dir():
            continue
        for type_dir in sorted(types_dir.iterdir()):
            available = _int(type_dir / "available_instances")
            if available is None:
                continue
            existing_dir = type_dir / "devices"
            existing = (len(list(existing_dir.iterdir()))
                        if existing_dir.is_dir() else 0)
            capacity.append({"parent_addr": device_dir.name,
                             "type": type_dir.name,
                             "available_instances": available,
                             "existing": existing})
    return capacity
