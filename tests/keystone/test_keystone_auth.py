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


def test_garbage_token_is_401(client):
    response = call(client, "GET", "/resource_providers", "gAAAAA-not-a-token")
    assert_placement_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_expired_token_is_401(client, keystone):
    # Signed with Keystone's own keys, for the admin, but expired in 2020.
    response = call(client, "GET", "/resource_providers", keystone.expired_token("alice"))
    assert_placement_error(response, 401)


def test_revoked_token_is_401(client, keystone):
    token = keystone.token("admin", project="admin")
    keystone.revoke(token)
    assert_placement_error(call(client, "GET", "/resource_providers", token), 401)


def test_unauthenticated_request_is_401_before_the_microversion_check(client):
    for version in ("placement 9.99", "placement nonsense"):
        response = call(client, "GET", "/resource_providers",
                        headers={"OpenStack-API-Version": version})
        assert response.status_code == 401


def test_public_routes_need_no_token(client):
    assert client.get("/").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_member_of_a_project_reads_its_own_usages_only(client, keystone):
    token = keystone.token("alice")
    own = keystone.ids["project:demo"]
    other = keystone.ids["project:other"]
    # member implies reader in Keystone: the token carries both roles.
    assert call(client, "GET", f"/usages?project_id={own}", token).status_code == 200
    assert_placement_error(call(client, "GET", f"/usages?project_id={other}", token), 403)
    assert_placement_error(call(client, "GET", "/resource_providers", token), 403)
    assert_placement_error(call(client, "POST", "/resource_providers", token,
                                json={"name": "x"}), 403)


def test_reader_gets_what_the_policy_gives_readers(client, keystone):
    token = keystone.token("rita")
    own = keystone.ids["project:demo"]
    assert call(client, "GET", f"/usages?project_id={own}", token).status_code == 200
    assert_placement_error(call(client, "GET", "/resource_providers", token), 403)
    assert_placement_error(call(client, "GET", "/pci/aliases", token), 403)


def test_identity_headers_from_the_client_are_not_trusted(client, keystone):
    token = keystone.token("mallory")
    forged = {"X-Roles": "admin,service", "X-Project-Id": keystone.ids["project:demo"],
              "X-User-Id": keystone.ids["user:admin"], "X-Identity-Status": "Confirmed",
              "OpenStack-System-Scope": "all"}
    demo = keystone.ids["project:demo"]
    assert_placement_error(call(client, "GET", "/resource_providers", token,
                                headers=forged), 403)
    assert_placement_error(call(client, "GET", f"/usages?project_id={demo}", token,
                                headers=forged), 403)
    # Without any token, forged headers are no identity at all.
    assert_placement_error(call(client, "GET", "/resource_providers",
                                headers=forged), 401)


def test_service_user_with_the_service_role(keystone_app_factory, keystone):
    client = keystone_app_factory(enforce_new_defaults="true")
    service = keystone.token("nova")
    admin = keystone.token("admin", project="admin")
    assert call(client, "GET", "/resource_providers", service).status_code == 200
    # POST /reshaper is for services only under the new defaults: the
    # service passes policy (and fails on its empty body), the admin not.
    reshape = call(client, "POST", "/reshaper", service, json={})
    assert reshape.status_code == 400, reshape.get_data(as_text=True)
    assert_placement_error(call(client, "POST", "/reshaper", admin, json={}), 403)


def test_a_service_token_does_not_lend_its_roles_to_the_user(client, keystone):
    user = keystone.token("alice")
    service = keystone.token("nova")
    response = call(client, "GET", "/resource_providers", user,
                    headers={"X-Service-Token": service})
    assert_placement_error(response, 403)


def test_system_scoped_tokens_with_enforce_scope(keystone_app_factory, keystone):
    enforcing = keystone_app_factory(enforce_scope="true")
    admin_system = keystone.token("admin", system=True)
    # Placement's rules are project-scoped: a system token is refused.
    assert_placement_error(call(enforcing, "GET", "/resource_providers", admin_system), 403)
    reader_system = keystone.token("sysreader", system=True)
    assert_placement_error(call(enforcing, "GET", "/resource_providers", reader_system), 403)

    lenient = keystone_app_factory(enforce_scope="false")
    assert call(lenient, "GET", "/resource_providers", admin_system).status_code == 200
    # Scope aside, a system reader still lacks the admin or service role.
    assert_placement_error(call(lenient, "GET", "/resource_providers", reader_system), 403)


def test_unreachable_keystone_is_503_in_placement_format(keystone_app_factory):
    from tests.keystone.harness import free_port
    client = keystone_app_factory(auth_url=f"http://127.0.0.1:{free_port()}/v3")
    response = call(client, "GET", "/resource_providers", "any-token")
    assert_placement_error(response, 503)
