"""The solver on a small nested graph with a sharing provider."""
from __future__ import annotations

import pytest

from placement_pci.candidates.query import parse_candidate_query
from placement_pci.candidates.solver import DEPTH_FIRST, SolverOptions, solve
from placement_pci.errors import BadRequest
from placement_pci.inventory import Inventory
from tests.unit.candidates.graphs import GraphBuilder
from tests.unit.candidates.reference import reference_answers

AGG_A = "aaaaaaaa-0000-0000-0000-000000000001"
AGG_B = "bbbbbbbb-0000-0000-0000-000000000002"


def host_graph():
    g = GraphBuilder()
    cn1 = g.add("cn1", inventory={"VCPU": 8, "MEMORY_MB": 2048, "DISK_GB": 100},
                traits=("HW_CPU_X86_AVX2",), aggregates=(AGG_A,))
    numa0 = g.add("numa0", cn1, {"VCPU": 4}, traits=("HW_NUMA_ROOT",))
    g.add("gpu0a", numa0, {"CUSTOM_GPU": 1})
    g.add("gpu0b", numa0, {"CUSTOM_GPU": 1})
    numa1 = g.add("numa1", cn1, {"VCPU": 4}, traits=("HW_NUMA_ROOT",))
    g.add("gpu1a", numa1, {"CUSTOM_GPU": 1}, traits=("CUSTOM_FAST",))
    g.add("pf1", numa1, {"SRIOV_NET_VF": 8}, traits=("HW_PCI_LIVE_MIGRATABLE",))
    g.add("cn2", inventory={"VCPU": 4, "MEMORY_MB": 1024}, aggregates=(AGG_B,))
    g.add("ss", inventory={"DISK_GB": 1000},
          traits=("MISC_SHARES_VIA_AGGREGATE",), aggregates=(AGG_A, AGG_B))
    return g.graph()


def query(text: str, version=(1, 39)):
    mapping: dict[str, list[str]] = {}
    for pair in text.split("&"):
        key, _, value = pair.partition("=")
        mapping.setdefault(key, []).append(value)
    return parse_candidate_query(mapping, version)


def by_name(graph, answers):
    def name(pid):
        return graph.providers[pid].name
    return {(frozenset((name(p), rc, n) for p, rc, n in a.resources),
             frozenset((s, frozenset(name(p) for p in pids))
                       for s, pids in a.mappings))
            for a in answers}


def names_of(graph, reference):
    def name(pid):
        return graph.providers[pid].name
    return {(frozenset((name(p), rc, n) for p, rc, n in res),
             frozenset((s, frozenset(name(p) for p in pids)) for s, pids in maps))
            for res, maps in reference}


@pytest.mark.parametrize("text, expected_count", [
    # sharing disk: the same answer via three anchors counts once
    ("resources=DISK_GB:10", 2),
    # forbidden trait in the unsuffixed group on a nested tree
    ("resources=VCPU:1,DISK_GB:10&required=!HW_PCI_LIVE_MIGRATABLE", 7),
    ("resources_G1=CUSTOM_GPU:1&resources_G2=CUSTOM_GPU:1&group_policy=isolate", 6),
    # merged capacity: one GPU cannot serve both groups
    ("resources_G1=CUSTOM_GPU:1&resources_G2=CUSTOM_GPU:1&group_policy=none", 6),
    ("resources_G=CUSTOM_GPU:1&required_N=HW_NUMA_ROOT&same_subtree=_G,_N"
     "&group_policy=none", 3),
    # the subtree's top is chosen by the last (resourceless) group
    ("resources_G1=CUSTOM_GPU:1&resources_G2=CUSTOM_GPU:1&required_N=HW_NUMA_ROOT"
     "&same_subtree=_G1,_G2,_N&group_policy=isolate", 2),
    ("resources_G1=CUSTOM_GPU:1&resources_G2=CUSTOM_GPU:1&required_N=HW_NUMA_ROOT"
     "&same_subtree=_G1,_N&same_subtree=_G2,_N&group_policy=isolate", 2),
    ("resources=VCPU:1&root_required=!HW_CPU_X86_AVX2", 1),
    ("resources=VCPU:1&root_required=HW_CPU_X86_AVX2", 3),
    (f"resources=VCPU:1,DISK_GB:10&member_of={AGG_A}", 6),
    (f"resources=VCPU:1,DISK_GB:10&member_of=!{AGG_A}", 0),
    (f"resources=VCPU:1&member_of=!{AGG_B}", 3),
    ("resources=CUSTOM_GPU:1&required=CUSTOM_FAST", 1),
    # traits of the unsuffixed group are those of the providers it uses
    ("resources=CUSTOM_GPU:1&required=HW_CPU_X86_AVX2", 0),
    ("resources=VCPU:1,CUSTOM_GPU:1&required=HW_CPU_X86_AVX2", 3),
    ("resources=VCPU:1&in_tree=uuid-numa0", 3),
    ("resources_G=CUSTOM_GPU:1&in_tree_G=uuid-cn2", 0),
    ("resources=SRIOV_NET_VF:4&resources1=SRIOV_NET_VF:4&group_policy=none", 1),
    ("resources=SRIOV_NET_VF:4&resources1=SRIOV_NET_VF:5&group_policy=none", 0),
    ("resources=VCPU:9", 0),
])
def test_answers_match_reference(text, expected_count):
    graph = host_graph()
    request = query(text.replace("uuid-numa0", _uuid(graph, "numa0"))
                    .replace("uuid-cn2", _uuid(graph, "cn2")))
    result = solve(graph, request)
    got = by_name(graph, result.allocation_requests)
    assert len(got) == len(result.allocation_requests) == expected_count
    assert got == names_of(graph, reference_answers(graph, request))


def _uuid(graph, name):
    return next(p.uuid for p in graph.providers.values() if p.name == name)


def test_sharing_disk_answer_names_each_provider():
    graph = host_graph()
    result = solve(graph, query("resources=DISK_GB:10"))
    assert {next(iter(res))[0] for res, _ in
            by_name(graph, result.allocation_requests)} == {"cn1", "ss"}


def test_before_1_29_one_tree_contributes_one_provider():
    graph = host_graph()
    request = query("resources=VCPU:1,DISK_GB:10", (1, 28))
    result = solve(graph, request, SolverOptions(nested_aware=False))
    got = by_name(graph, result.allocation_requests)
    assert got == names_of(graph, reference_answers(graph, request, False))
    # cn1 alone, cn1 + ss, cn2 + ss; numa nodes would pair with cn1 or ss
    # only as a second provider of the tree, or with ss
    assert {frozenset(name for name, _, _ in res) for res, _ in got} == {
        frozenset({"cn1"}), frozenset({"cn1", "ss"}), frozenset({"cn2", "ss"}),
        frozenset({"numa0", "ss"}), frozenset({"numa1", "ss"})}
    summarised = {graph.providers[pid].name for pid in result.summary_provider_ids}
    assert summarised == {"cn1", "cn2", "ss", "numa0", "numa1"}


def test_summaries_cover_whole_trees_of_used_providers():
    graph = host_graph()
    result = solve(graph, query("resources=VCPU:1&root_required=!HW_CPU_X86_AVX2"))
    assert [graph.providers[p].name for p in result.summary_provider_ids] == ["cn2"]
    result = solve(graph, query("resources=CUSTOM_GPU:1&required=CUSTOM_FAST"))
    assert {graph.providers[p].name for p in result.summary_provider_ids} == {
        "cn1", "numa0", "gpu0a", "gpu0b", "numa1", "gpu1a", "pf1"}


@pytest.mark.parametrize("text, message", [
    ("resources=NOPE:1", "No such resource class NOPE"),
    ("resources=VCPU:1&required=CUSTOM_NOPE", "No such trait(s): CUSTOM_NOPE"),
    ("resources=VCPU:1&root_required=!CUSTOM_NOPE", "No such trait(s): CUSTOM_NOPE"),
])
def test_unknown_names_are_bad_requests(text, message):
    with pytest.raises(BadRequest) as caught:
        solve(host_graph(), query(text))
    assert message in caught.value.detail


def identical_gpu_hosts(hosts: int, gpus: int, used_on_first: int = 0):
    g = GraphBuilder()
    for h in range(hosts):
        root = g.add(f"h{h}", inventory={"VCPU": 16})
        for d in range(gpus):
            g.add(f"h{h}g{d}", root, {"CUSTOM_GPU": 1},
                  used={"CUSTOM_GPU": 1} if h == 0 and d < used_on_first else None)
    return g.graph()


FOUR_GPUS = ("resources=VCPU:1&resources1=CUSTOM_GPU:1&resources2=CUSTOM_GPU:1"
             "&resources3=CUSTOM_GPU:1&resources4=CUSTOM_GPU:1&group_policy=isolate")


def test_interchangeable_gpus_yield_every_distinct_permutation():
    graph = identical_gpu_hosts(2, 6, used_on_first=1)
    result = solve(graph, query(FOUR_GPUS))
    # 5 free GPUs on h0: 5*4*3*2, 6 on h1: 6*5*4*3
    assert len(result.allocation_requests) == 120 + 360
    assert len(set(result.allocation_requests)) == 480


def test_limit_spreads_over_roots_breadth_first():
    graph = identical_gpu_hosts(20, 8)
    result = solve(graph, query(FOUR_GPUS + "&limit=10"))
    roots = {graph.providers[a.resources[0][0]].root_id
             for a in result.allocation_requests}
    assert len(result.allocation_requests) == 10 and len(roots) == 10
    depth = solve(graph, query(FOUR_GPUS + "&limit=10"),
                  SolverOptions(order=DEPTH_FIRST))
    assert len({graph.providers[a.resources[0][0]].root_id
                for a in depth.allocation_requests}) == 1


def test_too_many_isolated_groups_fail_without_enumerating():
    graph = identical_gpu_hosts(50, 8)
    groups = "&".join(f"resources{i}=CUSTOM_GPU:1" for i in range(1, 10))
    assert solve(graph, query(groups + "&group_policy=isolate")
                 ).allocation_requests == []


def test_max_candidates_caps_generation_and_randomize_keeps_answers_valid():
    graph = identical_gpu_hosts(5, 4)
    capped = solve(graph, query(FOUR_GPUS), SolverOptions(max_candidates=7))
    assert len(capped.allocation_requests) == 7
    everything = set(solve(graph, query(FOUR_GPUS)).allocation_requests)
    shuffled = solve(graph, query(FOUR_GPUS + "&limit=30"),
                     SolverOptions(randomize=True, seed=3))
    assert len(set(shuffled.allocation_requests)) == 30
    assert set(shuffled.allocation_requests) <= everything


def test_step_size_min_unit_and_reserved_are_honoured():
    g = GraphBuilder()
    g.add("cn", inventory={
        "MEMORY_MB": Inventory(1024, reserved=512, min_unit=64, step_size=64),
        "VCPU": Inventory(4, allocation_ratio=2.0, max_unit=4)})
    graph = g.graph()
    for text, count in [("resources=MEMORY_MB:512", 1),
                        ("resources=MEMORY_MB:576", 0),
                        ("resources=MEMORY_MB:100", 0),
                        ("resources=MEMORY_MB:32", 0),
                        ("resources=VCPU:4", 1),
                        ("resources=VCPU:5", 0),
                        ("resources=VCPU:4&resources1=VCPU:4&group_policy=none", 0)]:
        assert len(solve(graph, query(text)).allocation_requests) == count, text
