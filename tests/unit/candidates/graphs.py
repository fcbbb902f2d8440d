"""Small hand-made provider graphs for the candidate tests."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from placement_pci.candidates.graph import InventoryRow, ProviderGraph, ProviderRow
from placement_pci.inventory import Inventory

RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB", "CUSTOM_GPU",
                    "SRIOV_NET_VF")
TRAITS = ("HW_CPU_X86_AVX2", "HW_NUMA_ROOT", "MISC_SHARES_VIA_AGGREGATE",
          "CUSTOM_FAST", "CUSTOM_SLOW", "HW_PCI_LIVE_MIGRATABLE")


def provider_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


@dataclass
class GraphBuilder:
    rows: list[ProviderRow] = field(default_factory=list)
    inventories: list[InventoryRow] = field(default_factory=list)
    usages: list[tuple[int, str, int]] = field(default_factory=list)
    traits: list[tuple[int, str]] = field(default_factory=list)
    aggregates: list[tuple[int, str]] = field(default_factory=list)
    roots: dict[int, int] = field(default_factory=dict)

    def add(self, name: str, parent: int | None = None,
            inventory: dict[str, int | Inventory] | None = None,
            used: dict[str, int] | None = None,
            traits: tuple[str, ...] = (), aggregates: tuple[str, ...] = ()
            ) -> int:
        provider_id = len(self.rows) + 1
        root = provider_id if parent is None else self.roots[parent]
        self.roots[provider_id] = root
        self.rows.append(ProviderRow(provider_id, provider_uuid(name), name, 0,
                                     parent, root))
        for rc, value in (inventory or {}).items():
            record = value if isinstance(value, Inventory) else Inventory(value)
            self.inventories.append(InventoryRow(provider_id, rc, record))
        for rc, amount in (used or {}).items():
            self.usages.append((provider_id, rc, amount))
        self.traits += [(provider_id, trait) for trait in traits]
        self.aggregates += [(provider_id, agg) for agg in aggregates]
        return provider_id

    def graph(self) -> ProviderGraph:
        return ProviderGraph.build(self.rows, self.inventories, self.usages,
                                   self.traits, self.aggregates,
                                   RESOURCE_CLASSES, TRAITS)
