"""Read the candidate engine's ProviderGraph from the database: a full load,
a fingerprint of the tables it depends on, and the incremental refreshes.

Each worker process keeps one snapshot (``services.snapshot_cache``).
Before answering, a request reads the change marker (db/change_marker.py:
one primary-key read).  When only the allocation ledger moved,
``follow_ledger`` re-reads the usages of the providers its new entries
name.  After any other write, ``refresh_graph`` compares a fingerprint of
everything the snapshot depends on (counts, sums and maxima over the
provider, inventory, allocation, trait and aggregate tables, one round
trip) with the one the snapshot was read at: after generation-checked
writes only the trees whose generation sum moved are re-read (plus the
usages); other changes re-read the provider rows or load the whole graph.
The marker and fingerprint are read before the rows, so a write landing
during a reload only makes the next request reload again; a request never
gets a snapshot older than what was committed when it arrived.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.candidates.graph import (
    InventoryRow,
    ProviderGraph,
    ProviderNode,
    ProviderRow,
)
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.inventory import Inventory

RP = tables.resource_providers
INV = tables.inventories
ALLOC = tables.allocations
RC = tables.resource_classes
TRAIT = tables.traits
RP_TRAIT = tables.resource_provider_traits
AGG = tables.placement_aggregates
RP_AGG = tables.resource_provider_aggregates
LEDGER = tables.allocation_ledger

Fingerprint = tuple


# Fingerprint sections: name -> (table, aggregate columns).  Each section
# tells which part of the snapshot a change touched.
def _sections() -> dict[str, tuple[sa.Table, list[sa.ColumnElement]]]:
    big = sa.BigInteger

    def total(column: sa.ColumnElement) -> sa.ColumnElement:
        # sum() of a 4-byte integer is an 8-byte one (no overflow at any
        # size here); PostgreSQL sums 8-byte integers as numeric, several
        # times slower, so the column is not cast up.
        return sa.func.coalesce(sa.func.sum(column), 0)

    count = sa.func.count
    return {
        "providers": (RP, [count(), total(RP.c.generation), total(RP.c.id),
                           sa.func.max(RP.c.id), total(RP.c.parent_provider_id),
                           total(RP.c.root_provider_id),
                           sa.func.max(RP.c.created_at),
                           sa.func.max(RP.c.updated_at),
                           # Renames keep the generation; names are not used
                           # by the solver, this only keeps them close.
                           total(sa.func.length(RP.c.name))]),
        "inventories": (INV, [count(), total(INV.c.total),
                              total(INV.c.reserved), total(INV.c.id)]),
        "allocations": (ALLOC, [count(), total(ALLOC.c.used), total(ALLOC.c.id),
                                sa.func.max(ALLOC.c.id)]),
        "provider_traits": (RP_TRAIT, [count(), total(RP_TRAIT.c.trait_id),
                                       total(RP_TRAIT.c.resource_provider_id)]),
        "provider_aggregates": (RP_AGG, [
            count(), total(RP_AGG.c.aggregate_id),
            total(sa.cast(RP_AGG.c.aggregate_id, big)
                  * sa.cast(RP_AGG.c.resource_provider_id, big))]),
        "resource_classes": (RC, [count(), sa.func.max(RC.c.id),
                                  sa.func.max(RC.c.created_at),
                                  sa.func.max(RC.c.updated_at)]),
        "traits": (TRAIT, [count(), sa.func.max(TRAIT.c.id),
                           sa.func.max(TRAIT.c.created_at)]),
        "aggregates": (AGG, [count(), sa.func.max(AGG.c.id),
                             sa.func.max(AGG.c.created_at)]),
    }


_SECTIONS = _sections()
_WIDTH = max(len(columns) for _, columns in _SECTIONS.values())


def _text_row(tag: int, values: list[sa.ColumnElement]) -> list[sa.ColumnElement]:
    """A row of the fingerprint statement: its tag, then text columns."""
    texts = [sa.cast(value, sa.String) for value in values]
    texts += [sa.cast(sa.null(), sa.String)] * (_WIDTH - len(values))
    return [sa.literal_column(str(tag)).label("section"),
            *[text.label(f"c{position}") for position, text in enumerate(texts)]]


def _fingerprint_selects() -> list[sa.Select]:
    """One row per section, one scan per table, as a UNION ALL of text
    columns: cheap to plan (an 8-way join of aggregates costs PostgreSQL
    more to plan than to run)."""
    return [sa.select(*_text_row(index, columns)).select_from(table)
            for index, (table, columns) in enumerate(_SECTIONS.values())]


_FINGERPRINT = sa.union_all(*_fingerprint_selects())


def read_fingerprint(connection: Connection) -> Fingerprint:
    """One round trip: a tuple per section, in ``_SECTIONS`` order."""
    rows = sorted(connection.execute(_FINGERPRINT).all(), key=lambda row: row[0])
    return tuple(tuple(row[1:1 + len(columns)])
                 for row, (_, columns) in zip(rows, _SECTIONS.values()))


NewAllocation = tuple[int, int, str, int, int, str]
# Past this many ledger entries since the snapshot, re-reading everything
# costs less than following them.
MAX_LEDGER_ENTRIES = 1000


def follow_ledger(connection: Connection, old: ProviderGraph, after_seq: int,
                  upto_seq: int) -> ProviderGraph | None:
    """``old`` with the usages of every provider the allocation writes
    numbered ``after_seq + 1`` to ``upto_seq`` touched read afresh (the
    ledger entries name them: one primary-key range read, then one indexed
    read of those providers' allocations).  None when that cannot be done
    (entries pruned, too many, or naming a provider ``old`` does not know):
    the caller refreshes as after a structural change.

    Usages are read whole per provider, so reading them in a later
    statement than the marker only makes them newer, never wrong.
    Generations are left as they were: they only tell a later structural
    refresh which providers to re-read, and one read here could include a
    structural change (an inventory's bump) the marker did not show yet."""
    if upto_seq - after_seq > MAX_LEDGER_ENTRIES:
        return None
    entries = connection.execute(
        sa.select(LEDGER.c.allocations_before, LEDGER.c.allocations_after)
        .where(LEDGER.c.seq > after_seq, LEDGER.c.seq <= upto_seq)).all()
    if len(entries) != upto_seq - after_seq:
        return None
    touched: set[int] = set()
    for before, after in entries:
        for provider_uuid in (*json.loads(before), *json.loads(after)):
            provider = old.by_uuid.get(provider_uuid)
            if provider is None:
                return None
            touched.add(provider.id)
    if not touched:
        return old
    usages: dict[int, dict[str, int]] = {provider_id: {} for provider_id in touched}
    for provider_id, resource_class, used in _for_providers(
            connection, sa.select(ALLOC.c.resource_provider_id, RC.c.name,
                                  sa.func.sum(ALLOC.c.used))
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .group_by(ALLOC.c.resource_provider_id, RC.c.name),
            ALLOC.c.resource_provider_id, sorted(touched)):
        usages[int(provider_id)][resource_class] = int(used)
    replaced = [old.providers[provider_id]._replace(usages=provider_usages)
                for provider_id, provider_usages in usages.items()
                if old.providers[provider_id].usages != provider_usages]
    if not replaced:
        return old
    graph = old.replacing(replaced)
    used_before = _used_providers(old)
    graph.memoized(_USED_PROVIDERS_KEY, lambda: (
        used_before - touched) | {pid for pid, used in usages.items() if used})
    return graph


@contextmanager
def snapshot_read(database: Database) -> Iterator[Connection]:
    """A read transaction for the fingerprint and the rows after it.  On
    PostgreSQL it is REPEATABLE READ, so every statement sees the snapshot
    the fingerprint saw and a graph read in it matches its fingerprint
    exactly, which ``refresh_graph`` uses to apply claims and releases as
    deltas.  Elsewhere it is the usual read transaction."""
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _one_snapshot(connection: Connection) -> bool:
    return (connection.dialect.name == "postgresql"
            and connection.get_execution_options().get("isolation_level")
            == "REPEATABLE READ")


def changed_sections(old: Fingerprint, new: Fingerprint) -> set[str]:
    return {name for name, before, after in zip(_SECTIONS, old, new)
            if before != after}


def _rows(connection: Connection, query: sa.Select) -> Sequence[sa.Row]:
    return connection.execute(query).all()


def _provider_rows(connection: Connection) -> list[ProviderRow]:
    return [ProviderRow(*row) for row in _rows(connection, sa.select(
        RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation,
        RP.c.parent_provider_id, RP.c.root_provider_id))]


def _inventory_query() -> sa.Select:
    return (sa.select(INV.c.resource_provider_id, RC.c.name, INV.c.total,
                      INV.c.reserved, INV.c.min_unit, INV.c.max_unit,
                      INV.c.step_size, INV.c.allocation_ratio)
            .join(RC, RC.c.id == INV.c.resource_class_id))


def _inventory_rows(rows: Iterable[sa.Row]) -> list[InventoryRow]:
    return [InventoryRow(provider_id, name, Inventory(
                total, reserved, min_unit, max_unit, step_size, float(ratio)))
            for provider_id, name, total, reserved, min_unit, max_unit,
            step_size, ratio in rows]


def _usage_rows(connection: Connection) -> list[tuple[int, str, int]]:
    return [(provider_id, name, int(used or 0))
            for provider_id, name, used in _rows(connection, (
                sa.select(ALLOC.c.resource_provider_id, RC.c.name,
                          sa.func.sum(ALLOC.c.used))
                .join(RC, RC.c.id == ALLOC.c.resource_class_id)
                .group_by(ALLOC.c.resource_provider_id, RC.c.name)))]


def _trait_query() -> sa.Select:
    return (sa.select(RP_TRAIT.c.resource_provider_id, TRAIT.c.name)
            .join(TRAIT, TRAIT.c.id == RP_TRAIT.c.trait_id))


def _aggregate_rows(connection: Connection) -> Sequence[sa.Row]:
    return _rows(connection, sa.select(RP_AGG.c.resource_provider_id, AGG.c.uuid)
                 .join(AGG, AGG.c.id == RP_AGG.c.aggregate_id))


def _trait_names(connection: Connection) -> Sequence[str]:
    return connection.execute(
        sa.select(TRAIT.c.name).order_by(TRAIT.c.id)).scalars().all()


def load_graph(connection: Connection) -> ProviderGraph:
    """Every provider with its inventories, usages, traits and aggregates."""
    return ProviderGraph.build(
        _provider_rows(connection),
        _inventory_rows(_rows(connection, _inventory_query())),
        _usage_rows(connection),
        _rows(connection, _trait_query()),
        _aggregate_rows(connection),
        connection.execute(sa.select(RC.c.name)).scalars().all(),
        _trait_names(connection))


_CHUNK = 500
# Beyond this share of changed providers a full load is as cheap.
_INCREMENTAL_LIMIT = 0.25


def _for_providers(connection: Connection, query: sa.Select,
                   column: sa.ColumnElement, ids: list[int]) -> list[sa.Row]:
    found: list[sa.Row] = []
    for start in range(0, len(ids), _CHUNK):
        found += _rows(connection, query.where(column.in_(ids[start:start + _CHUNK])))
    return found


# Fingerprint positions in the "providers" section that claims and other
# generation-checked writes move: sum(generation) and max(updated_at).
_GENERATION_SUM, _LAST_UPDATE = 1, 7
# Sections a generation-only refresh can pin to the providers it re-reads.
_PINNED_SECTIONS = frozenset({"providers", "allocations", "inventories",
                              "provider_traits"})


def _only_generations_moved(old: Fingerprint, new: Fingerprint) -> bool:
    """True when no provider was created, deleted, moved or renamed to
    another name length: only generations (and update times) or only
    allocations changed."""
    names = list(_SECTIONS)
    sections = changed_sections(old, new)
    if sections == {"allocations"}:
        # Releases free usage without bumping generations.
        return True
    if not sections <= _PINNED_SECTIONS:
        return False
    before, after = (fingerprint[names.index("providers")]
                     for fingerprint in (old, new))
    return before[_GENERATION_SUM] != after[_GENERATION_SUM] and all(
        b == a for position, (b, a) in enumerate(zip(before, after))
        if position not in (_GENERATION_SUM, _LAST_UPDATE))


_GENERATION_SUMS_KEY = ("snapshot", "generation sums per root")


def _generation_sums(graph: ProviderGraph) -> dict[int, int]:
    def compute() -> dict[int, int]:
        sums: dict[int, int] = {}
        for provider in graph.providers.values():
            sums[provider.root_id] = sums.get(provider.root_id, 0) + provider.generation
        return sums
    return graph.memoized(_GENERATION_SUMS_KEY, compute)


def _rows_of_bumped_trees(connection: Connection, old: ProviderGraph
                          ) -> tuple[list[ProviderRow], dict[int, int]] | None:
    """Full rows of the trees where some generation moved, found by
    comparing per-root generation sums (generations only grow, so a bump
    anywhere in a tree moves its sum); None when the trees themselves
    changed and only a full row read can tell how.  Also returns the new
    per-root sums, for the next refresh.  A provider without a root id
    (only ever transient) shows as an unknown root: a full row read."""
    root = RP.c.root_provider_id  # indexed, unlike an expression over it
    known = _generation_sums(old)
    sums = _rows(connection, sa.select(
        root, sa.func.sum(sa.cast(RP.c.generation, sa.BigInteger)))
        .group_by(root))
    if len(sums) != len(known):
        return None
    bumped = []
    for root_id, total in sums:
        if root_id not in known:
            return None
        if int(total) != known[root_id]:
            bumped.append(root_id)
    rows = [ProviderRow(*row) for row in _for_providers(connection, sa.select(
        RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation,
        RP.c.parent_provider_id, RP.c.root_provider_id), root, bumped)]
    for row in rows:
        previous = old.providers.get(row.id)
        if previous is None or (previous.uuid, previous.parent_id, previous.root_id) != (
                row.uuid, row.parent_id,
                row.root_id if row.root_id is not None else row.id):
            return None
    return rows, {root_id: int(total) for root_id, total in sums}


def _refresh_bumped(connection: Connection, old: ProviderGraph,
                    sections: set[str]) -> ProviderGraph | None:
    """The refresh after generation-checked writes only (claims, inventory
    and trait changes): cost grows with the trees touched, not the
    graph.  None when it cannot tell what changed."""
    found = (_rows_of_bumped_trees(connection, old) if "providers" in sections
             else ([], None))
    if found is None:
        return None
    rows, sums = found
    changed = [row for row in rows
               if (previous := old.providers[row.id]).generation != row.generation
               or previous.name != row.name]
    changed_ids = [row.id for row in changed]
    if {"inventories", "provider_traits"} & sections and not changed_ids:
        return None
    inventories, traits, usages = _provider_details(connection, changed_ids, sections)
    touched: dict[int, ProviderRow | None] = {row.id: row for row in changed}
    if usages is not None:
        touched.update({pid: None for pid, provider in old.providers.items()
                        if (provider.usages or pid in usages) and pid not in touched
                        and provider.usages != usages.get(pid, {})})
    replaced = []
    for provider_id, row in touched.items():
        previous = old.providers[provider_id]
        provider_usages = (usages.get(provider_id, {}) if usages is not None
                           else previous.usages)
        if row is None:
            replaced.append(previous._replace(usages=provider_usages))
            continue
        replaced.append(previous._replace(
            name=row.name, generation=row.generation,
            traits=frozenset(traits[provider_id]),
            inventories=inventories[provider_id], usages=provider_usages))
    graph = old.replacing(replaced, old.ordered_trait_names)
    if sums is not None:
        graph.memoized(_GENERATION_SUMS_KEY, lambda: sums)
    return graph


def _provider_details(connection: Connection, provider_ids: list[int],
                      sections: set[str] | frozenset[str]
                      ) -> tuple[dict[int, dict[str, Inventory]], dict[int, set[str]],
                                 dict[int, dict[str, int]] | None]:
    """Inventories and traits of ``provider_ids``, and every provider's
    usages when the allocations changed.  Usages are re-read whole because
    moving a consumer leaves its old providers' generations alone (one
    grouped scan of the allocations)."""
    inventories: dict[int, dict[str, Inventory]] = {pid: {} for pid in provider_ids}
    for row in _inventory_rows(_for_providers(
            connection, _inventory_query(), INV.c.resource_provider_id, provider_ids)):
        inventories[row.provider_id][row.resource_class] = row.inventory
    traits: dict[int, set[str]] = {pid: set() for pid in provider_ids}
    for provider_id, trait in _for_providers(
            connection, _trait_query(), RP_TRAIT.c.resource_provider_id, provider_ids):
        traits[provider_id].add(trait)
    usages: dict[int, dict[str, int]] | None = None
    if "allocations" in sections:
        usages = {}
        for provider_id, rc, used in _usage_rows(connection):
            usages.setdefault(provider_id, {})[rc] = used
    return inventories, traits, usages


def _number(text: str | None) -> int:
    return int(text) if text is not None else 0


def _section(fingerprint: Fingerprint, name: str, width: int) -> tuple[int, ...]:
    """The first ``width`` (numeric) values of a section."""
    values = fingerprint[_SECTION_NAMES.index(name)][:width]
    return tuple(_number(value) for value in values)


_SECTION_NAMES = list(_SECTIONS)
_USED_PROVIDERS_KEY = ("snapshot", "providers with usage")


def _used_providers(graph: ProviderGraph) -> frozenset[int]:
    return graph.memoized(_USED_PROVIDERS_KEY, lambda: frozenset(
        pid for pid, provider in graph.providers.items() if provider.usages))


def _refresh_usage_deltas(connection: Connection, old: ProviderGraph,
                          sections: set[str], old_fingerprint: Fingerprint,
                          new_fingerprint: Fingerprint) -> ProviderGraph | None:
    """Claims and releases, the writes between any two scheduling
    requests, applied as deltas: cost grows with the write, not with the
    cloud.  Needs ``old`` read in the snapshot of ``old_fingerprint``
    (``snapshot_read``) and allocation ids that are never reused
    (PostgreSQL sequences).  None when the change is anything else.

    - only new allocation rows (count, sum of ids and of amounts all grew
      by exactly the rows with an id above the old maximum): those rows
      and their providers, one indexed query; the providers' generations
      must account for the whole growth of the generation sum;
    - fewer allocations and no provider touched (a release): usages
      re-read in one grouped scan, compared only where usage was or is.
    """
    if {"inventories", "provider_traits"} & sections:
        return None
    count, max_id = (_section(old_fingerprint, "allocations", 4)[index] for index in (0, 3))
    new_count = _section(new_fingerprint, "allocations", 1)[0]
    if new_count < count:
        if sections != {"allocations"}:
            return None
        return _apply_usages(old, _whole_usages(connection))
    if new_count == count:
        return None
    rows = [tuple(row) for row in connection.execute(
        sa.select(ALLOC.c.id, ALLOC.c.resource_provider_id, RC.c.name, ALLOC.c.used,
                  RP.c.generation, RP.c.name)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .where(ALLOC.c.id > max_id)).all()]
    return _apply_new_allocations(old, old_fingerprint, new_fingerprint, rows)


def _apply_new_allocations(old: ProviderGraph, old_fingerprint: Fingerprint,
                           new_fingerprint: Fingerprint, rows: list[NewAllocation]
                           ) -> ProviderGraph | None:
    """``old`` plus the allocation rows added since ``old_fingerprint``
    (with their providers' new generation and name), when they are the
    whole change: the allocation count and sums of ids and amounts grew
    by exactly these rows, and the providers' generations account for the
    whole growth of the generation sum.  None otherwise."""
    count, used, id_sum, _ = _section(old_fingerprint, "allocations", 4)
    new_count, new_used, new_id_sum, _ = _section(new_fingerprint, "allocations", 4)
    generation_growth = (
        _section(new_fingerprint, "providers", _GENERATION_SUM + 1)[_GENERATION_SUM]
        - _section(old_fingerprint, "providers", _GENERATION_SUM + 1)[_GENERATION_SUM])
    if (len(rows) != new_count - count
            or sum(row[0] for row in rows) != new_id_sum - id_sum
            or sum(row[3] for row in rows) != new_used - used):
        return None
    bumped: dict[int, tuple[int, str]] = {}
    added: dict[int, dict[str, int]] = {}
    for _, provider_id, resource_class, amount, generation, name in rows:
        if provider_id not in old.providers:
            return None
        bumped[provider_id] = (generation, name)
        per_class = added.setdefault(provider_id, {})
        per_class[resource_class] = per_class.get(resource_class, 0) + amount
    if sum(generation - old.providers[pid].generation
           for pid, (generation, _) in bumped.items()) != generation_growth:
        return None   # some other provider moved too
    replaced = []
    for provider_id, (generation, name) in bumped.items():
        previous = old.providers[provider_id]
        usages = dict(previous.usages)
        for resource_class, amount in added[provider_id].items():
            usages[resource_class] = usages.get(resource_class, 0) + amount
        replaced.append(previous._replace(generation=generation, name=name,
                                          usages=usages))
    graph = old.replacing(replaced)
    used_before = _used_providers(old)
    graph.memoized(_USED_PROVIDERS_KEY, lambda: used_before | bumped.keys())
    return graph


def _whole_usages(connection: Connection) -> dict[int, dict[str, int]]:
    usages: dict[int, dict[str, int]] = {}
    for provider_id, resource_class, used in _usage_rows(connection):
        usages.setdefault(provider_id, {})[resource_class] = used
    return usages


def _apply_usages(old: ProviderGraph, usages: dict[int, dict[str, int]]
                  ) -> ProviderGraph:
    """``old`` with every provider's usages as given (absent: none)."""
    replaced = [old.providers[pid]._replace(usages=usages.get(pid, {}))
                for pid in _used_providers(old) | usages.keys()
                if pid in old.providers
                and old.providers[pid].usages != usages.get(pid, {})]
    graph = old.replacing(replaced)
    graph.memoized(_USED_PROVIDERS_KEY, lambda: frozenset(
        pid for pid in usages if pid in old.providers))
    return graph


def refresh_graph(connection: Connection, old: ProviderGraph,
                  sections: set[str],
                  fingerprints: tuple[Fingerprint, Fingerprint] | None = None
                  ) -> ProviderGraph:
    """A new graph from ``old``, re-reading only what ``sections`` say
    changed: providers whose row (generation, parent, ...) moved get their
    inventories and traits re-read; usages and aggregate links are re-read
    whole when their tables changed.  Falls back to a full load when a
    change cannot be pinned to providers.

    With the ``(old, new)`` fingerprints, a change of generations only
    re-reads just the trees whose generations moved."""
    if "resource_classes" in sections:
        return load_graph(connection)
    if "providers" in sections:
        # SQLite reuses the highest allocation id, so moving a consumer
        # can leave the allocations section as it was; the generation it
        # bumped on the new provider is what shows.
        sections = sections | {"allocations"}
    if fingerprints is not None and _only_generations_moved(*fingerprints):
        graph = None
        if _one_snapshot(connection):
            graph = _refresh_usage_deltas(connection, old, sections, *fingerprints)
        if graph is None:
            graph = _refresh_bumped(connection, old, sections)
        if graph is not None:
            return graph
    rows = _provider_rows(connection)
    changed = [row.id for row in rows
               if (previous := old.providers.get(row.id)) is None
               or (previous.uuid, previous.name, previous.generation,
                   previous.parent_id, previous.root_id)
               != (row.uuid, row.name, row.generation, row.parent_id,
                   row.root_id if row.root_id is not None else row.id)]
    per_provider = {"inventories", "provider_traits"} & sections
    if (per_provider and not changed) or len(changed) > _INCREMENTAL_LIMIT * len(rows):
        return load_graph(connection)
    changed_set = set(changed)
    inventories, traits, usages = _provider_details(connection, changed, sections)
    aggregates: dict[int, set[str]] | None = None
    if {"provider_aggregates", "aggregates"} & sections:
        aggregates = {}
        for provider_id, aggregate in _aggregate_rows(connection):
            aggregates.setdefault(provider_id, set()).add(aggregate)
    trait_names = (_trait_names(connection) if "traits" in sections
                   else old.ordered_trait_names)

    providers = []
    replaced = []
    same_shape = len(rows) == len(old.providers)
    for row in rows:
        previous = old.providers.get(row.id)
        fresh = row.id in changed_set
        provider_usages: Mapping[str, int]
        if previous is None:
            provider_usages = usages.get(row.id, {}) if usages is not None else {}
            provider_aggregates = (frozenset(aggregates.get(row.id, ()))
                                   if aggregates is not None else frozenset())
        else:
            provider_usages = (usages.get(row.id, {}) if usages is not None
                               else previous.usages)
            provider_aggregates = (frozenset(aggregates.get(row.id, ()))
                                   if aggregates is not None else previous.aggregates)
            if (not fresh and provider_usages == previous.usages
                    and provider_aggregates == previous.aggregates):
                providers.append(previous)
                continue
        provider = ProviderNode(
            row.id, row.uuid, row.name, row.generation, row.parent_id,
            row.root_id if row.root_id is not None else row.id,
            frozenset(traits[row.id]) if fresh or previous is None else previous.traits,
            provider_aggregates,
            inventories[row.id] if fresh or previous is None else previous.inventories,
            provider_usages)
        providers.append(provider)
        replaced.append(provider)
        if previous is None or (previous.parent_id, previous.root_id) != (
                provider.parent_id, provider.root_id):
            same_shape = False
    if same_shape:
        return old.replacing(replaced, trait_names)
    return ProviderGraph(providers, old.resource_classes, trait_names)
