"""``placement-pci --config FILE serve`` with auth_strategy = keystone: the
production server (gunicorn's gevent workers, auth_token) against a real
Keystone."""
from __future__ import annotations

import requests

from tests.keystone.conftest import write_config
from tests.serving import Server

V = {"OpenStack-API-Version": "placement 1.39"}


def test_served_with_keystone(tmp_path, keystone, sqlite_database):
    config = write_config(tmp_path / "placement.ini", keystone)
    url = sqlite_database.url.render_as_string(hide_password=False)
    with Server(tmp_path, database_url=url, config_file=config,
                args=("--workers", "1")) as server:
        def get(path, token=None):
            headers = dict(V, **({"X-Auth-Token": token} if token else {}))
            return requests.get(server.url + path, headers=headers, timeout=60)

        anonymous = get("/resource_providers")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}/v3"'
        assert anonymous.json()["errors"][0]["status"] == 401
        assert get("/resource_providers", keystone.token("admin", project="admin")) \
            .status_code == 200
        assert get("/resource_providers", keystone.token("rita")).status_code == 403
        assert get("/resource_providers", "garbage").status_code == 401
    assert "THERE IS NO AUTHENTICATION" not in server.log()
