"""auth_strategy = keystone against a real Keystone: tokens are validated
by keystonemiddleware's auth_token, and the policy rules judge the roles,
project and scope the token carries."""
from __future__ import annotations

import uuid

V = {"OpenStack-API-Version": "placement 1.39"}


def call(client, method, path, token=None, json=None, headers=None):
    all_headers = dict(V)
    if token:
        all_headers["X-Auth-Token"] = token
    all_headers.update(headers or {})
    return client.open(path, method=method, headers=all_headers, json=json)


def assert_placement_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    (error,) = response.get_json()["errors"]
    assert error["status"] == status
    assert error["request_id"].startswith("req-")
    assert response.headers["x-openstack-request-id"] == error["request_id"]


def test_no_token_is_401_with_www_authenticate(client, keystone):
    response = call(client, "GET", "/resource_providers")
    assert_placement_error(response, 401)
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}/v3"'


def test_admin_token_is_served(client, keystone):
    token = keystone.token("admin", project="admin")
    created = call(client, "POST", "/resource_providers", token,
                   json={"name": "cn1", "uuid": str(uuid.uuid4())})
    assert created.status_code == 200, created.get_data(as_text=True)
    listed = call(client, "GET", "/resource_providers", token)
    assert listed.status_code == 200
    assert [p["name"] for p in listed.get_json()["resource_providers"]] == ["cn1"]
