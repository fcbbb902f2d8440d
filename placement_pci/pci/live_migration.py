"""Live migration of an instance with passed-through devices (spec §7).

Pure checks and transformations; the domain layer supplies the devices
assigned to the consumer and the request groups it was scheduled with.

- Only alias-requested devices can block a live migration (Neutron port
  devices are detached and re-attached by Nova); each must be
  live-migratable.
- The destination search asks for the same groups with
  ``HW_PCI_LIVE_MIGRATABLE`` required on every device group; the source
  host is excluded from the answers.
- For a chosen destination, each source device maps to the destination
  device that serves the same request group.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from placement_pci import errors
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.pci.hostdev_xml import PciHostdev, rewrite_hostdev_addresses

LIVE_MIGRATABLE_TRAIT = "HW_PCI_LIVE_MIGRATABLE"
NOT_MIGRATABLE = "placement_pci.live_migration.not_migratable"
MAPPING_INVALID = "placement_pci.live_migration.mapping_invalid"

SOURCE_ALIAS = "alias"
SOURCE_NEUTRON = "neutron"


@dataclass(frozen=True)
class AssignedDevice:
    """A device held by a consumer, and the request group it serves."""

    address: str
    hostname: str
    group_suffix: str
    live_migratable: bool
    managed: bool = True
    source: str = SOURCE_ALIAS  # or SOURCE_NEUTRON
    alias: str | None = None
    provider_uuid: str | None = None

    def describe(self) -> str:
        origin = (f"alias '{self.alias}'" if self.alias
                  else f"{self.source} request")
        return f"{self.hostname} {self.address} ({origin})"

    def as_hostdev(self) -> PciHostdev:
        return PciHostdev(address=self.address, managed=self.managed)


def blocking_devices(devices: Iterable[AssignedDevice]) -> list[AssignedDevice]:
    """The alias-requested devices that cannot be live migrated."""
    return [device for device in devices
            if device.source == SOURCE_ALIAS and not device.live_migratable]


def check_live_migratable(consumer: str,
                          devices: Iterable[AssignedDevice]) -> None:
    """Raise Conflict naming every device that blocks live migration."""
    blocking = blocking_devices(devices)
    if blocking:
        listed = "; ".join(device.describe() for device in blocking)
        raise errors.Conflict(
            f"Consumer {consumer} cannot be live migrated: its device(s) "
            f"{listed} are not live-migratable (their device spec does not "
            f"say live_migratable=yes)", code=NOT_MIGRATABLE)


def destination_request(request: CandidateRequest,
                        device_suffixes: Iterable[str]) -> CandidateRequest:
    """The request for destinations: every device group additionally
    requires ``HW_PCI_LIVE_MIGRATABLE``."""
    wanted = set(device_suffixes)
    result = copy.deepcopy(request)
    for group in result.groups:
        if group.suffix not in wanted:
            continue
        if frozenset({LIVE_MIGRATABLE_TRAIT}) not in group.required_traits:
            group.required_traits = sorted(
                group.required_traits + [frozenset({LIVE_MIGRATABLE_TRAIT})],
                key=sorted)
        group.forbidden_traits = group.forbidden_traits - {LIVE_MIGRATABLE_TRAIT}
    return result


def address_map(source_devices: Iterable[AssignedDevice],
                destination_devices: Iterable[AssignedDevice]
                ) -> dict[str, AssignedDevice]:
    """Source address -> destination device, paired by request group.

    Only alias devices are mapped (Neutron devices follow their ports).
    Every source device needs exactly one destination device for its group.
    """
    by_group: dict[str, AssignedDevice] = {}
    for device in destination_devices:
        if device.group_suffix in by_group:
            raise errors.BadRequest(
                f"Two destination devices serve group '{device.group_suffix}'",
                code=MAPPING_INVALID)
        by_group[device.group_suffix] = device
    mapping = {}
    for device in source_devices:
        if device.source != SOURCE_ALIAS:
            continue
        target = by_group.pop(device.group_suffix, None)
        if target is None:
            raise errors.BadRequest(
                f"No destination device for {device.describe()} (group "
                f"'{device.group_suffix}')", code=MAPPING_INVALID)
        mapping[device.address] = target
    if by_group:
        raise errors.BadRequest(
            f"Destination devices for group(s) {', '.join(sorted(by_group))} "
            f"serve no source device", code=MAPPING_INVALID)
    return mapping


def rewrite_guest_xml(xml_text: str,
                      mapping: Mapping[str, AssignedDevice]) -> str:
    """The guest's hostdev XML pointed at the destination devices."""
    return rewrite_hostdev_addresses(
        xml_text, {source: target.as_hostdev()
                   for source, target in mapping.items()})
