"""CORS: off by default (OPTIONS is 405), and when origins are allowed it
answers preflights and decorates responses as oslo.middleware does."""
import pytest

from placement_pci.settings import Settings
from tests.conftest import ApiClient, make_app

ORIGIN = "http://valid.example.com"


@pytest.fixture
def backend():
    """CORS does not depend on the database: SQLite is enough."""
    return "sqlite"


def client_for(database, **settings) -> ApiClient:
    client = ApiClient(make_app(database, **settings).test_client())
    client.token = "user"
    return client


@pytest.fixture
def cors_api(database) -> ApiClient:
    return client_for(database, cors_allowed_origin=(ORIGIN,),
                      cors_allow_headers=("openstack-api-version", "x-auth-token"))


def preflight(origin=ORIGIN, method="GET", headers=None) -> dict[str, str]:
    sent = {"origin": origin, "access-control-request-method": method}
    if headers:
        sent["access-control-request-headers"] = headers
    return sent


@pytest.mark.parametrize("path", ["/", "/resource_providers"])
def test_without_cors_options_is_405_and_no_cors_headers(api, path):
    response = api.request("OPTIONS", path, headers=preflight())
    assert response.status_code == 405
    response = api.get("/", headers={"origin": ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("path", ["/", "/resource_providers", "/no-such-thing"])
def test_preflight_from_allowed_origin(cors_api, path):
    response = cors_api.request("OPTIONS", path,
                                headers=preflight(headers="OpenStack-API-Version"))
    assert response.status_code == 200
    assert response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    assert response.headers["Access-Control-Allow-Headers"] == "OpenStack-API-Version"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Max-Age"] == "3600"
    assert response.headers["Vary"] == "Origin"


def test_preflight_without_a_token_is_answered_too(cors_api):
    cors_api.token = None
    response = cors_api.request("OPTIONS", "/resource_providers", headers=preflight())
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("headers", [
    preflight(origin="http://invalid.example.com"),
    preflight(method="TRACE"),
    preflight(headers="x-not-allowed"),
    {"origin": ORIGIN},
    {},
])
def test_refused_preflights_get_200_without_cors_headers(cors_api, headers):
    response = cors_api.request("OPTIONS", "/", headers=headers)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_simple_headers_need_no_permission(cors_api):
    response = cors_api.request("OPTIONS", "/", headers=preflight(headers="Accept, Content-Type"))
    assert response.headers["Access-Control-Allow-Headers"] == "Accept,Content-Type"


@pytest.mark.parametrize("path,token,status", [
    ("/", "user", 200),
    ("/resource_providers", "admin", 200),
    ("/resource_providers", None, 401),
    ("/resource_providers", "user", 403),
])
def test_actual_requests_from_allowed_origin_are_decorated(cors_api, path, token, status):
    cors_api.token = token
    response = cors_api.get(path, headers={"origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "OpenStack-API-Version" in response.headers["Access-Control-Expose-Headers"].split(",")
    assert "Origin" in response.headers["Vary"].split(",")


def test_actual_requests_from_other_origins_are_not_decorated(cors_api):
    response = cors_api.get("/", headers={"origin": "http://invalid.example.com"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_wildcard_origin_and_settings(database):
    api = client_for(database, cors_allowed_origin=("*",), cors_allow_credentials=False,
                     cors_max_age=0, cors_expose_headers=(), cors_allow_methods=("PUT",))
    response = api.request("OPTIONS", "/", headers=preflight(origin="http://any.example",
                                                             method="PUT"))
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Access-Control-Max-Age" not in response.headers
    refused = api.request("OPTIONS", "/", headers=preflight(method="GET"))
    assert "Access-Control-Allow-Origin" not in refused.headers
    response = api.get("/", headers={"origin": "http://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Expose-Headers" not in response.headers


def test_cors_settings_from_environment():
    settings = Settings.load(environ={
        "PLACEMENT_PCI_CORS_ALLOWED_ORIGIN": "http://a.example, http://b.example",
        "PLACEMENT_PCI_CORS_ALLOW_CREDENTIALS": "false",
        "PLACEMENT_PCI_CORS_MAX_AGE": "60",
        "PLACEMENT_PCI_ENFORCE_NEW_DEFAULTS": "true",
        "PLACEMENT_PCI_ENFORCE_SCOPE": "false",
        "PLACEMENT_PCI_POLICY_FILE": "/etc/placement-pci/policy.yaml",
    })
    assert settings.cors_allowed_origin == ("http://a.example", "http://b.example")
    assert settings.cors_allow_credentials is False
    assert settings.cors_max_age == 60
    assert settings.enforce_new_defaults is True
    assert settings.enforce_scope is False
    assert settings.policy_file == "/etc/placement-pci/policy.yaml"
    defaults = Settings.load(environ={})
    assert defaults.cors_allowed_origin == ()
    assert (defaults.enforce_new_defaults, defaults.enforce_scope) == (False, True)
