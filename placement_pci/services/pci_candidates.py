"""From flavor to answer: request groups -> allocation candidates -> which
device provider serves which alias item; and "why no candidate".

Uses the candidate engine's snapshot of the provider graph (the same
one GET /allocation_candidates uses, fresh as of the call) and its solver;
answers are rendered as GET /allocation_candidates does at microversion
1.39.
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from placement_pci import errors, metrics
from placement_pci.candidates import render, solver
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.db.engine import Database
from placement_pci.pci import diagnosis
from placement_pci.pci.request_groups import TranslatedRequest
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.services.allocation_candidates import solver_options
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.settings import Settings

MICROVERSION = (1, 39)
MAX_LIMIT = 1000


def root_by_name(graph: ProviderGraph, hostname: str) -> str:
    """The uuid of the root provider named ``hostname`` (404 if none)."""
    for provider in graph.providers.values():
        if provider.parent_id is None and provider.name == hostname:
            return provider.uuid
    raise errors.NotFound(f"No host (root provider) named {hostname}",
                          code=errors.PROVIDER_NOT_FOUND)


@dataclass
class Candidates:
    request_groups: dict[str, Any]
    candidates: list[dict[str, Any]]
    provider_summaries: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"request_groups": self.request_groups,
                "candidates": self.candidates,
                "provider_summaries": self.provider_summaries}


def check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) \
            or not 1 <= limit <= MAX_LIMIT:
        raise errors.BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def _limited(request: CandidateRequest, root_uuid: str | None) -> CandidateRequest:
    if root_uuid is None:
        return request
    restricted = copy.deepcopy(request)
    for group in restricted.groups:
        if group.in_tree is None:
            group.in_tree = root_uuid
    return restricted


def _device_map(graph: ProviderGraph, translated: TranslatedRequest,
                answer: solver.AllocationRequest) -> list[dict[str, Any]]:
    by_suffix = dict(answer.mappings)
    devices = []
    for group, source in translated.alias_groups():
        provider = graph.providers[by_suffix[group.suffix][0]]
        devices.append({**source.as_dict(), "group": group.suffix,
                        "provider_uuid": provider.uuid,
                        "provider_name": provider.name,
                        "resource_class": next(iter(group.resources))})
    return devices


def find_candidates(database: Database, snapshots: SnapshotCache,
                    settings: Settings, translated: TranslatedRequest, *,
                    request: CandidateRequest | None = None,
                    limit: int | None = None, hostname: str | None = None,
                    exclude_roots: Iterable[str] = ()) -> Candidates:
    """Candidates for a translated request (or ``request``, a variant of
    its groups such as the live-migration one), optionally on one host and
    never on ``exclude_roots`` (root provider uuids)."""
    graph = snapshots.graph(database)
    request = request or translated.request
    root_uuid = root_by_name(graph, hostname) if hostname else None
    request = _limited(request, root_uuid)
    solver.check_names(graph, request)
    excluded = {graph.by_uuid[uuid].id for uuid in exclude_roots
                if uuid in graph.by_uuid}
    options = solver_options(settings, MICROVERSION)
    bound = limit
    if options.max_candidates is not None:
        bound = options.max_candidates if bound is None else min(
            bound, options.max_candidates)
    answers = (answer for answer in solver.generate(graph, request, options)
               if not {graph.providers[pid].root_id
                       for pid in answer.provider_ids} & excluded)
    chosen = list(itertools.islice(answers, bound))
    metrics.candidates_computed("pci_candidates", len(chosen))
    rendered = []
    for answer in chosen:
        roots = sorted({graph.providers[graph.providers[pid].root_id].name
                        for pid in answer.provider_ids})
        rendered.append({
            "hostname": roots[0],
            "hostnames": roots,
            "allocation_request": render.render_allocation_request(
                graph, answer, MICROVERSION),
            "devices": _device_map(graph, translated, answer)})
    requested = solver.requested_classes(request)
    used = set().union(*(answer.provider_ids for answer in chosen))
    summaries = {
        graph.providers[pid].uuid: render.render_provider_summary(
            graph, pid, requested, MICROVERSION)
        for pid in solver.summary_provider_ids(graph, used, True)}
    return Candidates(render_request_groups(translated), rendered, summaries)


def diagnose(database: Database, snapshots: SnapshotCache,
             request: CandidateRequest,
             hostname: str | None = None) -> dict[str, Any]:
    """Per host: candidate or not, and every reason why not."""
    graph = snapshots.graph(database)
    solver.check_names(graph, request)
    roots = [root_by_name(graph, hostname)] if hostname else None
    verdicts = diagnosis.diagnose(graph, request, roots)
    return {"hosts": [verdict.as_dict() for verdict in verdicts],
            **diagnosis.verdict_counts(verdicts)}
