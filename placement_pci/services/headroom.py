"""POST /pci/headroom: how many more instances of a flavor fit, in total,
per host and per aggregate.

Reads only: the candidate snapshot (as /pci/candidates) and how many
devices each device provider still has for a claim; the placements are
simulated by the pure ``candidates.headroom`` on a private copy.
"""
from __future__ import annotations

from typing import Any

from placement_pci.candidates import headroom, solver
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.db.engine import Database
from placement_pci.pci.request_groups import TranslatedRequest
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.services.pci_candidates import root_by_name
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.store.device_availability import takeable_devices


def _limit_to_takeable_devices(graph: ProviderGraph,
                               takeable: dict[tuple[str, str], int]) -> ProviderGraph:
    """The graph with each device provider's usage raised so that what is
    left is no more than the devices a claim could take."""
    changed = []
    for (provider_uuid, resource_class), free in takeable.items():
        provider = graph.by_uuid.get(provider_uuid)
        if provider is None:
            continue
        inventory = provider.inventories.get(resource_class)
        if inventory is None:
            continue
        used = provider.used(resource_class)
        if inventory.capacity - used > free:
            changed.append(provider._replace(usages={
                **provider.usages, resource_class: inventory.capacity - free}))
    return graph.replacing(changed) if changed else graph


def compute_headroom(database: Database, snapshots: SnapshotCache,
                     translated: TranslatedRequest, *,
                     hostname: str | None = None) -> dict[str, Any]:
    """The headroom document for a translated flavor (and image)."""
    graph = snapshots.graph(database)
    solver.check_names(graph, translated.request)
    roots = None
    if hostname is not None:
        roots = [graph.by_uuid[root_by_name(graph, hostname)].id]
    takeable = database.run_read(takeable_devices)
    result = headroom.compute(_limit_to_takeable_devices(graph, takeable),
                              translated.request, roots=roots)
    return {
        "request_groups": render_request_groups(translated),
        "total": result.total,
        "hosts_considered": result.hosts_considered,
        "hosts": [{"hostname": host.hostname, "root_provider_uuid": host.root_uuid,
                   "count": host.count, "capped": host.capped,
                   "aggregates": sorted(host.aggregates)}
                  for host in result.hosts],
        "aggregates": [{"uuid": uuid, "count": count}
                       for uuid, count in result.by_aggregate().items()],
        "per_host_cap": headroom.DEFAULT_PER_HOST_CAP,
    }
