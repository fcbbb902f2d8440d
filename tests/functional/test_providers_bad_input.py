"""Bad input of every kind gets a 4xx JSON error and changes nothing."""
from __future__ import annotations

import pytest

from tests.conftest import ApiClient, make_app

RP = "2c3d4e5f-6071-4829-9a0b-1c2d3e4f5a6b"

WRITES = [
    ("POST", "/resource_providers"),
    ("PUT", f"/resource_providers/{RP}"),
    ("POST", f"/resource_providers/{RP}/inventories"),
    ("PUT", f"/resource_providers/{RP}/inventories"),
    ("PUT", f"/resource_providers/{RP}/inventories/VCPU"),
    ("PUT", f"/resource_providers/{RP}/traits"),
    ("PUT", f"/resource_providers/{RP}/aggregates"),
    ("POST", "/resource_classes"),
]

BAD_BODIES = [
    pytest.param(b'{"name": ', "application/json", 400, id="malformed-json"),
    pytest.param(b'\xff\xfe', "application/json", 400, id="not-utf8"),
    pytest.param(b'"a string"', "application/json", 400, id="not-an-object"),
    pytest.param(b'[]', "application/json", 400, id="a-list"),
    pytest.param(b'{"name": 5, "total": "x", "colour": 1}', "application/json", 400,
                 id="wrong-types-and-unknown-field"),
    pytest.param(b'{"name": "x"}', "text/plain", 415, id="wrong-content-type"),
]


def _state(api: ApiClient) -> dict:
    return {
        "provider": api.get(f"/resource_providers/{RP}").get_json(),
        "providers": api.get("/resource_providers").get_json(),
        "inventories": api.get(f"/resource_providers/{RP}/inventories").get_json(),
        "traits": api.get(f"/resource_providers/{RP}/traits").get_json(),
        "aggregates": api.get(f"/resource_providers/{RP}/aggregates").get_json(),
        "classes": api.get("/resource_classes").get_json(),
    }


@pytest.fixture
def seeded(api):
    assert api.post("/resource_providers", json={"name": "host", "uuid": RP}).status_code == 200
    assert api.post(f"/resource_providers/{RP}/inventories",
                    json={"resource_class": "VCPU", "total": 4}).status_code == 201
    return api


@pytest.mark.parametrize("method,path", WRITES)
@pytest.mark.parametrize("body,content_type,status", BAD_BODIES)
def test_bad_bodies_are_refused_without_change(seeded, method, path, body, content_type,
                                               status):
    before = _state(seeded)
    response = seeded.request(method, path, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json()["errors"][0]["status"] == status
    assert _state(seeded) == before


@pytest.mark.parametrize("body", [
    {"name": "x" * 201},
    {"name": "ok", "uuid": "not-a-uuid"},
    {"name": "ok", "uuid": "{2c3d4e5f-6071-4829-9a0b-1c2d3e4f5a6b}"},
    {"name": "ok", "parent_provider_uuid": "nope"},
    {"name": None},
    {},
])
def test_invalid_provider_bodies(seeded, body):
    before = _state(seeded)
    response = seeded.post("/resource_providers", json=body)
    assert response.status_code == 400
    assert "JSON does not validate" in response.get_json()["errors"][0]["detail"]
    assert _state(seeded) == before


@pytest.mark.parametrize("path", [
    "/traits/CUSTOM_" + "A" * 249,
    "/traits/CUSTOM_a",
    "/traits/CUSTOM_A-B",
    "/resource_classes/CUSTOM_" + "A" * 249,
    "/resource_classes/CUSTOM_a",
    "/resource_classes/MEMORY",
])
def test_invalid_names_are_refused(seeded, path):
    before = _state(seeded)
    response = seeded.put(path)
    assert response.status_code == 400
    assert _state(seeded) == before


def test_oversize_body_is_413_and_changes_nothing(database):
    api = ApiClient(make_app(database, max_body_bytes=512).test_client())
    response = api.post("/resource_providers", json={"name": "x" * 600})
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["status"] == 413
    assert api.get("/resource_providers").get_json()["resource_providers"] == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_missing_provider_checks_content_type_first(api, method):
    path = (f"/resource_providers/{RP}" if method == "PUT"
            else f"/resource_providers/{RP}/inventories")
    response = api.request(method, path, data=b"x", content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("query", [
    "resources=VCPU:99999999999999999999999",
    "resources=VCPU:2147483648",
    "member_of=in:" + ",".join(["11111111-1111-4111-8111-111111111111"] * 500),
    "required=" + ",".join(["HW_CPU_X86_AVX"] * 500),
    "name=" + "x" * 5000,
])
def test_extreme_query_values_are_answered(seeded, query):
    response = seeded.get("/resource_providers?" + query)
    assert response.status_code == 200
    assert response.get_json()["resource_providers"] == []


def test_many_distinct_required_traits_stay_one_query(seeded):
    import os_traits
    names = sorted(os_traits.get_traits())[:300]
    assert seeded.put(f"/resource_providers/{RP}/traits", json={
        "traits": names, "resource_provider_generation": 1}).status_code == 200
    found = seeded.get("/resource_providers?required=" + ",".join(names))
    assert [p["uuid"] for p in found.get_json()["resource_providers"]] == [RP]
    missing_one = sorted(os_traits.get_traits())[:301]
    found = seeded.get("/resource_providers?required=" + ",".join(missing_one))
    assert found.get_json()["resource_providers"] == []


@pytest.mark.parametrize("query,version,expected", [
    ("in_tree=" + RP, "1.13", "Additional properties are not allowed ('in_tree' was unexpected)"),
    ("required=CUSTOM_X", "1.17", "('required' was unexpected)"),
    ("colour=blue", "1.39", "('colour' was unexpected)"),
    ("uuid=spameggs", "1.39", "'spameggs' is not a 'uuid' Failed validating 'format' in "
                              "schema['properties']['uuid']"),
    ("in_tree=not-a-uuid", "1.39", "'not-a-uuid' is not a 'uuid'"),
])
def test_provider_list_query_is_checked_by_its_schema(api, query, version, expected):
    response = api.get(f"/resource_providers?{query}", version=version)
    assert response.status_code == 400
    message = response.get_json()["errors"][0]["detail"].splitlines()[-1]
    assert message.startswith("Invalid query string parameters: ")
    assert expected in message


def test_provider_list_query_uuids_are_canonical(seeded):
    listed = seeded.get("/resource_providers").get_json()["resource_providers"]
    provider = listed[0]["uuid"]
    for form in (provider.upper(), provider.replace("-", "")):
        for name in ("uuid", "in_tree"):
            found = seeded.get(f"/resource_providers?{name}={form}").get_json()
            assert provider in [p["uuid"] for p in found["resource_providers"]], (name, form)


def test_traits_list_query_refuses_unknown_parameters(api):
    response = api.get("/traits?colour=blue")
    assert response.status_code == 400
    assert "('colour' was unexpected)" in response.get_json()["errors"][0]["detail"]
    assert api.get("/traits?associated=TRUE").status_code == 200
