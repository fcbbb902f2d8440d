"""The allocation-candidate solver: a lazy pipeline over a ProviderGraph.

Stages, each a small function:

1. ``check_names`` (feasibility.py): unknown resource classes / traits
   are a 400, as upstream.
2. ``allowed_roots`` (feasibility.py): root_required filters anchors.
3. ``granular_options`` / ``unsuffixed_options`` (feasibility.py): the
   providers that can serve each group, per tree (anchor) they would
   serve, sharing providers included via their aggregates.
4. ``TreeSearch`` (tree_search.py): per anchor, combine the groups
   (merged capacity, group_policy, same_subtree, the unsuffixed group's
   collective traits), interchangeable providers handled as one class.
5. ``_interleave``: answers from all anchors, round-robin (breadth-first)
   or one tree after another (depth-first), stopped as soon as ``limit`` or
   the global cap is reached.

Distinct answers are what upstream considers distinct: the set of
(provider, class, amount) after merging the groups plus the mapping of
each group suffix to the providers serving it.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from placement_pci.candidates.feasibility import (
    AnchorOptions,
    all_anchor_options,
    check_names,
)
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.candidates.tree_search import Step, TreeSearch

BREADTH_FIRST = "breadth-first"
DEPTH_FIRST = "depth-first"
ORDERS = (BREADTH_FIRST, DEPTH_FIRST)


@dataclass(frozen=True)
class SolverOptions:
    """How to generate: operator settings plus what the microversion allows.

    ``max_candidates`` caps how many answers are generated before ``limit``
    is applied (None: no cap).  ``nested_aware`` is False below 1.29, where
    an answer may not use two providers of one tree.
    """
    randomize: bool = False
    max_candidates: int | None = None
    order: str = BREADTH_FIRST
    nested_aware: bool = True
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    """One answer: merged (provider id, class, amount) and group mappings."""
    resources: tuple[tuple[int, str, int], ...]
    mappings: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def provider_ids(self) -> set[int]:
        return {provider_id for provider_id, _, _ in self.resources}


@dataclass
class CandidateResult:
    allocation_requests: list[AllocationRequest]
    summary_provider_ids: list[int]
    requested_classes: frozenset[str] = frozenset()


# -- stage 5: all trees ------------------------------------------------------

def anchor_steps(request: CandidateRequest, options: AnchorOptions) -> list[Step]:
    """The search steps of one anchor from its options (fresh objects:
    the search annotates them)."""
    unsuffixed, granular = options
    steps = []
    for group in request.groups:
        if group.is_unsuffixed:
            assert unsuffixed is not None
            for rc, amount in group.resources.items():
                steps.append(Step("", ((rc, amount),), unsuffixed[rc], False))
        else:
            steps.append(Step(group.suffix, tuple(group.resources.items()),
                               granular[group.suffix], True))
    return steps


def _allocation_request(steps: list[Step], providers: list[int]
                        ) -> AllocationRequest:
    amounts: dict[tuple[int, str], int] = {}
    mappings: dict[str, list[int]] = {}
    for step, provider_id in zip(steps, providers):
        for rc, amount in step.resources:
            key = (provider_id, rc)
            amounts[key] = amounts.get(key, 0) + amount
        mapped = mappings.get(step.suffix)
        if mapped is None:
            mappings[step.suffix] = [provider_id]
        elif provider_id not in mapped:
            mapped.append(provider_id)
    return AllocationRequest(
        resources=tuple((pid, rc, amount) for (pid, rc), amount in amounts.items()),
        mappings=tuple((suffix, tuple(pids)) for suffix, pids in mappings.items()))


def answer_key(answer: AllocationRequest) -> tuple[frozenset, frozenset]:
    """What makes answers distinct, independent of the order of parts."""
    return (frozenset(answer.resources),
            frozenset((suffix, frozenset(pids)) for suffix, pids in answer.mappings))


def _interleave(generators: list[Iterator[AllocationRequest]],
                order: str) -> Iterator[AllocationRequest]:
    if order == DEPTH_FIRST:
        for generator in generators:
            yield from generator
        return
    active = list(generators)
    while active:
        still_active = []
        for generator in active:
            answer = next(generator, None)
            if answer is not None:
                yield answer
                still_active.append(generator)
        active = still_active


def tree_answers(graph: ProviderGraph, request: CandidateRequest,
                  steps: list[Step], options: SolverOptions,
                  rng: random.Random | None) -> Iterator[AllocationRequest]:
    if all(not step.granular for step in steps):
        yield from _unsuffixed_only_answers(graph, request, steps, options, rng)
        return
    search = TreeSearch(graph, request, steps, options.nested_aware, rng)
    for providers in search.answers():
        yield _allocation_request(search.steps, providers)


def _unsuffixed_only_answers(graph: ProviderGraph, request: CandidateRequest,
                             steps: list[Step], options: SolverOptions,
                             rng: random.Random | None
                             ) -> Iterator[AllocationRequest]:
    """The common scheduler query (no granular groups) on one tree: every
    combination of one provider per class.  Each class is asked once and
    each option already fits, so only the collective traits (and, below
    1.29, one provider per tree) remain to check."""
    choices = [list(step.provider_ids) for step in steps]
    if rng is not None:
        for choice in choices:
            rng.shuffle(choice)
    required = request.groups[0].required_traits if request.groups else []
    providers = graph.providers
    for combination in itertools.product(*choices):
        if required:
            traits = frozenset().union(*(providers[pid].traits
                                         for pid in set(combination)))
            if not all(any_of & traits for any_of in required):
                continue
        if not options.nested_aware:
            distinct = set(combination)
            if len(distinct) != len({providers[pid].root_id for pid in distinct}):
                continue
        yield _allocation_request(steps, list(combination))


def generate(graph: ProviderGraph, request: CandidateRequest,
             options: SolverOptions = SolverOptions()
             ) -> Iterator[AllocationRequest]:
    """Every distinct answer, lazily, in the configured order."""
    by_anchor = all_anchor_options(graph, request)
    if not by_anchor:
        return
    rng = random.Random(options.seed) if options.randomize else None
    ordered = list(by_anchor)   # sorted
    if rng is not None:
        rng.shuffle(ordered)

    def tree(anchor: int) -> Iterator[AllocationRequest]:
        steps = anchor_steps(request, by_anchor[anchor])
        yield from tree_answers(graph, request, steps, options, rng)

    generators = [tree(anchor) for anchor in ordered]
    # An answer made only of sharing providers can come from several
    # anchors; any other answer names a provider only its own tree can use.
    seen_shared: set[tuple[frozenset, frozenset]] = set()
    for answer in _interleave(generators, options.order):
        if graph.sharing_ids and all(
                pid in graph.sharing_ids for pid, _, _ in answer.resources):
            key = answer_key(answer)
            if key in seen_shared:
                continue
            seen_shared.add(key)
        yield answer


def summary_provider_ids(graph: ProviderGraph, used: Iterable[int],
                         nested_aware: bool) -> list[int]:
    """Providers to summarise given the providers the answers use: their
    whole trees, or only themselves where the microversion is blind to
    trees."""
    used = set(used)
    if not nested_aware and graph.has_trees:
        return sorted(used)
    roots = sorted({graph.providers[pid].root_id for pid in used})
    return [pid for root in roots for pid in graph.tree_of(root)]


def requested_classes(request: CandidateRequest) -> frozenset[str]:
    return frozenset(rc for group in request.groups for rc in group.resources)


def answer_bound(request: CandidateRequest, options: SolverOptions) -> int | None:
    """How many answers to give at most: ``limit`` and the global cap."""
    bound = request.limit
    if options.max_candidates is not None:
        bound = (options.max_candidates if bound is None
                 else min(bound, options.max_candidates))
    return bound


def bounded_answers(graph: ProviderGraph, request: CandidateRequest,
                    options: SolverOptions = SolverOptions()
                    ) -> Iterator[AllocationRequest]:
    """Check names (raising BadRequest now), then lazily at most ``limit``
    (and the global cap) answers."""
    check_names(graph, request)
    return itertools.islice(generate(graph, request, options),
                            answer_bound(request, options))


def solve(graph: ProviderGraph, request: CandidateRequest,
          options: SolverOptions = SolverOptions()) -> CandidateResult:
    """Answer a parsed request; ``limit`` and the cap stop generation."""
    answers = list(bounded_answers(graph, request, options))
    used = set().union(*(answer.provider_ids for answer in answers))
    return CandidateResult(
        allocation_requests=answers,
        summary_provider_ids=summary_provider_ids(graph, used,
                                                  options.nested_aware),
        requested_classes=requested_classes(request))
