"""Live migration of a consumer holding PCI devices (spec §7).

- ``check``: every alias device of the claim must be live-migratable;
- ``destinations``: candidates for the claim's request with
  ``HW_PCI_LIVE_MIGRATABLE`` required on every device group, never on the
  hosts the consumer is on now;
- ``plan``: for a chosen destination, the source -> destination device
  addresses and the guest's hostdev XML rewritten for them.  The
  destination devices are those a destination consumer has claimed (the
  migration's own consumer, authoritative), or else a preview of the free
  devices (held by no claim, not reported in use) the chosen allocation
  request would get.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db.engine import Database
from placement_pci.pci import live_migration
from placement_pci.pci.hostdev_xml import hostdevs_xml
from placement_pci.pci.live_migration import AssignedDevice
from placement_pci.pci.request_groups import translate_body
from placement_pci.services import pci_candidates, pci_claims
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.settings import Settings
from placement_pci.store import claims as claim_store
from placement_pci.store import pci_devices as device_store
from placement_pci.store import providers as provider_store


def check(database: Database, consumer_uuid: str) -> pci_claims.Claim:
    """The claim, if it may be live migrated; 409 naming the blockers."""
    claim = pci_claims.get_claim(database, consumer_uuid)
    live_migration.check_live_migratable(
        consumer_uuid, [d.as_assigned_device() for d in claim.devices])
    return claim


def _source_roots(database: Database, claim: pci_claims.Claim) -> list[str]:
    return database.run_read(lambda connection: provider_store.root_uuids(
        connection, claim.allocations))


def destinations(database: Database, snapshots: SnapshotCache,
                 settings: Settings, consumer_uuid: str,
                 limit: int | None = None) -> pci_candidates.Candidates:
    claim = check(database, consumer_uuid)
    translated = translate_body(claim.request, [])
    suffixes = [group.suffix for group, _ in translated.alias_groups()]
    request = live_migration.destination_request(translated.request, suffixes)
    return pci_candidates.find_candidates(
        database, snapshots, settings, translated, request=request, limit=limit,
        exclude_roots=_source_roots(database, claim))


@dataclass
class MigrationPlan:
    consumer_uuid: str
    mapping: dict[str, AssignedDevice]
    sources: list[AssignedDevice]
    xml: str
    claimed: bool  # destination devices are claimed (not a preview)

    def as_dict(self) -> dict[str, Any]:
        by_address = {source.address: source for source in self.sources}
        return {
            "consumer_uuid": self.consumer_uuid,
            "destination_devices_claimed": self.claimed,
            "address_map": [
                {"group": by_address[source].group_suffix,
                 "alias": by_address[source].alias,
                 "source_hostname": by_address[source].hostname,
                 "source_address": source,
                 "destination_hostname": target.hostname,
                 "destination_address": target.address,
                 "destination_provider_uuid": target.provider_uuid,
                 "managed": target.managed}
                for source, target in sorted(self.mapping.items())],
            "xml": self.xml,
        }


def _preview_destination_devices(database: Database,
                                 translated_groups: list[tuple[str, str, str | None]],
                                 mappings: Mapping[str, list[str]]
                                 ) -> list[AssignedDevice]:
    """Free devices the destination allocation would most likely get
    (first free by address, as a claim picks them)."""
    def read(connection: Connection) -> list[AssignedDevice]:
        chosen: dict[str, str] = {}
        for suffix, _, _ in translated_groups:
            providers = mappings.get(suffix) or []
            if len(providers) != 1:
                raise errors.BadRequest(
                    f"allocation_request mappings must name one provider for "
                    f"group '{suffix}'", code=live_migration.MAPPING_INVALID)
            chosen[suffix] = providers[0]
        rows = device_store.devices_on_providers(connection, chosen.values())
        held = claim_store.holders(connection, [(r.hostname, r.address) for r in rows])
        free = [row for row in rows if row.assigned_to is None
                and (row.hostname, row.address) not in held
                and row.dev_type in pci_claims.ASSIGNABLE_TYPES]
        taken: set[int] = set()
        result = []
        for suffix, resource_class, alias in translated_groups:
            row = next((r for r in free if r.provider_uuid == chosen[suffix]
                        and r.resource_class == resource_class and r.id not in taken), None)
            if row is None:
                raise errors.Conflict(
                    f"No free {resource_class} device on provider "
                    f"{chosen[suffix]} for group '{suffix}'",
                    code=pci_claims.NO_FREE_DEVICE)
            taken.add(row.id)
            device = pci_claims.claimed_device_from_row(
                row, suffix, {"alias": alias}, assigned=False)
            result.append(device.as_assigned_device())
        return result
    return database.run_read(read)


def plan(database: Database, consumer_uuid: str, *,
         destination_consumer: str | None = None,
         allocation_request: Mapping[str, Any] | None = None,
         xml: str | None = None) -> MigrationPlan:
    if (destination_consumer is None) == (allocation_request is None):
        raise errors.BadRequest(
            "give either destination_consumer (a consumer that claimed the "
            "destination) or allocation_request (a destination candidate)",
            code=live_migration.MAPPING_INVALID)
    claim = check(database, consumer_uuid)
    sources = [d.as_assigned_device() for d in claim.devices]
    if destination_consumer is not None:
        destination = pci_claims.get_claim(database, destination_consumer)
        targets = [d.as_assigned_device() for d in destination.devices]
        claimed = True
    else:
        if not isinstance(allocation_request, Mapping) or not isinstance(
                allocation_request.get("mappings"), Mapping):
            raise errors.BadRequest(
                "allocation_request must be a destination candidate's "
                "allocation request with mappings",
                code=live_migration.MAPPING_INVALID)
        translated = translate_body(claim.request, [])
        groups = [(group.suffix, next(iter(group.resources)), source.alias)
                  for group, source in translated.alias_groups()]
        targets = _preview_destination_devices(
            database, groups, allocation_request["mappings"])
        claimed = False
    mapping = live_migration.address_map(sources, targets)
    guest_xml = xml if xml is not None else hostdevs_xml(
        d.as_hostdev() for d in claim.devices)
    return MigrationPlan(consumer_uuid, mapping, sources,
                         live_migration.rewrite_guest_xml(guest_xml, mapping),
                         claimed)
