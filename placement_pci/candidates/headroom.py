"""Headroom: how many more instances of one request fit, per host.

Pure code over a ProviderGraph snapshot: for each host (a root provider
that is not a sharing provider), place the request again and again on a
private copy of the host's tree, taking a candidate the solver gives each
time (what consecutive boots through the scheduler would do), until
nothing fits.  Two shortcuts keep the solver calls few, both exact: a
candidate is taken as many times as it fits at once (each repetition is
itself a valid candidate), and when a device provider is full the same
candidate on an untouched twin device (same parent, traits, aggregates
and inventory) is taken next, as the solver would offer it by symmetry.
The solver decides every placement, so group_policy, traits, aggregates,
same_subtree (NUMA affinity) and the unsuffixed group's rules hold
exactly as for GET /allocation_candidates.

Sharing providers are carried from host to host: what one host's
instances take from a shared pool is gone for the next host, so the total
never counts a shared unit twice.  First-fit is a lower bound where the
order of placements matters (mixed NUMA packing); for the common case of
identical devices it is exact.  A host's count stops at ``per_host_cap``
(a request with no resources would fit forever).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from placement_pci.candidates import solver
from placement_pci.candidates.graph import ProviderGraph, ProviderNode
from placement_pci.candidates.request_group import CandidateRequest

DEFAULT_PER_HOST_CAP = 1000


@dataclass(frozen=True)
class HostHeadroom:
    root_id: int
    hostname: str
    root_uuid: str
    count: int
    capped: bool
    aggregates: frozenset[str]


@dataclass(frozen=True)
class Headroom:
    hosts: list[HostHeadroom]  # hosts with room, by name
    hosts_considered: int

    @property
    def total(self) -> int:
        return sum(host.count for host in self.hosts)

    def by_aggregate(self) -> dict[str, int]:
        """aggregate uuid -> instances fitting on its hosts."""
        counts: dict[str, int] = defaultdict(int)
        for host in self.hosts:
            for aggregate in host.aggregates:
                counts[aggregate] += host.count
        return dict(sorted(counts.items()))


def _with_usage(provider: ProviderNode, extra: Mapping[str, int]) -> ProviderNode:
    usages = dict(provider.usages)
    for name, amount in extra.items():
        usages[name] = usages.get(name, 0) + amount
    return provider._replace(usages=usages)


def _host_graph(graph: ProviderGraph, root_id: int,
                sharing: Mapping[int, ProviderNode]) -> ProviderGraph:
    """The host's tree plus the sharing providers it can use, as their
    current (carried) versions."""
    members = [graph.providers[pid] for pid in graph.tree_of(root_id)]
    shared = [sharing[pid] for pid in graph.sharing_ids
              if pid in sharing and pid not in graph.tree_of(root_id)
              and root_id in graph.sharing_anchors(pid)]
    return ProviderGraph(members + shared, graph.resource_classes,
                         graph.ordered_trait_names)


def _first_answer(host: ProviderGraph, request: CandidateRequest,
                  tree: frozenset[int]) -> solver.AllocationRequest | None:
    for answer in solver.generate(host, request, solver.SolverOptions()):
        # An answer made only of sharing providers belongs to no host.
        if answer.provider_ids & tree:
            return answer
    return None


def _twin_key(provider: ProviderNode) -> tuple:
    return (provider.parent_id, provider.traits, provider.aggregates,
            tuple(sorted(provider.inventories.items())))


def _relabelled(host: ProviderGraph, answer: solver.AllocationRequest
                ) -> solver.AllocationRequest | None:
    """``answer`` again with each provider that is now too full replaced
    by an untouched twin (same parent, traits, aggregates, inventories):
    by symmetry the solver would offer it too, so the solver need not be
    asked.  None when some full provider has no free twin."""
    used = {pid for pid, _, _ in answer.resources}
    needs: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, name, amount in answer.resources:
        needs[pid][name] = amount

    def fits(provider: ProviderNode, resources: Mapping[str, int]) -> bool:
        return all(provider.fits(name, amount) for name, amount in resources.items())

    swap: dict[int, int] = {}
    for pid, resources in needs.items():
        provider = host.providers[pid]
        if fits(provider, resources):
            continue
        parent = provider.parent_id
        siblings = host.children.get(parent, ()) if parent is not None else ()
        key = _twin_key(provider)
        twin = next((other for other in siblings
                     if other not in used and other not in swap.values()
                     and _twin_key(host.providers[other]) == key
                     and fits(host.providers[other], resources)), None)
        if twin is None:
            return None
        swap[pid] = twin
    return solver.AllocationRequest(
        resources=tuple((swap.get(pid, pid), name, amount)
                        for pid, name, amount in answer.resources),
        mappings=tuple((suffix, tuple(swap.get(pid, pid) for pid in pids))
                       for suffix, pids in answer.mappings))


def _repeats(host: ProviderGraph, answer: solver.AllocationRequest,
             most: int) -> int:
    """How many times ``answer`` fits (at least once: the solver said so)."""
    times = most
    for provider_id, name, amount in answer.resources:
        provider = host.providers[provider_id]
        free = provider.inventories[name].capacity - provider.used(name)
        times = min(times, free // amount)
    return max(times, 1)


def compute(graph: ProviderGraph, request: CandidateRequest, *,
            roots: Iterable[int] | None = None,
            per_host_cap: int = DEFAULT_PER_HOST_CAP) -> Headroom:
    """Headroom of ``request`` on ``roots`` (default: every host).

    The caller has checked the request's names (solver.check_names).
    """
    if roots is None:
        roots = [p.id for p in graph.providers.values()
                 if p.parent_id is None and p.id not in graph.sharing_ids]
    roots = sorted(roots, key=lambda rid: (graph.providers[rid].name, rid))
    sharing = {pid: graph.providers[pid] for pid in graph.sharing_ids}
    hosts = []
    for root_id in roots:
        host = _host_graph(graph, root_id, sharing)
        tree = frozenset(graph.tree_of(root_id))
        count = 0
        answer = None
        while count < per_host_cap:
            answer = (answer and _relabelled(host, answer)) or _first_answer(
                host, request, tree)
            if answer is None:
                break
            # The same placement again is a valid candidate as long as it
            # fits, so take it as many times as it fits in one step.
            times = _repeats(host, answer, per_host_cap - count)
            count += times
            taken: dict[int, dict[str, int]] = defaultdict(dict)
            for provider_id, name, amount in answer.resources:
                taken[provider_id][name] = (taken[provider_id].get(name, 0)
                                            + amount * times)
            host = host.replacing(
                _with_usage(host.providers[pid], extra) for pid, extra in taken.items())
        for pid in sharing:
            if pid in host.providers:
                sharing[pid] = host.providers[pid]
        if count:
            root = graph.providers[root_id]
            hosts.append(HostHeadroom(root_id, root.name, root.uuid, count,
                                      count >= per_host_cap, root.aggregates))
    return Headroom(hosts, len(roots))
