"""The worker's candidate snapshot: one ProviderGraph per Database, kept
current against the database's change marker (``db.change_marker``) and
fingerprint (``store.provider_graph``).

The Flask app owns one ``SnapshotCache`` (``app.extensions``); services get
it passed in, so two apps in one process (tests model several workers that
way) never share a snapshot.
"""
from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from placement_pci import metrics
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.db.change_marker import ChangeMarker, read_marker
from placement_pci.db.engine import Database
from placement_pci.store.provider_graph import (
    Fingerprint,
    changed_sections,
    follow_ledger,
    load_graph,
    read_fingerprint,
    refresh_graph,
    snapshot_read,
)


@dataclass
class _Cached:
    marker: ChangeMarker | None
    fingerprint: Fingerprint
    graph: ProviderGraph
    # The graph holds exactly what ``fingerprint`` describes (read in its
    # snapshot); false once ledger entries were followed after it.
    exact: bool = True


class SnapshotCache:
    """One ProviderGraph per Database object, kept current against the
    database's change marker.  ``loads`` counts reloads (full or
    incremental)."""

    def __init__(self, loader: Callable[[Connection], ProviderGraph] = load_graph
                 ) -> None:
        self._loader = loader
        self._cached: weakref.WeakKeyDictionary[Database, _Cached] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self.loads = 0

    def graph(self, database: Database) -> ProviderGraph:
        """A snapshot at least as new as every write committed before now.

        The common case is one statement: the change marker, unchanged.
        When only allocations moved, the ledger entries since the snapshot
        say which providers' usages to read again.  Anything else: one
        transaction reading the marker, the fingerprint and, when it
        moved, the rows to refresh from (in its snapshot on PostgreSQL)."""
        return database.retry_lost_connection(lambda: self._graph(database))

    def _graph(self, database: Database) -> ProviderGraph:
        cached = self._cached.get(database)
        if cached is not None and cached.marker is not None and self._loader is load_graph:
            graph = self._follow_marker(database, cached)
            if graph is not None:
                return graph
        return self._refresh(database)

    def _follow_marker(self, database: Database, cached: _Cached) -> ProviderGraph | None:
        started = time.perf_counter()
        assert cached.marker is not None
        with database.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # One snapshot per statement is all this needs: no
                # BEGIN/COMMIT round trips.  (On MySQL switching costs a
                # round trip each way; its READ COMMITTED gives the same.)
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            marker = read_marker(connection)
            if marker == cached.marker:
                return cached.graph
            if (marker is None
                    or marker.structure_version != cached.marker.structure_version
                    or marker.ledger_seq < cached.marker.ledger_seq):
                return None
            graph = follow_ledger(connection, cached.graph, cached.marker.ledger_seq,
                                  marker.ledger_seq)
        if graph is None:
            return None
        metrics.snapshot_refreshed("incremental", time.perf_counter() - started)
        with self._lock:
            if self._cached.get(database) is cached:
                self._cached[database] = _Cached(marker, cached.fingerprint, graph,
                                                 exact=False)
                self.loads += 1
        # Fresh for this request even when another one stored a snapshot
        # meanwhile: both were read after it arrived.
        return graph

    def _refresh(self, database: Database) -> ProviderGraph:
        with snapshot_read(database) as connection:
            marker = read_marker(connection)
            fingerprint = read_fingerprint(connection)
            with self._lock:
                base = self._cached.get(database)
                if base is not None and base.exact and base.fingerprint == fingerprint:
                    self._cached[database] = _Cached(marker, fingerprint, base.graph)
                    return base.graph
                if self._loader is not load_graph:
                    # Only the default loader's graphs can be refreshed in place.
                    base = None
                with metrics.SnapshotTimer("full" if base is None else "incremental"):
                    if base is None:
                        graph = self._loader(connection)
                    elif base.exact:
                        graph = refresh_graph(
                            connection, base.graph,
                            changed_sections(base.fingerprint, fingerprint),
                            (base.fingerprint, fingerprint))
                    else:
                        # Usages and generations moved since the fingerprint
                        # without it: compare every provider row, re-read usages.
                        graph = refresh_graph(
                            connection, base.graph,
                            changed_sections(base.fingerprint, fingerprint)
                            | {"providers", "allocations"})
                self.loads += 1
                self._cached[database] = _Cached(marker, fingerprint, graph)
                return graph
