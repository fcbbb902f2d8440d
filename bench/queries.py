"""The named GET /allocation_candidates queries of the benchmark.

Queries name classes, traits and aggregates of bench/plan.py; the
aggregate UUID depends on the seed, so queries are built per seed.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.plan import (
    AVX2_TRAIT,
    GPU_RESOURCE_CLASS,
    LIVE_MIGRATABLE_TRAIT,
    NUMA_ROOT_TRAIT,
    VF_RESOURCE_CLASS,
    aggregate_uuid,
    physnet_trait,
)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    query_string: str
    description: str

    @property
    def limited(self) -> bool:
        """A limited answer is one of many valid subsets, so answers from
        two services are compared by count only."""
        return "limit=" in self.query_string

    @property
    def path(self) -> str:
        return f"/allocation_candidates?{self.query_string}"


def _gpu_groups(count: int) -> str:
    return "&".join(f"resources{index}={GPU_RESOURCE_CLASS}:1"
                    for index in range(1, count + 1))


def named_queries(seed: int) -> dict[str, NamedQuery]:
    aggregate = aggregate_uuid(seed, 0)
    gpu8_isolate = ("resources=VCPU:4,MEMORY_MB:4096&" + _gpu_groups(4)
                    + "&group_policy=isolate")
    queries = [
        NamedQuery(
            "perfload",
            "resources=VCPU:1,DISK_GB:10,MEMORY_MB:256"
            f"&member_of={aggregate}&required={AVX2_TRAIT}",
            "upstream's perfload query: one aggregate, a required trait, "
            "local or shared disk"),
        NamedQuery(
            "nested_pci_granular",
            "resources=VCPU:2,MEMORY_MB:2048"
            f"&resources1={GPU_RESOURCE_CLASS}:1"
            f"&required1={LIVE_MIGRATABLE_TRAIT}"
            f"&resources2={VF_RESOURCE_CLASS}:1"
            f"&required2={physnet_trait(0)}"
            "&group_policy=isolate",
            "a live-migratable GPU and a VF on physnet0 from nested PFs"),
        NamedQuery(
            "gpu8_isolate_limit10", gpu8_isolate + "&limit=10",
            "4 single-GPU groups, isolated, on hosts with 8 identical GPUs, "
            "limit=10"),
        NamedQuery(
            "gpu8_isolate", gpu8_isolate,
            "the same without limit: every distinct GPU assignment"),
        NamedQuery(
            "forbidden_live_migratable",
            "resources=VCPU:1,MEMORY_MB:256,DISK_GB:10"
            f"&required=!{LIVE_MIGRATABLE_TRAIT}",
            "a forbidden trait in the unsuffixed group on nested trees"),
        NamedQuery(
            "numa_same_subtree",
            "resources=VCPU:2,MEMORY_MB:2048"
            f"&required_NUMA={NUMA_ROOT_TRAIT}"
            f"&resources_GPU={GPU_RESOURCE_CLASS}:1"
            f"&resources_NET={VF_RESOURCE_CLASS}:1"
            "&same_subtree=_NUMA,_GPU,_NET&group_policy=none",
            "GPU and VF under the same NUMA node (resourceless group, 1.36)"),
    ]
    return {query.name: query for query in queries}
