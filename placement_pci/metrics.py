"""Prometheus metrics of the API, the claims, the candidate engine, the
snapshot cache and the database pool.

Under ``placement-pci serve`` every gunicorn worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess
mode, set up by ``cli/server.py`` before this module is imported) and a
scrape adds up the files of all workers, live and exited.  In a single
process (tests, ``--local`` CLI commands) the default registry is used.

The recording functions never raise and know nothing of Flask, so services
and the database layer can call them.
"""
from __future__ import annotations

import os
import time
import weakref

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Route label of requests that matched no route: one series, not one per
# path a scanner tries.
UNMATCHED_ROUTE = "unmatched"

REQUESTS = Counter(
    "placement_pci_http_requests_total", "HTTP requests answered",
    ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "placement_pci_http_request_duration_seconds",
    "Time from the request's arrival in the app to its response",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# One series per worker process (pid label): shows that every worker
# serves, and how evenly.
WORKER_REQUESTS = Gauge(
    "placement_pci_worker_requests", "HTTP requests answered by this worker process",
    multiprocess_mode="all")

CLAIMS = Counter(
    "placement_pci_claims_total",
    "Claims (PUT/POST /allocations, PUT /pci/claims) by outcome: ok, "
    "generation_conflict (a concurrent update), capacity_conflict (not enough "
    "free capacity or another 409), rejected (other 4xx), error (5xx)",
    ["api", "outcome"])
TRANSACTION_RETRIES = Counter(
    "placement_pci_transaction_retries_total",
    "Write transactions run again after a deadlock, serialization failure or "
    "lost compare-and-swap")

CANDIDATE_REQUESTS = Counter(
    "placement_pci_candidate_requests_total",
    "Candidate requests: computed, or answered from the snapshot's body cache",
    ["api", "source"])
CANDIDATES_RETURNED = Histogram(
    "placement_pci_candidates_returned",
    "Candidates in a computed answer",
    ["api"], buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000))

SNAPSHOT_REFRESHES = Histogram(
    "placement_pci_snapshot_refresh_seconds",
    "Reloads of the candidate snapshot: full (first load) or incremental "
    "(only the changed trees), and their time",
    ["kind"], buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

POOL_CHECKED_OUT = Gauge(
    "placement_pci_db_pool_checked_out",
    "Database connections in use, summed over live workers",
    multiprocess_mode="livesum")
POOL_CONNECTIONS = Gauge(
    "placement_pci_db_pool_connections",
    "Database connections open (in use or idle), summed over live workers",
    multiprocess_mode="livesum")


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


def registry() -> CollectorRegistry:
    """What a scrape reads: all workers' files, or this process."""
    if not is_multiprocess():
        return REGISTRY
    collecting = CollectorRegistry()
    _multiprocess.MultiProcessCollector(collecting)
    return collecting


def exposition() -> bytes:
    """The text a Prometheus scrape gets."""
    return generate_latest(registry())


def mark_process_dead(pid: int) -> None:
    """Drop an exited worker's live gauges (its counters stay counted)."""
    if is_multiprocess():
        _multiprocess.mark_process_dead(pid)


# --- recording -------------------------------------------------------------

CLAIM_ROUTES = {
    "allocations.put_allocations": "allocations",
    "allocations.post_allocations": "allocations",
    "pci_claims.put_claim": "pci_claims",
}


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)
    WORKER_REQUESTS.inc()


def claim_answered(api: str, status: int, error_code: str | None) -> None:
    """A claim's outcome from its HTTP answer (Placement's error codes tell
    a generation conflict from a capacity one)."""
    if status < 300:
        outcome = "ok"
    elif status == 409:
        outcome = ("generation_conflict" if error_code == "placement.concurrent_update"
                   else "capacity_conflict")
    elif status < 500:
        outcome = "rejected"
    else:
        outcome = "error"
    CLAIMS.labels(api, outcome).inc()


def transaction_retried() -> None:
    TRANSACTION_RETRIES.inc()


def candidates_computed(api: str, count: int) -> None:
    CANDIDATE_REQUESTS.labels(api, "computed").inc()
    CANDIDATES_RETURNED.labels(api).observe(count)


def candidates_from_cache(api: str) -> None:
    CANDIDATE_REQUESTS.labels(api, "cached").inc()


def snapshot_refreshed(kind: str, seconds: float) -> None:
    SNAPSHOT_REFRESHES.labels(kind).observe(seconds)


class SnapshotTimer:
    """``with SnapshotTimer(kind):`` around a snapshot reload."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> SnapshotTimer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        SNAPSHOT_REFRESHES.labels(self.kind).observe(time.perf_counter() - self.started)


_WATCHED_ENGINES: weakref.WeakSet = weakref.WeakSet()


def watch_pool(engine: object) -> None:
    """Count the engine's pool connections through SQLAlchemy's pool events
    (once per engine, however many apps share it)."""
    from sqlalchemy import event

    if engine in _WATCHED_ENGINES:
        return
    _WATCHED_ENGINES.add(engine)
    # Connections opened before this point (migrations, an earlier app).
    pool = engine.pool  # type: ignore[attr-defined]
    if hasattr(pool, "checkedout") and hasattr(pool, "checkedin"):
        POOL_CHECKED_OUT.inc(pool.checkedout())
        POOL_CONNECTIONS.inc(pool.checkedout() + pool.checkedin())

    @event.listens_for(engine, "connect")
    def _connect(*_args: object) -> None:
        POOL_CONNECTIONS.inc()

    @event.listens_for(engine, "close")
    def _close(*_args: object) -> None:
        POOL_CONNECTIONS.dec()

    @event.listens_for(engine, "checkout")
    def _checkout(*_args: object) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_args: object) -> None:
        POOL_CHECKED_OUT.dec()
