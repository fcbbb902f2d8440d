"""Usages: what is allocated, per provider or per project/user.

The per-consumer-type view (microversion 1.38) is computed with GROUP BYs
that name every selected column, so PostgreSQL accepts them too.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.store.common import provider_by_uuid
from placement_pci.store.consumers import UNKNOWN_CONSUMER_TYPE

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
        provider = provider_by_uuid(connection, provider_uuid)
        used = sa.func.coalesce(sa.func.sum(ALLOC.c.used), 0)
        rows = connection.execute(
            sa.select(RC.c.name, used)
            .select_from(
                INV.join(RC, RC.c.id == INV.c.resource_class_id)
                .outerjoin(ALLOC, sa.and_(
                    ALLOC.c.resource_provider_id == INV.c.resource_provider_id,
                    ALLOC.c.resource_class_id == INV.c.resource_class_id)))
            .where(INV.c.resource_provider_id == provider.id)
            .group_by(RC.c.name))
        return ProviderUsages(provider.generation,
                              {name: int(amount) for name, amount in rows})

    return database.run_read(read)


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
            .group_by(RC.c.name))
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
        group = sa.func.coalesce(TYPES.c.name, UNKNOWN_CONSUMER_TYPE)
        if consumer_type == ALL_CONSUMER_TYPES:
            group = sa.literal(ALL_CONSUMER_TYPES)
        group = group.label("consumer_type")
        source = (_owned_allocations(project_id, user_id)
                  .outerjoin(TYPES, TYPES.c.id == CONSUMERS.c.consumer_type_id))
        conditions = _owner_filter(project_id, user_id)
        if consumer_type == UNKNOWN_CONSUMER_TYPE:
            conditions.append(CONSUMERS.c.consumer_type_id.is_(None))
        elif consumer_type and consumer_type != ALL_CONSUMER_TYPES:
            conditions.append(TYPES.c.name == consumer_type)

        # Rows per (consumer type, consumer, class); summing in Python keeps
        # the SQL a plain GROUP BY over the selected columns on every backend.
        rows = connection.execute(
            sa.select(group, ALLOC.c.consumer_id, RC.c.name, sa.func.sum(ALLOC.c.used))
            .select_from(source.join(RC, RC.c.id == ALLOC.c.resource_class_id))
            .where(*conditions)
            .group_by(TYPES.c.name, ALLOC.c.consumer_id, RC.c.name))
        usages: dict[str, dict[str, int]] = {}
        consumers: dict[str, set[str]] = {}
        for type_name, consumer_id, class_name, amount in rows:
            entry = usages.setdefault(type_name, {})
            entry[class_name] = entry.get(class_name, 0) + int(amount or 0)
            consumers.setdefault(type_name, set()).add(consumer_id)
        for type_name, members in consumers.items():
            usages[type_name]["consumer_count"] = len(members)
        return usages

    return database.run_read(read)
