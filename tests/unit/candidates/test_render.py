"""Rendering per microversion, whole or streamed."""
from __future__ import annotations

import json

import pytest

from placement_pci.candidates.render import render_candidates, render_stream
from placement_pci.candidates.solver import SolverOptions, bounded_answers, requested_classes, solve
from tests.unit.candidates.test_solver import host_graph, query

GPU_QUERY = "resources=VCPU:1&resources_G=CUSTOM_GPU:1"


def render(text, version):
    graph = host_graph()
    request = query(text, max(version, (1, 33)))
    options = SolverOptions(nested_aware=version >= (1, 29))
    return graph, render_candidates(graph, solve(graph, request, options), version)


def uuid_of(graph, name):
    return next(p.uuid for p in graph.providers.values() if p.name == name)


@pytest.mark.parametrize("version, shape", [
    ((1, 10), list), ((1, 11), list), ((1, 12), dict), ((1, 39), dict)])
def test_allocation_request_shape(version, shape):
    _, body = render("resources=VCPU:1&root_required=!HW_CPU_X86_AVX2"
                     if version >= (1, 35) else "resources=MEMORY_MB:1024", version)
    assert isinstance(body["allocation_requests"][0]["allocations"], shape)


@pytest.mark.parametrize("version, mappings", [((1, 33), False), ((1, 34), True)])
def test_mappings_from_1_34(version, mappings):
    graph, body = render(GPU_QUERY, version)
    requests = body["allocation_requests"]
    # VCPU from cn1 or either NUMA node, times three GPUs
    assert len(requests) == 9
    assert all(("mappings" in r) == mappings for r in requests)
    if mappings:
        assert {tuple(r["mappings"][""]) for r in requests} == {
            (uuid_of(graph, "cn1"),), (uuid_of(graph, "numa0"),),
            (uuid_of(graph, "numa1"),)}


@pytest.mark.parametrize("version, keys, classes", [
    ((1, 16), {"resources"}, {"VCPU"}),
    ((1, 17), {"resources", "traits"}, {"VCPU"}),
    ((1, 27), {"resources", "traits"}, {"VCPU", "MEMORY_MB", "DISK_GB"}),
    ((1, 29), {"resources", "traits", "parent_provider_uuid", "root_provider_uuid"},
     {"VCPU", "MEMORY_MB", "DISK_GB"}),
])
def test_summary_fields(version, keys, classes):
    graph, body = render("resources=VCPU:1", version)
    summary = body["provider_summaries"][uuid_of(graph, "cn1")]
    assert set(summary) == keys
    assert set(summary["resources"]) == classes
    assert summary["resources"]["VCPU"] == {"capacity": 8, "used": 0}


@pytest.mark.parametrize("text, version, limit", [
    (GPU_QUERY, (1, 39), None), ("resources=DISK_GB:10", (1, 12), None),
    (GPU_QUERY, (1, 39), 2), ("resources=VCPU:9", (1, 39), None)])
def test_stream_renders_the_same_document(text, version, limit):
    graph = host_graph()
    request = query(text + (f"&limit={limit}" if limit else ""), (1, 39))
    whole = render_candidates(graph, solve(graph, request), version)
    streamed = "".join(render_stream(graph, bounded_answers(graph, request),
                                     requested_classes(request), version, True))
    assert json.loads(streamed) == whole
