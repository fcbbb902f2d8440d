"""Error details in Placement's layout: what the status means, a blank
line, then the whole message on one line (clients print the last line)."""
import pytest


@pytest.fixture
def backend():
    """Rendering does not depend on the database: SQLite is enough."""
    return "sqlite"


def last_line(response):
    return response.get_json()["errors"][0]["detail"].splitlines()[-1]


def test_a_body_that_does_not_validate_keeps_its_reason_on_the_last_line(api):
    response = api.post("/resource_classes", json={"name": "lower_case"})
    assert response.status_code == 400
    detail = response.get_json()["errors"][0]["detail"]
    explanation, blank, message = detail.split("\n")
    assert explanation == "The request is malformed or otherwise incorrect."
    assert blank == ""
    assert message == ("JSON does not validate: 'lower_case' does not match "
                       "'^CUSTOM_[A-Z0-9_]+$' Failed validating 'pattern' in "
                       "schema['properties']['name']")


def test_a_missing_property_names_the_property_and_the_keyword(api):
    response = api.put("/allocations/9a2f2b4e-6a38-4d3b-9f43-0c1c6bd9d1a1", json={
        "allocations": {}, "project_id": "p", "user_id": "u", "consumer_type": "INSTANCE"})
    assert response.status_code == 400
    assert last_line(response) == (
        "JSON does not validate: 'consumer_generation' is a required property "
        "Failed validating 'required' in schema")


def test_a_query_error_and_a_not_found_have_the_same_layout(api):
    response = api.get("/usages?user_id=u")
    assert response.status_code == 400
    assert last_line(response).startswith(
        "Invalid query string parameters: 'project_id' is a required property")
    missing = api.get("/resource_providers/9a2f2b4e-6a38-4d3b-9f43-0c1c6bd9d1a1")
    assert missing.status_code == 404
    detail = missing.get_json()["errors"][0]["detail"]
    assert detail.startswith("The resource could not be found.\n\n")
    assert "9a2f2b4e-6a38-4d3b-9f43-0c1c6bd9d1a1" in detail.splitlines()[-1]


def test_an_unknown_route_says_only_what_the_status_means(api):
    response = api.get("/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["detail"] == "The resource could not be found."
