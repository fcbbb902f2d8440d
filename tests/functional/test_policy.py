"""Policy over HTTP: every route names a rule, the defaults behave like
Placement's, and the settings (policy file, enforce_new_defaults,
enforce_scope) change what callers may do."""
import flask
import pytest

from placement_pci import app as app_module
from placement_pci import policy
from placement_pci.http import auth, routes
from tests.conftest import ApiClient, make_app


@pytest.fixture
def backend():
    """Policy does not depend on the database: SQLite is enough."""
    return "sqlite"


def client_for(database, **settings) -> ApiClient:
    client = ApiClient(make_app(database, **settings).test_client())
    client.token = None
    return client


def write_policy(tmp_path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


ADMIN = {"x-auth-token": "admin"}
SERVICE = {"x-auth-token": "nova", "x-roles": "service"}
PROJECT_ADMIN = {"x-auth-token": "user", "x-roles": "admin,member,reader",
                 "x-project-id": "p1"}
MEMBER = {"x-auth-token": "user", "x-roles": "member,reader", "x-project-id": "p1"}
READER = {"x-auth-token": "user", "x-roles": "reader", "x-project-id": "p1"}
NO_ROLES = {"x-auth-token": "alice:p1"}
SYSTEM_ADMIN = {"x-auth-token": "user", "x-roles": "admin,member,reader",
                "openstack-system-scope": "all"}


# --------------------------------------------------------------------------
# The route table

def test_every_route_declares_a_defined_rule(app):
    defined = {rule.name for rule in policy.DEFAULT_RULES}
    for rule in app.url_map.iter_rules():
        declared = routes.declared(app, rule.endpoint)
        assert declared is not None, rule
        assert declared.is_public or declared.policy in defined, rule


def test_only_the_version_document_openapi_and_healthcheck_are_public(app):
    public = {rule.rule for rule in app.url_map.iter_rules()
              if routes.declared(app, rule.endpoint).is_public}
    assert public == {"/", "/openapi.json", "/healthcheck"}
    # Keystone's auth_token is skipped for exactly these paths.
    assert {path.rstrip("/") for path in public} == auth.PUBLIC_PATHS


def test_pci_routes_use_placement_pci_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/pci/"):
            assert routes.declared(app, rule.endpoint).policy.startswith("placement_pci:"), rule


def test_an_app_with_a_route_without_policy_does_not_start(database, monkeypatch):
    undeclared = flask.Blueprint("undeclared", __name__)

    @undeclared.route("/forgotten", methods=["GET"])
    def forgotten():
        return "never served"

    monkeypatch.setattr(app_module, "BLUEPRINTS", (*app_module.BLUEPRINTS, undeclared))
    with pytest.raises(RuntimeError, match=r"/forgotten \(undeclared.forgotten\)"):
        make_app(database)


# --------------------------------------------------------------------------
# Defaults

RP = "5cd3a5ab-5b0b-4d0f-9b53-62f0b6a7a0a1"


@pytest.mark.parametrize("method,path,headers,status", [
    ("GET", "/", {}, 200),
    ("GET", "/openapi.json", {}, 200),
    ("GET", "/resource_providers", {}, 401),
    ("GET", "/resource_providers", ADMIN, 200),
    ("GET", "/resource_providers", SERVICE, 200),
    ("GET", "/resource_providers", PROJECT_ADMIN, 200),
    ("GET", "/resource_providers", MEMBER, 403),
    ("GET", "/resource_providers", NO_ROLES, 403),
    ("GET", "/resource_providers", SYSTEM_ADMIN, 403),
    ("GET", f"/resource_providers/{RP}", MEMBER, 403),
    ("GET", f"/resource_providers/{RP}", ADMIN, 404),
    # Legacy defaults: admin may still reshape.
    ("POST", "/reshaper", ADMIN, 400),
    ("POST", "/reshaper", SERVICE, 400),
    ("POST", "/reshaper", MEMBER, 403),
    ("GET", "/usages?project_id=p1", READER, 200),
    ("GET", "/usages?project_id=p2", READER, 403),
    ("GET", "/usages?project_id=p2", ADMIN, 200),
    # The handler reads the last project_id: policy judges that one.
    ("GET", "/usages?project_id=p1&project_id=p2", READER, 403),
    ("GET", "/usages?project_id=p2&project_id=p1", READER, 200),
    ("GET", "/usages", READER, 403),
    ("GET", "/pci/claims", MEMBER, 403),
    ("GET", "/pci/claims", SERVICE, 200),
    # Unrouted paths: the caller needs the usual rule before learning 404.
    ("GET", "/no-such-thing", MEMBER, 403),
    ("GET", "/no-such-thing", ADMIN, 404),
])
def test_default_policy(database, method, path, headers, status):
    api = client_for(database)
    response = api.request(method, path, headers=headers, json={} if method == "POST" else None)
    assert response.status_code == status, response.get_data(as_text=True)


def test_refusal_names_the_rule(database):
    response = client_for(database).get("/resource_providers", headers=MEMBER)
    assert response.status_code == 403
    detail = response.get_json()["errors"][0]["detail"]
    assert "placement:resource_providers:list" in detail


# --------------------------------------------------------------------------
# Settings

@pytest.mark.parametrize("headers,status", [
    (SERVICE, 400),
    (ADMIN, 403),
    (PROJECT_ADMIN, 403),
])
def test_enforce_new_defaults_makes_reshaper_service_only(database, headers, status):
    api = client_for(database, enforce_new_defaults=True)
    assert api.post("/reshaper", json={}, headers=headers).status_code == status


def test_enforce_new_defaults_keeps_project_readers_to_their_project(database):
    api = client_for(database, enforce_new_defaults=True)
    assert api.get("/usages?project_id=p1", headers=READER).status_code == 200
    assert api.get("/usages?project_id=p2", headers=READER).status_code == 403
    assert api.get("/usages?project_id=p2", headers=PROJECT_ADMIN).status_code == 200


@pytest.mark.parametrize("enforce_scope,status", [(True, 403), (False, 200)])
def test_enforce_scope_decides_system_scoped_tokens(database, enforce_scope, status):
    api = client_for(database, enforce_scope=enforce_scope)
    assert api.get("/resource_providers", headers=SYSTEM_ADMIN).status_code == status


def test_policy_file_overrides_one_rule(database, tmp_path):
    api = client_for(database, policy_file=write_policy(
        tmp_path, '"placement:resource_providers:list": "role:member"\n'))
    assert api.get("/resource_providers", headers=MEMBER).status_code == 200
    assert api.get("/resource_providers", headers=ADMIN).status_code == 403
    # Other rules keep their defaults.
    assert api.post("/resource_providers", json={"name": "x"},
                    headers=MEMBER).status_code == 403
    assert api.post("/resource_providers", json={"name": "x"},
                    headers=ADMIN).status_code == 200


def test_policy_file_with_target_match(database, tmp_path):
    api = client_for(database, policy_file=write_policy(
        tmp_path, '"placement:usages": "project_id:%(project_id)s"\n'))
    assert api.get("/usages?project_id=p1", headers=NO_ROLES).status_code == 200
    assert api.get("/usages?project_id=p2", headers=NO_ROLES).status_code == 403


def test_open_policy_file_lets_any_token_in_but_not_system_scope(database, tmp_path):
    api = client_for(database, policy_file=write_policy(
        tmp_path, '"admin_or_service_api": "@"\n'))
    assert api.get("/pci/claims", headers=NO_ROLES).status_code == 200
    assert api.get("/resource_classes", headers=NO_ROLES).status_code == 200
    assert api.get("/resource_classes", headers=SYSTEM_ADMIN).status_code == 403
    assert api.get("/resource_classes").status_code == 401


def test_closing_a_pci_rule(database, tmp_path):
    api = client_for(database, policy_file=write_policy(
        tmp_path, '"placement_pci:claims:list": "!"\n'))
    assert api.get("/pci/claims", headers=ADMIN).status_code == 403
    assert api.get("/resource_providers", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("text,complaint", [
    ('"placement:usages": "role:reader or"\n', "rule 'placement:usages'"),
    ('"placement:traits:list": "rule:typo"\n', "undefined rule 'typo'"),
    ("just words\n", "expected a mapping"),
])
def test_bad_policy_file_stops_the_app_at_start(database, tmp_path, text, complaint):
    path = write_policy(tmp_path, text)
    with pytest.raises(policy.PolicyError, match=complaint) as raised:
        make_app(database, policy_file=path)
    assert path in str(raised.value)


def test_auth_strategy_none_ignores_policy(database, tmp_path):
    api = client_for(database, auth_strategy="none", policy_file=write_policy(
        tmp_path, '"placement:resource_providers:list": "!"\n'))
    assert api.get("/resource_providers").status_code == 200
