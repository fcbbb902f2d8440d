"""Aggregate membership of resource providers."""
from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import Database, insert_ignoring_duplicates
from placement_pci.store import common
from placement_pci.store.providers import Provider, load_provider, lock_provider

AGG = tables.placement_aggregates
LINK = tables.resource_provider_aggregates


def _aggregates(connection: Connection, provider_id: int
                ) -> tuple[list[str], datetime.datetime | None]:
    rows = connection.execute(
        sa.select(AGG.c.uuid, LINK.c.created_at, LINK.c.updated_at)
        .select_from(LINK.join(AGG, LINK.c.aggregate_id == AGG.c.id))
        .where(LINK.c.resource_provider_id == provider_id).order_by(AGG.c.id)).all()
    return [r.uuid for r in rows], common.newest_change(rows)


def get_provider_aggregates(database: Database, provider_uuid: str
                            ) -> tuple[Provider, list[str], datetime.datetime | None]:
    def read(connection: Connection
             ) -> tuple[Provider, list[str], datetime.datetime | None]:
        provider = load_provider(connection, provider_uuid)
        return (provider, *_aggregates(connection, provider.id))
    return database.run_read(read)


def set_aggregates_locked(connection: Connection, provider: Provider,
                          aggregate_uuids: Sequence[str], *, bump: bool) -> int:
    """Replace the provider's aggregates (caller holds the provider lock);
    returns the provider generation afterwards."""
    wanted = list(dict.fromkeys(aggregate_uuids))
    now = common.utcnow()
    insert_ignoring_duplicates(connection, AGG, [{"uuid": u, "created_at": now} for u in wanted])
    ids = dict(connection.execute(sa.select(AGG.c.uuid, AGG.c.id)
                                  .where(AGG.c.uuid.in_(wanted))).all()) if wanted else {}
    connection.execute(sa.delete(LINK).where(LINK.c.resource_provider_id == provider.id))
    if wanted:
        connection.execute(LINK.insert(), [
            {"resource_provider_id": provider.id, "aggregate_id": ids[u],
             "created_at": now, "updated_at": now} for u in wanted])
    if bump:
        return common.bump_generation(connection, provider.id, provider.generation,
                                      provider_uuid=provider.uuid)
    return provider.generation


def set_provider_aggregates(database: Database, provider_uuid: str,
                            aggregate_uuids: Sequence[str],
                            expected_generation: int | None) -> tuple[int, list[str]]:
    """Replace a provider's aggregates.  With ``expected_generation``
    (1.19+) the generation is checked and bumped; before 1.19 Placement
    neither checks nor bumps it."""

    def replace(connection: Connection) -> tuple[int, list[str]]:
        provider = lock_provider(connection, provider_uuid)
        if expected_generation is not None and provider.generation != expected_generation:
            raise errors.Conflict(
                "Resource provider's generation already changed. Please update the "
                "generation and try again.", code=errors.CONCURRENT_UPDATE)
        generation = set_aggregates_locked(connection, provider, aggregate_uuids,
                                           bump=expected_generation is not None)
        return generation, list(dict.fromkeys(aggregate_uuids))

    return database.run_write(replace)
