"""The OpenAPI document covers every route and matches api-ref/openapi.json."""
import json
from pathlib import Path

import pytest

from placement_pci.openapi import IGNORED_METHODS, build_document, openapi_path


@pytest.fixture
def backend():
    """The document does not depend on the database: SQLite is enough."""
    return "sqlite"


COMMITTED = Path(__file__).resolve().parents[2] / "api-ref" / "openapi.json"


def test_served_document_lists_every_route_and_method(api, app):
    api.token = None
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = document["paths"][openapi_path(rule.rule)]
        for method in rule.methods - IGNORED_METHODS:
            assert method.lower() in path, (rule.rule, method)


def test_every_route_has_a_summary(app):
    for path, operations in build_document(app)["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"] != operation["operationId"].rsplit(".", 1)[0], (
                f"{method.upper()} {path}: give its handler a docstring")


def test_committed_document_is_current(app):
    committed = json.loads(COMMITTED.read_text())
    assert committed == build_document(app), (
        "api-ref/openapi.json is stale: run "
        "`placement-pci openapi --output api-ref/openapi.json`")


def test_document_is_valid_openapi(app):
    from openapi_spec_validator import validate

    validate(build_document(app))


def test_every_route_documents_its_answers_and_security(app):
    document = build_document(app)
    assert document["components"]["securitySchemes"]["token"]["name"] == "X-Auth-Token"
    assert document["security"] == [{"token": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            successes = [s for s in operation["responses"] if s.startswith("2")]
            assert successes and "2XX" not in successes, (
                f"{where}: declare responses= on its route")
            assert operation["responses"]["default"] == {
                "$ref": "#/components/responses/Error"}, where
            assert {"$ref": "#/components/parameters/microversion"} in operation[
                "parameters"], where
    assert document["paths"]["/"]["get"]["security"] == []
    assert "security" not in document["paths"]["/resource_providers"]["get"]


def test_request_bodies_come_from_the_validating_schemas(app):
    document = build_document(app)
    schemas = document["components"]["schemas"]
    put = document["paths"]["/allocations/{consumer_uuid}"]["put"]
    newest = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert newest == "#/components/schemas/PutAllocationsV1_38"
    assert [v["since"] for v in put["x-microversions"]] == [
        "1.0", "1.8", "1.12", "1.28", "1.34", "1.38"]
    body = schemas["PutAllocationsV1_38"]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"allocations", "consumer_generation", "consumer_type",
                                     "project_id", "user_id"}
    assert body["properties"]["consumer_type"]["pattern"] == "^[A-Z0-9_]+$"
    assert body["properties"]["consumer_generation"]["nullable"] is True
    inventory = schemas["InventoryRecord"]["properties"]
    assert inventory["total"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}
    # PUT /resource_classes/{name} takes a body only before 1.7.
    put_class = document["paths"]["/resource_classes/{name}"]["put"]
    assert "requestBody" not in put_class
    assert put_class["x-microversions"][-1] == {"since": "1.7", "schema": None}


def test_query_parameters_are_documented_with_types_and_patterns(app):
    document = build_document(app)
    usages = {p["name"]: p for p in document["paths"]["/usages"]["get"]["parameters"]
              if "name" in p}
    assert usages["project_id"]["required"] is True
    assert usages["project_id"]["schema"]["type"] == "string"
    assert usages["consumer_type"]["schema"]["pattern"] == r"^[A-Z0-9_]+$|^all$|^unknown$"
    providers = {p["name"]: p for p in
                 document["paths"]["/resource_providers"]["get"]["parameters"] if "name" in p}
    assert set(providers) == {"name", "uuid", "member_of", "resources", "in_tree", "required"}
    assert providers["in_tree"]["schema"] == {"type": "string", "format": "uuid"}


def test_the_response_check_catches_an_answer_the_document_does_not_describe(app):
    from tests.contract import ContractViolation, ResponseChecker

    checker = ResponseChecker(app)
    checker.check("GET", "/resource_providers", 200, "application/json",
                  b'{"resource_providers": []}')
    with pytest.raises(ContractViolation, match="'uuid' is a required property"):
        checker.check("GET", "/resource_providers", 200, "application/json",
                      b'{"resource_providers": [{"name": "x", "generation": 0, "links": []}]}')
    with pytest.raises(ContractViolation, match="status not documented|violates"):
        checker.check("GET", "/resource_providers", 201, "application/json", b'{}')
    with pytest.raises(ContractViolation, match="media type"):
        checker.check("GET", "/resource_providers", 200, "text/html", b"<html/>")
