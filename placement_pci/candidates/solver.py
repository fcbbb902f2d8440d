"""The allocation-candidate solver: a lazy pipeline over a ProviderGraph.

Stages, each a small function:

1. ``check_names``: unknown resource classes / traits are a 400, as upstream.
2. ``allowed_roots``: root_required / forbidden root traits filter anchors.
3. ``granular_providers`` / ``unsuffixed_options``: per-group feasibility,
   the providers that can serve each group, grouped by the tree (anchor)
   they would serve, sharing providers included via their aggregates.
4. ``_TreeSearch``: per anchor, a backtracking search that combines the
   groups (capacity of merged amounts, group_policy, same_subtree, the
   unsuffixed group's collective traits).  Interchangeable providers (leaf
   siblings with the same inventory, usage, traits and aggregates) form one
   class; the search picks "a fresh member of the class" once and expands
   the canonical answer into every concrete permutation afterwards, so
   infeasible requests fail without enumerating permutations and feasible
   ones produce answers without dead ends.
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.candidates.snapshot import Provider, ProviderGraph
from placement_pci.errors import BadRequest

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


# -- stage 1: names ----------------------------------------------------------

def check_names(graph: ProviderGraph, request: CandidateRequest) -> None:
    """Raise BadRequest for a resource class or trait the database lacks."""
    def check_traits(names: Iterable[str]) -> None:
        for name in names:
            if name not in graph.trait_names:
                raise BadRequest(f"No such trait(s): {name}.")

    check_traits(sorted(request.root_required))
    check_traits(sorted(request.root_forbidden))
    for group in request.groups:
        for resource_class in group.resources:
            if resource_class not in graph.resource_classes:
                raise BadRequest(
                    "Invalid resource class in resources parameter: "
                    f"No such resource class {resource_class}.")
        for any_of in group.required_traits:
            check_traits(sorted(any_of))
        check_traits(sorted(group.forbidden_traits))


# -- stage 2: anchors --------------------------------------------------------

def allowed_roots(graph: ProviderGraph,
                  request: CandidateRequest) -> frozenset[int] | None:
    """Roots passing root_required; None when nothing filters roots."""
    if not (request.root_required or request.root_forbidden):
        return None
    key = ("roots", request.root_required, request.root_forbidden)
    return graph.memoized(key, lambda: frozenset(
        provider.id for provider in graph.providers.values()
        if provider.parent_id is None
        and request.root_required <= provider.traits
        and not request.root_forbidden & provider.traits))


# -- stage 3: per-group feasibility ------------------------------------------

def _has_traits(traits: frozenset[str], group: RequestGroup) -> bool:
    return all(any_of & traits for any_of in group.required_traits)


def _in_aggregates(aggregates: frozenset[str], group: RequestGroup) -> bool:
    return all(any_of & aggregates for any_of in group.member_of)


def _tree_root(graph: ProviderGraph, group: RequestGroup) -> int | None:
    """Root id for in_tree; -1 when the named provider does not exist."""
    if group.in_tree is None:
        return None
    provider = graph.by_uuid.get(group.in_tree)
    return provider.root_id if provider is not None else -1


def _seed_ids(graph: ProviderGraph, group: RequestGroup) -> Iterable[int]:
    """A small superset of the providers that can serve a granular group."""
    if group.resources:
        return min((graph.by_class.get(rc, ()) for rc in group.resources),
                   key=len)
    seeds: list[Sequence[int]] = []
    seeds += [[pid for trait in any_of for pid in graph.by_trait.get(trait, ())]
              for any_of in group.required_traits]
    seeds += [sorted(graph.providers_in_aggregates(any_of))
              for any_of in group.member_of]
    if not seeds:
        # Upstream matches nothing for a resourceless group that names
        # neither a required trait nor an aggregate.
        return ()
    return sorted(set(min(seeds, key=len)))


def granular_providers(graph: ProviderGraph, group: RequestGroup) -> list[int]:
    """Providers that alone satisfy a suffixed group."""
    tree_root = _tree_root(graph, group)
    found = []
    for provider_id in _seed_ids(graph, group):
        provider = graph.providers[provider_id]
        if tree_root is not None and provider.root_id != tree_root:
            continue
        if not all(provider.fits(rc, amount)
                   for rc, amount in group.resources.items()):
            continue
        if (_has_traits(provider.traits, group)
                and not group.forbidden_traits & provider.traits
                and _in_aggregates(provider.aggregates, group)
                and not group.forbidden_aggregates & provider.aggregates):
            found.append(provider_id)
    return found


def anchors_of(graph: ProviderGraph, provider: Provider) -> Iterable[int]:
    """The trees a provider can serve: its own, plus those it shares with."""
    yield provider.root_id
    if provider.is_sharing:
        for root in sorted(graph.sharing_anchors(provider.id)):
            if root != provider.root_id:
                yield root


def group_key(group: RequestGroup) -> tuple:
    """What a group asks for, without its suffix: equal keys, equal options."""
    def sets(items: Iterable[frozenset[str]]) -> tuple:
        return tuple(sorted(tuple(sorted(item)) for item in items))
    return (tuple(sorted(group.resources.items())), sets(group.required_traits),
            tuple(sorted(group.forbidden_traits)), sets(group.member_of),
            tuple(sorted(group.forbidden_aggregates)), group.in_tree)


def granular_options(graph: ProviderGraph, group: RequestGroup,
                     roots: frozenset[int] | None) -> dict[int, list[int]]:
    """anchor root -> providers serving this suffixed group there
    (memoized per snapshot: identical groups and repeated queries reuse it)."""
    return graph.memoized(("granular", group_key(group), roots),
                          lambda: _granular_options(graph, group, roots))


def _granular_options(graph: ProviderGraph, group: RequestGroup,
                      roots: frozenset[int] | None) -> dict[int, list[int]]:
    by_anchor: dict[int, list[int]] = {}
    for provider_id in granular_providers(graph, group):
        for anchor in anchors_of(graph, graph.providers[provider_id]):
            if roots is None or anchor in roots:
                by_anchor.setdefault(anchor, []).append(provider_id)
    return by_anchor


def unsuffixed_options(graph: ProviderGraph, group: RequestGroup,
                       roots: frozenset[int] | None
                       ) -> dict[int, dict[str, list[int]]]:
    """Memoized per snapshot, see ``_unsuffixed_options``."""
    return graph.memoized(("unsuffixed", group_key(group), roots),
                          lambda: _unsuffixed_options(graph, group, roots))


def _unsuffixed_options(graph: ProviderGraph, group: RequestGroup,
                        roots: frozenset[int] | None
                        ) -> dict[int, dict[str, list[int]]]:
    """anchor root -> resource class -> providers of the unsuffixed group.

    The unsuffixed group may take each class from a different provider of
    the tree, or from a sharing provider associated with it.  member_of
    counts the provider's or its root's aggregates; a sharing provider must
    itself be in the aggregates.  Required traits are checked later, on the
    union of the chosen providers' traits.
    """
    tree_root = _tree_root(graph, group)
    forbidden = group.forbidden_aggregates

    def aggregates_ok(provider: Provider, anchor: int) -> bool:
        anchor_aggs = graph.providers[anchor].aggregates
        if forbidden & provider.aggregates or forbidden & anchor_aggs:
            return False
        return (not group.member_of
                or _in_aggregates(provider.aggregates, group)
                or _in_aggregates(anchor_aggs, group))

    per_class: list[dict[int, list[int]]] = []
    for rc, amount in group.resources.items():
        by_anchor: dict[int, list[int]] = {}
        for provider_id in graph.by_class.get(rc, ()):
            provider = graph.providers[provider_id]
            if not provider.fits(rc, amount):
                continue
            if group.forbidden_traits & provider.traits:
                continue
            if tree_root is not None and provider.root_id != tree_root:
                continue
            anchors = [provider.root_id]
            if provider.is_sharing and tree_root is None and (
                    _in_aggregates(provider.aggregates, group)):
                anchors += [root for root in
                            sorted(graph.sharing_anchors(provider_id))
                            if root != provider.root_id]
            for anchor in anchors:
                if roots is not None and anchor not in roots:
                    continue
                if aggregates_ok(provider, anchor):
                    by_anchor.setdefault(anchor, []).append(provider_id)
        if not by_anchor:
            return {}
        per_class.append(by_anchor)
    common = set(per_class[0]).intersection(*per_class[1:]) if per_class else set()
    resource_classes = list(group.resources)
    return {anchor: {rc: per_class[index][anchor]
                     for index, rc in enumerate(resource_classes)}
            for anchor in sorted(common)}


# -- stage 4: per-tree search ------------------------------------------------

@dataclass
class _Step:
    """One choice of the search: a provider for a granular group, or for
    one resource class of the unsuffixed group."""
    suffix: str
    resources: tuple[tuple[str, int], ...]
    provider_ids: list[int]
    granular: bool
    options: list[int] = field(default_factory=list)   # class indexes
    closes_unsuffixed: bool = False
    closes_subtrees: list[frozenset[str]] = field(default_factory=list)
    # same_subtree sets this step belongs to that later steps complete,
    # with the provider ids those later steps may still choose
    open_subtrees: list[tuple[frozenset[str], frozenset[int]]] = field(
        default_factory=list)


@dataclass
class _Class:
    """Interchangeable providers; ``members`` are provider ids."""
    members: list[int]
    proto: Provider


Node = tuple[int, int]   # (class index, slot index)


class _TreeSearch:
    """Backtracking over the steps of one anchor, on classes and slots.

    A slot is "some member of a class"; members of a class are used in slot
    order, so one canonical answer stands for all its relabelings, which
    ``_expand`` enumerates.  Slots of multi-member classes are leaves.
    """

    def __init__(self, graph: ProviderGraph, request: CandidateRequest,
                 steps: list[_Step], options: SolverOptions,
                 rng: random.Random | None) -> None:
        self.graph = graph
        self.request = request
        self.steps = steps
        self.isolate = request.group_policy == "isolate"
        self.nested_aware = options.nested_aware
        self.rng = rng
        self.unsuffixed = next(
            (group for group in request.groups if group.is_unsuffixed), None)
        self.classes = self._build_classes()
        self._order_steps()

    def _build_classes(self) -> list[_Class]:
        graph = self.graph
        membership: dict[int, list[bool]] = {}
        for index, step in enumerate(self.steps):
            for provider_id in step.provider_ids:
                membership.setdefault(
                    provider_id, [False] * len(self.steps))[index] = True
        by_key: dict[object, list[int]] = {}
        for provider_id in sorted(membership):
            provider = graph.providers[provider_id]
            if graph.children.get(provider_id):
                key: object = ("tree", provider_id)
            else:
                key = (provider.parent_id, provider.root_id,
                       tuple(sorted(provider.inventories.items())),
                       tuple(sorted(provider.usages.items())),
                       provider.traits, provider.aggregates,
                       tuple(membership[provider_id]))
            by_key.setdefault(key, []).append(provider_id)
        classes = []
        class_of: dict[int, int] = {}
        for members in by_key.values():
            if self.rng is not None:
                self.rng.shuffle(members)
            for member in members:
                class_of[member] = len(classes)
            classes.append(_Class(members, graph.providers[members[0]]))
        for step in self.steps:
            seen: list[int] = []
            for provider_id in step.provider_ids:
                index = class_of[provider_id]
                if index not in seen:
                    seen.append(index)
            if self.rng is not None:
                self.rng.shuffle(seen)
            step.options = seen
        return classes

    def _order_steps(self) -> None:
        """Unsuffixed classes first, then the most constrained groups;
        resourceless groups last; mark where checks can run."""
        unsuffixed = [step for step in self.steps if not step.granular]
        granular = sorted(
            (step for step in self.steps if step.granular),
            key=lambda step: (not step.resources,
                              sum(len(self.classes[c].members)
                                  for c in step.options)))
        self.steps = unsuffixed + granular
        if unsuffixed:
            unsuffixed[-1].closes_unsuffixed = True
        position = {step.suffix: index for index, step in enumerate(self.steps)
                    if step.granular}
        for subtree in self.request.same_subtree:
            last = max(position[suffix] for suffix in subtree)
            self.steps[last].closes_subtrees.append(subtree)
            for suffix in subtree:
                index = position[suffix]
                if index == last:
                    continue
                later = frozenset(
                    pid for other in subtree if position[other] > index
                    for pid in self.steps[position[other]].provider_ids)
                self.steps[index].open_subtrees.append((subtree, later))

    # -- canonical search ----------------------------------------------------

    def canonical(self) -> Iterator[list[Node]]:
        self.loads: dict[Node, dict[str, int]] = {}
        self.used_slots = [0] * len(self.classes)
        self.granular_on: dict[Node, int] = {}
        self.steps_on: dict[Node, int] = {}
        self.assignment: list[Node] = []
        if self.isolate and not self._isolation_possible():
            return
        yield from self._search(0)

    def _isolation_possible(self) -> bool:
        """Every granular group can get its own provider (a matching)."""
        granular = [step for step in self.steps if step.granular]
        matched: dict[int, int] = {}

        def assign(index: int, visited: set[int]) -> bool:
            for provider_id in granular[index].provider_ids:
                if provider_id in visited:
                    continue
                visited.add(provider_id)
                if (provider_id not in matched
                        or assign(matched[provider_id], visited)):
                    matched[provider_id] = index
                    return True
            return False

        return all(assign(index, set()) for index in range(len(granular)))

    def _search(self, depth: int) -> Iterator[list[Node]]:
        if depth == len(self.steps):
            yield list(self.assignment)
            return
        step = self.steps[depth]
        for class_index in step.options:
            used = self.used_slots[class_index]
            size = len(self.classes[class_index].members)
            for slot in range(min(used + 1, size)):
                node = (class_index, slot)
                if not self._can_take(step, node, slot == used):
                    continue
                self._take(step, node, slot == used)
                if self._checks_pass(step):
                    yield from self._search(depth + 1)
                self._release(step, node, slot == used)

    def _can_take(self, step: _Step, node: Node, fresh: bool) -> bool:
        if step.granular and self.isolate and self.granular_on.get(node):
            return False
        proto = self.classes[node[0]].proto
        load = self.loads.get(node, {})
        for rc, amount in step.resources:
            total = load.get(rc, 0) + amount
            inventory = proto.inventories[rc]
            if (proto.used(rc) + total > inventory.capacity
                    or total > inventory.max_unit):
                return False
        if not self.nested_aware and step.resources and not self.steps_on.get(node):
            root = proto.root_id
            for other, count in self.steps_on.items():
                if count and other != node and (
                        self.classes[other[0]].proto.root_id == root) and (
                        self._has_resources_on(other)):
                    return False
        return True

    def _has_resources_on(self, node: Node) -> bool:
        return any(amount for amount in self.loads.get(node, {}).values())

    def _take(self, step: _Step, node: Node, fresh: bool) -> None:
        if fresh:
            self.used_slots[node[0]] += 1
        load = self.loads.setdefault(node, {})
        for rc, amount in step.resources:
            load[rc] = load.get(rc, 0) + amount
        self.steps_on[node] = self.steps_on.get(node, 0) + 1
        if step.granular:
            self.granular_on[node] = self.granular_on.get(node, 0) + 1
        self.assignment.append(node)

    def _release(self, step: _Step, node: Node, fresh: bool) -> None:
        self.assignment.pop()
        if step.granular:
            self.granular_on[node] -= 1
        self.steps_on[node] -= 1
        load = self.loads[node]
        for rc, amount in step.resources:
            load[rc] -= amount
        if fresh:
            self.used_slots[node[0]] -= 1
            del self.loads[node]

    def _checks_pass(self, step: _Step) -> bool:
        if step.closes_unsuffixed and self.unsuffixed is not None:
            traits: set[str] = set()
            for index, chosen in enumerate(self.assignment):
                if not self.steps[index].granular:
                    traits |= self.classes[chosen[0]].proto.traits
            if not all(any_of & traits
                       for any_of in self.unsuffixed.required_traits):
                return False
        for subtree in step.closes_subtrees:
            if not self._same_subtree(self._subtree_nodes(subtree)):
                return False
        for subtree, later in step.open_subtrees:
            if not self._subtree_still_possible(self._subtree_nodes(subtree),
                                                later):
                return False
        return True

    def _subtree_nodes(self, subtree: frozenset[str]) -> set[Node]:
        return {self.assignment[index]
                for index, other in enumerate(self.steps[:len(self.assignment)])
                if other.granular and other.suffix in subtree}

    def _subtree_still_possible(self, nodes: set[Node],
                                later: frozenset[int]) -> bool:
        """Prune early: the subtree's top must be an ancestor of every
        provider chosen so far, and be one of them or a provider a later
        group of the set may still choose."""
        common = set.intersection(*(self._lineage(node) for node in nodes))
        if any(self._identity(node) in common for node in nodes):
            return True
        return any(not isinstance(item, int) or item in later
                   for item in common)

    def _identity(self, node: Node) -> object:
        cls = self.classes[node[0]]
        return cls.members[0] if len(cls.members) == 1 else node

    def _lineage(self, node: Node) -> set[object]:
        cls = self.classes[node[0]]
        if len(cls.members) == 1:
            return set(self.graph.ancestors(cls.members[0]))
        parent = cls.proto.parent_id
        lineage: set[object] = {node}
        if parent is not None:
            lineage.update(self.graph.ancestors(parent))
        return lineage

    def _same_subtree(self, nodes: set[Node]) -> bool:
        if len(nodes) <= 1:
            return True
        common = set.intersection(*(self._lineage(node) for node in nodes))
        return any(self._identity(node) in common for node in nodes)

    # -- expansion -----------------------------------------------------------

    def answers(self) -> Iterator[list[int]]:
        """Concrete answers: provider id per step, in step order."""
        for assignment in self.canonical():
            yield from self._expand(assignment)

    def _expand(self, assignment: list[Node]) -> Iterator[list[int]]:
        """Every relabeling of the slots of multi-member classes."""
        providers: list[int] = []
        positions: dict[int, list[tuple[int, int]]] = {}
        for index, (class_index, slot) in enumerate(assignment):
            members = self.classes[class_index].members
            providers.append(members[slot])
            if len(members) > 1:
                positions.setdefault(class_index, []).append((index, slot))
        if not positions:
            yield providers
            return
        multi = sorted(positions)

        def fill(level: int) -> Iterator[list[int]]:
            if level == len(multi):
                yield list(providers)
                return
            class_index = multi[level]
            places = positions[class_index]
            slots = 1 + max(slot for _, slot in places)
            for permutation in itertools.permutations(
                    self.classes[class_index].members, slots):
                for index, slot in places:
                    providers[index] = permutation[slot]
                yield from fill(level + 1)

        yield from fill(0)


# -- stage 5: all trees ------------------------------------------------------

def _steps_for_anchor(request: CandidateRequest,
                      unsuffixed: dict[str, list[int]] | None,
                      granular: dict[str, list[int]]) -> list[_Step]:
    steps = []
    for group in request.groups:
        if group.is_unsuffixed:
            assert unsuffixed is not None
            for rc, amount in group.resources.items():
                steps.append(_Step("", ((rc, amount),), unsuffixed[rc], False))
        else:
            steps.append(_Step(group.suffix, tuple(group.resources.items()),
                               granular[group.suffix], True))
    return steps


def _allocation_request(steps: list[_Step], providers: list[int]
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


def _tree_answers(graph: ProviderGraph, request: CandidateRequest,
                  steps: list[_Step], options: SolverOptions,
                  rng: random.Random | None) -> Iterator[AllocationRequest]:
    search = _TreeSearch(graph, request, steps, options, rng)
    for providers in search.answers():
        yield _allocation_request(search.steps, providers)


def generate(graph: ProviderGraph, request: CandidateRequest,
             options: SolverOptions = SolverOptions()
             ) -> Iterator[AllocationRequest]:
    """Every distinct answer, lazily, in the configured order."""
    roots = allowed_roots(graph, request)
    if roots is not None and not roots:
        return
    rng = random.Random(options.seed) if options.randomize else None
    anchors: set[int] | None = None
    unsuffixed: dict[int, dict[str, list[int]]] | None = None
    granular: dict[str, dict[int, list[int]]] = {}
    for group in request.groups:
        if group.is_unsuffixed:
            unsuffixed = unsuffixed_options(graph, group, roots)
            group_anchors = set(unsuffixed)
        else:
            granular[group.suffix] = granular_options(graph, group, roots)
            group_anchors = set(granular[group.suffix])
        anchors = group_anchors if anchors is None else anchors & group_anchors
        if not anchors:
            return
    ordered = sorted(anchors or ())
    if rng is not None:
        rng.shuffle(ordered)

    def tree(anchor: int) -> Iterator[AllocationRequest]:
        steps = _steps_for_anchor(
            request, unsuffixed[anchor] if unsuffixed is not None else None,
            {suffix: by_anchor[anchor] for suffix, by_anchor in granular.items()})
        yield from _tree_answers(graph, request, steps, options, rng)

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


def bounded_answers(graph: ProviderGraph, request: CandidateRequest,
                    options: SolverOptions = SolverOptions()
                    ) -> Iterator[AllocationRequest]:
    """Check names (raising BadRequest now), then lazily at most ``limit``
    (and the global cap) answers."""
    check_names(graph, request)
    bound = request.limit
    if options.max_candidates is not None:
        bound = (options.max_candidates if bound is None
                 else min(bound, options.max_candidates))
    return itertools.islice(generate(graph, request, options), bound)


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
