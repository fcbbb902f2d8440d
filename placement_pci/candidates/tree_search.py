"""The per-tree search: combine the request groups on one anchor's providers.

A backtracking search over steps (a provider for each granular group, one
per resource class of the unsuffixed group) that checks merged capacity,
group_policy, same_subtree and the unsuffixed group's collective traits.
Interchangeable providers (leaf siblings with the same inventory, usage,
traits and aggregates) form one class; the search works on "slots" of a
class and expands each canonical answer into every concrete relabeling, so
infeasible requests fail without enumerating permutations and feasible
ones yield answers without dead ends.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from placement_pci.candidates.graph import ProviderGraph, ProviderNode
from placement_pci.candidates.request_group import CandidateRequest


@dataclass
class Step:
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
class ProviderClass:
    """Interchangeable providers; ``members`` are provider ids."""
    members: list[int]
    proto: ProviderNode


Node = tuple[int, int]   # (class index, slot index)


class TreeSearch:
    """Backtracking over the steps of one anchor, on classes and slots.

    A slot is "some member of a class"; members of a class are used in slot
    order, so one canonical answer stands for all its relabelings, which
    ``_expand`` enumerates.  Slots of multi-member classes are leaves.
    """

    def __init__(self, graph: ProviderGraph, request: CandidateRequest,
                 steps: list[Step], nested_aware: bool,
                 rng: random.Random | None) -> None:
        self.graph = graph
        self.request = request
        self.steps = steps
        self.isolate = request.group_policy == "isolate"
        self.nested_aware = nested_aware
        self.rng = rng
        self.unsuffixed = next(
            (group for group in request.groups if group.is_unsuffixed), None)
        self.classes = self._build_classes()
        self._order_steps()

    def _build_classes(self) -> list[ProviderClass]:
        graph = self.graph
        membership: dict[int, list[bool]] = {}
        for index, step in enumerate(self.steps):
            for provider_id in step.provider_ids:
                membership.setdefault(
                    provider_id, [False] * len(self.steps))[index] = True
        # Only leaf siblings can be interchangeable: the full signature is
        # worth computing only where a parent has several leaf candidates.
        leaves_per_parent: dict[int | None, int] = {}
        for provider_id in membership:
            if not graph.children.get(provider_id):
                parent = graph.providers[provider_id].parent_id
                leaves_per_parent[parent] = leaves_per_parent.get(parent, 0) + 1
        by_key: dict[object, list[int]] = {}
        for provider_id in sorted(membership):
            provider = graph.providers[provider_id]
            if (graph.children.get(provider_id)
                    or leaves_per_parent[provider.parent_id] < 2):
                key: object = ("alone", provider_id)
            else:
                key = (provider.parent_id, provider.root_id,
                       tuple(sorted(provider.inventories.items())),
                       tuple(sorted(provider.usages.items())),
                       provider.traits, provider.aggregates,
                       tuple(membership[provider_id]))
            by_key.setdefault(key, []).append(provider_id)
        classes: list[ProviderClass] = []
        class_of: dict[int, int] = {}
        for members in by_key.values():
            if self.rng is not None:
                self.rng.shuffle(members)
            for member in members:
                class_of[member] = len(classes)
            classes.append(ProviderClass(members, graph.providers[members[0]]))
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

    def _can_take(self, step: Step, node: Node, fresh: bool) -> bool:
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

    def _take(self, step: Step, node: Node, fresh: bool) -> None:
        if fresh:
            self.used_slots[node[0]] += 1
        load = self.loads.setdefault(node, {})
        for rc, amount in step.resources:
            load[rc] = load.get(rc, 0) + amount
        self.steps_on[node] = self.steps_on.get(node, 0) + 1
        if step.granular:
            self.granular_on[node] = self.granular_on.get(node, 0) + 1
        self.assignment.append(node)

    def _release(self, step: Step, node: Node, fresh: bool) -> None:
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

    def _checks_pass(self, step: Step) -> bool:
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
