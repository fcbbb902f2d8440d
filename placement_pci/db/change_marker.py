"""The candidate snapshot's change marker: what a worker compares to know
whether its snapshot is still current, in one primary-key read.

The marker is the pair (``snapshot_markers.structure_version``, the
allocation ledger's ``last_seq``):

- every allocation write the service makes appends ledger entries and
  takes their numbers just before commit (store/ledger.py), so the
  ledger's sequence moves, in commit order, exactly when allocations did,
  and the entries say which providers they touched;
- every other committed write to a table the snapshot is built from
  (``tables.SNAPSHOT_TABLES``) bumps ``structure_version`` as the last
  statement before its COMMIT.  That is done here, for every connection
  of every engine ``make_engine`` builds, by watching the INSERT, UPDATE
  and DELETE statements a transaction runs, so no write path can forget
  it.  A statement carrying ``LEDGERED_WRITE`` is left out: the claim's
  own allocation rows and generation bumps, which its ledger entries
  describe.  Leaving the option off is always safe, only slower (the
  snapshot then refreshes as after a structural change).

Both counters are single rows updated just before commit, so readers at
READ COMMITTED see them move only once the write is visible, and
structural writers queue on the row only for the moment of their commit.
Raw SQL text is not watched: the store writes through SQLAlchemy Core
statements only.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import UpdateBase

from placement_pci.db import tables

# Statement execution option: this write is described by the ledger
# entries the same transaction appends.
LEDGERED_WRITE = {"ledgered_write": True}
# Connection execution option for schema migrations: the marker table may
# not exist yet (migrations.upgrade bumps it once at the end instead).
UNTRACKED = {"snapshot_untracked": True}

_CHANGED = "_placement_pci_snapshot_structure_changed"
_BUMP = ("UPDATE snapshot_markers SET structure_version = structure_version + 1 "
         "WHERE id = 1")
MARKERS = tables.snapshot_markers
LEDGER_SEQUENCE = tables.allocation_ledger_sequence


class ChangeMarker(NamedTuple):
    structure_version: int
    ledger_seq: int


def track_snapshot_writes(engine: Engine) -> None:
    """Make every transaction on ``engine`` that wrote a snapshot table
    (other than ledgered allocation writes) bump the structure version
    just before it commits."""

    # The flag lives on the Connection object, not in ``connection.info``
    # (the pooled DBAPI connection's, which an invalidated connection
    # no longer has): a Connection is one checkout.
    @event.listens_for(engine, "before_execute")
    def _note_write(connection: Connection, statement: Any, _multiparams: Any,
                    _params: Any, options: dict[str, Any]) -> None:
        if (isinstance(statement, UpdateBase)
                and getattr(statement.table, "name", None) in tables.SNAPSHOT_TABLES
                and not options.get("ledgered_write")
                and not options.get("snapshot_untracked")):
            setattr(connection, _CHANGED, True)

    @event.listens_for(engine, "rollback")
    def _forget_on_rollback(connection: Connection) -> None:
        setattr(connection, _CHANGED, False)

    @event.listens_for(engine, "commit")
    def _bump_before_commit(connection: Connection) -> None:
        if getattr(connection, _CHANGED, False):
            setattr(connection, _CHANGED, False)
            # The driver's own cursor: SQLAlchemy is in the middle of the
            # commit and takes no new statements on this connection.
            dbapi_connection = connection.connection.dbapi_connection
            dbapi_error = connection.dialect.loaded_dbapi.Error
            cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(_BUMP)
            except dbapi_error as error:
                # Wrapped as SQLAlchemy would, so a lost connection is
                # still told apart from a bad statement (db/engine.py).
                raise sa.exc.DBAPIError.instance(
                    _BUMP, None, error, dbapi_error,
                    connection_invalidated=connection.dialect.is_disconnect(
                        error, dbapi_connection, cursor)) from error
            finally:
                cursor.close()


def bump_structure_version(connection: Connection) -> None:
    """Move the structure version by hand (after schema migrations, or
    writes made with ``UNTRACKED``)."""
    connection.execute(sa.update(MARKERS).where(MARKERS.c.id == 1).values(
        structure_version=MARKERS.c.structure_version + 1))


_READ = sa.select(
    sa.select(MARKERS.c.structure_version).where(MARKERS.c.id == 1).scalar_subquery(),
    sa.select(LEDGER_SEQUENCE.c.last_seq).where(LEDGER_SEQUENCE.c.id == 1)
    .scalar_subquery())


def read_marker(connection: Connection) -> ChangeMarker | None:
    """Both counters, in one statement (so from one snapshot); None when
    the structure row is missing (someone emptied its table): then nothing
    can be told from it.  A missing ledger row counts as 0: the next
    ledger write recreates it after the newest entry, and following
    entries the snapshot already holds only re-reads usages."""
    structure, ledger = connection.execute(_READ).one()
    if structure is None:
        return None
    return ChangeMarker(int(structure), int(ledger or 0))
