"""The version document, microversion negotiation and auth at the edge."""
import pytest


def test_root_needs_no_token_and_lists_versions(api):
    api.token = None
    response = api.get("/", version="")
    assert response.status_code == 200
    version = response.get_json()["versions"][0]
    assert (version["min_version"], version["max_version"]) == ("1.0", "1.39")
    assert response.headers["OpenStack-API-Version"] == "placement 1.0"
    assert "openstack-api-version" in response.headers["Vary"].lower()
    assert response.headers["x-openstack-request-id"].startswith("req-")


@pytest.mark.parametrize("header,expected", [
    ("placement latest", "placement 1.39"),
    ("placement 1.17", "placement 1.17"),
])
def test_version_header_is_echoed(api, header, expected):
    response = api.get("/", version="", headers={"OpenStack-API-Version": header})
    assert response.headers["OpenStack-API-Version"] == expected


@pytest.mark.parametrize("header,status", [
    ("placement 1.40", 406), ("placement 2.0", 406), ("placement 1.x", 400)])
def test_bad_versions_are_refused_in_placement_format(api, header, status):
    response = api.get("/", version="", headers={"OpenStack-API-Version": header})
    assert response.status_code == status
    error = response.get_json()["errors"][0]
    assert error["status"] == status
    assert error["request_id"] == response.headers["x-openstack-request-id"]


def test_unknown_path_is_json_404(api):
    response = api.get("/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["code"] == "placement.undefined_code"


def test_missing_token_is_401_and_non_admin_403(api):
    api.token = None
    assert api.get("/resource_providers").status_code == 401
    api.token = "alice:project1"
    assert api.get("/resource_providers").status_code == 403


@pytest.mark.parametrize("headers,status", [
    ({"x-auth-token": "svc", "x-roles": "service"}, 404),
    ({"x-auth-token": "user", "x-roles": "admin,member,reader"}, 404),
    ({"x-auth-token": "user", "x-roles": "admin", "openstack-system-scope": "all"}, 403),
    ({"x-auth-token": "user", "x-roles": "member,reader"}, 403),
])
def test_policy_needs_admin_or_service_on_a_project_scoped_token(api, headers, status):
    api.token = None
    # An unknown path: policy is decided before routing answers 404.
    response = api.get("/resource_providers/x/nothing", headers=headers)
    assert response.status_code == status
