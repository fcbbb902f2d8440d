"""Per-tree answers kept across snapshots give, after every write, the
very body a fresh computation on the new snapshot gives."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement_pci.candidates.answer_cache import TreeAnswers
from placement_pci.candidates.graph import Inventory, ProviderGraph
from placement_pci.candidates.render import render_stream
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.candidates.solver import (
    DEPTH_FIRST,
    SolverOptions,
    answer_bound,
    bounded_answers,
    requested_classes,
)
from tests.unit.candidates.graphs import GraphBuilder
from tests.unit.candidates.test_properties import AGGS, CLASSES, TRAITS, graphs, requests

SHARING = "MISC_SHARES_VIA_AGGREGATE"


def fresh_body(graph: ProviderGraph, request: CandidateRequest,
               microversion: tuple[int, int], options: SolverOptions) -> str:
    return "".join(render_stream(graph, bounded_answers(graph, request, options),
                                 requested_classes(request), microversion, True))


@st.composite
def writes(draw, graph: ProviderGraph):
    """One write as the snapshot refresh applies it: new versions of one
    or two providers (usage mostly, as claims and releases; sometimes
    inventory, traits or aggregates)."""
    changed = []
    for provider_id in draw(st.lists(st.sampled_from(sorted(graph.providers)),
                                     min_size=1, max_size=2, unique=True)):
        provider = graph.providers[provider_id]
        kind = draw(st.sampled_from(["usage", "usage", "usage", "inventory",
                                     "traits", "aggregates"]))
        if kind == "usage" and provider.inventories:
            rc = draw(st.sampled_from(sorted(provider.inventories)))
            usages = dict(provider.usages)
            usages[rc] = draw(st.integers(0, provider.inventories[rc].total))
            provider = provider._replace(usages=usages)
        elif kind == "inventory":
            rc = draw(st.sampled_from(CLASSES))
            inventories = dict(provider.inventories)
            inventories[rc] = Inventory(draw(st.integers(1, 3)))
            provider = provider._replace(inventories=inventories)
        elif kind == "traits":
            traits = set(draw(st.sets(st.sampled_from(TRAITS), max_size=2)))
            if draw(st.booleans()):
                traits.add(SHARING)
            provider = provider._replace(traits=frozenset(traits))
        else:
            provider = provider._replace(aggregates=frozenset(
                draw(st.sets(st.sampled_from(AGGS), max_size=2))))
        changed.append(provider._replace(generation=provider.generation + 1))
    return changed


SHAPES = st.sampled_from([
    ((1, 39), SolverOptions()),
    ((1, 29), SolverOptions()),
    ((1, 34), SolverOptions(order=DEPTH_FIRST)),
    ((1, 39), SolverOptions(max_candidates=3)),
])


@settings(max_examples=int(os.environ.get("CANDIDATE_EXAMPLES", "250")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), requests(), SHAPES, st.sampled_from([None, 1, 2, 5]),
       st.sampled_from([0.0, 1.0]), st.data())
def test_kept_answers_equal_fresh_ones_after_every_write(
        graph, request, shape, limit, whole_graph_share, data):
    microversion, options = shape
    request.limit = limit
    trees = TreeAnswers(request, microversion, options, answer_bound(request, options))
    # 0.0: every change is recomputed by a whole-graph pass; 1.0: tree by tree.
    trees.whole_graph_share = whole_graph_share
    for _ in range(data.draw(st.integers(1, 6))):
        assert trees.body(graph) == fresh_body(graph, request, microversion, options)
        graph = graph.replacing(data.draw(writes(graph)))
    assert trees.body(graph) == fresh_body(graph, request, microversion, options)


def _sharing_cloud(hosts: int) -> tuple[GraphBuilder, list[int], int]:
    builder = GraphBuilder()
    roots = []
    for index in range(hosts):
        root = builder.add(f"cn{index}", inventory={"VCPU": 4, "DISK_GB": 100},
                           aggregates=(AGGS[index % 2],))
        builder.add(f"cn{index}_gpu", root, inventory={"CUSTOM_GPU": 2})
        roots.append(root)
    shared = builder.add("shared", inventory={"DISK_GB": 100},
                         traits=(SHARING,), aggregates=(AGGS[0],))
    return builder, roots, shared


def test_a_claim_on_a_sharing_provider_reaches_the_trees_it_serves():
    builder, roots, shared = _sharing_cloud(40)
    graph = builder.graph()
    request = CandidateRequest(groups=[RequestGroup(resources={"VCPU": 1, "DISK_GB": 50})])
    trees = TreeAnswers(request, (1, 39), SolverOptions(), None)
    before = trees.body(graph)
    assert before == fresh_body(graph, request, (1, 39), SolverOptions())
    assert before.count('"DISK_GB": 50') == 40 + 20   # local disks + shared for agg 0
    full = graph.providers[shared]
    graph = graph.replacing([full._replace(usages={"DISK_GB": 60}, generation=1)])
    after = trees.body(graph)
    assert after == fresh_body(graph, request, (1, 39), SolverOptions())
    assert after.count('"DISK_GB": 50') == 40


def test_one_claim_recomputes_one_tree(monkeypatch):
    from placement_pci.candidates import answer_cache

    builder, roots, _ = _sharing_cloud(60)
    graph = builder.graph()
    request = CandidateRequest(
        groups=[RequestGroup(resources={"VCPU": 1}),
                RequestGroup(suffix="1", resources={"CUSTOM_GPU": 1})],
        group_policy="isolate")
    trees = TreeAnswers(request, (1, 39), SolverOptions(), None)
    trees.body(graph)
    asked = []
    real = answer_cache.anchor_options
    monkeypatch.setattr(answer_cache, "anchor_options",
                        lambda g, r, anchor: asked.append(anchor) or real(g, r, anchor))
    root = graph.providers[roots[7]]
    graph = graph.replacing([root._replace(usages={"VCPU": 4}, generation=1)])
    body = trees.body(graph)
    assert asked == [roots[7]]
    assert body == fresh_body(graph, request, (1, 39), SolverOptions())
    assert body.count('"CUSTOM_GPU": 1') == 59


def test_a_claim_that_leaves_a_sharing_provider_fitting_recomputes_only_its_tree(
        monkeypatch):
    from placement_pci.candidates import answer_cache

    builder, roots, shared = _sharing_cloud(60)
    graph = builder.graph()
    request = CandidateRequest(groups=[RequestGroup(resources={"VCPU": 1, "DISK_GB": 50})])
    trees = TreeAnswers(request, (1, 39), SolverOptions(), None)
    trees.whole_graph_share = 1.0   # tree by tree, however many
    trees.body(graph)
    asked = []
    real = answer_cache.anchor_options
    monkeypatch.setattr(answer_cache, "anchor_options",
                        lambda g, r, anchor: asked.append(anchor) or real(g, r, anchor))
    provider = graph.providers[shared]
    graph = graph.replacing([provider._replace(usages={"DISK_GB": 40}, generation=1)])
    body = trees.body(graph)
    assert asked == [shared]
    assert body == fresh_body(graph, request, (1, 39), SolverOptions())
    assert '"used": 40' in body
    # No longer fitting: every tree it served is asked again.
    graph = graph.replacing([provider._replace(usages={"DISK_GB": 60}, generation=2)])
    asked.clear()
    body = trees.body(graph)
    assert sorted(asked) == sorted({shared, *graph.sharing_anchors(shared)})
    assert body == fresh_body(graph, request, (1, 39), SolverOptions())
