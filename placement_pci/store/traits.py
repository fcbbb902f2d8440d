"""Traits: the catalogue (standard os-traits names plus CUSTOM_ ones) and
the traits of each resource provider."""
from __future__ import annotations

import datetime
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors, names
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.store import common
from placement_pci.store.providers import Provider, load_provider, lock_provider

TRAITS = tables.traits
LINK = tables.resource_provider_traits


def list_traits(database: Database, *, name_in: Iterable[str] | None = None,
                name_prefix: str | None = None,
                associated: bool | None = None) -> tuple[list[str], datetime.datetime | None]:
    """Trait names (sorted) matching the filters, and their newest timestamp."""
    query = sa.select(TRAITS.c.name, TRAITS.c.created_at, TRAITS.c.updated_at)
    if name_in is not None:
        query = query.where(TRAITS.c.name.in_(sorted(set(name_in))))
    if name_prefix is not None:
        escaped = name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(TRAITS.c.name.like(escaped + "%", escape="\\"))
    used = sa.select(LINK.c.trait_id)
    if associated is True:
        query = query.where(TRAITS.c.id.in_(used))
    elif associated is False:
        query = query.where(TRAITS.c.id.not_in(used))
    rows = database.run_read(lambda c: c.execute(query.order_by(TRAITS.c.name)).all())
    return [r.name for r in rows], common.newest_change(rows)


def get_trait(database: Database, name: str) -> datetime.datetime | None:
    """The trait's timestamp; NotFound when it does not exist."""
    row = database.run_read(lambda c: c.execute(
        sa.select(TRAITS.c.created_at, TRAITS.c.updated_at)
        .where(TRAITS.c.name == name)).first())
    if row is None:
        raise errors.NotFound(f"No such trait(s): {name}.")
    return row.updated_at or row.created_at


def ensure_trait(database: Database, name: str) -> bool:
    """Create a CUSTOM_ trait unless it exists; True when it was created."""

    def ensure(connection: Connection) -> bool:
        if connection.execute(sa.select(TRAITS.c.id).where(TRAITS.c.name == name)).first():
            return False
        connection.execute(TRAITS.insert().values(name=name, created_at=common.utcnow()))
        return True

    try:
        return database.run_write(ensure)
    except sa.exc.IntegrityError:
        return False  # created concurrently: exists now, which is what was asked


def delete_trait(database: Database, name: str) -> None:
    def delete_one(connection: Connection) -> None:
        trait_id = connection.execute(
            sa.select(TRAITS.c.id).where(TRAITS.c.name == name)).scalar()
        if trait_id is None:
            raise errors.NotFound(f"No such trait(s): {name}.")
        if names.is_standard_trait(name):
            raise errors.BadRequest(f"Cannot delete standard trait {name}.")
        if connection.execute(sa.select(LINK.c.trait_id)
                              .where(LINK.c.trait_id == trait_id).limit(1)).first():
            raise errors.Conflict(f"The trait {name} is in use by a resource provider.")
        connection.execute(sa.delete(TRAITS).where(TRAITS.c.id == trait_id))

    try:
        database.run_write(delete_one)
    except sa.exc.IntegrityError:
        # A provider took the trait between our check and the delete.
        raise errors.Conflict(f"The trait {name} is in use by a resource provider.") from None


def _provider_traits(connection: Connection, provider_id: int
                     ) -> tuple[list[str], datetime.datetime | None]:
    rows = connection.execute(
        sa.select(TRAITS.c.name, LINK.c.created_at, LINK.c.updated_at)
        .select_from(LINK.join(TRAITS, LINK.c.trait_id == TRAITS.c.id))
        .where(LINK.c.resource_provider_id == provider_id).order_by(TRAITS.c.name)).all()
    return [r.name for r in rows], common.newest_change(rows)


def get_provider_traits(database: Database, provider_uuid: str
                        ) -> tuple[Provider, list[str], datetime.datetime | None]:
    def read(connection: Connection
             ) -> tuple[Provider, list[str], datetime.datetime | None]:
        provider = load_provider(connection, provider_uuid)
        return (provider, *_provider_traits(connection, provider.id))
    return database.run_read(read)


def traits_of(connection: Connection, provider_ids: Iterable[int]
              ) -> dict[int, frozenset[str]]:
    """Provider id -> its trait names, for every provider given, in one
    query."""
    wanted = sorted(set(provider_ids))
    found: dict[int, set[str]] = {provider_id: set() for provider_id in wanted}
    if wanted:
        rows = connection.execute(
            sa.select(LINK.c.resource_provider_id, TRAITS.c.name)
            .join(TRAITS, TRAITS.c.id == LINK.c.trait_id)
            .where(LINK.c.resource_provider_id.in_(wanted)))
        for provider_id, name in rows:
            found[provider_id].add(name)
    return {provider_id: frozenset(names) for provider_id, names in found.items()}


def ensure_traits(connection: Connection, trait_names: Iterable[str]) -> None:
    """Create those of ``trait_names`` (CUSTOM_ ones) that do not exist;
    concurrent creators of the same name all end up with the one row."""
    common.ensure_named_rows(connection, TRAITS, trait_names)


def set_traits_locked(connection: Connection, provider: Provider,
                      trait_names: Iterable[str], *, bump: bool = True) -> int:
    """Replace the provider's traits and (unless ``bump`` is false: the
    caller bumped it already in this transaction) bump its generation;
    the caller holds the provider lock.  Returns the generation after."""
    wanted = sorted(set(trait_names))
    found = common.trait_ids(connection, wanted)
    unknown = common.missing(wanted, found)
    if unknown:
        raise errors.BadRequest(f"No such trait {', '.join(unknown)}")
    connection.execute(sa.delete(LINK).where(LINK.c.resource_provider_id == provider.id))
    now = common.utcnow()
    if wanted:
        connection.execute(LINK.insert(), [
            {"resource_provider_id": provider.id, "trait_id": found[name],
             "created_at": now, "updated_at": now} for name in wanted])
    if not bump:
        return provider.generation
    return common.bump_generation(connection, provider.id, provider.generation,
                                  provider_uuid=provider.uuid)


def set_provider_traits(database: Database, provider_uuid: str, expected_generation: int,
                        trait_names: Iterable[str]) -> tuple[int, list[str]]:
    trait_names = list(trait_names)

    def replace(connection: Connection) -> tuple[int, list[str]]:
        provider = lock_provider(connection, provider_uuid)
        if provider.generation != expected_generation:
            raise errors.Conflict(
                "Resource provider's generation already changed. Please update the "
                "generation and try again.", code=errors.CONCURRENT_UPDATE)
        generation = set_traits_locked(connection, provider, trait_names)
        return generation, sorted(set(trait_names))

    try:
        return database.run_write(replace)
    except sa.exc.IntegrityError:
        raise errors.Conflict("Update conflict: a trait was deleted concurrently; retry.",
                              code=errors.CONCURRENT_UPDATE) from None


def delete_provider_traits(database: Database, provider_uuid: str) -> None:
    def delete(connection: Connection) -> None:
        provider = lock_provider(connection, provider_uuid)
        set_traits_locked(connection, provider, [])

    database.run_write(delete)
