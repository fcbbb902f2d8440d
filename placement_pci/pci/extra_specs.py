"""Flavor extra specs and image properties: what they ask of the scheduler.

Reads the keys that shape a Placement request (``resources[S]:``,
``trait[S]:``, ``group_policy``, ``pci_passthrough:alias``, the PCI NUMA
policy, the vIOMMU model, locked memory, image ``trait:`` properties) into
a ``SchedulingHints`` value, validating each as Nova's flavor API validator
does.  Unlike Nova's scheduler, which logs and drops bad values, every bad
value is an error (``BadRequest``, code ``placement_pci.extra_specs.invalid``)
naming the key.  Keys outside these namespaces belong to other filters and
are ignored.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from placement_pci import errors, names
from placement_pci.pci.alias import NUMA_POLICIES
from placement_pci.pci.device_spec import parse_strict_boolean
from placement_pci.pci.viommu import MODEL_TRAITS

EXTRA_SPECS_INVALID = "placement_pci.extra_specs.invalid"

ALIAS_KEY = "pci_passthrough:alias"
GROUP_POLICY_KEY = "group_policy"
GROUP_POLICIES = ("none", "isolate")
FLAVOR_NUMA_POLICY_KEY = "hw:pci_numa_affinity_policy"
IMAGE_NUMA_POLICY_KEY = "hw_pci_numa_affinity_policy"
FLAVOR_VIOMMU_KEY = "hw:viommu_model"
IMAGE_VIOMMU_KEY = "hw_viommu_model"
VIOMMU_MODELS = tuple(sorted(MODEL_TRAITS))
FLAVOR_LOCKED_MEMORY_KEY = "hw:locked_memory"
IMAGE_LOCKED_MEMORY_KEY = "hw_locked_memory"
FLAVOR_PAGE_SIZE_KEY = "hw:mem_page_size"
IMAGE_PAGE_SIZE_KEY = "hw_mem_page_size"
IMAGE_TRAIT_PREFIX = "trait:"
# How Nova's image metadata object carries the ``trait:`` properties.
IMAGE_TRAITS_REQUIRED_KEY = "traits_required"
MAX_IMAGE_TRAITS = 100

MAX_AMOUNT = 2147483647
MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 255
MAX_ENTRIES = 1000

# Nova's granular key pattern: prefix, optional group suffix, class/trait.
_GRANULAR_KEY = re.compile(r"^(resources|trait)([a-zA-Z0-9_-]{1,64})?:(.*)$")
_NAMESPACE_OF_GRANULAR = re.compile(r"^(resources|trait)[^:]*:")
_AMOUNT = re.compile(r"^\d+$")
_ALIAS_COUNT = re.compile(r"^\d+$")
_PAGE_SIZE = re.compile(r"^(small|large|any|\d+([kKmMgGtT]i?)?[bB]?)$")


def extra_specs_error(key: str | None, reason: str) -> errors.BadRequest:
    where = f"extra spec '{key}'" if key is not None else "extra specs"
    return errors.BadRequest(f"Invalid {where}: {reason}",
                             code=EXTRA_SPECS_INVALID)


def image_property_error(key: str | None, reason: str) -> errors.BadRequest:
    where = f"image property '{key}'" if key is not None else "image properties"
    return errors.BadRequest(f"Invalid {where}: {reason}",
                             code=EXTRA_SPECS_INVALID)


@dataclass(frozen=True)
class AliasItem:
    """One ``name:count`` item of ``pci_passthrough:alias``."""

    item: int
    name: str
    count: int


@dataclass
class FlavorGroupRequest:
    """What the flavor's granular keys ask of one group (by suffix)."""

    resources: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)


@dataclass
class SchedulingHints:
    """Everything in the flavor and image that shapes the request."""

    groups: dict[str, FlavorGroupRequest] = field(default_factory=dict)
    group_policy: str | None = None
    alias_items: list[AliasItem] = field(default_factory=list)
    numa_policy: str | None = None
    viommu_model: str | None = None
    locked_memory: bool | None = None
    image_required_traits: set[str] = field(default_factory=set)
    # The validated key/value strings, for the feature translation.
    extra_specs: dict[str, str] = field(default_factory=dict)
    image_properties: dict[str, str] = field(default_factory=dict)
    # Root traits the flavor's and image's features add (nova_features).
    feature_root_required: set[str] = field(default_factory=set)


def parse_alias_request(value: str) -> list[AliasItem]:
    """Parse ``name:count[,name:count...]`` (spaces around items allowed)."""
    if not value.strip():
        raise extra_specs_error(ALIAS_KEY, "is empty; expected "
                                           "'<alias>:<count>[,...]'")
    items = []
    for position, text in enumerate(value.split(",")):
        parts = text.split(":")
        if len(parts) != 2:
            raise extra_specs_error(
                ALIAS_KEY, f"item {position} '{text.strip()}' is not of the "
                           f"form '<alias>:<count>'")
        name, count_text = parts[0].strip(), parts[1].strip()
        if not name:
            raise extra_specs_error(
                ALIAS_KEY, f"item {position} '{text.strip()}' has no alias "
                           f"name")
        if not _ALIAS_COUNT.match(count_text):
            raise extra_specs_error(
                ALIAS_KEY, f"item {position} '{text.strip()}': count "
                           f"'{count_text}' is not a non-negative integer")
        items.append(AliasItem(position, name, int(count_text)))
    return items


def _is_valid_resource_class(name: str) -> bool:
    return names.is_standard_resource_class(name) or names.is_custom_name(name)


def _is_valid_trait(name: str) -> bool:
    return names.is_standard_trait(name) or names.is_custom_name(name)


def _parse_amount(key: str, value: str) -> int:
    text = value.strip()
    if not _AMOUNT.match(text) or int(text) > MAX_AMOUNT:
        raise extra_specs_error(
            key, f"amount '{value}' must be an integer from 0 to "
                 f"{MAX_AMOUNT}")
    return int(text)


def _apply_granular(hints: SchedulingHints, key: str, value: str) -> None:
    match = _GRANULAR_KEY.match(key)
    if match is None:
        raise extra_specs_error(
            key, "a resources/trait key must be 'resources[SUFFIX]:<CLASS>' "
                 "or 'trait[SUFFIX]:<TRAIT>' with SUFFIX of 1 to 64 "
                 "characters from [a-zA-Z0-9_-]")
    prefix, suffix, name = match.group(1), match.group(2) or "", match.group(3)
    group = hints.groups.setdefault(suffix, FlavorGroupRequest())
    if prefix == "resources":
        if not _is_valid_resource_class(name):
            raise extra_specs_error(
                key, f"'{name}' is neither a standard resource class nor "
                     f"a CUSTOM_ name of [A-Z0-9_]")
        group.resources[name] = _parse_amount(key, value)
        return
    if not _is_valid_trait(name):
        raise extra_specs_error(
            key, f"'{name}' is neither a standard trait nor a CUSTOM_ name "
                 f"of [A-Z0-9_]")
    if value == "required":
        group.required.add(name)
    elif value == "forbidden":
        group.forbidden.add(name)
    else:
        raise extra_specs_error(
            key, f"value '{value}' must be 'required' or 'forbidden'")


def _choice(key: str, value: str, choices: tuple[str, ...],
            error=extra_specs_error) -> str:
    if value not in choices:
        raise error(key, f"'{value}' is not one of {', '.join(choices)}")
    return value


def _boolean(key: str, value: object, error=extra_specs_error) -> bool:
    try:
        return parse_strict_boolean(value)
    except ValueError as exc:
        raise error(key, str(exc)) from None


def _page_size(key: str, value: str, error=extra_specs_error) -> str:
    if not _PAGE_SIZE.match(value.strip()):
        raise error(key, f"'{value}' is not a page size (small, large, any "
                         f"or a size such as 2048 or 1GB)")
    return value


def _string_values(mapping: object, what: str, error) -> dict[str, str]:
    """Check a key/value mapping; numbers and booleans become strings as
    Nova's flavor API stores them."""
    if not isinstance(mapping, Mapping):
        raise error(None, f"{what} must be an object of key/value strings")
    if len(mapping) > MAX_ENTRIES:
        raise error(None, f"{what} may have at most {MAX_ENTRIES} entries")
    result = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise error(str(key), f"keys must be 1 to {MAX_KEY_LENGTH} "
                                  f"characters")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            raise error(key, f"value must be a string, got {value!r}")
        if len(value) > MAX_VALUE_LENGTH:
            raise error(key, f"value is longer than {MAX_VALUE_LENGTH} "
                             f"characters")
        result[key] = value
    return result


def read_extra_specs(extra_specs: object) -> tuple[SchedulingHints,
                                                   dict[str, str]]:
    """Validate the flavor's extra specs; return hints and the raw strings."""
    specs = _string_values(extra_specs, "extra_specs", extra_specs_error)
    hints = SchedulingHints()
    for key, value in specs.items():
        if key == GROUP_POLICY_KEY:
            hints.group_policy = _choice(key, value, GROUP_POLICIES)
        elif key == ALIAS_KEY:
            hints.alias_items = parse_alias_request(value)
        elif _NAMESPACE_OF_GRANULAR.match(key):
            _apply_granular(hints, key, value)
        elif key == FLAVOR_NUMA_POLICY_KEY:
            _choice(key, value, NUMA_POLICIES)
        elif key == FLAVOR_VIOMMU_KEY:
            _choice(key, value, VIOMMU_MODELS)
        elif key == FLAVOR_LOCKED_MEMORY_KEY:
            _boolean(key, value)
        elif key == FLAVOR_PAGE_SIZE_KEY:
            _page_size(key, value)
    return hints, specs


def _image_trait_list(value: object) -> set[str]:
    """``traits_required``: a list of trait names, each required."""
    key = IMAGE_TRAITS_REQUIRED_KEY
    if not isinstance(value, list) or len(value) > MAX_IMAGE_TRAITS:
        raise image_property_error(
            key, f"must be a list of at most {MAX_IMAGE_TRAITS} trait names, "
                 f"got {value!r}")
    traits = set()
    for item in value:
        if not isinstance(item, str) or not _is_valid_trait(item):
            raise image_property_error(
                key, f"{item!r} is neither a standard trait nor a CUSTOM_ "
                     f"name of [A-Z0-9_]")
        traits.add(item)
    return traits


def read_image_properties(properties: object) -> tuple[dict[str, str],
                                                       set[str]]:
    """Validate the image properties this translation reads; return them
    and the traits of ``traits_required``."""
    listed: set[str] = set()
    if (isinstance(properties, Mapping)
            and IMAGE_TRAITS_REQUIRED_KEY in properties):
        listed = _image_trait_list(properties[IMAGE_TRAITS_REQUIRED_KEY])
        properties = {key: value for key, value in properties.items()
                      if key != IMAGE_TRAITS_REQUIRED_KEY}
    props = _string_values(properties, "properties", image_property_error)
    for key, value in props.items():
        if key == IMAGE_NUMA_POLICY_KEY:
            _choice(key, value, NUMA_POLICIES, image_property_error)
        elif key == IMAGE_VIOMMU_KEY:
            _choice(key, value, VIOMMU_MODELS, image_property_error)
        elif key == IMAGE_LOCKED_MEMORY_KEY:
            _boolean(key, value, image_property_error)
        elif key == IMAGE_PAGE_SIZE_KEY:
            _page_size(key, value, image_property_error)
        elif key.startswith(IMAGE_TRAIT_PREFIX):
            trait = key[len(IMAGE_TRAIT_PREFIX):]
            if not _is_valid_trait(trait):
                raise image_property_error(
                    key, f"'{trait}' is neither a standard trait nor a "
                         f"CUSTOM_ name of [A-Z0-9_]")
            if value != "required":
                raise image_property_error(
                    key, f"value '{value}' is not supported; image traits "
                         f"can only be 'required'")
    return props, listed


def combine(extra_specs: object, image_properties: object) -> SchedulingHints:
    """Read flavor and image together, resolving the settings both may set.

    The PCI NUMA policy and locked memory must agree when both set them;
    the flavor's vIOMMU model wins over the image's.
    """
    hints, specs = read_extra_specs(extra_specs)
    props, listed_traits = read_image_properties(image_properties)
    hints.extra_specs = specs
    hints.image_properties = props

    flavor_policy = specs.get(FLAVOR_NUMA_POLICY_KEY)
    image_policy = props.get(IMAGE_NUMA_POLICY_KEY)
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise extra_specs_error(
            FLAVOR_NUMA_POLICY_KEY,
            f"'{flavor_policy}' conflicts with image property "
            f"{IMAGE_NUMA_POLICY_KEY}='{image_policy}'; set one, or the "
            f"same value in both")
    hints.numa_policy = flavor_policy or image_policy

    hints.viommu_model = (specs.get(FLAVOR_VIOMMU_KEY)
                          or props.get(IMAGE_VIOMMU_KEY))

    flavor_locked = specs.get(FLAVOR_LOCKED_MEMORY_KEY)
    image_locked = props.get(IMAGE_LOCKED_MEMORY_KEY)
    flavor_locked_value = (None if flavor_locked is None
                           else parse_strict_boolean(flavor_locked))
    image_locked_value = (None if image_locked is None
                          else parse_strict_boolean(image_locked))
    if (flavor_locked_value is not None and image_locked_value is not None
            and flavor_locked_value != image_locked_value):
        raise extra_specs_error(
            FLAVOR_LOCKED_MEMORY_KEY,
            f"'{flavor_locked}' conflicts with image property "
            f"{IMAGE_LOCKED_MEMORY_KEY}='{image_locked}'")
    locked = (flavor_locked_value if flavor_locked_value is not None
              else image_locked_value)
    if locked and not (specs.get(FLAVOR_PAGE_SIZE_KEY)
                       or props.get(IMAGE_PAGE_SIZE_KEY)):
        key = (FLAVOR_LOCKED_MEMORY_KEY if flavor_locked_value
               else IMAGE_LOCKED_MEMORY_KEY)
        raise extra_specs_error(
            key, f"locked memory needs an explicit page size: set "
                 f"{FLAVOR_PAGE_SIZE_KEY} in the flavor or "
                 f"{IMAGE_PAGE_SIZE_KEY} on the image")
    hints.locked_memory = locked

    hints.image_required_traits = {
        key[len(IMAGE_TRAIT_PREFIX):] for key, value in props.items()
        if key.startswith(IMAGE_TRAIT_PREFIX)} | listed_traits
    return hints
