"""Flavor + image + aliases -> the request groups of one boot request.

``translate_request`` builds a ``CandidateRequest`` (the shared structure
the candidate engine consumes) and remembers where each group came from:
the flavor's own resources and granular groups, or one device of one
``pci_passthrough:alias`` item.  Rendering (the API response and the GET
/allocation_candidates query string) lives in ``request_rendering``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.pci import extra_specs as specs_module
from placement_pci.pci import nova_features
from placement_pci.pci.alias import PciAlias, parse_aliases
from placement_pci.pci.extra_specs import AliasItem, SchedulingHints, extra_specs_error
from placement_pci.pci.viommu import MODEL_TRAITS

MAX_ALIAS_DEVICES = 128
MAX_SUFFIX_LENGTH = 64
FLAVOR_FIELDS = ("vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap")

ROOT_REQUIRED = frozenset({"OWNER_NOVA"})
ROOT_FORBIDDEN = frozenset({"COMPUTE_STATUS_DISABLED"})
SOCKET_TRAIT = "COMPUTE_SOCKET_PCI_NUMA_AFFINITY"

_OUTSIDE_SUFFIX_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True)
class Flavor:
    vcpus: int = 0
    memory_mb: int = 0
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0  # MiB, as in Nova
    extra_specs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def disk_gb(self) -> int:
        return self.root_gb + self.ephemeral_gb + math.ceil(self.swap / 1024)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flavor:
        """The flavor of a body its route's schema (schemas.pci.FlavorInput)
        checked: absent amounts are 0, descriptive keys are ignored."""
        extra_specs = data.get("extra_specs")
        return cls(**{name: data.get(name, 0) for name in FLAVOR_FIELDS},
                   extra_specs={} if extra_specs is None else extra_specs)


@dataclass(frozen=True)
class Image:
    properties: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Image:
        """The image of a body its route's schema (schemas.pci.ImageInput) checked."""
        properties = (data or {}).get("properties")
        return cls(properties={} if properties is None else properties)


@dataclass(frozen=True)
class GroupSource:
    """Where a group came from: the flavor, or device ``index`` of alias
    item ``item`` (its position in ``pci_passthrough:alias``)."""

    kind: str  # "flavor" or "alias"
    alias: str | None = None
    item: int | None = None
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.kind != "alias":
            return {"kind": self.kind}
        return {"kind": "alias", "alias": self.alias, "item": self.item,
                "index": self.index}


@dataclass
class TranslatedRequest:
    """The request groups of one boot request and their origins."""

    request: CandidateRequest
    sources: dict[str, GroupSource]
    alias_items: list[AliasItem]
    numa_policy: str | None = None  # flavor/image policy, if set

    def alias_groups(self) -> list[tuple[RequestGroup, GroupSource]]:
        """The groups that each ask for one alias device, in order."""
        return [(group, self.sources[group.suffix])
                for group in self.request.groups
                if self.sources[group.suffix].kind == "alias"]


def _alias_suffix_base(name: str) -> str:
    # Room for "_" + base + "-" + up to three digits of the device number.
    cleaned = _OUTSIDE_SUFFIX_CHARS.sub("_", name)
    return cleaned[:MAX_SUFFIX_LENGTH - 5]


def _next_suffix(base: str, counters: dict[str, int], used: set[str]) -> str:
    number = counters.get(base, 0)
    while f"_{base}-{number}" in used:
        number += 1
    counters[base] = number + 1
    return f"_{base}-{number}"


def _flavor_groups(hints: SchedulingHints, flavor: Flavor) -> list[RequestGroup]:
    """The unsuffixed group and the flavor's own suffixed groups.

    Follows the order of Nova's ResourceRequest: granular keys, image
    traits, the CPU policy, the flavor's VCPU/MEMORY_MB/DISK_GB where no
    group asks for the class, then the other features.
    """
    features = nova_features.translate(
        hints.extra_specs, hints.image_properties,
        frozenset(hints.image_required_traits), hints.groups, flavor.vcpus)
    unsuffixed = hints.groups.get("")
    if unsuffixed is None:
        unsuffixed = specs_module.FlavorGroupRequest()
        hints.groups[""] = unsuffixed
    unsuffixed.required |= hints.image_required_traits
    for name in ("VCPU", "PCPU"):
        if name in features.resources:
            unsuffixed.resources[name] = features.resources[name]
    requested = {name for group in hints.groups.values()
                 for name in group.resources}
    if "VCPU" not in requested and "PCPU" not in requested:
        unsuffixed.resources["VCPU"] = flavor.vcpus
    if "MEMORY_MB" not in requested:
        unsuffixed.resources["MEMORY_MB"] = flavor.memory_mb
    if "DISK_GB" not in requested:
        unsuffixed.resources["DISK_GB"] = flavor.disk_gb
    for name, amount in features.resources.items():
        if name not in ("VCPU", "PCPU"):
            unsuffixed.resources[name] = amount
    unsuffixed.required |= features.required
    unsuffixed.forbidden |= features.forbidden
    hints.feature_root_required = features.root_required

    groups = []
    for suffix in sorted(hints.groups):
        wanted = hints.groups[suffix]
        conflicting = sorted(wanted.required & wanted.forbidden)
        if conflicting:
            raise extra_specs_error(
                None, f"trait(s) {', '.join(conflicting)} both required and "
                      f"forbidden in group '{suffix}' (the image's trait: "
                      f"properties count as required in the unsuffixed "
                      f"group)")
        resources = {name: amount for name, amount in wanted.resources.items()
                     if amount > 0}
        if not resources and not wanted.required and not wanted.forbidden:
            continue
        if suffix and not resources:
            raise extra_specs_error(
                None, f"group '{suffix}' asks for traits but no resources; "
                      f"add a resources{suffix}:<CLASS> key")
        groups.append(RequestGroup(
            suffix=suffix, resources=resources,
            required_traits=[frozenset({name}) for name in sorted(wanted.required)],
            forbidden_traits=frozenset(wanted.forbidden)))
    return groups


def _check_aliases_defined(items: list[AliasItem],
                           aliases: Mapping[str, PciAlias]) -> None:
    for item in items:
        if item.name not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise extra_specs_error(
                specs_module.ALIAS_KEY,
                f"alias '{item.name}' is not defined (defined: {known})")


def _alias_groups(items: list[AliasItem], aliases: Mapping[str, PciAlias],
                  used_suffixes: set[str]) -> tuple[list[RequestGroup],
                                                    dict[str, GroupSource]]:
    total = sum(item.count for item in items)
    if total > MAX_ALIAS_DEVICES:
        raise extra_specs_error(
            specs_module.ALIAS_KEY,
            f"asks for {total} devices; at most {MAX_ALIAS_DEVICES} allowed")
    groups, sources = [], {}
    counters: dict[str, int] = {}
    for item in items:
        alias = aliases[item.name]
        base = _alias_suffix_base(alias.name)
        for index in range(item.count):
            suffix = _next_suffix(base, counters, used_suffixes)
            used_suffixes.add(suffix)
            groups.append(RequestGroup(
                suffix=suffix, resources={alias.resource_class: 1},
                required_traits=[frozenset({name})
                                 for name in sorted(alias.required_traits)],
                forbidden_traits=alias.forbidden_traits))
            sources[suffix] = GroupSource("alias", alias.name, item.item, index)
    return groups, sources


def _effective_socket_policy(hints: SchedulingHints,
                             aliases: Mapping[str, PciAlias]) -> bool:
    if hints.numa_policy is not None:
        return hints.numa_policy == "socket"
    return any(aliases[item.name].numa_policy == "socket"
               for item in hints.alias_items if item.count > 0)


def _group_policy(hints: SchedulingHints, flavor_suffixed: int,
                  total_suffixed: int) -> str | None:
    if hints.group_policy is not None or total_suffixed < 2:
        return hints.group_policy
    if flavor_suffixed <= 1:
        return "none"
    raise extra_specs_error(
        specs_module.GROUP_POLICY_KEY,
        f"the flavor defines {flavor_suffixed} suffixed groups but no "
        f"group_policy; set group_policy to 'none' (groups may share a "
        f"provider) or 'isolate' (each group its own provider)")


def translate_request(flavor: Flavor, image: Image,
                      aliases: Mapping[str, PciAlias]) -> TranslatedRequest:
    """Translate a flavor and image into request groups (spec §6).

    ``aliases`` are parsed with placement rules (``alias.parse_aliases``).
    Raises BadRequest (code ``placement_pci.extra_specs.invalid``) for any
    invalid extra spec, image property or unknown alias.
    """
    hints = specs_module.combine(flavor.extra_specs, image.properties)
    _check_aliases_defined(hints.alias_items, aliases)

    if _effective_socket_policy(hints, aliases):
        hints.groups.setdefault("", specs_module.FlavorGroupRequest()) \
            .required.add(SOCKET_TRAIT)

    groups = _flavor_groups(hints, flavor)
    sources = {group.suffix: GroupSource("flavor") for group in groups}
    flavor_suffixed = sum(1 for group in groups if group.suffix)
    device_groups, device_sources = _alias_groups(
        hints.alias_items, aliases, set(sources))
    groups.extend(device_groups)
    sources.update(device_sources)
    if not any(group.resources for group in groups):
        raise extra_specs_error(
            None, "the flavor requests no resources at all (every amount "
                  "is 0 and no alias device is asked for)")

    root_required = set(ROOT_REQUIRED) | hints.feature_root_required
    if hints.viommu_model:
        root_required.add(MODEL_TRAITS[hints.viommu_model])

    request = CandidateRequest(
        groups=groups,
        group_policy=_group_policy(hints, flavor_suffixed,
                                   flavor_suffixed + len(device_groups)),
        root_required=frozenset(root_required),
        root_forbidden=ROOT_FORBIDDEN,
    )
    return TranslatedRequest(request=request, sources=sources,
                             alias_items=hints.alias_items,
                             numa_policy=hints.numa_policy)



def translate_body(body: Mapping[str, Any],
                   default_alias_entries: list[object]) -> TranslatedRequest:
    """Translate a POST /pci/request-groups style body (``flavor``, optional
    ``image`` and ``alias``; its shape is checked by schemas.pci).

    ``alias`` in the body (objects or nova.conf strings) replaces
    ``default_alias_entries`` (the API-managed aliases) when present.
    """
    entries = body.get("alias")
    if entries is None:
        entries = default_alias_entries
    aliases = parse_aliases(entries)
    return translate_request(Flavor.from_dict(body["flavor"]),
                             Image.from_dict(body.get("image")), aliases)
