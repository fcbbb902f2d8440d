"""The worker's candidate snapshot: one ProviderGraph per Database, kept
current against the database fingerprint (``store.provider_graph``).

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
from placement_pci.db.engine import Database
from placement_pci.store.provider_graph import (
    Fingerprint,
    changed_sections,
    load_graph,
    quick_refresh,
    read_fingerprint,
    refresh_graph,
    snapshot_read,
)


@dataclass
class _Cached:
    fingerprint: Fingerprint
    graph: ProviderGraph


class SnapshotCache:
    """One ProviderGraph per Database object, reloaded when the database's
    fingerprint moves.  ``loads`` counts reloads (full or incremental)."""

    def __init__(self, loader: Callable[[Connection], ProviderGraph] = load_graph
                 ) -> None:
        self._loader = loader
        self._cached: weakref.WeakKeyDictionary[Database, _Cached] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()
        self.loads = 0

    def graph(self, database: Database) -> ProviderGraph:
        """A snapshot at least as new as every write committed before now.

        On PostgreSQL, claims and releases are applied from one or two
        single statements (``quick_refresh``).  Otherwise one transaction:
        the fingerprint, and when it moved the rows to refresh from, read
        after it (in its snapshot on PostgreSQL)."""
        cached = self._cached.get(database)
        if (cached is not None and self._loader is load_graph
                and database.backend == "postgresql"):
            started = time.perf_counter()
            fingerprint, graph = quick_refresh(database, cached.fingerprint, cached.graph)
            if graph is cached.graph:
                return graph
            if graph is not None:
                metrics.snapshot_refreshed("incremental", time.perf_counter() - started)
                with self._lock:
                    if self._cached.get(database) is cached:
                        self._cached[database] = _Cached(fingerprint, graph)
                        self.loads += 1
                # Fresh for this request even when another one stored a
                # snapshot meanwhile: both were read after it arrived.
                return graph
        with snapshot_read(database) as connection:
            fingerprint = read_fingerprint(connection)
            cached = self._cached.get(database)
            if cached is not None and cached.fingerprint == fingerprint:
                return cached.graph
            with self._lock:
                current = self._cached.get(database)
                if current is not cached:
                    # Another request refreshed meanwhile: it may be newer
                    # or older than this transaction's view.
                    if current is not None and current.fingerprint == fingerprint:
                        return current.graph
                    cached = current
                # Only the default loader's graphs can be refreshed in place.
                base = cached if self._loader is load_graph else None
                with metrics.SnapshotTimer("full" if base is None else "incremental"):
                    if base is None:
                        graph = self._loader(connection)
                    else:
                        graph = refresh_graph(
                            connection, base.graph,
                            changed_sections(base.fingerprint, fingerprint),
                            (base.fingerprint, fingerprint))
                self.loads += 1
                self._cached[database] = _Cached(fingerprint, graph)
                return graph
