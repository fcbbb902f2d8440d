"""Render solver results as GET /allocation_candidates JSON per microversion.

- before 1.12 each allocation request is a list of
  ``{"resource_provider": {"uuid"}, "resources"}``; from 1.12 a dict keyed
  by provider uuid, the body a PUT /allocations takes;
- 1.34 adds ``mappings`` (group suffix -> provider uuids);
- provider summaries show only requested classes before 1.27 and all
  classes after; ``traits`` from 1.17; parent/root uuids from 1.29.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from placement_pci.candidates.graph import ProviderGraph
from placement_pci.candidates.solver import AllocationRequest, CandidateResult, summary_provider_ids

Microversion = tuple[int, int]


def _allocations_by_provider(graph: ProviderGraph,
                             answer: AllocationRequest) -> dict[str, dict[str, int]]:
    by_provider: dict[str, dict[str, int]] = {}
    for provider_id, resource_class, amount in answer.resources:
        uuid = graph.providers[provider_id].uuid
        by_provider.setdefault(uuid, {})[resource_class] = amount
    return by_provider


def render_allocation_request(graph: ProviderGraph, answer: AllocationRequest,
                              microversion: Microversion) -> dict[str, Any]:
    by_provider = _allocations_by_provider(graph, answer)
    if microversion < (1, 12):
        return {"allocations": [
            {"resource_provider": {"uuid": uuid}, "resources": resources}
            for uuid, resources in by_provider.items()]}
    rendered: dict[str, Any] = {"allocations": {
        uuid: {"resources": resources} for uuid, resources in by_provider.items()}}
    if microversion >= (1, 34):
        rendered["mappings"] = {
            suffix: [graph.providers[pid].uuid for pid in provider_ids]
            for suffix, provider_ids in answer.mappings}
    return rendered


def render_provider_summary(graph: ProviderGraph, provider_id: int,
                            requested_classes: frozenset[str],
                            microversion: Microversion) -> dict[str, Any]:
    provider = graph.providers[provider_id]
    all_classes = microversion >= (1, 27)
    summary: dict[str, Any] = {"resources": {
        rc: {"capacity": inventory.capacity, "used": provider.used(rc)}
        for rc, inventory in sorted(provider.inventories.items())
        if all_classes or rc in requested_classes}}
    if microversion >= (1, 17):
        summary["traits"] = graph.ordered_traits(provider.traits)
    if microversion >= (1, 29):
        parent = (graph.providers[provider.parent_id].uuid
                  if provider.parent_id is not None else None)
        summary["parent_provider_uuid"] = parent
        summary["root_provider_uuid"] = graph.providers[provider.root_id].uuid
    return summary


def provider_summary_json(graph: ProviderGraph, provider_id: int,
                          requested_classes: frozenset[str],
                          microversion: Microversion) -> str:
    return json.dumps(render_provider_summary(graph, provider_id,
                                              requested_classes, microversion))


def summary_mode(requested_classes: frozenset[str],
                  microversion: Microversion) -> tuple:
    """What a summary's shape depends on."""
    all_classes = microversion >= (1, 27)
    return (all_classes, microversion >= (1, 17), microversion >= (1, 29),
            None if all_classes else requested_classes)


def render_candidates(graph: ProviderGraph, result: CandidateResult,
                      microversion: Microversion) -> dict[str, Any]:
    """The whole response body.  Summaries are rendered once per provider
    and snapshot (the returned dicts are shared: read-only)."""
    return {
        "allocation_requests": [
            render_allocation_request(graph, answer, microversion)
            for answer in result.allocation_requests],
        "provider_summaries": _summaries(
            graph, result.summary_provider_ids, result.requested_classes,
            microversion),
    }


def _summaries(graph: ProviderGraph, provider_ids: Iterable[int],
               requested: frozenset[str],
               microversion: Microversion) -> dict[str, Any]:
    mode = summary_mode(requested, microversion)
    cache: dict[int, dict[str, Any]] = graph.memoized(("summaries", mode), dict)
    summaries = {}
    for pid in provider_ids:
        summary = cache.get(pid)
        if summary is None:
            summary = cache[pid] = render_provider_summary(
                graph, pid, requested, microversion)
        summaries[graph.providers[pid].uuid] = summary
    return summaries


STREAM_BATCH = 200


def quoted_uuids(graph: ProviderGraph) -> dict[int, str]:
    """The snapshot's provider id -> JSON-quoted uuid memo, filled by
    ``quoted_uuid``."""
    quoted: dict[int, str] = graph.memoized(("quoted uuids",), dict)
    return quoted


def quoted_uuid(graph: ProviderGraph, quoted: dict[int, str], pid: int) -> str:
    text = quoted.get(pid)
    if text is None:
        text = quoted[pid] = json.dumps(graph.providers[pid].uuid)
    return text


def allocation_request_json(graph: ProviderGraph, answer: AllocationRequest,
                             microversion: Microversion,
                             quoted: dict[int, str]) -> str:
    """``json.dumps(render_allocation_request(...))`` built from cached
    quoted uuids: the hot path of large answers."""
    def uuid(pid: int) -> str:
        return quoted_uuid(graph, quoted, pid)

    if microversion < (1, 12):
        return json.dumps(render_allocation_request(graph, answer, microversion))
    by_provider: dict[int, list[str]] = {}
    for pid, rc, amount in answer.resources:
        by_provider.setdefault(pid, []).append(f'"{rc}": {amount}')
    allocations = ", ".join(f'{uuid(pid)}: {{"resources": {{{", ".join(parts)}}}}}'
                            for pid, parts in by_provider.items())
    if microversion < (1, 34):
        return f'{{"allocations": {{{allocations}}}}}'
    mappings = ", ".join(
        f'{json.dumps(suffix)}: [{", ".join(uuid(pid) for pid in pids)}]'
        for suffix, pids in answer.mappings)
    return f'{{"allocations": {{{allocations}}}, "mappings": {{{mappings}}}}}'


def render_stream(graph: ProviderGraph, answers: Iterable[AllocationRequest],
                  requested: frozenset[str], microversion: Microversion,
                  nested_aware: bool) -> Iterator[str]:
    """The response body as JSON text chunks, pulling answers lazily: memory
    stays bounded by the snapshot however many answers there are."""
    yield '{"allocation_requests": ['
    used: set[int] = set()
    batch: list[str] = []
    first = True
    quoted = quoted_uuids(graph)
    for answer in answers:
        used.update(pid for pid, _, _ in answer.resources)
        batch.append(allocation_request_json(graph, answer, microversion,
                                              quoted))
        if len(batch) == STREAM_BATCH:
            yield ("" if first else ", ") + ", ".join(batch)
            first, batch = False, []
    if batch:
        yield ("" if first else ", ") + ", ".join(batch)
    yield '], "provider_summaries": {'
    # Each provider's summary is encoded once per snapshot and shape.
    encoded: dict[int, str] = graph.memoized(
        ("summary json", summary_mode(requested, microversion)), dict)
    parts = []
    for pid in summary_provider_ids(graph, used, nested_aware):
        text = encoded.get(pid)
        if text is None:
            text = encoded[pid] = provider_summary_json(graph, pid, requested,
                                                        microversion)
        parts.append(f"{quoted_uuid(graph, quoted, pid)}: {text}")
    yield ", ".join(parts)
    yield "}}"
