"""A brute-force reference for the solver, written the slow, literal way.

Per group it lists every candidate piece per anchor; per anchor it takes
the full product of the pieces, then filters (group_policy, same_subtree,
merged capacity) and collects a set, as upstream Placement does.  Only fit
for small graphs; the property tests compare the real solver with it.
"""
from __future__ import annotations

import itertools

from placement_pci.candidates.graph import ProviderGraph
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup

Answer = tuple[frozenset, frozenset]


def _root_ok(graph: ProviderGraph, request: CandidateRequest, root: int) -> bool:
    traits = graph.providers[root].traits
    return request.root_required <= traits and not request.root_forbidden & traits


def _anchors(graph: ProviderGraph, pid: int) -> set[int]:
    provider = graph.providers[pid]
    anchors = {provider.root_id}
    if provider.is_sharing:
        for aggregate in provider.aggregates:
            for other in graph.providers.values():
                if aggregate in other.aggregates:
                    anchors.add(other.root_id)
    return anchors


def _tree_root(graph, group):
    if group.in_tree is None:
        return None
    provider = graph.by_uuid.get(group.in_tree)
    return provider.root_id if provider else -1


def _granular_pieces(graph, request, group: RequestGroup):
    pieces = []
    tree_root = _tree_root(graph, group)
    if not group.resources and not (group.required_traits or group.member_of):
        return pieces
    for provider in graph.providers.values():
        if tree_root is not None and provider.root_id != tree_root:
            continue
        if not all(provider.fits(rc, n) for rc, n in group.resources.items()):
            continue
        if not all(s & provider.traits for s in group.required_traits):
            continue
        if group.forbidden_traits & provider.traits:
            continue
        if not all(s & provider.aggregates for s in group.member_of):
            continue
        if group.forbidden_aggregates & provider.aggregates:
            continue
        for anchor in _anchors(graph, provider.id):
            if _root_ok(graph, request, anchor):
                resources = tuple((provider.id, rc, n)
                                  for rc, n in group.resources.items())
                pieces.append((anchor, resources, (group.suffix, provider.id)))
    return pieces


def _unsuffixed_pieces(graph, request, group: RequestGroup):
    tree_root = _tree_root(graph, group)

    def member_ok(pid):
        return all(s & graph.providers[pid].aggregates for s in group.member_of)

    per_rc = []
    for rc, n in group.resources.items():
        pairs = set()
        for provider in graph.providers.values():
            if not provider.fits(rc, n):
                continue
            if tree_root is not None and provider.root_id != tree_root:
                continue
            pairs.add((provider.id, provider.root_id))
            if provider.is_sharing and tree_root is None and (
                    not group.member_of or member_ok(provider.id)):
                for anchor in _anchors(graph, provider.id):
                    pairs.add((provider.id, anchor))
        kept = set()
        for pid, anchor in pairs:
            if not _root_ok(graph, request, anchor):
                continue
            if group.member_of and not (member_ok(pid) or member_ok(anchor)):
                continue
            bad = group.forbidden_aggregates
            if bad & graph.providers[pid].aggregates or (
                    bad & graph.providers[anchor].aggregates):
                continue
            kept.add((pid, anchor))
        per_rc.append((rc, n, kept))
    anchors = set.intersection(*({a for _, a in kept} for _, _, kept in per_rc))
    pieces = []
    for anchor in anchors:
        choices = [[pid for pid, a in kept if a == anchor]
                   for _, _, kept in per_rc]
        for combo in itertools.product(*choices):
            traits = set()
            if any(group.forbidden_traits & graph.providers[p].traits
                   for p in combo):
                continue
            for p in combo:
                traits |= graph.providers[p].traits
            if not all(s & traits for s in group.required_traits):
                continue
            resources = tuple((pid, rc, n) for pid, (rc, n, _) in
                              zip(combo, per_rc))
            pieces.append((anchor, resources,
                           tuple(("", pid) for pid in combo)))
    return pieces


def _same_subtree(graph, pids) -> bool:
    if len(pids) <= 1:
        return True
    common = set.intersection(*(set(graph.ancestors(p)) for p in pids))
    return bool(common & set(pids))


def reference_answers(graph: ProviderGraph, request: CandidateRequest,
                      nested_aware: bool = True) -> set[Answer]:
    by_group = []
    for group in request.groups:
        if group.is_unsuffixed:
            pieces = _unsuffixed_pieces(graph, request, group)
        else:
            pieces = [(a, r, (m,)) for a, r, m in
                      _granular_pieces(graph, request, group)]
        by_group.append((group, pieces))
    anchors = set.intersection(*({p[0] for p in pieces} for _, pieces in by_group))
    answers: set[Answer] = set()
    granular_count = sum(1 for g in request.groups if not g.is_unsuffixed)
    for anchor in anchors:
        lists = [[p for p in pieces if p[0] == anchor] for _, pieces in by_group]
        for combo in itertools.product(*lists):
            mapping: dict[str, set[int]] = {}
            for _, _, maps in combo:
                for suffix, pid in maps:
                    mapping.setdefault(suffix, set()).add(pid)
            if request.group_policy == "isolate":
                granular_providers = {pid for s, pids in mapping.items() if s
                                      for pid in pids}
                if len(granular_providers) != granular_count:
                    continue
            if not all(_same_subtree(graph, set().union(
                    *(mapping[s] for s in subtree)))
                    for subtree in request.same_subtree):
                continue
            amounts: dict[tuple[int, str], int] = {}
            for _, resources, _ in combo:
                for pid, rc, n in resources:
                    amounts[(pid, rc)] = amounts.get((pid, rc), 0) + n
            if any(graph.providers[pid].used(rc) + n
                   > graph.providers[pid].inventories[rc].capacity
                   or n > graph.providers[pid].inventories[rc].max_unit
                   for (pid, rc), n in amounts.items()):
                continue
            if not nested_aware:
                used = {pid for pid, _ in amounts}
                if len(used) != len({graph.providers[p].root_id for p in used}):
                    continue
            answers.add((
                frozenset((pid, rc, n) for (pid, rc), n in amounts.items()),
                frozenset((s, frozenset(p)) for s, p in mapping.items())))
    return answers
