"""Capacity and usage in SQL: the database form of the arithmetic in
``placement_pci.inventory`` (capacity = (total - reserved) * ratio)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.db import tables

INV = tables.inventories
ALLOC = tables.allocations


def capacity_expression(inventory: sa.Table = INV) -> sa.ColumnElement:
    """SQL for an inventory row's capacity (compare with usage + amount)."""
    return (inventory.c.total - inventory.c.reserved) * inventory.c.allocation_ratio


def usage_subquery() -> sa.Subquery:
    """Per (provider, class) sum of allocations."""
    return (sa.select(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id,
                      sa.func.sum(ALLOC.c.used).label("used"))
            .group_by(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id)
            .subquery("usage"))


def usage_by_class_id(connection: Connection, provider_id: int) -> dict[int, int]:
    """Resource class id -> amount allocated on one provider."""
    rows = connection.execute(
        sa.select(ALLOC.c.resource_class_id, sa.func.sum(ALLOC.c.used))
        .where(ALLOC.c.resource_provider_id == provider_id)
        .group_by(ALLOC.c.resource_class_id))
    return {class_id: int(used or 0) for class_id, used in rows}


def providers_with_room(resources: dict[int, int]) -> list[sa.Select]:
    """One SELECT of provider ids per (class id -> amount): a provider that
    appears in all of them can take every amount now."""
    usage = usage_subquery()
    queries = []
    for class_id, amount in resources.items():
        used = sa.func.coalesce(usage.c.used, 0)
        one = (sa.select(INV.c.resource_provider_id)
               .select_from(INV.outerjoin(
                   usage, sa.and_(usage.c.resource_provider_id == INV.c.resource_provider_id,
                                  usage.c.resource_class_id == INV.c.resource_class_id)))
               .where(INV.c.resource_class_id == class_id,
                      capacity_expression() >= used + amount,
                      INV.c.min_unit <= amount,
                      INV.c.max_unit >= amount,
                      sa.literal(amount) % INV.c.step_size == 0))
        queries.append(one)
    return queries
