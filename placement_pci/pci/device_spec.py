"""``[pci] device_spec`` entries: parsing, validation and device matching.

An entry is a JSON object, a JSON list of objects, or a string holding
either exactly as written in nova.conf.  Each object becomes one
DeviceSpec; a device takes the first spec that matches it.  Every error
names the entry (its index and text) and the field, and is raised as
``BadRequest`` with code ``placement_pci.device_spec.invalid``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from placement_pci import errors, names
from placement_pci.pci import address as pci_address

DEVICE_SPEC_INVALID = "placement_pci.device_spec.invalid"

MAX_ENTRIES = 1000
MAX_ID = 0xFFFF

# Strict boolean spellings (compared case-insensitively).
TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")
FALSE_WORDS = ("0", "f", "false", "off", "n", "no")

BOOLEAN_TAGS = ("managed", "live_migratable", "one_time_use",
                "remote_managed", "trusted")
TAG_DEFAULTS = {"managed": True, "live_migratable": False,
                "one_time_use": False, "remote_managed": False}
STRING_TAGS = ("physical_network", "resource_class", "traits")

_HEX_ID = re.compile(r"^(0[xX])?[0-9a-fA-F]+$")


def describe_entry(index: int, text: str) -> str:
    return f"device_spec entry {index} ({text})"


def _entry_error(index: int, text: str, field_name: str | None,
                 reason: str) -> errors.BadRequest:
    where = describe_entry(index, text)
    if field_name is not None:
        where += f": field '{field_name}'"
    return errors.BadRequest(f"{where}: {reason}", code=DEVICE_SPEC_INVALID)


def parse_strict_boolean(value: object) -> bool:
    """Parse one of the accepted boolean spellings; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(
        f"{value!r} is not a boolean; accepted values are "
        f"{'/'.join(TRUE_WORDS)} for true and {'/'.join(FALSE_WORDS)} "
        f"for false (case-insensitive), or JSON true/false")


def parse_hex_id(value: object) -> str:
    """Parse a vendor or product id into 4 lower-case hex digits."""
    if not isinstance(value, str):
        raise ValueError(f"must be a hex string such as \"10de\", "
                         f"got {value!r}")
    text = value.strip()
    if not _HEX_ID.match(text):
        raise ValueError(f"'{value}' is not a hex number")
    number = int(text, 16)
    if number > MAX_ID:
        raise ValueError(f"'{value}' is greater than 0x{MAX_ID:X}")
    return f"{number:04x}"


def parse_traits_tag(value: str) -> frozenset[str]:
    """Turn the comma-separated ``traits`` tag into normalised names."""
    if not value.strip():
        return frozenset()
    result = set()
    for item in value.split(","):
        if not item.strip():
            raise ValueError(f"'{value}' has an empty trait name")
        result.add(names.normalize_trait(item))
    return frozenset(result)


@dataclass(frozen=True)
class DeviceSpec:
    """One validated device spec.

    ``vendor_id``/``product_id`` are 4 lower-case hex digits or None for
    any.  ``tags`` holds every key other than vendor_id, product_id and
    address, with boolean tags turned into bools.
    """

    index: int
    text: str
    vendor_id: str | None
    product_id: str | None
    address: pci_address.AddressPattern
    tags: dict[str, Any] = field(hash=False, compare=False)
    resource_class: str | None = None
    traits: frozenset[str] = frozenset()

    @property
    def managed(self) -> bool:
        return self.tags.get("managed", TAG_DEFAULTS["managed"])

    @property
    def live_migratable(self) -> bool:
        return self.tags.get("live_migratable",
                             TAG_DEFAULTS["live_migratable"])

    @property
    def one_time_use(self) -> bool:
        return self.tags.get("one_time_use", TAG_DEFAULTS["one_time_use"])

    @property
    def remote_managed(self) -> bool:
        return self.tags.get("remote_managed",
                             TAG_DEFAULTS["remote_managed"])

    @property
    def trusted(self) -> bool | None:
        return self.tags.get("trusted")

    @property
    def physical_network(self) -> str | None:
        return self.tags.get("physical_network") or None

    @property
    def description(self) -> str:
        return describe_entry(self.index, self.text)

    def single_address(self) -> pci_address.PciAddress | None:
        return self.address.single_address()

    def matches_ids(self, vendor_id: str, product_id: str) -> bool:
        return (self.vendor_id in (None, vendor_id)
                and self.product_id in (None, product_id))

    def error(self, field_name: str | None, reason: str) -> errors.BadRequest:
        """A device_spec error about this spec (used by later checks)."""
        return _entry_error(self.index, self.text, field_name, reason)


def _parse_address_field(value: object) -> pci_address.AddressPattern:
    if value is None:
        return pci_address.AddressGlob()
    if isinstance(value, str):
        return pci_address.parse_address_glob(value)
    if isinstance(value, dict):
        return pci_address.parse_address_regex(value)
    raise pci_address.AddressError(
        f"must be a string glob or an object of regexes, got {value!r}")


def parse_spec_object(raw: dict, index: int, text: str) -> DeviceSpec:
    """Validate one spec object (already decoded from JSON)."""
    def fail(field_name: str | None, reason: str) -> errors.BadRequest:
        return _entry_error(index, text, field_name, reason)

    if "devname" in raw:
        raise fail("devname", "'devname' is not supported with placement "
                   "reporting; select the device by its PCI 'address' "
                   "instead")
    ids: dict[str, str | None] = {}
    for key in ("vendor_id", "product_id"):
        value = raw.get(key)
        if value is None or (isinstance(value, str)
                             and value.strip() == pci_address.ANY):
            ids[key] = None
            continue
        try:
            ids[key] = parse_hex_id(value)
        except ValueError as error:
            raise fail(key, str(error)) from None
    try:
        address = _parse_address_field(raw.get("address"))
    except pci_address.AddressError as error:
        raise fail("address", str(error)) from None

    tags: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("vendor_id", "product_id", "address"):
            continue
        if key in BOOLEAN_TAGS:
            try:
                tags[key] = parse_strict_boolean(value)
            except ValueError as error:
                raise fail(key, str(error)) from None
        elif key in STRING_TAGS:
            if not isinstance(value, str):
                raise fail(key, f"must be a string, got {value!r}")
            tags[key] = value
        else:
            tags[key] = value

    resource_class = None
    if tags.get("resource_class", "").strip():
        try:
            resource_class = names.normalize_resource_class(
                tags["resource_class"])
        except ValueError as error:
            raise fail("resource_class", str(error)) from None
    try:
        traits = parse_traits_tag(tags.get("traits", ""))
    except ValueError as error:
        raise fail("traits", str(error)) from None

    return DeviceSpec(index=index, text=text, vendor_id=ids["vendor_id"],
                      product_id=ids["product_id"], address=address,
                      tags=tags, resource_class=resource_class,
                      traits=traits)


def _canonical(raw: dict) -> str:
    return json.dumps(raw, sort_keys=True)


def entry_text(entry: object) -> str:
    """An entry as the operator wrote it, for error messages."""
    if isinstance(entry, str):
        return entry
    try:
        return json.dumps(entry, sort_keys=True)
    except (TypeError, ValueError):
        return repr(entry)


def _entry_objects(entry: object, index: int, text: str) -> list[dict]:
    if isinstance(entry, str):
        try:
            entry = json.loads(entry)
        except ValueError as error:
            raise _entry_error(index, text, None,
                               f"not valid JSON: {error}") from None
    if isinstance(entry, dict):
        return [entry]
    if isinstance(entry, list) and entry and all(
            isinstance(item, dict) for item in entry):
        return list(entry)
    raise _entry_error(index, text, None, "must be a JSON object or a "
                       "non-empty JSON list of objects")


def parse_device_specs(entries: object) -> tuple[list[DeviceSpec], list[str]]:
    """Parse a list of device_spec entries.

    Returns the specs in order and warnings (dropped exact duplicates).
    Raises BadRequest naming the first invalid entry.
    """
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        raise errors.BadRequest(
            f"device_spec must be a list of entries, got {entries!r}",
            code=DEVICE_SPEC_INVALID)
    if len(entries) > MAX_ENTRIES:
        raise errors.BadRequest(
            f"device_spec has {len(entries)} entries; at most "
            f"{MAX_ENTRIES} are accepted", code=DEVICE_SPEC_INVALID)
    specs: list[DeviceSpec] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        text = entry_text(entry)
        for raw in _entry_objects(entry, index, text):
            key = _canonical(raw)
            if key in seen:
                warnings.append(
                    f"{describe_entry(index, text)}: duplicate of "
                    f"device_spec entry {seen[key]}, ignored")
                continue
            seen[key] = index
            specs.append(parse_spec_object(raw, index, text))
    return specs, warnings


def first_matching_spec(specs: Iterable[DeviceSpec], vendor_id: str,
                        product_id: str, address: pci_address.PciAddress,
                        parent: pci_address.PciAddress | None,
                        physical_functions: frozenset[pci_address.PciAddress],
                        ) -> DeviceSpec | None:
    """The first spec that selects the device, or None.

    A spec naming the exact address of a PF also selects the PF's VFs
    (Nova's rule), which is why the host's PF addresses are needed.
    """
    for spec in specs:
        if not spec.matches_ids(vendor_id, product_id):
            continue
        if spec.address.matches(address):
            return spec
        named = spec.single_address()
        if (parent is not None and named is not None
                and named in physical_functions and named == parent):
            return spec
    return None
