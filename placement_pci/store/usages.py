"""Usages: what is allocated, per provider or per project/user.

The per-consumer-type view (microversion 1.38) is computed with GROUP BYs
that name every selected column, so PostgreSQL accepts them too.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.store.consumers import UNKNOWN_CONSUMER_TYPE
from placement_pci.store.providers import load_provider

ALLOC = tables.allocations
INV = tables.inventories
RC = tables.resource_classes
CONSUMERS = tables.consumers
PROJECTS = tables.projects
USERS = tables.users
TYPES = tables.consumer_types

# consumer_type query values that select a group rather than a type name.
ALL_CONSUMER_TYPES = "all"


@dataclass(frozen=True)
class ProviderUsages:
    provider_generation: int
    usages: dict[str, int]  # every class the provider has inventory of


def provider_usages(database: Database, provider_uuid: str) -> ProviderUsages:
    """Usage per resource class of one provider's inventories (0 when
    nothing is allocated); NotFound for an unknown provider."""
    def read(connection: Connection) -> ProviderUsages:
        provider = load_provider(connection, provider_uuid)
        used = sa.func.coalesce(sa.func.sum(ALLOC.c.used), 0)
        rows = connection.execute(
            sa.select(RC.c.name, used)
            .select_from(
                INV.join(RC, RC.c.id == INV.c.resource_class_id)
                .outerjoin(ALLOC, sa.and_(
                    ALLOC.c.resource_provider_id == INV.c.resource_provider_id,
                    ALLOC.c.resource_class_id == INV.c.resource_class_id)))
            .where(INV.c.resource_provider_id == provider.id)
            # Sorted: GROUP BY's order differs by backend (hash aggregates).
            .group_by(RC.c.name).order_by(RC.c.name))
        return ProviderUsages(provider.generation,
                              {name: int(amount) for name, amount in rows})

    return database.run_read(read)


def usages_of(connection: Connection, provider_ids: Iterable[int]
              ) -> dict[int, dict[str, int]]:
    """Provider id -> {class name: amount allocated} for every provider
    given (empty when nothing is allocated there), in one query."""
    wanted = sorted(set(provider_ids))
    result: dict[int, dict[str, int]] = {provider_id: {} for provider_id in wanted}
    if wanted:
        rows = connection.execute(
            sa.select(ALLOC.c.resource_provider_id, RC.c.name, sa.func.sum(ALLOC.c.used))
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .where(ALLOC.c.resource_provider_id.in_(wanted))
            .group_by(ALLOC.c.resource_provider_id, RC.c.name))
        for provider_id, name, used in rows:
            result[provider_id][name] = int(used)
    return result


def _owned_allocations(project_id: str, user_id: str | None) -> sa.FromClause:
    joined = (ALLOC.join(CONSUMERS, CONSUMERS.c.uuid == ALLOC.c.consumer_id)
              .join(PROJECTS, PROJECTS.c.id == CONSUMERS.c.project_id))
    if user_id is not None:
        joined = joined.join(USERS, USERS.c.id == CONSUMERS.c.user_id)
    return joined


def _owner_filter(project_id: str, user_id: str | None) -> list[sa.ColumnElement]:
    conditions = [PROJECTS.c.external_id == project_id]
    if user_id is not None:
        conditions.append(USERS.c.external_id == user_id)
    return conditions


def total_usages(database: Database, project_id: str,
                 user_id: str | None = None) -> dict[str, int]:
    """GET /usages before 1.38: resource class -> amount for a project
    (and user)."""
    def read(connection: Connection) -> dict[str, int]:
        rows = connection.execute(
            sa.select(RC.c.name, sa.func.sum(ALLOC.c.used))
            .select_from(_owned_allocations(project_id, user_id)
                         .join(RC, RC.c.id == ALLOC.c.resource_class_id))
            .where(*_owner_filter(project_id, user_id))
            .group_by(RC.c.name).order_by(RC.c.name))
        return {name: int(amount or 0) for name, amount in rows}

    return database.run_read(read)


def usages_by_consumer_type(database: Database, project_id: str,
                            user_id: str | None = None,
                            consumer_type: str | None = None) -> dict[str, dict[str, int]]:
    """GET /usages from 1.38: consumer type -> {class: amount, ...,
    "consumer_count": distinct consumers}.

    ``consumer_type`` filters: a type name; "unknown" for consumers without
    a type; "all" for everything folded into one "all" group.
    """
    def read(connection: Connection) -> dict[str, dict[str, int]]:
        source = (_owned_allocations(project_id, user_id)
                  .outerjoin(TYPES, TYPES.c.id == CONSUMERS.c.consumer_type_id))
        conditions = _owner_filter(project_id, user_id)
        if consumer_type == UNKNOWN_CONSUMER_TYPE:
            conditions.append(CONSUMERS.c.consumer_type_id.is_(None))
        elif consumer_type and consumer_type != ALL_CONSUMER_TYPES:
            conditions.append(TYPES.c.name == consumer_type)
        # Group by the plain type-name column (NULL: no type) and name the
        # groups in Python: every selected column is then either grouped or
        # aggregated, which PostgreSQL requires (upstream's query is not).
        folded = consumer_type == ALL_CONSUMER_TYPES
        group = [] if folded else [TYPES.c.name.label("consumer_type")]
        sums = connection.execute(
            sa.select(*group, RC.c.name.label("resource_class"),
                      sa.func.sum(ALLOC.c.used).label("used"))
            .select_from(source.join(RC, RC.c.id == ALLOC.c.resource_class_id))
            .where(*conditions)
            .group_by(*([] if folded else [TYPES.c.name]), RC.c.name)
            .order_by(*([] if folded else [TYPES.c.name]), RC.c.name))
        counts = connection.execute(
            sa.select(*group,
                      sa.func.count(sa.distinct(ALLOC.c.consumer_id)).label("consumers"))
            .select_from(source)
            .where(*conditions)
            .group_by(*([] if folded else [TYPES.c.name])))

        def group_name(row: sa.Row) -> str:
            if folded:
                return ALL_CONSUMER_TYPES
            return row.consumer_type or UNKNOWN_CONSUMER_TYPE

        usages: dict[str, dict[str, int]] = {}
        for row in sums:
            usages.setdefault(group_name(row), {})[row.resource_class] = int(row.used or 0)
        for row in counts:
            if row.consumers and group_name(row) in usages:
                usages[group_name(row)]["consumer_count"] = int(row.consumers)
        return usages

    return database.run_read(read)
