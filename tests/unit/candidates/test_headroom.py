"""Headroom on hand-built graphs: per host, shared pools, group rules."""
from __future__ import annotations

from placement_pci.candidates import headroom
from tests.unit.candidates.graphs import GraphBuilder
from tests.unit.candidates.test_solver import AGG_A, AGG_B, host_graph, query


def counts(result):
    return {host.hostname: host.count for host in result.hosts}


def test_counts_per_host_and_aggregate_without_a_shared_pool():
    graph = host_graph()
    result = headroom.compute(graph, query("resources=VCPU:2"))
    # cn1: 8 VCPU at the root... and 4+4 on its NUMA children, which the
    # unsuffixed group may also use; cn2: 4 VCPU.
    assert counts(result) == {"cn1": 8, "cn2": 2}
    assert result.total == 10
    assert result.by_aggregate() == {AGG_A: 8, AGG_B: 2}
    assert result.hosts_considered == 2  # the sharing provider is no host


def test_a_shared_pool_is_not_counted_twice():
    graph = host_graph()
    # 1000 DISK_GB shared by both hosts: 300 per instance fits 3 in all,
    # however many VCPUs the hosts have.
    # (cn1's own 100 DISK_GB is too small for one.)
    result = headroom.compute(graph, query("resources=VCPU:1,DISK_GB:300"))
    assert result.total == 3
    # Hosts are filled in name order: cn1 takes the pool, cn2 finds it empty.
    assert counts(result) == {"cn1": 3}


def test_group_policy_isolate_needs_distinct_providers():
    graph = host_graph()
    two_gpus = "resources1=CUSTOM_GPU:1&resources2=CUSTOM_GPU:1"
    assert headroom.compute(graph, query(two_gpus + "&group_policy=none")).total == 1
    isolated = headroom.compute(graph, query(two_gpus + "&group_policy=isolate"))
    # Three single-GPU providers: one isolated pair, then one GPU left.
    assert counts(isolated) == {"cn1": 1}


def test_same_subtree_keeps_instances_on_one_numa_node():
    graph = host_graph()
    text = ("resources_C=VCPU:2&required_C=HW_NUMA_ROOT&resources_G=CUSTOM_GPU:1"
            "&same_subtree=_C,_G&group_policy=none")
    # numa0: 4 VCPU, 2 GPUs -> 2; numa1: 4 VCPU, 1 GPU -> 1.
    assert counts(headroom.compute(graph, query(text))) == {"cn1": 3}


def test_nothing_fits_and_the_cap():
    graph = host_graph()
    assert headroom.compute(graph, query("resources=VCPU:100")).hosts == []
    g = GraphBuilder()
    g.add("big", inventory={"VCPU": 100000})
    capped = headroom.compute(g.graph(), query("resources=VCPU:1"), per_host_cap=50)
    assert [(h.count, h.capped) for h in capped.hosts] == [(50, True)]


def test_the_snapshot_is_left_as_it_was():
    graph = host_graph()
    before = {pid: dict(p.usages) for pid, p in graph.providers.items()}
    headroom.compute(graph, query("resources=VCPU:1"))
    assert {pid: dict(p.usages) for pid, p in graph.providers.items()} == before


def _one_at_a_time(graph, request):
    """The reference: ask the solver for every single placement."""
    from placement_pci.candidates import solver

    total = 0
    while True:
        answer = next(iter(solver.generate(graph, request)), None)
        if answer is None:
            return total
        total += 1
        taken = {}
        for pid, name, amount in answer.resources:
            taken.setdefault(pid, {})[name] = amount
        graph = graph.replacing(headroom._with_usage(graph.providers[pid], extra)
                                for pid, extra in taken.items())


def test_shortcuts_count_what_the_solver_would_place_one_by_one():
    g = GraphBuilder()
    for host in ("h1", "h2"):
        root = g.add(host, inventory={"VCPU": 24, "MEMORY_MB": 8192})
        for node in (0, 1):
            numa = g.add(f"{host}n{node}", root, traits=("HW_NUMA_ROOT",))
            for gpu in range(3 + node):
                g.add(f"{host}n{node}g{gpu}", numa, {"CUSTOM_GPU": 1})
            g.add(f"{host}n{node}nic", numa, {"SRIOV_NET_VF": 5})
    graph = g.graph()
    for text in ("resources=VCPU:2&resources_G=CUSTOM_GPU:1",
                 "resources=VCPU:1&resources_G1=CUSTOM_GPU:1&resources_G2=CUSTOM_GPU:1"
                 "&group_policy=isolate",
                 "resources=VCPU:2&required_N=HW_NUMA_ROOT&resources_G=CUSTOM_GPU:1"
                 "&resources_V=SRIOV_NET_VF:2&same_subtree=_N,_G,_V&group_policy=none",
                 "resources=VCPU:5,MEMORY_MB:1000"):
        request = query(text)
        assert headroom.compute(graph, request).total == _one_at_a_time(graph, request), text
