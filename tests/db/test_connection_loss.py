"""Database connections that drop under the service: idle pooled ones
are replaced before use (pre-ping), a read that loses its connection
midway runs again, and a write that loses it is a 503 in Placement's
error format (PostgreSQL: pg_terminate_backend; MariaDB: KILL)."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from placement_pci.db.engine import Database
from tests.conftest import ApiClient, make_app

SERVER_BACKENDS = ("postgresql", "mysql")


@pytest.fixture(params=SERVER_BACKENDS)
def server_backend(request) -> str:
    return request.param


@pytest.fixture
def own_database(server_backend, _backend_databases):
    """The backend's test database, through a pool of the app's own, plus
    an administrative connection that kills the app's connections."""
    shared = _backend_databases(server_backend)
    from tests import databases
    databases.empty_database(shared)
    app_database = Database(shared.url.render_as_string(hide_password=False))
    yield app_database, shared
    app_database.dispose()
    # The kills reach the shared pool's connections too (same database);
    # connections used within the last second are not pinged again.
    shared.engine.dispose()


def _app_sessions(admin: sa.Connection, backend: str, name: str,
                  waiting: bool) -> list[int]:
    """Server session ids of other connections to the test database
    (only those waiting on a lock when ``waiting``)."""
    if backend == "postgresql":
        query = ("SELECT pid FROM pg_stat_activity WHERE datname = :name "
                 "AND pid <> pg_backend_pid()")
        if waiting:
            query += " AND wait_event_type = 'Lock'"
    else:
        query = ("SELECT id FROM information_schema.processlist WHERE db = :name "
                 "AND id <> CONNECTION_ID()")
        if waiting:
            query += " AND state LIKE 'Waiting for table%'"
    return list(admin.execute(sa.text(query), {"name": name}).scalars())


def _kill(admin: sa.Connection, backend: str, session_id: int) -> None:
    if backend == "postgresql":
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": session_id})
    else:
        admin.exec_driver_sql(f"KILL {int(session_id)}")


def _lock_providers(admin: sa.Connection, backend: str) -> None:
    """Block every access to resource_providers until _unlock."""
    if backend == "postgresql":
        admin.exec_driver_sql("BEGIN")
        admin.exec_driver_sql("LOCK TABLE resource_providers IN ACCESS EXCLUSIVE MODE")
    else:
        admin.exec_driver_sql("LOCK TABLES resource_providers WRITE")


def _unlock(admin: sa.Connection, backend: str) -> None:
    admin.exec_driver_sql("COMMIT" if backend == "postgresql" else "UNLOCK TABLES")


def _admin(shared: Database) -> sa.Connection:
    engine = sa.create_engine(shared.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    return engine.connect()


def _kill_while_waiting(shared, backend, request) -> list:
    """Run ``request`` in a thread; once its query waits on the lock, kill
    its connection, then release the lock.  Returns [response]."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(request()))
    # Two connections: PostgreSQL shows a transaction one snapshot of
    # pg_stat_activity, so the watcher must not be the lock holder.
    with _admin(shared) as locker, _admin(shared) as admin:
        _run_locked(locker, admin, backend, shared.url.database, thread)
    thread.join(timeout=60)
    return result


def _run_locked(locker, admin, backend, name, thread) -> None:
    _lock_providers(locker, backend)
    try:
        thread.start()
        deadline = time.monotonic() + 30
        while not (waiting := _app_sessions(admin, backend, name, waiting=True)):
            assert time.monotonic() < deadline, "the request never waited on the lock"
            time.sleep(0.05)
        for session_id in waiting:
            _kill(admin, backend, session_id)
        time.sleep(0.3)  # the killed query fails; a retry waits on the lock again
    finally:
        _unlock(locker, backend)


def test_idle_connections_killed_under_the_pool_are_replaced(own_database, server_backend):
    app_database, shared = own_database
    api = ApiClient(make_app(app_database).test_client())
    assert api.get("/resource_providers").status_code == 200
    with _admin(shared) as admin:
        killed = _app_sessions(admin, server_backend, shared.url.database, waiting=False)
        for session_id in killed:
            _kill(admin, server_backend, session_id)
    assert killed
    for _ in range(3):
        assert api.get("/resource_providers").status_code == 200


def test_candidates_survive_connections_killed_under_the_pool(own_database,
                                                             server_backend):
    """The snapshot cache's reads (the change marker, the ledger, a
    refresh) run once more on a fresh connection, even right after use,
    when no ping comes before them."""
    app_database, shared = own_database
    api = ApiClient(make_app(app_database).test_client())
    provider = api.post("/resource_providers", json={"name": "cn1"}).get_json()["uuid"]
    assert api.put(f"/resource_providers/{provider}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 4}}}).status_code == 200
    query = "/allocation_candidates?resources=VCPU:1"
    assert len(api.get(query).get_json()["allocation_requests"]) == 1
    for _ in range(2):
        with _admin(shared) as admin:
            killed = _app_sessions(admin, server_backend, shared.url.database, waiting=False)
            for session_id in killed:
                _kill(admin, server_backend, session_id)
        assert killed
        response = api.get(query)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(response.get_json()["allocation_requests"]) == 1


def test_a_read_that_loses_its_connection_is_retried(own_database, server_backend):
    app_database, shared = own_database
    api = ApiClient(make_app(app_database).test_client())
    assert api.post("/resource_providers", json={"name": "cn1"}).status_code == 200
    (response,) = _kill_while_waiting(shared, server_backend,
                                      lambda: api.get("/resource_providers"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [p["name"] for p in response.get_json()["resource_providers"]] == ["cn1"]


def test_a_write_that_loses_its_connection_is_a_503(own_database, server_backend):
    app_database, shared = own_database
    api = ApiClient(make_app(app_database).test_client())
    provider = str(uuid.uuid4())
    (response,) = _kill_while_waiting(
        shared, server_backend,
        lambda: api.post("/resource_providers", json={"name": "cn1", "uuid": provider}))
    assert response.status_code == 503, response.get_data(as_text=True)
    (error,) = response.get_json()["errors"]
    assert error["status"] == 503
    assert error["code"] == "placement_pci.database_unavailable"
    assert "database connection was lost" in error["detail"]
    assert api.get(f"/resource_providers/{provider}").status_code == 404
