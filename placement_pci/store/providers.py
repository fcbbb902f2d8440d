"""Resource providers: create, read, list with filters, rename,
re-parent and delete, each in one transaction."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.identifiers import canonical_uuid, generate_uuid
from placement_pci.store import capacity, common

T = TypeVar("T")
RP = tables.resource_providers
_PARENT = RP.alias("parent")
_ROOT = RP.alias("root")


@dataclass(frozen=True)
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return self.updated_at or self.created_at


@dataclass
class ProviderFilters:
    """What GET /resource_providers may filter on (all optional).

    ``required_traits`` and ``member_of`` are lists of any-of sets;
    ``resources`` maps class names to amounts that must fit right now.
    """

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggregates: frozenset[str] = frozenset()
    required_traits: list[frozenset[str]] = field(default_factory=list)
    forbidden_traits: frozenset[str] = frozenset()
    resources: dict[str, int] = field(default_factory=dict)


_UNSET = object()
MAX_UNIT = 2147483647


def _provider_select() -> sa.Select:
    return (sa.select(RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation,
                      _PARENT.c.uuid.label("parent_uuid"),
                      _ROOT.c.uuid.label("root_uuid"),
                      RP.c.created_at, RP.c.updated_at)
            .select_from(RP.outerjoin(_PARENT, RP.c.parent_provider_id == _PARENT.c.id)
                         .outerjoin(_ROOT, RP.c.root_provider_id == _ROOT.c.id)))


def _from_row(row: Row) -> Provider:
    return Provider(id=row.id, uuid=row.uuid, name=row.name, generation=row.generation,
                    parent_provider_uuid=row.parent_uuid,
                    root_provider_uuid=row.root_uuid or row.uuid,
                    created_at=row.created_at, updated_at=row.updated_at)


def load_provider(connection: Connection, uuid: str, *, for_update: bool = False) -> Provider:
    """The provider with ``uuid``; NotFound naming it otherwise."""
    uuid_value = canonical_uuid(uuid)
    if for_update:
        # Lock with a plain single-table SELECT: every backend supports it.
        connection.execute(sa.select(RP.c.id).where(RP.c.uuid == uuid_value)
                           .with_for_update()).first()
    row = connection.execute(_provider_select().where(RP.c.uuid == uuid_value)).first()
    if row is None:
        raise errors.NotFound(f"No resource provider with uuid {uuid} found",
                              code=errors.PROVIDER_NOT_FOUND)
    return _from_row(row)


def lock_provider(connection: Connection, uuid: str) -> Provider:
    """Read the provider holding its row lock until the transaction ends."""
    return load_provider(connection, uuid, for_update=True)


def get_provider(database: Database, uuid: str) -> Provider:
    return database.run_read(lambda connection: load_provider(connection, uuid))


def _duplicate_conflict(connection: Connection, uuid: str | None, name: str) -> None:
    duplicates = []
    if uuid is not None and connection.execute(
            sa.select(RP.c.id).where(RP.c.uuid == uuid)).first():
        duplicates.append(f"uuid: {uuid}")
    if connection.execute(sa.select(RP.c.id).where(RP.c.name == name)).first():
        duplicates.append(f"name: {name}")
    if duplicates:
        raise errors.Conflict(
            f"Conflicting resource provider {', '.join(duplicates)} already exists.",
            code=errors.DUPLICATE_NAME)


def create_provider(database: Database, *, name: str, uuid: str | None = None,
                    parent_provider_uuid: str | None = None) -> Provider:
    """Create a provider (a root unless a parent is given)."""
    uuid = uuid or generate_uuid()

    def create(connection: Connection) -> Provider:
        _duplicate_conflict(connection, uuid, name)
        parent_id = root_id = None
        if parent_provider_uuid is not None:
            if parent_provider_uuid == uuid:
                raise _create_failed(name, uuid, "parent provider UUID cannot be same "
                                     "as UUID. Please set parent provider UUID to None "
                                     "if there is no parent.")
            parent = connection.execute(
                sa.select(RP.c.id, RP.c.root_provider_id)
                .where(RP.c.uuid == parent_provider_uuid).with_for_update()).first()
            if parent is None:
                raise _create_failed(name, uuid, "parent provider UUID does not exist.")
            parent_id, root_id = parent.id, parent.root_provider_id or parent.id
        _insert(connection, uuid, name, parent_id, root_id)
        return load_provider(connection, uuid)

    return _run_catching_duplicates(database, create)


def _insert(connection: Connection, uuid: str, name: str, parent_id: int | None,
            root_id: int | None) -> int:
    now = common.utcnow()
    new_id = common.insert_returning_id(connection, RP.insert().values(
        uuid=uuid, name=name, generation=0, parent_provider_id=parent_id,
        root_provider_id=root_id, created_at=now, updated_at=now))
    if root_id is None:
        connection.execute(sa.update(RP).where(RP.c.id == new_id)
                           .values(root_provider_id=new_id))
    return new_id


def create_provider_locked(connection: Connection, *, name: str,
                           parent: Provider | None = None) -> Provider:
    """Insert a provider with a new uuid, a root unless ``parent`` is
    given (the caller holds the parent's lock and checked the name is
    free; a concurrent taker of the name makes the INSERT fail with an
    IntegrityError).  Generation 0."""
    uuid = generate_uuid()
    parent_id = root_id = None
    if parent is not None:
        parent_id = parent.id
        root_id = connection.execute(sa.select(RP.c.root_provider_id)
                                     .where(RP.c.id == parent.id)).scalar() or parent.id
    _insert(connection, uuid, name, parent_id, root_id)
    return load_provider(connection, uuid)


def provider_named(connection: Connection, name: str, *,
                   lock: bool = False) -> Provider | None:
    """The provider called ``name`` (row-locked with ``lock``), if any."""
    if lock:
        connection.execute(sa.select(RP.c.id).where(RP.c.name == name)
                           .with_for_update()).first()
    row = connection.execute(_provider_select().where(RP.c.name == name)).first()
    return _from_row(row) if row is not None else None


def providers_named(connection: Connection, names: Iterable[str]) -> dict[str, Provider]:
    """Name -> provider for those of ``names`` that exist."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = connection.execute(_provider_select().where(RP.c.name.in_(wanted)))
    return {row.name: _from_row(row) for row in rows}


def children_of(connection: Connection, provider_id: int) -> list[Provider]:
    """The providers whose parent is ``provider_id``, by id."""
    rows = connection.execute(_provider_select()
                              .where(RP.c.parent_provider_id == provider_id)
                              .order_by(RP.c.id))
    return [_from_row(row) for row in rows]


def has_children(connection: Connection, provider_id: int) -> bool:
    return connection.execute(sa.select(RP.c.id).where(
        RP.c.parent_provider_id == provider_id).limit(1)).first() is not None


def root_uuids(connection: Connection, provider_uuids: Iterable[str]) -> list[str]:
    """The uuids of the roots of the trees the given providers are in."""
    wanted = sorted(set(provider_uuids))
    if not wanted:
        return []
    return sorted(set(connection.execute(
        sa.select(_ROOT.c.uuid)
        .select_from(RP.join(_ROOT, RP.c.root_provider_id == _ROOT.c.id))
        .where(RP.c.uuid.in_(wanted))).scalars()))


def _create_failed(name: str, uuid: str, reason: str) -> errors.BadRequest:
    return errors.BadRequest(
        f'Unable to create resource provider "{name}", {uuid}: '
        f"Object action create failed because: {reason}")


def _run_catching_duplicates(database: Database, operation: Callable[[Connection], T]) -> T:
    try:
        return database.run_write(operation)
    except sa.exc.IntegrityError:
        # A concurrent writer took the name or uuid between our check and
        # our insert (or removed the parent we meant to use).
        raise errors.Conflict("Conflicting resource provider already exists.",
                              code=errors.DUPLICATE_NAME) from None


def update_provider(database: Database, uuid: str, *, name: str,
                    parent_provider_uuid: object = _UNSET,
                    allow_reparenting: bool = False) -> Provider:
    """Rename and optionally (re-/un-)parent a provider.

    As in Placement, this does not change the provider's generation; the
    row lock serialises it with every generation-checked write.
    """

    def update(connection: Connection) -> Provider:
        provider = lock_provider(connection, uuid)
        values: dict[str, object] = {"name": name, "updated_at": common.utcnow()}
        # Compare against other providers only: MySQL collations may find
        # the provider itself for a change of letter case.
        if connection.execute(sa.select(RP.c.id).where(
                RP.c.name == name, RP.c.id != provider.id)).first():
            raise errors.Conflict(f"Conflicting resource provider {name} already exists.",
                                  code=errors.DUPLICATE_NAME)
        new_root_id = None
        subtree: set[int] = set()
        if parent_provider_uuid is not _UNSET:
            # Locking the subtree top-down makes a concurrent child creation
            # under any of its providers either finish first (and be found
            # here) or wait and then read the new root.
            subtree = descendant_ids(connection, provider.id, lock=True)
            new_root_id = _reparent(connection, provider, parent_provider_uuid,
                                    allow_reparenting, values, subtree)
        connection.execute(sa.update(RP).where(RP.c.id == provider.id).values(**values))
        if new_root_id is not None and subtree:
            connection.execute(sa.update(RP).where(RP.c.id.in_(subtree))
                               .values(root_provider_id=new_root_id))
        return load_provider(connection, provider.uuid)

    return _run_catching_duplicates(database, update)


def _save_failed(uuid: str, reason: str, action: str = "update") -> errors.BadRequest:
    return errors.BadRequest(f"Unable to save resource provider {uuid}: "
                             f"Object action {action} failed because: {reason}")


def _reparent(connection: Connection, provider: Provider, parent_uuid: object,
              allow_reparenting: bool, values: dict[str, object],
              subtree: set[int]) -> int | None:
    """Fill ``values`` for a parent change; return the new root id if any."""
    if parent_uuid is None:
        if provider.parent_provider_uuid is None:
            return None
        if not allow_reparenting:
            raise _save_failed(provider.uuid, "un-parenting a provider is not currently allowed.")
        values.update(parent_provider_id=None, root_provider_id=provider.id)
        return provider.id
    assert isinstance(parent_uuid, str)
    parent = connection.execute(
        sa.select(RP.c.id, RP.c.root_provider_id).where(RP.c.uuid == parent_uuid)
        .with_for_update()).first()
    if parent is None:
        raise _save_failed(provider.uuid, "parent provider UUID does not exist.", "create")
    if (provider.parent_provider_uuid is not None
            and provider.parent_provider_uuid != parent_uuid and not allow_reparenting):
        raise _save_failed(provider.uuid, "re-parenting a provider is not currently allowed.")
    if parent.id == provider.id or parent.id in subtree:
        raise _save_failed(provider.uuid, "creating loop in the provider tree is not allowed.")
    root_id = parent.root_provider_id or parent.id
    values.update(parent_provider_id=parent.id, root_provider_id=root_id)
    return root_id


def descendant_ids(connection: Connection, provider_id: int, *,
                   lock: bool = False) -> set[int]:
    """Ids of every provider below ``provider_id`` (not itself), row-locked
    level by level when ``lock`` is true."""
    found: set[int] = set()
    frontier = {provider_id}
    while frontier:
        query = sa.select(RP.c.id).where(RP.c.parent_provider_id.in_(sorted(frontier)))
        if lock:
            query = query.with_for_update()
        children = set(connection.execute(query).scalars())
        frontier = children - found
        found |= children
    return found


def delete_provider(database: Database, uuid: str) -> None:
    """Delete a provider with its inventories, traits and aggregate links."""

    def delete(connection: Connection) -> None:
        try:
            provider = lock_provider(connection, uuid)
        except errors.NotFound:
            raise errors.NotFound(f"No resource provider with uuid {uuid} found for delete",
                                  code=errors.PROVIDER_NOT_FOUND) from None
        delete_provider_locked(connection, provider)

    database.run_write(delete)


def delete_provider_locked(connection: Connection, provider: Provider) -> None:
    """Delete a provider the caller holds the lock of; refused (409) while
    it has allocations or child providers."""
    uuid = provider.uuid
    if connection.execute(sa.select(tables.allocations.c.id).where(
            tables.allocations.c.resource_provider_id == provider.id).limit(1)).first():
        raise errors.Conflict(f"Unable to delete resource provider {uuid}: "
                              "Resource provider has allocations.",
                              code=errors.PROVIDER_INUSE)
    if has_children(connection, provider.id):
        raise errors.Conflict(f"Unable to delete parent resource provider {uuid}: "
                              "It has child resource providers.",
                              code=errors.PROVIDER_CANNOT_DELETE_PARENT)
    for table in (tables.inventories, tables.resource_provider_traits,
                  tables.resource_provider_aggregates):
        connection.execute(sa.delete(table).where(
            table.c.resource_provider_id == provider.id))
    # The root pointer references the row itself; clear it first for
    # backends that check self-references row by row.
    connection.execute(sa.update(RP).where(RP.c.id == provider.id)
                       .values(root_provider_id=None))
    connection.execute(sa.delete(RP).where(RP.c.id == provider.id))


def list_providers(database: Database, filters: ProviderFilters) -> list[Provider]:
    return database.run_read(lambda connection: _list(connection, filters))


def _list(connection: Connection, filters: ProviderFilters) -> list[Provider]:
    query = _provider_select().order_by(RP.c.id)
    if filters.name is not None:
        query = query.where(RP.c.name == filters.name)
    if filters.uuid is not None:
        query = query.where(RP.c.uuid == canonical_uuid(filters.uuid))
    if filters.in_tree is not None:
        tree = connection.execute(sa.select(RP.c.root_provider_id, RP.c.id)
                                  .where(RP.c.uuid == filters.in_tree)).first()
        if tree is None:
            return []
        query = query.where(RP.c.root_provider_id == (tree.root_provider_id or tree.id))
    query = _filter_traits(connection, query, filters)
    filtered = _filter_aggregates(connection, query, filters)
    if filtered is None:
        return []
    query = filtered
    if filters.resources:
        class_ids = common.resource_class_ids(connection, filters.resources)
        unknown = common.missing(filters.resources, class_ids)
        if unknown:
            raise errors.BadRequest(
                "Invalid resource class in resources parameter: "
                f"No such resource class {unknown[0]}.")
        if max(filters.resources.values()) > MAX_UNIT:
            # No inventory can hand out more than max_unit at once; the
            # database must not see an integer it cannot bind.
            return []
        for room in capacity.providers_with_room(
                {class_ids[name]: amount for name, amount in filters.resources.items()}):
            query = query.where(RP.c.id.in_(room))
    return [_from_row(row) for row in connection.execute(query)]


def _links_to_all(link: sa.Table, column: sa.Column, ids: list) -> sa.Select:
    """Provider ids linked to every one of ``ids`` (one grouped query, so
    a long list of requirements stays one condition)."""
    return (sa.select(link.c.resource_provider_id).where(column.in_(ids))
            .group_by(link.c.resource_provider_id)
            .having(sa.func.count(sa.distinct(column)) == len(ids)))


def _requirement_conditions(link: sa.Table, column: sa.Column,
                            required: list[frozenset], forbidden: frozenset
                            ) -> list[sa.ColumnElement]:
    """WHERE conditions for all-of-these-any-of-sets and none-of-forbidden,
    over ids already resolved (trait ids or aggregate ids)."""
    conditions: list[sa.ColumnElement] = []
    unique = set(required)
    singles = sorted({next(iter(s)) for s in unique if len(s) == 1})
    if singles:
        conditions.append(RP.c.id.in_(_links_to_all(link, column, singles)))
    for any_of in sorted(unique - {frozenset([i]) for i in singles}, key=sorted):
        conditions.append(RP.c.id.in_(
            sa.select(link.c.resource_provider_id).where(column.in_(sorted(any_of)))))
    if forbidden:
        conditions.append(RP.c.id.not_in(
            sa.select(link.c.resource_provider_id).where(column.in_(sorted(forbidden)))))
    return conditions


def _filter_aggregates(connection: Connection, query: sa.Select,
                       filters: ProviderFilters) -> sa.Select | None:
    """Apply member_of; None when a required aggregate does not exist."""
    wanted = set(filters.forbidden_aggregates).union(*filters.member_of)
    if not wanted:
        return query
    aggregate = tables.placement_aggregates
    ids = dict(connection.execute(sa.select(aggregate.c.uuid, aggregate.c.id)
                                  .where(aggregate.c.uuid.in_(sorted(wanted)))).all())
    required = [frozenset(ids[u] for u in any_of if u in ids) for any_of in filters.member_of]
    if any(not any_of for any_of in required):
        return None  # nobody is in an aggregate that nobody was ever put in
    link = tables.resource_provider_aggregates
    forbidden = frozenset(ids[u] for u in filters.forbidden_aggregates if u in ids)
    return query.where(*_requirement_conditions(link, link.c.aggregate_id, required, forbidden))


def _filter_traits(connection: Connection, query: sa.Select,
                   filters: ProviderFilters) -> sa.Select:
    names = set(filters.forbidden_traits).union(*filters.required_traits)
    if not names:
        return query
    ids = common.trait_ids(connection, names)
    unknown = common.missing(names, ids)
    if unknown:
        raise errors.BadRequest(f"No such trait(s): {', '.join(unknown)}.")
    link = tables.resource_provider_traits
    required = [frozenset(ids[name] for name in any_of) for any_of in filters.required_traits]
    forbidden = frozenset(ids[name] for name in filters.forbidden_traits)
    return query.where(*_requirement_conditions(link, link.c.trait_id, required, forbidden))
