"""The structure of /pci bodies is checked by the routes' schemas (the pure
parsers they feed keep the semantic rules): wrong shapes are 400 in the
same wording as Placement's routes, with the route's error code."""
import pytest

HOST = "compute-1"


@pytest.fixture
def backend():
    """Validation happens before the database is touched: SQLite is enough."""
    return "sqlite"


@pytest.mark.parametrize("body, expected", [
    ({"flavor": []}, "[] is not of type 'object'"),
    ({"flavor": {"vcpus": -1}}, "-1 is less than the minimum of 0"),
    ({"flavor": {"vcpus": "4"}}, "'4' is not of type 'integer'"),
    ({"flavor": {"vcpus": True}}, "True is not of type 'integer'"),
    ({"flavor": {"ram": 4}}, "('ram' was unexpected)"),
    ({"flavor": {}, "image": []}, "[] is not of type 'object'"),
    ({"flavor": {}, "image": {"props": {}}}, "('props' was unexpected)"),
])
def test_flavor_and_image_shapes(api, body, expected):
    response = api.post("/pci/request-groups", json=body)
    assert response.status_code == 400
    detail = response.get_json()["errors"][0]["detail"].splitlines()[-1]
    assert detail.startswith("JSON does not validate: ")
    assert expected in detail


@pytest.mark.parametrize("body, expected", [
    ([], "[] is not of type 'object'"),
    ({"device_specs": [], "devices": []}, "('device_specs' was unexpected)"),
    ({"device_spec": []}, "'devices' is a required property"),
    ({"devices": []}, "'device_spec' is a required property"),
])
def test_host_report_shapes(api, body, expected):
    response = api.put(f"/pci/hosts/{HOST}", json=body)
    assert response.status_code == 400
    error = response.get_json()["errors"][0]
    assert error["code"] == "placement_pci.host.invalid"
    assert expected in error["detail"]
    assert api.get(f"/pci/hosts/{HOST}").status_code == 404
