"""``[pci] alias`` entries: parsing, validation and same-name merging.

An alias names the kind of PCI device a flavor asks for with
``pci_passthrough:alias``.  Each entry is a JSON object, or a string holding
one exactly as written in nova.conf.  Entries sharing a name are merged into
one alias whose specs are alternatives; with placement scheduling (always
the case for request groups) an alias may have only one spec, and that spec
must say which resource class it wants (``resource_class``, or
``vendor_id`` + ``product_id`` for the default ``CUSTOM_PCI_<V>_<P>``).

Every error is ``BadRequest`` with code ``placement_pci.alias.invalid`` and
names the alias (or the entry, when it has no usable name) and the reason.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from placement_pci import errors, names
from placement_pci.pci.device_spec import entry_text, parse_strict_boolean, parse_traits_tag

ALIAS_INVALID = "placement_pci.alias.invalid"

MAX_ALIASES = 1000
MAX_NAME_LENGTH = 256

DEVICE_TYPES = ("type-PCI", "type-PF", "type-VF")
NUMA_POLICIES = ("required", "legacy", "preferred", "socket")
DEFAULT_NUMA_POLICY = "legacy"
CAPABILITY_TYPES = ("pci",)

KNOWN_FIELDS = ("name", "vendor_id", "product_id", "device_type",
                "numa_policy", "capability_type", "resource_class", "traits",
                "live_migratable")

_FOUR_HEX_DIGITS = re.compile(r"^[0-9a-fA-F]{4}$")


@dataclass(frozen=True)
class AliasSpec:
    """One device description of an alias (one nova.conf entry).

    ``resource_class`` is the normalised class the operator gave, or None;
    ``vendor_id``/``product_id`` are lower-case.  ``live_migratable`` is
    None when the entry does not say.
    """

    index: int
    text: str
    vendor_id: str | None = None
    product_id: str | None = None
    device_type: str | None = None
    capability_type: str | None = None
    resource_class: str | None = None
    traits: frozenset[str] = frozenset()
    live_migratable: bool | None = None

    @property
    def placement_resource_class(self) -> str | None:
        """The class this spec asks Placement for (None if it cannot say)."""
        if self.resource_class:
            return self.resource_class
        if self.vendor_id and self.product_id:
            return f"CUSTOM_PCI_{self.vendor_id.upper()}_{self.product_id.upper()}"
        return None

    def as_dict(self) -> dict[str, Any]:
        """The spec's fields in the alias JSON vocabulary (only those set)."""
        result: dict[str, Any] = {}
        for key in ("vendor_id", "product_id", "device_type",
                    "capability_type", "resource_class"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        if self.traits:
            result["traits"] = ",".join(sorted(self.traits))
        if self.live_migratable is not None:
            result["live_migratable"] = self.live_migratable
        return result


@dataclass(frozen=True)
class PciAlias:
    """All entries sharing one name, merged."""

    name: str
    numa_policy: str
    device_type: str | None
    specs: tuple[AliasSpec, ...]

    @property
    def spec(self) -> AliasSpec:
        """The only spec (placement scheduling allows exactly one)."""
        return self.specs[0]

    @property
    def resource_class(self) -> str:
        class_name = self.spec.placement_resource_class
        assert class_name is not None, "placement validation guarantees it"
        return class_name

    @property
    def required_traits(self) -> frozenset[str]:
        """Traits every device provider serving this alias must have."""
        required = set(self.spec.traits) | {"OWNER_NOVA"}
        if self.spec.live_migratable is True:
            required.add("HW_PCI_LIVE_MIGRATABLE")
        return frozenset(required)

    @property
    def forbidden_traits(self) -> frozenset[str]:
        if self.spec.live_migratable is False:
            return frozenset({"HW_PCI_LIVE_MIGRATABLE"})
        return frozenset()

    def as_dict(self) -> dict[str, Any]:
        """The canonical alias object (one spec), as the API returns it."""
        result = {"name": self.name, "numa_policy": self.numa_policy}
        result.update(self.spec.as_dict())
        return result


def _alias_error(where: str, reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"Invalid PCI alias {where}: {reason}",
                             code=ALIAS_INVALID)


def _load_entry(index: int, entry: object) -> dict:
    text = entry_text(entry)
    where = f"entry {index} ({text})"
    if isinstance(entry, str):
        try:
            entry = json.loads(entry)
        except ValueError as error:
            raise _alias_error(where, f"not valid JSON: {error}") from None
    if not isinstance(entry, dict):
        raise _alias_error(where, "an alias must be a JSON object")
    return entry


def _string_field(raw: dict, key: str, where: str) -> str | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, str):
        raise _alias_error(where, f"{key} must be a string, got {value!r}")
    return value


def _choice_field(raw: dict, key: str, choices: tuple[str, ...],
                  where: str) -> str | None:
    value = _string_field(raw, key, where)
    if value is not None and value not in choices:
        raise _alias_error(
            where, f"{key} '{value}' is not one of {', '.join(choices)}")
    return value


def _hex_id_field(raw: dict, key: str, where: str) -> str | None:
    value = _string_field(raw, key, where)
    if value is None:
        return None
    if not _FOUR_HEX_DIGITS.match(value):
        raise _alias_error(
            where, f"{key} '{value}' must be exactly 4 hex digits")
    return value.lower()


def _parse_name(raw: dict, where: str) -> str:
    if "name" not in raw:
        raise _alias_error(where, "name is required")
    value = raw["name"]
    if not isinstance(value, str):
        raise _alias_error(where, f"name must be a string, got {value!r}")
    if not 1 <= len(value) <= MAX_NAME_LENGTH:
        raise _alias_error(
            where, f"name must be 1 to {MAX_NAME_LENGTH} characters long")
    name = value.strip()
    if not name:
        raise _alias_error(where, "name is blank")
    return name


def parse_alias_entry(index: int, entry: object) -> tuple[str, str, AliasSpec]:
    """Validate one entry; return (name, numa_policy, spec)."""
    raw = _load_entry(index, entry)
    text = entry_text(entry)
    where = f"entry {index} ({text})"
    name = _parse_name(raw, where)
    where = f"'{name}' (entry {index}: {text})"

    unknown = sorted(set(raw) - set(KNOWN_FIELDS))
    if unknown:
        raise _alias_error(
            where, f"unknown field(s) {', '.join(unknown)}; accepted fields "
                   f"are {', '.join(KNOWN_FIELDS)}")

    numa_policy = (_choice_field(raw, "numa_policy", NUMA_POLICIES, where)
                   or DEFAULT_NUMA_POLICY)
    resource_class_text = _string_field(raw, "resource_class", where)
    resource_class = None
    if resource_class_text is not None and resource_class_text.strip():
        try:
            resource_class = names.normalize_resource_class(resource_class_text)
        except ValueError as error:
            raise _alias_error(where, f"resource_class: {error}") from None

    traits: frozenset[str] = frozenset()
    traits_text = _string_field(raw, "traits", where)
    if traits_text is not None:
        try:
            traits = parse_traits_tag(traits_text)
        except ValueError as error:
            raise _alias_error(where, f"traits: {error}") from None

    live_migratable = None
    if "live_migratable" in raw:
        try:
            live_migratable = parse_strict_boolean(raw["live_migratable"])
        except ValueError as error:
            raise _alias_error(where, f"live_migratable: {error}") from None

    spec = AliasSpec(
        index=index,
        text=text,
        vendor_id=_hex_id_field(raw, "vendor_id", where),
        product_id=_hex_id_field(raw, "product_id", where),
        device_type=_choice_field(raw, "device_type", DEVICE_TYPES, where),
        capability_type=_choice_field(raw, "capability_type",
                                      CAPABILITY_TYPES, where),
        resource_class=resource_class,
        traits=traits,
        live_migratable=live_migratable,
    )
    return name, numa_policy, spec


def _merge(aliases: dict[str, PciAlias], name: str, numa_policy: str,
           spec: AliasSpec) -> None:
    existing = aliases.get(name)
    if existing is None:
        aliases[name] = PciAlias(name, numa_policy, spec.device_type, (spec,))
        return
    where = f"'{name}' (entry {spec.index}: {spec.text})"
    if existing.numa_policy != numa_policy:
        raise _alias_error(
            where, f"numa_policy '{numa_policy}' differs from "
                   f"'{existing.numa_policy}' of an earlier entry with the "
                   f"same name; entries sharing a name must agree")
    if existing.device_type is None or spec.device_type is None:
        raise _alias_error(
            where, "entries sharing a name must each set device_type "
                   "(and to the same value)")
    if existing.device_type != spec.device_type:
        raise _alias_error(
            where, f"device_type '{spec.device_type}' differs from "
                   f"'{existing.device_type}' of an earlier entry with the "
                   f"same name; entries sharing a name must agree")
    aliases[name] = PciAlias(name, numa_policy, existing.device_type,
                             existing.specs + (spec,))


def _check_placement_rules(alias: PciAlias) -> None:
    if len(alias.specs) > 1:
        indexes = ", ".join(str(spec.index) for spec in alias.specs)
        raise _alias_error(
            f"'{alias.name}' (entries {indexes})",
            "with placement scheduling an alias may have only one spec; "
            "give the devices one resource_class in their device specs "
            "instead of listing several entries under one alias name")
    spec = alias.spec
    if spec.placement_resource_class is None:
        raise _alias_error(
            f"'{alias.name}' (entry {spec.index}: {spec.text})",
            "needs vendor_id and product_id, or resource_class, to know "
            "which resource class to request from placement")


def parse_aliases(entries: Iterable[object], *,
                  placement: bool = True) -> dict[str, PciAlias]:
    """Parse ``[pci] alias`` entries into aliases keyed by name.

    ``placement=True`` (what request groups need) also enforces the rules
    of placement scheduling: one spec per alias, and a resource class that
    can be derived from it.
    """
    if isinstance(entries, (str, dict)) or not isinstance(entries, Iterable):
        raise _alias_error("list", "aliases must be given as a list of "
                                   "entries")
    entry_list = list(entries)
    if len(entry_list) > MAX_ALIASES:
        raise _alias_error("list", f"at most {MAX_ALIASES} entries allowed")
    aliases: dict[str, PciAlias] = {}
    for index, entry in enumerate(entry_list):
        name, numa_policy, spec = parse_alias_entry(index, entry)
        _merge(aliases, name, numa_policy, spec)
    if placement:
        for alias in aliases.values():
            _check_placement_rules(alias)
    return aliases
