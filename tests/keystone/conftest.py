"""Fixtures: one real Keystone per test worker, and placement_pci apps
that authenticate with it."""
from __future__ import annotations

import pytest

from placement_pci.app import create_app
from placement_pci.settings import Settings
from tests.keystone import harness


@pytest.fixture(scope="session")
def keystone(tmp_path_factory, worker_id):
    # Under xdist every worker's base temp sits in one per-run directory:
    # the workers share its Keystone set-up, each with its own server.
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "keystone"
    server = harness.start(shared)
    yield server
    server.stop()


def write_config(path, keystone, auth_url=None, **placement_settings) -> str:
    """An ini file as an operator writes it: [placement_pci] and Placement's
    own [keystone_authtoken] section."""
    lines = ["[placement_pci]", "auth_strategy = keystone"]
    lines += [f"{key} = {value}" for key, value in placement_settings.items()]
    lines += ["", "[keystone_authtoken]",
              f"www_authenticate_uri = {keystone.url}/v3",
              f"auth_url = {auth_url or keystone.url + '/v3'}",
              "auth_type = password",
              "username = placement",
              f"password = {harness.PASSWORD}",
              "project_name = service",
              "user_domain_name = Default",
              "project_domain_name = Default",
              "service_token_roles_required = true",
              f"region_name = {keystone.region}",
              ""]
    path.write_text("\n".join(lines))
    return str(path)


@pytest.fixture
def keystone_app_factory(keystone, sqlite_database, tmp_path):
    """Build an app with auth_strategy = keystone and extra settings."""
    def build(auth_url=None, **settings):
        config = write_config(tmp_path / "placement.ini", keystone, auth_url, **settings)
        url = sqlite_database.url.render_as_string(hide_password=False)
        app = create_app(Settings.load(config, environ={}, database_url=url),
                         database=sqlite_database, migrate=False)
        app.testing = True
        return app.test_client()
    return build


@pytest.fixture
def client(keystone_app_factory):
    return keystone_app_factory()
