"""The device list a host reports: parsing and validation.

Each device is a JSON object with ``address``, ``vendor_id``,
``product_id``, ``dev_type`` and optionally ``parent_addr`` (required for
VFs and vDPA devices), ``numa_node``, ``vf_product_id`` (of a PF) and
``assigned_to`` (the consumer uuid holding the device).  Devices whose
address lies outside the PCI limits are ignored with a warning.  Other
keys (agents may send more, such as ``class``) are ignored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from placement_pci import errors
from placement_pci.identifiers import parse_uuid
from placement_pci.pci import address as pci_address
from placement_pci.pci.device_spec import parse_hex_id

DEVICES_INVALID = "placement_pci.devices.invalid"
MAX_DEVICES = 10000

TYPE_PCI = "type-PCI"
TYPE_PF = "type-PF"
TYPE_VF = "type-VF"
TYPE_VDPA = "vdpa"
DEV_TYPES = (TYPE_PCI, TYPE_PF, TYPE_VF, TYPE_VDPA)
# Devices that are a provider of their own vs. inventory of their parent.
PARENT_TYPES = (TYPE_PCI, TYPE_PF)
CHILD_TYPES = (TYPE_VF, TYPE_VDPA)

# The numa_node column is a 32-bit integer.
MAX_NUMA_NODE = 2147483647

@dataclass(frozen=True)
class HostDevice:
    """One validated host device."""

    address: pci_address.PciAddress
    vendor_id: str
    product_id: str
    dev_type: str
    parent_addr: pci_address.PciAddress | None = None
    numa_node: int | None = None
    vf_product_id: str | None = None
    assigned_to: str | None = None

    @property
    def is_child(self) -> bool:
        return self.dev_type in CHILD_TYPES


def _device_error(index: int, raw: object, field_name: str | None,
                  reason: str) -> errors.BadRequest:
    try:
        text = json.dumps(raw, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(raw)
    where = f"devices[{index}] ({text})"
    if field_name is not None:
        where += f": field '{field_name}'"
    return errors.BadRequest(f"{where}: {reason}", code=DEVICES_INVALID)


def _parse_one(index: int, raw: Any) -> HostDevice:
    def fail(field_name: str | None, reason: str) -> errors.BadRequest:
        return _device_error(index, raw, field_name, reason)

    if not isinstance(raw, dict):
        raise fail(None, "must be a JSON object")
    for required in ("address", "vendor_id", "product_id", "dev_type"):
        if raw.get(required) is None:
            raise fail(required, "is required")
    dev_type = raw["dev_type"]
    if dev_type not in DEV_TYPES:
        raise fail("dev_type", f"unknown device type {dev_type!r}; "
                   f"expected one of {', '.join(DEV_TYPES)}")

    def pci_address_of(key: str) -> pci_address.PciAddress:
        # Out-of-range addresses propagate as AddressOutOfRange so the
        # caller can ignore the device with a warning; malformed ones are
        # errors.
        try:
            return pci_address.parse_address(raw[key])
        except pci_address.AddressOutOfRange:
            raise
        except pci_address.AddressError as error:
            raise fail(key, str(error)) from None

    address = pci_address_of("address")
    parent = (pci_address_of("parent_addr") if raw.get("parent_addr") is not None
              else None)
    if dev_type in CHILD_TYPES and parent is None:
        raise fail("parent_addr", f"a {dev_type} device needs the address "
                   "of its parent PF")

    def hex_id(key: str) -> str:
        try:
            return parse_hex_id(raw[key])
        except ValueError as error:
            raise fail(key, str(error)) from None

    # vendor_id and product_id are required (checked above).
    vendor_id, product_id = hex_id("vendor_id"), hex_id("product_id")
    vf_product_id = (hex_id("vf_product_id") if raw.get("vf_product_id") is not None
                     else None)
    numa_node = raw.get("numa_node")
    if numa_node is not None and (isinstance(numa_node, bool)
                                  or not isinstance(numa_node, int)
                                  or not 0 <= numa_node <= MAX_NUMA_NODE):
        raise fail("numa_node", f"must be an integer from 0 to {MAX_NUMA_NODE} or null, "
                   f"got {numa_node!r}")
    assigned_to = raw.get("assigned_to")
    if assigned_to is not None:
        parsed = parse_uuid(str(assigned_to))
        if parsed is None:
            raise fail("assigned_to", f"{assigned_to!r} is not a uuid")
        assigned_to = parsed
    return HostDevice(address=address, vendor_id=vendor_id,
                      product_id=product_id, dev_type=dev_type,
                      parent_addr=parent, numa_node=numa_node,
                      vf_product_id=vf_product_id,
                      assigned_to=assigned_to)


def parse_host_devices(items: object) -> tuple[list[HostDevice], list[str]]:
    """Validate the host's device list.

    Returns the devices (in input order) and warnings for ignored devices.
    Raises BadRequest (code ``placement_pci.devices.invalid``) naming the
    first invalid device.
    """
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise errors.BadRequest(f"devices must be a list, got {items!r}",
                                code=DEVICES_INVALID)
    if len(items) > MAX_DEVICES:
        raise errors.BadRequest(
            f"devices has {len(items)} entries; at most {MAX_DEVICES} are "
            "accepted", code=DEVICES_INVALID)
    devices: list[HostDevice] = []
    warnings: list[str] = []
    seen: set[pci_address.PciAddress] = set()
    for index, raw in enumerate(items):
        try:
            device = _parse_one(index, raw)
        except pci_address.AddressOutOfRange as error:
            warnings.append(f"devices[{index}] ignored: address out of "
                            f"range ({error})")
            continue
        if device.address in seen:
            raise _device_error(index, raw, "address",
                                f"{device.address} is listed twice")
        seen.add(device.address)
        devices.append(device)
    return devices, warnings
