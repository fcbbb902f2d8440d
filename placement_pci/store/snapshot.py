"""Load the candidate engine's ProviderGraph from the database, and cache it.

Each worker process keeps one snapshot.  Before answering, a request reads
a cheap fingerprint of everything the snapshot depends on (a handful of
counts, sums and maxima over the provider, inventory, allocation, trait
and aggregate tables, one round trip).  Every write that matters moves
the fingerprint: claims and inventory/trait/aggregate changes bump
provider generations, deletes lower counts, creations raise ids and
timestamps.  When it differs from the cached one the graph is reloaded.
The fingerprint is read before the rows, so a write landing during a
reload only makes the next request reload again; a request never gets a
snapshot older than what was committed when it arrived.
"""
from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.candidates.snapshot import (
    Inventory, InventoryRow, ProviderGraph, ProviderRow)
from placement_pci.db import tables
from placement_pci.db.engine import Database

RP = tables.resource_providers
INV = tables.inventories
ALLOC = tables.allocations
RC = tables.resource_classes
TRAIT = tables.traits
RP_TRAIT = tables.resource_provider_traits
AGG = tables.placement_aggregates
RP_AGG = tables.resource_provider_aggregates

Fingerprint = tuple


def _fingerprint_query() -> sa.Select:
    big = sa.BigInteger

    def scalar(*columns: sa.ColumnElement, table: sa.Table) -> list:
        return [sa.select(column).select_from(table).scalar_subquery()
                for column in columns]

    def total(column: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.cast(column, big)), 0)

    parts = []
    parts += scalar(sa.func.count(), total(RP.c.generation), total(RP.c.id),
                    sa.func.max(RP.c.id), total(RP.c.parent_provider_id),
                    total(RP.c.root_provider_id), sa.func.max(RP.c.created_at),
                    table=RP)
    parts += scalar(sa.func.count(), total(INV.c.total), total(INV.c.reserved),
                    total(INV.c.id), table=INV)
    parts += scalar(sa.func.count(), total(ALLOC.c.used), total(ALLOC.c.id),
                    sa.func.max(ALLOC.c.id), table=ALLOC)
    parts += scalar(sa.func.count(), total(RP_TRAIT.c.trait_id),
                    total(RP_TRAIT.c.resource_provider_id), table=RP_TRAIT)
    parts += scalar(sa.func.count(), total(RP_AGG.c.aggregate_id),
                    total(sa.cast(RP_AGG.c.aggregate_id, big)
                          * sa.cast(RP_AGG.c.resource_provider_id, big)),
                    table=RP_AGG)
    for table in (RC, TRAIT, AGG):
        parts += scalar(sa.func.count(), sa.func.max(table.c.id),
                        sa.func.max(table.c.created_at), table=table)
    parts += scalar(sa.func.max(RC.c.updated_at), table=RC)
    return sa.select(*parts)


_FINGERPRINT = _fingerprint_query()


def read_fingerprint(connection: Connection) -> Fingerprint:
    return tuple(connection.execute(_FINGERPRINT).one())


def load_graph(connection: Connection) -> ProviderGraph:
    """Every provider with its inventories, usages, traits and aggregates."""
    def rows(query: sa.Select) -> list:
        return connection.execute(query).all()

    providers = [
        ProviderRow(*row) for row in rows(sa.select(
            RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation,
            RP.c.parent_provider_id, RP.c.root_provider_id))
    ]
    inventories = [
        InventoryRow(provider_id, name, Inventory(
            total, reserved, min_unit, max_unit, step_size, float(ratio)))
        for provider_id, name, total, reserved, min_unit, max_unit,
        step_size, ratio in rows(
            sa.select(INV.c.resource_provider_id, RC.c.name, INV.c.total,
                      INV.c.reserved, INV.c.min_unit, INV.c.max_unit,
                      INV.c.step_size, INV.c.allocation_ratio)
            .join(RC, RC.c.id == INV.c.resource_class_id))
    ]
    usages = [
        (provider_id, name, int(used or 0))
        for provider_id, name, used in rows(
            sa.select(ALLOC.c.resource_provider_id, RC.c.name,
                      sa.func.sum(ALLOC.c.used))
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .group_by(ALLOC.c.resource_provider_id, RC.c.name))
    ]
    provider_traits = rows(
        sa.select(RP_TRAIT.c.resource_provider_id, TRAIT.c.name)
        .join(TRAIT, TRAIT.c.id == RP_TRAIT.c.trait_id))
    provider_aggregates = rows(
        sa.select(RP_AGG.c.resource_provider_id, AGG.c.uuid)
        .join(AGG, AGG.c.id == RP_AGG.c.aggregate_id))
    resource_classes = connection.execute(sa.select(RC.c.name)).scalars().all()
    trait_names = connection.execute(
        sa.select(TRAIT.c.name).order_by(TRAIT.c.id)).scalars().all()
    return ProviderGraph.build(providers, inventories, usages, provider_traits,
                               provider_aggregates, resource_classes,
                               trait_names)


@dataclass
class _Cached:
    fingerprint: Fingerprint
    graph: ProviderGraph


class SnapshotCache:
    """One ProviderGraph per Database object, reloaded when the database's
    fingerprint moves.  ``loads`` counts full reloads."""

    def __init__(self, loader: Callable[[Connection], ProviderGraph] = load_graph
                 ) -> None:
        self._loader = loader
        self._cached: weakref.WeakKeyDictionary[Database, _Cached] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self.loads = 0

    def graph(self, database: Database) -> ProviderGraph:
        """A snapshot at least as new as every write committed before now."""
        with database.read() as connection:
            fingerprint = read_fingerprint(connection)
        cached = self._cached.get(database)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached.graph
        with self._lock:
            cached = self._cached.get(database)
            if cached is not None and cached.fingerprint == fingerprint:
                return cached.graph
            with database.read() as connection:
                # Read the fingerprint again, before the rows: a write
                # landing during the load makes the next request reload.
                fingerprint = read_fingerprint(connection)
                graph = self._loader(connection)
            self.loads += 1
            self._cached[database] = _Cached(fingerprint, graph)
            # The snapshot is long-lived and acyclic: keep the cyclic
            # garbage collector from rescanning it on every full pass.
            gc.freeze()
            return graph


# The worker's cache: each gunicorn worker process has its own.
_PROCESS_CACHE = SnapshotCache()


def current_graph(database: Database,
                  cache: SnapshotCache | None = None) -> ProviderGraph:
    """The snapshot for ``database``, fresh as of this call."""
    return (cache or _PROCESS_CACHE).graph(database)
