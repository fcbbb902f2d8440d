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
