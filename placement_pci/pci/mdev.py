"""Generic mediated device (mdev) types -> per-parent inventories.

Mirrors Nova's ``[devices] enabled_mdev_types`` with per-type
``device_addresses``, ``mdev_class`` and ``max_instances``: every parent
device gets one type (the type listing its address, else the default type,
the first one without addresses) and a provider whose inventory is the
existing mdevs plus the available instances of that type.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from placement_pci import errors, names
from placement_pci.pci import address as pci_address

MDEV_INVALID = "placement_pci.mdev.invalid"
DEFAULT_MDEV_CLASS = "VGPU"
_MDEV_CLASS = re.compile(r"^(VGPU|CUSTOM_[A-Z0-9_]+)$")
MAX_TYPES = 100
MAX_MDEV_DEVICES = 10000


@dataclass(frozen=True)
class MdevType:
    name: str
    device_addresses: tuple[pci_address.PciAddress, ...] = ()
    mdev_class: str = DEFAULT_MDEV_CLASS
    max_instances: int | None = None


@dataclass(frozen=True)
class MdevInventory:
    """The planned inventory of one mdev parent device."""

    parent_addr: pci_address.PciAddress
    mdev_type: str
    resource_class: str
    total: int

    def provider_suffix(self) -> str:
        """``pci_dddd_bb_ss_f``, Nova's name for an mdev parent provider."""
        text = str(self.parent_addr).replace(":", "_").replace(".", "_")
        return f"pci_{text}"


def _fail(reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"mdev: {reason}", code=MDEV_INVALID)


def _non_negative(value: object, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or value < minimum:
        raise _fail(f"{where} must be an integer >= {minimum}, "
                    f"got {value!r}")
    return value


def _parse_type(name: str, raw: object) -> MdevType:
    if not isinstance(raw, dict):
        raise _fail(f"types['{name}'] must be an object, got {raw!r}")
    addresses = raw.get("device_addresses") or []
    if isinstance(addresses, str):
        # nova.conf writes the list comma-separated
        addresses = [item for item in addresses.split(",") if item.strip()]
    if not isinstance(addresses, list):
        raise _fail(f"types['{name}'].device_addresses must be a list of "
                    f"PCI addresses, got {addresses!r}")
    parsed = []
    for item in addresses:
        try:
            parsed.append(pci_address.parse_address(item))
        except pci_address.AddressError as error:
            raise _fail(f"types['{name}'].device_addresses: {error}") \
                from None
    mdev_class = raw.get("mdev_class", DEFAULT_MDEV_CLASS)
    if (not isinstance(mdev_class, str)
            or len(mdev_class) > names.MAX_NAME_LENGTH
            or not _MDEV_CLASS.match(mdev_class)):
        raise _fail(f"types['{name}'].mdev_class {mdev_class!r} must be "
                    "VGPU or a CUSTOM_ class of A-Z, 0-9 and _")
    max_instances = raw.get("max_instances")
    if max_instances is not None:
        max_instances = _non_negative(
            max_instances, f"types['{name}'].max_instances", minimum=1)
    return MdevType(name=name, device_addresses=tuple(parsed),
                    mdev_class=mdev_class, max_instances=max_instances)


@dataclass(frozen=True)
class MdevConfig:
    """Which type each parent device uses."""

    by_address: dict[pci_address.PciAddress, MdevType]
    default: MdevType | None

    def type_for(self, parent: pci_address.PciAddress) -> MdevType | None:
        return self.by_address.get(parent, self.default)


def parse_mdev_config(raw: dict) -> tuple[MdevConfig, list[str]]:
    """Validate enabled_mdev_types + per-type options."""
    warnings: list[str] = []
    enabled = raw.get("enabled_mdev_types") or []
    if isinstance(enabled, str):
        enabled = [item.strip() for item in enabled.split(",")
                   if item.strip()]
    if not isinstance(enabled, list) or not all(
            isinstance(item, str) and item.strip() for item in enabled):
        raise _fail("enabled_mdev_types must be a list of type names, "
                    f"got {enabled!r}")
    if len(enabled) > MAX_TYPES:
        raise _fail(f"at most {MAX_TYPES} enabled_mdev_types are accepted")
    options = raw.get("types") or {}
    if not isinstance(options, dict):
        raise _fail(f"types must be an object keyed by type name, "
                    f"got {options!r}")
    for name in sorted(set(options) - set(enabled)):
        warnings.append(f"mdev: types['{name}'] is not in "
                        "enabled_mdev_types, ignored")
    by_address: dict[pci_address.PciAddress, MdevType] = {}
    default: MdevType | None = None
    seen: set[str] = set()
    for name in enabled:
        if name in seen:
            warnings.append(f"mdev: type '{name}' enabled twice, the "
                            "second is ignored")
            continue
        seen.add(name)
        mdev_type = _parse_type(name, options.get(name, {}))
        if not mdev_type.device_addresses:
            if default is None:
                default = mdev_type
            else:
                warnings.append(
                    f"mdev: type '{name}' has no device_addresses and "
                    f"'{default.name}' is already the default type; "
                    f"'{name}' is ignored")
            continue
        for parent in mdev_type.device_addresses:
            if parent in by_address:
                raise _fail(f"device address {parent} is listed under both "
                            f"'{by_address[parent].name}' and '{name}'")
            by_address[parent] = mdev_type
    return MdevConfig(by_address=by_address, default=default), warnings


def plan_mdev_inventories(raw: object) -> tuple[list[MdevInventory],
                                                list[str]]:
    """From the ``mdev`` request object to per-parent inventories.

    Parents whose total is 0 get no inventory.  ``max_instances`` caps a
    type's total over all its parents (filled in address order).
    """
    if raw is None:
        return [], []
    if not isinstance(raw, dict):
        raise _fail(f"must be an object, got {raw!r}")
    config, warnings = parse_mdev_config(raw)
    devices = raw.get("devices") or []
    if not isinstance(devices, list) or len(devices) > MAX_MDEV_DEVICES:
        raise _fail(f"devices must be a list of at most {MAX_MDEV_DEVICES} "
                    "objects")
    capacity: dict[pci_address.PciAddress, tuple[MdevType, int]] = {}
    for index, item in enumerate(devices):
        where = f"devices[{index}]"
        if not isinstance(item, dict):
            raise _fail(f"{where} must be an object, got {item!r}")
        try:
            parent = pci_address.parse_address(item.get("parent_addr"))
        except pci_address.AddressError as error:
            raise _fail(f"{where}.parent_addr: {error}") from None
        type_name = item.get("type")
        if not isinstance(type_name, str) or not type_name:
            raise _fail(f"{where}.type must be the mdev type name")
        available = _non_negative(item.get("available_instances", 0),
                                  f"{where}.available_instances")
        existing = _non_negative(item.get("existing", 0),
                                 f"{where}.existing")
        chosen = config.type_for(parent)
        if chosen is None or chosen.name != type_name:
            continue
        if parent in capacity:
            raise _fail(f"{where}: parent {parent} type '{type_name}' is "
                        "listed twice")
        capacity[parent] = (chosen, existing + available)
    remaining: dict[str, int | None] = {}
    inventories: list[MdevInventory] = []
    for parent in sorted(capacity):
        mdev_type, total = capacity[parent]
        left = remaining.setdefault(mdev_type.name, mdev_type.max_instances)
        if left is not None:
            total = min(total, left)
            remaining[mdev_type.name] = left - total
        if total <= 0:
            continue
        inventories.append(MdevInventory(
            parent_addr=parent, mdev_type=mdev_type.name,
            resource_class=mdev_type.mdev_class, total=total))
    return inventories, warnings
