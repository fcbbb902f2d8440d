"""The load generator's host plan: the deployment it would build, checked
without a server."""
import os_resource_classes
import os_traits
import pytest

from bench.plan import (
    GPU_RESOURCE_CLASS,
    LIVE_MIGRATABLE_TRAIT,
    SHARING_TRAIT,
    PlanShape,
    aggregate_uuid,
    build_plan,
)
from bench.queries import named_queries


def test_same_seed_gives_the_same_plan_and_another_seed_does_not():
    shape = PlanShape(host_count=30, seed=7)
    assert build_plan(shape) == build_plan(shape)
    other = build_plan(PlanShape(host_count=30, seed=8))
    assert other.hosts[0].root.uuid != build_plan(shape).hosts[0].root.uuid


def test_growing_the_deployment_keeps_the_existing_hosts():
    small = build_plan(PlanShape(host_count=10))
    large = build_plan(PlanShape(host_count=100))
    assert large.hosts[:10] == small.hosts


def test_each_host_is_a_tree_built_parents_first():
    plan = build_plan(PlanShape(host_count=5, gpus_per_host=8,
                                nics_per_host=2, numa_nodes_per_host=2))
    for host in plan.hosts:
        seen = set()
        assert host.root.parent_uuid is None
        for provider in host.providers:
            assert provider.parent_uuid is None or provider.parent_uuid in seen
            seen.add(provider.uuid)
        assert len(host.providers) == 1 + 2 + 8 + 2


def test_gpus_of_one_host_are_identical_and_split_over_numa_nodes():
    plan = build_plan(PlanShape(host_count=20, gpus_per_host=8,
                                numa_nodes_per_host=2))
    for host in plan.hosts:
        gpus = [p for p in host.providers if GPU_RESOURCE_CLASS in p.inventories]
        assert len(gpus) == 8
        assert len({(repr(g.inventories), g.traits) for g in gpus}) == 1
        per_numa = [sum(g.parent_uuid == numa.uuid for g in gpus)
                    for numa in host.providers[1:3]]
        assert per_numa == [4, 4]


@pytest.mark.parametrize("fraction, expected", [(0.0, 0), (1.0, 40)])
def test_live_migratable_fraction_bounds(fraction, expected):
    plan = build_plan(PlanShape(host_count=40,
                                live_migratable_fraction=fraction))
    tagged = [host for host in plan.hosts
              if any(LIVE_MIGRATABLE_TRAIT in p.traits for p in host.providers)]
    assert len(tagged) == expected


def test_hosts_spread_round_robin_over_aggregates_with_a_sharing_disk_each():
    plan = build_plan(PlanShape(host_count=9, aggregate_count=3, seed=5))
    assert plan.aggregates == tuple(aggregate_uuid(5, i) for i in range(3))
    assert [h.root.aggregates for h in plan.hosts] == \
        [(plan.aggregates[i % 3],) for i in range(9)]
    for sharing, aggregate in zip(plan.sharing_providers, plan.aggregates):
        assert sharing.traits == (SHARING_TRAIT,)
        assert sharing.aggregates == (aggregate,)
        assert "DISK_GB" in sharing.inventories


def test_plan_names_only_standard_or_custom_traits_and_classes():
    plan = build_plan(PlanShape(host_count=20))
    standard_traits = set(os_traits.get_traits())
    for provider in plan.all_providers():
        for trait in provider.traits:
            assert trait in standard_traits or trait.startswith("CUSTOM_")
        for resource_class in provider.inventories:
            assert (resource_class in os_resource_classes.STANDARDS
                    or resource_class.startswith("CUSTOM_"))
    assert plan.custom_resource_classes == (GPU_RESOURCE_CLASS,)
    assert all(t.startswith("CUSTOM_PHYSNET_") for t in plan.custom_traits)


def test_provider_names_and_uuids_are_unique():
    providers = build_plan(PlanShape(host_count=50)).all_providers()
    assert len({p.uuid for p in providers}) == len(providers)
    assert len({p.name for p in providers}) == len(providers)


@pytest.mark.parametrize("bad_shape", [
    {"host_count": -1}, {"aggregate_count": 0}, {"numa_nodes_per_host": 0},
    {"avx2_fraction": 1.5}, {"live_migratable_fraction": -0.1}])
def test_impossible_shapes_are_refused(bad_shape):
    with pytest.raises(ValueError):
        PlanShape(**bad_shape)


def test_queries_name_the_planned_aggregate_and_classes():
    queries = named_queries(seed=3)
    assert f"member_of={aggregate_uuid(3, 0)}" in queries["perfload"].query_string
    assert queries["gpu8_isolate_limit10"].limited
    assert not queries["gpu8_isolate"].limited
    assert queries["gpu8_isolate"].query_string.count(GPU_RESOURCE_CLASS) == 4
