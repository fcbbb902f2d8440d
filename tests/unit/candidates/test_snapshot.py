"""ProviderGraph: indexes, and replacing providers without a rebuild."""
from __future__ import annotations

import pytest

from placement_pci.candidates.graph import ProviderGraph
from placement_pci.inventory import Inventory
from tests.unit.candidates.graphs import RESOURCE_CLASSES, TRAITS, GraphBuilder

AGG = "aaaaaaaa-0000-0000-0000-000000000001"


def small_graph() -> ProviderGraph:
    g = GraphBuilder()
    cn = g.add("cn", inventory={"VCPU": 4}, traits=("HW_CPU_X86_AVX2",),
               aggregates=(AGG,))
    g.add("gpu", cn, {"CUSTOM_GPU": 1}, traits=("CUSTOM_FAST",))
    g.add("ss", inventory={"DISK_GB": 100}, traits=("MISC_SHARES_VIA_AGGREGATE",),
          aggregates=(AGG,))
    return g.graph()


def indexes(graph: ProviderGraph):
    return (dict(graph.providers), dict(graph.by_uuid), dict(graph.by_class),
            dict(graph.by_trait), dict(graph.by_aggregate), dict(graph.by_root),
            dict(graph.children), graph.sharing_ids, graph.trait_names)


def test_indexes_and_sharing_anchors():
    graph = small_graph()
    assert graph.by_class["VCPU"] == (1,) and graph.by_class["CUSTOM_GPU"] == (2,)
    assert graph.by_root[1] == (1, 2) and graph.children[1] == (2,)
    assert graph.sharing_ids == {3}
    assert graph.sharing_anchors(3) == {1, 3}
    assert graph.ancestors(2) == [2, 1]
    assert graph.has_trees


@pytest.mark.parametrize("change", [
    dict(traits=frozenset()),                                  # last trait gone
    dict(traits=frozenset({"MISC_SHARES_VIA_AGGREGATE"})),     # becomes sharing
    dict(inventories={"SRIOV_NET_VF": Inventory(8)}),          # class swapped
    dict(aggregates=frozenset({AGG})),
    dict(usages={"CUSTOM_GPU": 1}, generation=5),
])
def test_replacing_equals_a_rebuild(change):
    graph = small_graph()
    replacement = graph.providers[2]._replace(**change)
    replaced = graph.replacing([replacement])
    rebuilt = ProviderGraph([replacement if p.id == 2 else p
                             for p in graph.providers.values()],
                            RESOURCE_CLASSES, TRAITS)
    assert indexes(replaced) == indexes(rebuilt)
    assert graph.providers[2] == small_graph().providers[2]  # old graph untouched


def test_replacing_refuses_to_move_a_provider():
    graph = small_graph()
    with pytest.raises(ValueError):
        graph.replacing([graph.providers[2]._replace(parent_id=None, root_id=2)])


def test_replacing_keeps_uuid_lookups_current():
    graph = small_graph()
    replaced = graph.replacing([graph.providers[2]._replace(usages={"CUSTOM_GPU": 1})])
    uuid = graph.providers[2].uuid
    assert replaced.by_uuid[uuid].usages == {"CUSTOM_GPU": 1}
    assert graph.by_uuid[uuid].usages == {}
    renamed = replaced.replacing([replaced.providers[2]._replace(uuid="new-uuid")])
    assert renamed.by_uuid["new-uuid"].id == 2 and uuid not in renamed.by_uuid
    assert uuid in replaced.by_uuid and "new-uuid" not in replaced.by_uuid


def test_roots_changed_since_follows_the_replacing_lineage():
    graph = small_graph()
    first = graph.replacing([graph.providers[2]._replace(usages={"CUSTOM_GPU": 1})])
    second = first.replacing([first.providers[3]._replace(usages={"DISK_GB": 10})])
    assert second.roots_changed_since(second.snapshot_id) == set()
    assert second.roots_changed_since(first.snapshot_id) == {3}
    assert second.roots_changed_since(graph.snapshot_id) == {1, 3}
    sibling = graph.replacing([graph.providers[3]._replace(usages={"DISK_GB": 5})])
    assert second.roots_changed_since(sibling.snapshot_id) is None   # not an ancestor
    assert graph.roots_changed_since(second.snapshot_id) is None     # the wrong way round
    assert small_graph().roots_changed_since(graph.snapshot_id) is None  # a rebuild
