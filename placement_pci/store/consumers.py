"""Consumers (whatever holds allocations: instances, migrations, ...) and
the projects, users and consumer types they refer to.

Everything here runs on a Connection inside the caller's write transaction.
A consumer row exists exactly while the consumer holds allocations; its
generation is bumped with a compare-and-swap on every change of its
allocations, which is what makes the 1.28 ``consumer_generation`` checks
and the serialisation of concurrent writers of one consumer work.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import RetryTransaction, insert_ignoring_duplicates
from placement_pci.store.common import utcnow

CONSUMERS = tables.consumers
# Placement's values for consumers written before 1.8, which had no project
# or user.
INCOMPLETE_CONSUMER_PROJECT_ID = "00000000-0000-0000-0000-000000000000"
INCOMPLETE_CONSUMER_USER_ID = "00000000-0000-0000-0000-000000000000"
# Shown for consumers that never said what they are (NULL consumer_type_id).
UNKNOWN_CONSUMER_TYPE = "unknown"


@dataclass(frozen=True)
class Consumer:
    id: int
    uuid: str
    generation: int
    project_id: str
    user_id: str
    consumer_type: str  # UNKNOWN_CONSUMER_TYPE when none was given
    # Row ids of the project, user and type (None: no type), so that a
    # write keeping the consumer's owner needs no name lookups.
    project_row_id: int
    user_row_id: int
    type_row_id: int | None


def _ensure_named(connection: Connection, table: sa.Table, column: sa.Column,
                  value: str) -> int:
    """Id of the row whose ``column`` is ``value``, inserting it if needed
    (concurrent inserters of the same value all end up with the one row)."""
    select = sa.select(table.c.id).where(column == value)
    found = connection.execute(select).scalar()
    if found is None:
        now = utcnow()
        insert_ignoring_duplicates(connection, table,
                                   [{column.name: value, "created_at": now,
                                     "updated_at": now}])
        found = connection.execute(select).scalar()
    if found is None:  # pragma: no cover - only if the row vanished meanwhile
        raise RetryTransaction()
    return found


def ensure_project(connection: Connection, external_id: str) -> int:
    return _ensure_named(connection, tables.projects,
                         tables.projects.c.external_id, external_id)


def ensure_user(connection: Connection, external_id: str) -> int:
    return _ensure_named(connection, tables.users, tables.users.c.external_id,
                         external_id)


def ensure_consumer_type(connection: Connection, name: str) -> int:
    return _ensure_named(connection, tables.consumer_types,
                         tables.consumer_types.c.name, name)


# The claim's statements are built once, with bound parameters, not per
# call: building and keying a statement costs more Python than running it.

def _consumer_select() -> sa.Select:
    projects, users, types = tables.projects, tables.users, tables.consumer_types
    return (
        sa.select(CONSUMERS.c.id, CONSUMERS.c.uuid, CONSUMERS.c.generation,
                  projects.c.external_id.label("project_id"),
                  users.c.external_id.label("user_id"),
                  types.c.name.label("consumer_type"),
                  CONSUMERS.c.project_id.label("project_row_id"),
                  CONSUMERS.c.user_id.label("user_row_id"),
                  CONSUMERS.c.consumer_type_id.label("type_row_id"))
        .select_from(CONSUMERS
                     .join(projects, CONSUMERS.c.project_id == projects.c.id)
                     .join(users, CONSUMERS.c.user_id == users.c.id)
                     .outerjoin(types, CONSUMERS.c.consumer_type_id == types.c.id))
    )


_CONSUMER_SELECT = _consumer_select()
_CONSUMERS_BY_UUID = _CONSUMER_SELECT.where(
    CONSUMERS.c.uuid.in_(sa.bindparam("uuids", expanding=True)))


def _owned_insert(with_type: bool) -> sa.Insert:
    """INSERT ... SELECT of a consumer whose project and user (and type)
    rows are found by name; it inserts nothing when one is missing."""
    projects, users, types = tables.projects, tables.users, tables.consumer_types
    user_row = (sa.select(users.c.id).where(users.c.external_id == sa.bindparam("user_id"))
                .scalar_subquery())
    conditions = [projects.c.external_id == sa.bindparam("project_id"),
                  user_row.is_not(None)]
    type_row: sa.ColumnElement = sa.null()
    if with_type:
        type_row = (sa.select(types.c.id).where(types.c.name == sa.bindparam("consumer_type"))
                    .scalar_subquery())
        conditions.append(type_row.is_not(None))
    now = sa.bindparam("now", type_=sa.DateTime)
    source = (sa.select(sa.bindparam("uuid", type_=sa.String), projects.c.id, user_row,
                        type_row, sa.bindparam("generation", type_=sa.Integer), now, now)
              .where(*conditions))
    return (sa.insert(CONSUMERS)
            .from_select(["uuid", "project_id", "user_id", "consumer_type_id",
                          "generation", "created_at", "updated_at"], source)
            # The rowcount says whether the owner's rows were all there.
            .execution_options(preserve_rowcount=True))


_OWNED_INSERT = {False: _owned_insert(False), True: _owned_insert(True)}


def _to_consumer(row: sa.Row) -> Consumer:
    return Consumer(id=row.id, uuid=row.uuid, generation=row.generation,
                    project_id=row.project_id, user_id=row.user_id,
                    consumer_type=row.consumer_type or UNKNOWN_CONSUMER_TYPE,
                    project_row_id=row.project_row_id, user_row_id=row.user_row_id,
                    type_row_id=row.type_row_id)


def get_consumer(connection: Connection, uuid: str) -> Consumer | None:
    row = connection.execute(_CONSUMER_SELECT.where(CONSUMERS.c.uuid == uuid)).first()
    return _to_consumer(row) if row is not None else None


def get_consumers(connection: Connection, uuids: Iterable[str]) -> dict[str, Consumer]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = connection.execute(_CONSUMERS_BY_UUID, {"uuids": wanted})
    return {row.uuid: _to_consumer(row) for row in rows}


def create_consumer(connection: Connection, uuid: str, *, project_row_id: int,
                    user_row_id: int, consumer_type_row_id: int | None,
                    generation: int = 1) -> None:
    """Insert a consumer.  A concurrent creator of the same uuid makes the
    whole transaction run again (it will then find the consumer)."""
    now = utcnow()
    with _created_concurrently(uuid):
        connection.execute(sa.insert(CONSUMERS).values(
            uuid=uuid, project_id=project_row_id, user_id=user_row_id,
            consumer_type_id=consumer_type_row_id, generation=generation,
            created_at=now, updated_at=now))


def create_owned_consumer(connection: Connection, uuid: str, *, project_id: str,
                          user_id: str, consumer_type: str | None,
                          generation: int = 1) -> None:
    """Insert a consumer owned by the project and user with these external
    ids (and of this type, None for none), creating them if needed.

    The usual case, owners that exist, is one INSERT ... SELECT that finds
    their rows by name (no id is remembered between transactions, so a
    row removed or renumbered behind the service's back cannot be
    referred to); only when it inserts nothing are the missing rows
    created and the consumer inserted by id.
    """
    parameters: dict[str, object] = {
        "uuid": uuid, "project_id": project_id, "user_id": user_id,
        "generation": generation, "now": utcnow()}
    if consumer_type is not None:
        parameters["consumer_type"] = consumer_type
    with _created_concurrently(uuid):
        inserted = connection.execute(
            _OWNED_INSERT[consumer_type is not None], parameters).rowcount
    if inserted == 1:
        return
    create_consumer(
        connection, uuid, project_row_id=ensure_project(connection, project_id),
        user_row_id=ensure_user(connection, user_id),
        consumer_type_row_id=(ensure_consumer_type(connection, consumer_type)
                              if consumer_type is not None else None),
        generation=generation)


@contextmanager
def _created_concurrently(uuid: str) -> Iterator[None]:
    """A duplicate consumer uuid means another transaction created it
    meanwhile: run ours again (it will then find the consumer)."""
    try:
        yield
    except sa.exc.IntegrityError:
        raise RetryTransaction(errors.Conflict(
            f"consumer generation conflict - consumer {uuid} was created "
            "concurrently; refresh and retry",
            code=errors.CONCURRENT_UPDATE)) from None


def bump_consumer(connection: Connection, consumer: Consumer, *,
                  project_row_id: int, user_row_id: int,
                  consumer_type_row_id: int | None) -> int:
    """Compare-and-swap the consumer's generation (and set its owner and
    type); return the new generation.  Losing the race reruns the
    transaction, which re-reads the consumer and re-checks the caller's
    expected generation."""
    values: dict[str, object] = {
        "generation": consumer.generation + 1, "project_id": project_row_id,
        "user_id": user_row_id, "updated_at": utcnow()}
    if consumer_type_row_id is not None:
        values["consumer_type_id"] = consumer_type_row_id
    result = connection.execute(
        sa.update(CONSUMERS)
        .where(CONSUMERS.c.id == consumer.id,
               CONSUMERS.c.generation == consumer.generation)
        .values(**values))
    if result.rowcount != 1:
        raise RetryTransaction(errors.Conflict(
            f"consumer generation conflict - consumer {consumer.uuid} changed "
            "concurrently; refresh and retry", code=errors.CONCURRENT_UPDATE))
    return consumer.generation + 1


def bump_owned_consumer(connection: Connection, consumer: Consumer, *, project_id: str,
                        user_id: str, consumer_type: str | None) -> int:
    """``bump_consumer`` naming the owner by external ids (the type None:
    leave it).  The consumer's own rows are reused when the names are
    its current ones (they were read with it, joined by id), so the
    usual write that keeps the owner looks nothing up."""
    project_row_id = (consumer.project_row_id if project_id == consumer.project_id
                      else ensure_project(connection, project_id))
    user_row_id = (consumer.user_row_id if user_id == consumer.user_id
                   else ensure_user(connection, user_id))
    type_row_id = None
    if consumer_type is not None:
        type_row_id = (consumer.type_row_id
                       if consumer.type_row_id is not None
                       and consumer_type == consumer.consumer_type
                       else ensure_consumer_type(connection, consumer_type))
    return bump_consumer(connection, consumer, project_row_id=project_row_id,
                         user_row_id=user_row_id, consumer_type_row_id=type_row_id)


def delete_consumers_without_allocations(connection: Connection,
                                         uuids: Iterable[str]) -> set[str]:
    """Delete those of ``uuids`` that hold no allocation; return them."""
    wanted = set(uuids)
    if not wanted:
        return set()
    holding = set(connection.execute(
        sa.select(tables.allocations.c.consumer_id)
        .where(tables.allocations.c.consumer_id.in_(wanted))
        .distinct()).scalars())
    empty = wanted - holding
    if empty:
        connection.execute(sa.delete(CONSUMERS).where(CONSUMERS.c.uuid.in_(empty)))
    return empty
