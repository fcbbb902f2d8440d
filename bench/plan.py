"""The deployment the load generator builds, as plain data.

`build_plan(shape)` turns a few numbers (host count, seed, devices per
host, ...) into every provider, inventory, trait and aggregate to create.
It does no I/O, so it is unit-tested, and the benchmark can recompute the
same names and UUIDs (aggregates, resource classes) from the same seed.

Each host is a tree shaped like a compute node reporting PCI devices:

    compute00000                      VCPU, MEMORY_MB, DISK_GB; maybe AVX2
    ├── compute00000_numa0            HW_NUMA_ROOT, no inventory
    │   ├── compute00000_0000:3b:00.0 one GPU (CUSTOM_PCI_10DE_20B5)
    │   ├── ...                       (GPUs split evenly over NUMA nodes)
    │   └── compute00000_0000:5e:00.0 NIC PF with SRIOV_NET_VF inventory,
    │                                 HW_NIC_SRIOV + CUSTOM_PHYSNET_PHYSNET0
    └── compute00000_numa1 ...

Every host is in one aggregate (round robin); each aggregate has a sharing
DISK_GB provider with MISC_SHARES_VIA_AGGREGATE.  All GPUs of one host are
identical (same class, capacity and traits), which is the case that makes
upstream's candidate generation explode; on a seeded fraction of hosts they
all carry HW_PCI_LIVE_MIGRATABLE.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

# Fixed so that the same seed gives the same UUIDs on every machine and
# against every service: the benchmark compares answers by UUID.
BENCH_NAMESPACE = uuid.UUID("5d1c2a9e-7c3b-4f60-9a51-0b6c1d2e3f40")

GPU_RESOURCE_CLASS = "CUSTOM_PCI_10DE_20B5"
VF_RESOURCE_CLASS = "SRIOV_NET_VF"
LIVE_MIGRATABLE_TRAIT = "HW_PCI_LIVE_MIGRATABLE"
AVX2_TRAIT = "HW_CPU_X86_AVX2"
NUMA_ROOT_TRAIT = "HW_NUMA_ROOT"
SRIOV_TRAIT = "HW_NIC_SRIOV"
SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"
PHYSNET_COUNT = 2

# PCI bus numbers per device kind, so provider names look like real
# `<hostname>_<pci address>` PF providers.
GPU_FIRST_BUS = 0x3B
NIC_FIRST_BUS = 0x5E


def physnet_trait(index: int) -> str:
    return f"CUSTOM_PHYSNET_PHYSNET{index}"


@dataclass(frozen=True)
class PlanShape:
    """The numbers that decide the whole deployment."""

    host_count: int = 100
    seed: int = 1
    numa_nodes_per_host: int = 2
    gpus_per_host: int = 8
    nics_per_host: int = 2
    vfs_per_nic: int = 16
    aggregate_count: int = 4
    avx2_fraction: float = 0.5
    live_migratable_fraction: float = 0.25
    shared_disk_gb: int = 100_000

    def __post_init__(self) -> None:
        if self.host_count < 0:
            raise ValueError("host_count must be >= 0")
        if self.numa_nodes_per_host < 1 or self.aggregate_count < 1:
            raise ValueError("need at least one NUMA node and one aggregate")
        for name in ("avx2_fraction", "live_migratable_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass(frozen=True)
class ProviderPlan:
    """One resource provider and everything set on it after creation."""

    uuid: str
    name: str
    parent_uuid: str | None = None
    # resource class -> inventory record as PUT .../inventories takes it
    inventories: dict[str, dict[str, int | float]] = field(default_factory=dict)
    traits: tuple[str, ...] = ()
    aggregates: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostPlan:
    """One compute node tree; providers are listed parents first."""

    name: str
    providers: tuple[ProviderPlan, ...]

    @property
    def root(self) -> ProviderPlan:
        return self.providers[0]


@dataclass(frozen=True)
class LoadPlan:
    shape: PlanShape
    aggregates: tuple[str, ...]
    sharing_providers: tuple[ProviderPlan, ...]
    hosts: tuple[HostPlan, ...]

    @property
    def custom_traits(self) -> tuple[str, ...]:
        return _custom_names(p.traits for p in self.all_providers())

    @property
    def custom_resource_classes(self) -> tuple[str, ...]:
        return _custom_names(p.inventories for p in self.all_providers())

    def all_providers(self) -> list[ProviderPlan]:
        providers = list(self.sharing_providers)
        for host in self.hosts:
            providers.extend(host.providers)
        return providers


def _custom_names(name_groups) -> tuple[str, ...]:
    return tuple(sorted({name for group in name_groups for name in group
                         if name.startswith("CUSTOM_")}))


def stable_uuid(seed: int, name: str) -> str:
    return str(uuid.uuid5(BENCH_NAMESPACE, f"{seed}/{name}"))


def aggregate_uuid(seed: int, index: int) -> str:
    """The UUID of aggregate `index`; host i is in aggregate i % count."""
    return stable_uuid(seed, f"aggregate{index}")


def build_plan(shape: PlanShape) -> LoadPlan:
    rng = random.Random(shape.seed)
    aggregates = tuple(aggregate_uuid(shape.seed, index)
                       for index in range(shape.aggregate_count))
    sharing = tuple(_sharing_provider(shape, index, aggregate)
                    for index, aggregate in enumerate(aggregates))
    hosts = tuple(_host(shape, index, aggregates[index % len(aggregates)], rng)
                  for index in range(shape.host_count))
    return LoadPlan(shape=shape, aggregates=aggregates,
                    sharing_providers=sharing, hosts=hosts)


def _sharing_provider(shape: PlanShape, index: int,
                      aggregate: str) -> ProviderPlan:
    name = f"shared-disk{index}"
    return ProviderPlan(
        uuid=stable_uuid(shape.seed, name), name=name,
        inventories={"DISK_GB": _inventory(shape.shared_disk_gb)},
        traits=(SHARING_TRAIT,), aggregates=(aggregate,))


def _host(shape: PlanShape, index: int, aggregate: str,
          rng: random.Random) -> HostPlan:
    # Draw every random value up front, in a fixed order, so a host's
    # plan does not depend on how many devices the shape gives it.
    has_avx2 = rng.random() < shape.avx2_fraction
    gpus_live_migratable = rng.random() < shape.live_migratable_fraction
    vcpus = rng.choice((32, 48, 64))
    memory_mb = rng.choice((131072, 262144))

    name = f"compute{index:05d}"
    root = ProviderPlan(
        uuid=stable_uuid(shape.seed, name), name=name,
        inventories={
            "VCPU": _inventory(vcpus, allocation_ratio=4.0),
            "MEMORY_MB": _inventory(memory_mb, reserved=4096),
            "DISK_GB": _inventory(2048),
        },
        traits=(AVX2_TRAIT,) if has_avx2 else (),
        aggregates=(aggregate,))
    numa_nodes = [
        ProviderPlan(uuid=stable_uuid(shape.seed, f"{name}_numa{node}"),
                     name=f"{name}_numa{node}", parent_uuid=root.uuid,
                     traits=(NUMA_ROOT_TRAIT,))
        for node in range(shape.numa_nodes_per_host)]

    devices = []
    gpu_traits = (LIVE_MIGRATABLE_TRAIT,) if gpus_live_migratable else ()
    for gpu in range(shape.gpus_per_host):
        numa = numa_nodes[gpu * len(numa_nodes) // shape.gpus_per_host]
        devices.append(_pci_device(
            shape, name, GPU_FIRST_BUS + gpu, numa,
            {GPU_RESOURCE_CLASS: _inventory(1)}, gpu_traits))
    for nic in range(shape.nics_per_host):
        numa = numa_nodes[nic % len(numa_nodes)]
        devices.append(_pci_device(
            shape, name, NIC_FIRST_BUS + nic, numa,
            {VF_RESOURCE_CLASS: _inventory(shape.vfs_per_nic)},
            (SRIOV_TRAIT, physnet_trait(nic % PHYSNET_COUNT))))
    return HostPlan(name=name, providers=(root, *numa_nodes, *devices))


def _pci_device(shape: PlanShape, host_name: str, bus: int,
                parent: ProviderPlan, inventories: dict,
                traits: tuple[str, ...]) -> ProviderPlan:
    name = f"{host_name}_0000:{bus:02x}:00.0"
    return ProviderPlan(uuid=stable_uuid(shape.seed, name), name=name,
                        parent_uuid=parent.uuid, inventories=inventories,
                        traits=traits)


def _inventory(total: int, *, reserved: int = 0,
               allocation_ratio: float = 1.0) -> dict[str, int | float]:
    return {"total": total, "reserved": reserved, "min_unit": 1,
            "max_unit": total, "step_size": 1,
            "allocation_ratio": allocation_ratio}
