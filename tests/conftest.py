"""Shared fixtures: databases on every backend, the app, an API client."""
from __future__ import annotations

import pytest

from placement_pci.app import create_app
from placement_pci.settings import Settings
from tests import databases
from tests.contract import check_responses

RUNNING_IN_CI = databases.RUNNING_IN_CI


@pytest.fixture(scope="session")
def _backend_databases(tmp_path_factory):
    """backend name -> migrated Database, created lazily once per session."""
    created: dict[str, object] = {}
    drops = []

    def get(backend: str):
        if backend not in created:
            try:
                url, drop = databases.create_database(
                    backend, str(tmp_path_factory.mktemp("db")))
            except databases.BackendUnavailable as error:
                created[backend] = error
            else:
                drops.append(drop)
                created[backend] = databases.migrated_database(url)
        value = created[backend]
        if isinstance(value, Exception):
            if RUNNING_IN_CI:
                pytest.fail(f"CI must test every backend: {value}")
            pytest.skip(str(value))
        return value

    yield get
    for value in created.values():
        if not isinstance(value, Exception):
            value.dispose()
    for drop in drops:
        drop()


@pytest.fixture(params=databases.BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database(backend, _backend_databases):
    """A migrated, empty database on each backend in turn."""
    db = _backend_databases(backend)
    databases.empty_database(db)
    return db


@pytest.fixture
def sqlite_database(_backend_databases):
    db = _backend_databases("sqlite")
    databases.empty_database(db)
    return db


def make_app(database, **settings):
    url = database.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, **settings), database=database,
                     migrate=False)
    app.testing = True
    # Every answer a test receives must be the one the document describes.
    check_responses(app)
    return app


@pytest.fixture
def app(database):
    return make_app(database)


class ApiClient:
    """Flask test client speaking to the API as the noauth2 admin at a
    given microversion (1.39 unless a call says otherwise)."""

    def __init__(self, flask_client, version: str = "1.39",
                 token: str = "admin") -> None:
        self.client = flask_client
        self.version = version
        self.token = token

    def request(self, method: str, path: str, *, json=None, version=None,
                headers=None, data=None, content_type=None):
        all_headers = {"x-auth-token": self.token} if self.token else {}
        chosen = self.version if version is None else version
        if chosen:
            all_headers["OpenStack-API-Version"] = f"placement {chosen}"
        all_headers.update(headers or {})
        kwargs = {"headers": all_headers}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if content_type is not None:
            kwargs["content_type"] = content_type
        return self.client.open(path, method=method, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)


@pytest.fixture
def api(app) -> ApiClient:
    return ApiClient(app.test_client())
