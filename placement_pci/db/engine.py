"""Engine creation, transactions and retry of transient database failures.

The three backends need different care:

- SQLite: one writer at a time.  Write transactions start with
  ``BEGIN IMMEDIATE`` and wait (busy timeout) instead of failing with
  "database is locked" halfway through.
- PostgreSQL and MySQL/MariaDB run at READ COMMITTED so every statement in
  a claim sees the latest committed rows once it holds the provider locks.
- Deadlocks and serialization failures are retried as a whole transaction.
- Connections the server dropped (restart, ``pg_terminate_backend``,
  MariaDB ``wait_timeout`` or KILL) are found before use by a ping when
  they sat idle in the pool for more than a second.  A read that loses
  its connection midway runs once more on a fresh one (the snapshot
  cache's reads too); a write that loses it is answered 503 (its outcome
  is not known to have happened, and the client decides whether to
  repeat it).
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from placement_pci import errors, metrics
from placement_pci.db.change_marker import track_snapshot_writes

LOG = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_SECONDS = 60


class RetryTransaction(Exception):
    """Raised inside a write transaction to roll it back and run it again
    (for instance when a compare-and-swap lost a race that a fresh read
    would resolve)."""


def normalize_url(url: str) -> sa.URL:
    """Map common driver spellings onto the drivers this project ships."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb"):
        parsed = parsed.set(drivername=f"{backend}+pymysql")
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                          "check_same_thread": False},
        )
        _configure_sqlite(engine)
        track_snapshot_writes(engine)
        return engine
    engine = sa.create_engine(
        parsed,
        isolation_level="READ COMMITTED",
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_recycle=3600,
    )
    _ping_idle_connections(engine)
    track_snapshot_writes(engine)
    return engine


# A pooled connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "placement_pci.idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for connections that sat in
    the pool for a while: under load a connection comes back within
    milliseconds, and a round trip per checkout was a tenth of a busy
    worker's time.  A connection the server dropped in that short window
    fails its first statement instead; SQLAlchemy then recycles the whole
    pool, reads run once more and writes answer 503 (``Database``)."""

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            # The dialect's own ping, as pool_pre_ping uses: it leaves no
            # transaction open behind it.
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another.
            raise sa.exc.DisconnectionError(str(error)) from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("write_transaction"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def is_transient_error(error: BaseException) -> bool:
    """Deadlocks, serialization failures, lock timeouts: worth a retry."""
    if isinstance(error, RetryTransaction):
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in (1205, 1213):
        return True
    text = str(original).lower()
    return "database is locked" in text or "deadlock" in text


# SQLSTATE classes of a lost or refused connection: 08 (connection
# exception), 57P01-57P03 (server shut down or terminated the session).
DISCONNECT_SQLSTATE_PREFIXES = ("08", "57P0")
# MySQL/MariaDB: server shutdown, connection killed, cannot connect, gone
# away, lost during query, closed for inactivity (wait_timeout).
MYSQL_DISCONNECT_CODES = frozenset({1053, 1927, 2002, 2003, 2006, 2013, 2014, 2045,
                                    2055, 4031})


def is_disconnect(error: BaseException) -> bool:
    """Whether ``error`` means the database connection is gone (or could
    not be made), as opposed to a problem with the statement."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(DISCONNECT_SQLSTATE_PREFIXES):
        return True
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int) and args[0] in MYSQL_DISCONNECT_CODES:
        return True
    # psycopg reports a connection it could not make or lost without a SQLSTATE.
    return (type(original).__module__.startswith("psycopg")
            and isinstance(error, sa.exc.OperationalError) and not sqlstate)


def _unavailable(error: BaseException, doing: str) -> errors.ServiceUnavailable:
    LOG.warning("database connection lost %s: %s", doing, error)
    return errors.ServiceUnavailable(
        f"The database connection was lost {doing}; try again.",
        code=errors.DATABASE_UNAVAILABLE)


class Database:
    """The engine plus the two kinds of transaction the domain layer uses."""

    def __init__(self, url: str, *, pool_size: int = 5, retries: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(url, pool_size=pool_size)
        self.retries = retries

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; a lost connection raises ServiceUnavailable
        (run_read also retries once)."""
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except sa.exc.DBAPIError as error:
            if is_disconnect(error):
                raise _unavailable(error, "while reading") from error
            raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; a lost connection raises ServiceUnavailable."""
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(write_transaction=True)
                with connection.begin():
                    yield connection
        except sa.exc.DBAPIError as error:
            if is_disconnect(error):
                raise _unavailable(error, "while writing; the change may not "
                                          "have been made") from error
            raise

    def run_write(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` in a write transaction, retrying transient
        failures (and RetryTransaction) with jittered backoff."""
        attempt = 0
        while True:
            try:
                with self.write() as connection:
                    return operation(connection)
            except Exception as error:  # noqa: BLE001 - filtered below
                attempt += 1
                if not is_transient_error(error) or attempt > self.retries:
                    if isinstance(error, RetryTransaction) and error.args:
                        cause = error.args[0]
                        if isinstance(cause, BaseException):
                            raise cause from None
                    raise
                LOG.debug("retrying transaction after %r (attempt %d)", error, attempt)
                metrics.transaction_retried()
                time.sleep(min(0.5, 0.005 * (2 ** attempt)) * random.random())

    def run_read(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` in a read transaction; when the connection is
        lost midway, run it once more on a fresh connection."""
        try:
            with self.read() as connection:
                return operation(connection)
        except errors.ServiceUnavailable:
            LOG.info("retrying a read once after losing its database connection")
        with self.read() as connection:
            return operation(connection)

    def retry_lost_connection(self, operation: Callable[[], T]) -> T:
        """Run a read that manages its own connections (the snapshot
        cache's); when its connection is lost midway, run it once more,
        then answer 503."""
        try:
            return operation()
        except sa.exc.DBAPIError as error:
            if not is_disconnect(error):
                raise
        LOG.info("retrying a read once after losing its database connection")
        # The others in the pool were very likely lost with it, and those
        # used within the last second are not pinged.
        self.engine.dispose()
        try:
            return operation()
        except sa.exc.DBAPIError as error:
            if is_disconnect(error):
                raise _unavailable(error, "while reading") from error
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def insert_ignoring_duplicates(connection: Connection, table: sa.Table,
                               rows: list[dict]) -> None:
    """INSERT rows, silently skipping ones that violate a unique key
    (used for idempotent seeding that concurrent workers may race on)."""
    if not rows:
        return
    dialect = connection.dialect.name
    statement: sa.Insert
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql
        statement = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:
        statement = table.insert().prefix_with("IGNORE")
    connection.execute(statement, rows)
