"""An immutable in-memory snapshot of the provider graph.

The candidate solver reads only this: providers with their place in a tree,
traits, aggregates, inventories and usages, plus the names the database
knows (to reject unknown resource classes and traits).  It is built from
plain rows so it can be filled from the database (store/snapshot.py) or
written by hand in tests.  Index structures answer the solver's questions
(who has this class, who carries this trait, who is in this aggregate,
which providers share with which trees) without scanning everything.
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, TypeVar, cast

from placement_pci.inventory import Inventory

SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"
MEMO_SIZE = 512
LINEAGE_MEMO_SIZE = 256
# Kept answers are the big lineage entries (up to answer_cache.
# MAX_KEPT_CHARS each): fewer of them, in their own LRU.
KEPT_ANSWERS_SIZE = 24
# How many replacing() steps back a graph remembers which trees changed.
HISTORY_SIZE = 32

# Tree versions are unique in the process: a number never stands for two
# different contents, whichever graph it came from.
_VERSIONS = itertools.count(1)

T = TypeVar("T")
K = TypeVar("K")


class ProviderNode(NamedTuple):
    """One provider as the snapshot graph holds it (the stored record is
    ``store.providers.Provider``); immutable by convention (a tuple: cheap to build for
    tens of thousands of providers).  ``inventories`` and ``usages`` are
    keyed by resource class name."""
    id: int
    uuid: str
    name: str = ""
    generation: int = 0
    parent_id: int | None = None
    root_id: int = 0
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    inventories: Mapping[str, Inventory] = {}
    usages: Mapping[str, int] = {}

    def used(self, resource_class: str) -> int:
        return self.usages.get(resource_class, 0)

    def fits(self, resource_class: str, amount: int) -> bool:
        inventory = self.inventories.get(resource_class)
        return inventory is not None and inventory.fits(
            amount, self.usages.get(resource_class, 0))

    @property
    def is_sharing(self) -> bool:
        return SHARING_TRAIT in self.traits


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """A provider as stored: what ProviderGraph.build takes."""
    id: int
    uuid: str
    name: str = ""
    generation: int = 0
    parent_id: int | None = None
    root_id: int | None = None


@dataclass(frozen=True, slots=True)
class InventoryRow:
    provider_id: int
    resource_class: str
    inventory: Inventory


class ProvidersByUuid(Mapping[str, ProviderNode]):
    """Providers by uuid, read through the graph's providers: the uuid
    index survives ``replacing()`` unchanged (uuids hardly ever change),
    where a mapping to the nodes themselves would be copied whole."""

    __slots__ = ("_ids", "_providers")

    def __init__(self, ids: Mapping[str, int], providers: Mapping[int, ProviderNode]
                 ) -> None:
        self._ids = ids
        self._providers = providers

    def __getitem__(self, uuid: str) -> ProviderNode:
        return self._providers[self._ids[uuid]]

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class ProviderGraph:
    """All providers and the indexes the solver uses.  Never mutated."""

    def __init__(self, providers: Iterable[ProviderNode],
                 resource_classes: Iterable[str] = (),
                 traits: Iterable[str] = ()) -> None:
        self.providers: MappingProxyType[int, ProviderNode] = MappingProxyType(
            {provider.id: provider for provider in providers})
        self.resource_classes = frozenset(resource_classes)
        self._set_trait_names(traits)
        ids_by_uuid: dict[str, int] = {}
        by_class: dict[str, list[int]] = defaultdict(list)
        by_trait: dict[str, list[int]] = defaultdict(list)
        by_aggregate: dict[str, list[int]] = defaultdict(list)
        by_root: dict[int, list[int]] = defaultdict(list)
        children: dict[int, list[int]] = defaultdict(list)
        for provider in sorted(self.providers.values(), key=lambda p: p.id):
            ids_by_uuid[provider.uuid] = provider.id
            by_root[provider.root_id].append(provider.id)
            if provider.parent_id is not None:
                children[provider.parent_id].append(provider.id)
            for resource_class in provider.inventories:
                by_class[resource_class].append(provider.id)
            for trait in provider.traits:
                by_trait[trait].append(provider.id)
            for aggregate in provider.aggregates:
                by_aggregate[aggregate].append(provider.id)
        self._ids_by_uuid = ids_by_uuid
        self.by_uuid = ProvidersByUuid(ids_by_uuid, self.providers)
        self.by_class = _freeze(by_class)
        self.by_trait = _freeze(by_trait)
        self.by_aggregate = _freeze(by_aggregate)
        self.by_root = _freeze(by_root)
        self.children = _freeze(children)
        self.has_trees = bool(children)
        version = next(_VERSIONS)
        self.root_versions: MappingProxyType[int, int] = MappingProxyType(
            dict.fromkeys(self.by_root, version))
        self.epoch = version
        self._lineage = _Lineage(LINEAGE_MEMO_SIZE)
        self._kept_answers = _Lineage(KEPT_ANSWERS_SIZE)
        self._sharing_anchors: dict[int, frozenset[int]] = {}
        self.snapshot_id = version
        # (an earlier graph's snapshot_id, the roots changed on the way
        # from it to the next graph), newest last: see roots_changed_since.
        self._history: tuple[tuple[int, frozenset[int]], ...] = ()
        self._start_caches()

    def _set_trait_names(self, traits: Iterable[str]) -> None:
        ordered_traits = list(traits)
        self.ordered_trait_names = tuple(ordered_traits)
        self.trait_names = frozenset(ordered_traits)
        # Traits are listed in the order the database created them, as
        # upstream does (standard traits first, then custom ones).
        self._trait_rank = {name: index for index, name in enumerate(ordered_traits)}

    def _start_caches(self) -> None:
        self.sharing_ids = frozenset(self.by_trait.get(SHARING_TRAIT, ()))
        # Answers derived from this immutable graph (feasible providers of
        # a group, rendered summaries), kept while the snapshot lives.
        self._memo: OrderedDict[object, object] = OrderedDict()
        self._memo_lock = threading.Lock()

    def replacing(self, changed: Iterable[ProviderNode],
                  traits: Iterable[str] | None = None) -> ProviderGraph:
        """A new graph with some providers replaced by new versions of
        themselves (same ids, same place in their tree), indexes updated
        only where those providers' classes, traits or aggregates moved."""
        new = ProviderGraph.__new__(ProviderGraph)
        # mappingproxy.copy() copies the dict underneath at C speed, where
        # dict(proxy) would look every key up (milliseconds at 10^4).
        providers = self.providers.copy()
        ids_by_uuid = self._ids_by_uuid  # copied only if a uuid changes
        indexes = {"by_class": self.by_class.copy(), "by_trait": self.by_trait.copy(),
                   "by_aggregate": self.by_aggregate.copy()}
        edits: dict[tuple[str, str], dict[int, bool]] = {}
        versions = self.root_versions.copy()
        version = next(_VERSIONS)
        changed_roots: set[int] = set()
        sharing_moved = False
        for provider in changed:
            previous = self.providers[provider.id]
            if (previous.parent_id, previous.root_id) != (provider.parent_id,
                                                          provider.root_id):
                raise ValueError("replacing() cannot move providers")
            providers[provider.id] = provider
            versions[provider.root_id] = version
            changed_roots.add(provider.root_id)
            # Which trees a sharing provider serves follows aggregates and
            # the sharing trait: a change there touches trees far away.
            sharing_moved = sharing_moved or (
                previous.aggregates != provider.aggregates
                or previous.is_sharing != provider.is_sharing)
            if previous.uuid != provider.uuid:
                if ids_by_uuid is self._ids_by_uuid:
                    ids_by_uuid = dict(ids_by_uuid)
                del ids_by_uuid[previous.uuid]
                ids_by_uuid[provider.uuid] = provider.id
            for index, before, after in (
                    ("by_class", set(previous.inventories), set(provider.inventories)),
                    ("by_trait", previous.traits, provider.traits),
                    ("by_aggregate", previous.aggregates, provider.aggregates)):
                for key in before - after:
                    edits.setdefault((index, key), {})[provider.id] = False
                for key in after - before:
                    edits.setdefault((index, key), {})[provider.id] = True
        for (index, key), members in edits.items():
            ids = set(indexes[index].get(key, ()))
            ids -= {pid for pid, present in members.items() if not present}
            ids |= {pid for pid, present in members.items() if present}
            if ids:
                indexes[index][key] = tuple(sorted(ids))
            else:
                indexes[index].pop(key, None)
        new.providers = MappingProxyType(providers)
        new.resource_classes = self.resource_classes
        new._set_trait_names(self.ordered_trait_names if traits is None else traits)
        new._ids_by_uuid = ids_by_uuid
        new.by_uuid = ProvidersByUuid(ids_by_uuid, new.providers)
        new.by_class = MappingProxyType(indexes["by_class"])
        new.by_trait = MappingProxyType(indexes["by_trait"])
        new.by_aggregate = MappingProxyType(indexes["by_aggregate"])
        new.by_root = self.by_root
        new.children = self.children
        new.has_trees = self.has_trees
        new.root_versions = MappingProxyType(versions)
        new.snapshot_id = version
        new._history = (*self._history[-(HISTORY_SIZE - 1):],
                        (self.snapshot_id, frozenset(changed_roots)))
        new._lineage = self._lineage
        new._kept_answers = self._kept_answers
        if sharing_moved or new.ordered_trait_names != self.ordered_trait_names:
            new.epoch = version
            new._sharing_anchors = {}
        else:
            new.epoch = self.epoch
            new._sharing_anchors = self._sharing_anchors
        new._start_caches()
        return new

    def roots_changed_since(self, snapshot_id: int) -> set[int] | None:
        """The roots whose tree version moved since the graph numbered
        ``snapshot_id``, when this graph was derived from it by at most
        HISTORY_SIZE ``replacing()`` steps (that graph need not be alive);
        None when that cannot be told."""
        changed: set[int] = set()
        if snapshot_id == self.snapshot_id:
            return changed
        for earlier, roots in reversed(self._history):
            changed |= roots
            if earlier == snapshot_id:
                return changed
        return None

    def lineage_memoized(self, key: object, compute: Callable[[], T]) -> T:
        """Like ``memoized`` but shared by the graphs ``replacing()``
        derives from this one (a full build starts afresh): for caches
        whose entries carry the tree versions they hold for."""
        return self._lineage.get(key, compute)

    def kept_answers(self, key: object, compute: Callable[[], T]) -> T:
        """``lineage_memoized`` for per-request-shape answer caches, in an
        LRU of their own (KEPT_ANSWERS_SIZE shapes)."""
        return self._kept_answers.get(key, compute)

    def tree_version(self, root_id: int) -> int | None:
        """Changes whenever a provider of the tree changes (any field),
        and never comes back; None for an unknown root."""
        return self.root_versions.get(root_id)

    def sharing_for(self, anchor: int) -> tuple[int, ...]:
        """Sharing providers outside the tree of ``anchor`` that serve it."""
        def compute() -> dict[int, tuple[int, ...]]:
            served: dict[int, list[int]] = {}
            for provider_id in sorted(self.sharing_ids):
                own_root = self.providers[provider_id].root_id
                for root in self.sharing_anchors(provider_id):
                    if root != own_root:
                        served.setdefault(root, []).append(provider_id)
            return {root: tuple(ids) for root, ids in served.items()}
        by_anchor = self.lineage_memoized(("sharing for", self.epoch), compute)
        return by_anchor.get(anchor, ())

    def memoized(self, key: object, compute: Callable[[], T]) -> T:
        """``compute()`` once per key for this snapshot (bounded LRU).

        Callers must treat the returned value as read-only.
        """
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return _as_computed(self._memo[key], compute)
        value = compute()
        with self._memo_lock:
            self._memo[key] = value
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    @classmethod
    def build(cls, providers: Iterable[ProviderRow],
              inventories: Iterable[InventoryRow] = (),
              usages: Iterable[tuple[int, str, int]] = (),
              provider_traits: Iterable[tuple[int, str]] = (),
              provider_aggregates: Iterable[tuple[int, str]] = (),
              resource_classes: Iterable[str] = (),
              traits: Iterable[str] = ()) -> ProviderGraph:
        """Build from plain rows: (provider id, class, used) usages,
        (provider id, trait name) and (provider id, aggregate uuid) pairs."""
        inventory_map: dict[int, dict[str, Inventory]] = defaultdict(dict)
        for row in inventories:
            inventory_map[row.provider_id][row.resource_class] = row.inventory
        usage_map: dict[int, dict[str, int]] = defaultdict(dict)
        for provider_id, resource_class, used in usages:
            usage_map[provider_id][resource_class] = (
                usage_map[provider_id].get(resource_class, 0) + int(used))
        trait_map: dict[int, set[str]] = defaultdict(set)
        for provider_id, trait in provider_traits:
            trait_map[provider_id].add(trait)
        aggregate_map: dict[int, set[str]] = defaultdict(set)
        for provider_id, aggregate in provider_aggregates:
            aggregate_map[provider_id].add(aggregate)
        no_names: frozenset[str] = frozenset()
        built = [
            ProviderNode(
                row.id, row.uuid, row.name, row.generation, row.parent_id,
                row.root_id if row.root_id is not None else row.id,
                frozenset(trait_map[row.id]) if row.id in trait_map else no_names,
                frozenset(aggregate_map[row.id]) if row.id in aggregate_map
                else no_names,
                inventory_map.get(row.id, {}),
                usage_map.get(row.id, {}),
            )
            for row in providers
        ]
        return cls(built, resource_classes, traits)

    def ordered_traits(self, traits: Iterable[str]) -> list[str]:
        unknown = len(self._trait_rank)
        return sorted(traits, key=lambda name: (self._trait_rank.get(name, unknown),
                                                name))

    def __len__(self) -> int:
        return len(self.providers)

    def tree_of(self, root_id: int) -> tuple[int, ...]:
        return self.by_root.get(root_id, ())

    def ancestors(self, provider_id: int) -> list[int]:
        """The provider itself, then its parent, ... up to the root."""
        chain = []
        current: int | None = provider_id
        while current is not None:
            chain.append(current)
            current = self.providers[current].parent_id
        return chain

    def providers_in_aggregates(self, any_of: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for aggregate in any_of:
            found.update(self.by_aggregate.get(aggregate, ()))
        return found

    def sharing_anchors(self, provider_id: int) -> frozenset[int]:
        """Roots of the trees a sharing provider shares with: every tree
        with a provider in one of its aggregates (its own tree included
        when it is in an aggregate)."""
        cached = self._sharing_anchors.get(provider_id)
        if cached is None:
            roots = {self.providers[member].root_id
                     for aggregate in self.providers[provider_id].aggregates
                     for member in self.by_aggregate.get(aggregate, ())}
            cached = frozenset(roots)
            self._sharing_anchors[provider_id] = cached
        return cached


class _Lineage:
    """A bounded LRU shared by one graph and those derived from it."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._memo: OrderedDict[object, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return _as_computed(self._memo[key], compute)
            value = compute()
            self._memo[key] = value
            if len(self._memo) > self._capacity:
                self._memo.popitem(last=False)
            return value


def _as_computed(value: object, _compute: Callable[[], T]) -> T:
    # Each memo key belongs to one compute function (callers put what the
    # answer depends on in the key), so a kept value has its type.
    return cast(T, value)


def _freeze(mapping: Mapping[K, Iterable[int]]) -> MappingProxyType[K, tuple[int, ...]]:
    return MappingProxyType({key: tuple(value) for key, value in mapping.items()})
