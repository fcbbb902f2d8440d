"""The allocation ledger: who changed which consumer's allocations, when.

Every write of allocations appends one entry per consumer it touched, in
the same transaction (``record_change``, called from the allocation
writers in store/allocations.py and the host-sync heal).  Sequence
numbers come from the single row of ``allocation_ledger_sequence``: the
writer bumps it as the last step before commit and holds its row lock
until then, so numbers are handed out in commit order without gaps.  A
reader that has seen entry N therefore never finds a new entry below N
later, which is what lets a healing job resume from the last number it
stored.
"""
from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci.context import RequestContext
from placement_pci.db import tables
from placement_pci.db.engine import Database, insert_ignoring_duplicates
from placement_pci.store.common import utcnow

LEDGER = tables.allocation_ledger
LEDGER_HOSTS = tables.allocation_ledger_hosts
SEQUENCE = tables.allocation_ledger_sequence
ALLOC = tables.allocations
RP = tables.resource_providers
RC = tables.resource_classes

# What wrote the allocations (the ``action`` of an entry).
PUT_ALLOCATIONS = "allocations.put"
POST_ALLOCATIONS = "allocations.post"
DELETE_ALLOCATIONS = "allocations.delete"
RESHAPE = "reshaper"
CLAIM = "pci.claim"
RELEASE = "pci.release"
HOST_SYNC_HEAL = "pci.host_sync.heal"
AUDIT_HEAL = "pci.audit.heal"

MAX_PAGE = 1000
# Providers' roots, whose names are the hosts an entry is filed under
# (made once: an alias builds its column collection when first used).
ROOT = RP.alias("root")


@dataclass(frozen=True)
class Holding:
    """One consumer's allocations, in the dict form of GET
    /allocations/{consumer} (provider uuid -> {"resources": {...}}), and
    the hosts (root provider names) they sit on."""

    allocations: dict[str, dict[str, dict[str, int]]]
    hostnames: frozenset[str]


EMPTY = Holding({}, frozenset())


def holdings_select(*extra: sa.ColumnElement) -> sa.Select:
    """The allocation rows of the consumers in the bound list
    ``consumer_uuids``, with what a Holding shows of them (columns
    ``consumer_id``, ``provider_uuid``, ``hostname``, ``class_name``,
    ``used``), plus the ``extra`` columns of ``allocations`` a caller
    wants too.  Build it once and execute it with the list."""
    return (sa.select(ALLOC.c.consumer_id, RP.c.uuid.label("provider_uuid"),
                      ROOT.c.name.label("hostname"), RC.c.name.label("class_name"),
                      ALLOC.c.used, *extra)
            .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .outerjoin(ROOT, ROOT.c.id == RP.c.root_provider_id)
            .where(ALLOC.c.consumer_id.in_(sa.bindparam("consumer_uuids", expanding=True))))


_HOLDINGS = holdings_select()


def holdings_from_rows(rows: Iterable[Any], consumer_uuids: Iterable[str]
                       ) -> dict[str, Holding]:
    """The Holding of every consumer given (EMPTY for those without rows)
    from rows of ``holdings_select``."""
    allocations: dict[str, dict[str, dict[str, dict[str, int]]]] = defaultdict(dict)
    hostnames: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        resources = allocations[row.consumer_id].setdefault(
            row.provider_uuid, {"resources": {}})["resources"]
        resources[row.class_name] = resources.get(row.class_name, 0) + row.used
        if row.hostname:
            hostnames[row.consumer_id].add(row.hostname)
    return {uuid: Holding(dict(allocations.get(uuid, {})),
                          frozenset(hostnames.get(uuid, ())))
            for uuid in sorted(set(consumer_uuids))}


def read_holdings(connection: Connection,
                  consumer_uuids: Iterable[str]) -> dict[str, Holding]:
    """The current allocations of the given consumers (all of them in the
    result; EMPTY for those holding nothing)."""
    wanted = sorted(set(consumer_uuids))
    if not wanted:
        return {}
    return holdings_from_rows(
        connection.execute(_HOLDINGS, {"consumer_uuids": wanted}), wanted)


def record_change(connection: Connection, context: RequestContext, action: str,
                  before: Mapping[str, Holding]) -> list[int]:
    """Append one entry per consumer in ``before`` (their allocations as
    read before the write), reading what they hold now as ``after``.
    Call it after the allocation rows are written, in the same
    transaction.  Returns the sequence numbers used."""
    after = read_holdings(connection, before)
    return append(connection, context, action,
                  [(uuid, before[uuid], after[uuid]) for uuid in sorted(before)])


def append(connection: Connection, context: RequestContext, action: str,
           changes: list[tuple[str, Holding, Holding]]) -> list[int]:
    """Write the entries (consumer, before, after) with fresh numbers."""
    if not changes:
        return []
    last = _take_numbers(connection, len(changes))
    first = last - len(changes) + 1
    now = utcnow()
    rows: list[dict[str, object]] = []
    host_rows: list[dict[str, object]] = []
    for seq, (consumer, before, after) in enumerate(changes, start=first):
        rows.append({
            "seq": seq, "logged_at": now, "consumer_uuid": consumer,
            "action": action,
            "allocations_before": json.dumps(before.allocations, sort_keys=True),
            "allocations_after": json.dumps(after.allocations, sort_keys=True),
            "request_id": context.request_id,
            "global_request_id": context.global_request_id,
            "user_id": context.user_id, "project_id": context.project_id})
        host_rows.extend({"seq": seq, "hostname": hostname}
                         for hostname in sorted(before.hostnames | after.hostnames))
    connection.execute(sa.insert(LEDGER), rows)
    if host_rows:
        connection.execute(sa.insert(LEDGER_HOSTS), host_rows)
    return list(range(first, last + 1))


def _take_numbers(connection: Connection, count: int) -> int:
    """Bump the sequence row by ``count`` (locking it until commit);
    the new last number."""
    last = _bump_sequence(connection, count)
    if last is None:
        # The row is seeded by the migration; recreate it if someone
        # emptied the table, continuing after the newest entry.
        newest = connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(LEDGER.c.seq), 0))).scalar_one()
        insert_ignoring_duplicates(connection, SEQUENCE, [{"id": 1, "last_seq": newest}])
        last = _bump_sequence(connection, count)
    if last is None:  # pragma: no cover - only if the row vanished again
        raise RuntimeError("the allocation ledger's sequence row is missing")
    return last


_BUMP = (sa.update(SEQUENCE).where(SEQUENCE.c.id == 1)
         .values(last_seq=SEQUENCE.c.last_seq + sa.bindparam("count", type_=sa.BigInteger)))
_BUMP_RETURNING = _BUMP.returning(SEQUENCE.c.last_seq)
_LAST_SEQ = sa.select(SEQUENCE.c.last_seq).where(SEQUENCE.c.id == 1)


def _bump_sequence(connection: Connection, count: int) -> int | None:
    """The UPDATE of the sequence row; its new last number, None when
    the row is missing."""
    if connection.dialect.update_returning:
        # One round trip on PostgreSQL and SQLite.
        last = connection.execute(_BUMP_RETURNING, {"count": count}).scalar()
        return None if last is None else int(last)
    # MariaDB has no UPDATE ... RETURNING: read the row back, under the
    # lock the UPDATE took.
    if not connection.execute(_BUMP, {"count": count}).rowcount:
        return None
    return int(connection.execute(_LAST_SEQ).scalar_one())


# --- reading and pruning ------------------------------------------------------


@dataclass(frozen=True)
class LedgerPage:
    entries: list[dict[str, Any]]
    next_since: int


def _iso(moment: datetime.datetime) -> str:
    return moment.replace(tzinfo=datetime.UTC).isoformat().replace("+00:00", "Z")


def _entry_view(row: Any) -> dict[str, Any]:
    return {"seq": int(row.seq), "time": _iso(row.logged_at),
            "consumer_uuid": row.consumer_uuid, "action": row.action,
            "before": json.loads(row.allocations_before),
            "after": json.loads(row.allocations_after),
            "request_id": row.request_id,
            "global_request_id": row.global_request_id,
            "user_id": row.user_id, "project_id": row.project_id}


def list_entries(database: Database, *, consumer_uuid: str | None = None,
                 hostname: str | None = None, since: int = 1,
                 limit: int = 100) -> LedgerPage:
    """Entries numbered ``since`` or later, oldest first, at most ``limit``.

    ``next_since`` is where the next page starts: after the last entry
    returned, or (when the page is not full) after everything the ledger
    held when it was read, so a filtered reader skips what cannot match.
    """
    def read(connection: Connection) -> LedgerPage:
        # The horizon first: every entry at or below it has committed.
        horizon = connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(LEDGER.c.seq), 0))).scalar_one()
        query = (sa.select(LEDGER)
                 .where(LEDGER.c.seq >= since, LEDGER.c.seq <= horizon)
                 .order_by(LEDGER.c.seq).limit(limit))
        if consumer_uuid is not None:
            query = query.where(LEDGER.c.consumer_uuid == consumer_uuid)
        if hostname is not None:
            query = query.where(LEDGER.c.seq.in_(
                sa.select(LEDGER_HOSTS.c.seq).where(LEDGER_HOSTS.c.hostname == hostname)))
        rows = connection.execute(query).all()
        full = len(rows) == limit
        next_since = int(rows[-1].seq) + 1 if full else max(since, int(horizon) + 1)
        return LedgerPage([_entry_view(row) for row in rows], next_since)

    return database.run_read(read)


def prune(database: Database, *, older_than_days: int = 0, keep_entries: int = 0,
          now: datetime.datetime | None = None) -> int:
    """Delete entries older than ``older_than_days`` and all but the
    newest ``keep_entries`` (0 disables either rule).  Returns how many
    entries went."""
    def run(connection: Connection) -> int:
        cutoffs = []
        if older_than_days > 0:
            moment = (now or utcnow()) - datetime.timedelta(days=older_than_days)
            newest_old = connection.execute(
                sa.select(sa.func.max(LEDGER.c.seq))
                .where(LEDGER.c.logged_at < moment)).scalar_one()
            if newest_old is not None:
                cutoffs.append(int(newest_old))
        if keep_entries > 0:
            newest = connection.execute(sa.select(sa.func.max(LEDGER.c.seq))).scalar_one()
            if newest is not None:
                cutoffs.append(int(newest) - keep_entries)
        if not cutoffs or max(cutoffs) < 1:
            return 0
        # Entries are numbered in time order, so both rules are "every
        # entry up to some number".
        cutoff = max(cutoffs)
        connection.execute(sa.delete(LEDGER_HOSTS).where(LEDGER_HOSTS.c.seq <= cutoff))
        return connection.execute(sa.delete(LEDGER).where(LEDGER.c.seq <= cutoff)).rowcount

    return database.run_write(run)


def lost_allocations(connection: Connection, consumer_uuids: Iterable[str]
                     ) -> dict[str, dict[str, dict[str, int]]]:
    """For consumers whose latest ledger entry emptied their allocations:
    consumer -> what they held just before ({provider: {class: amount}}).
    The audit re-creates a claim's allocations from this."""
    wanted = sorted(set(consumer_uuids))
    if not wanted:
        return {}
    latest = (sa.select(LEDGER.c.consumer_uuid, sa.func.max(LEDGER.c.seq).label("seq"))
              .where(LEDGER.c.consumer_uuid.in_(wanted))
              .group_by(LEDGER.c.consumer_uuid).subquery())
    rows = connection.execute(
        sa.select(LEDGER.c.consumer_uuid, LEDGER.c.allocations_before,
                  LEDGER.c.allocations_after)
        .join(latest, latest.c.seq == LEDGER.c.seq))
    result = {}
    for consumer, before_text, after_text in rows:
        before, after = json.loads(before_text), json.loads(after_text)
        if before and not after:
            result[consumer] = {provider: dict(entry["resources"])
                                for provider, entry in before.items()}
    return result


def latest_entries(database: Database, count: int) -> list[dict[str, Any]]:
    """The newest ``count`` entries, oldest first."""
    def read(connection: Connection) -> list[dict[str, Any]]:
        rows = connection.execute(
            sa.select(LEDGER).order_by(LEDGER.c.seq.desc()).limit(count)).all()
        return [_entry_view(row) for row in reversed(rows)]

    return database.run_read(read)
