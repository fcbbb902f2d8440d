"""Whatever JSON a caller sends to the PCI scheduling endpoints, the answer
is never a 500 (bad input is a 4xx in Placement's error format)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=6) \
    | st.sampled_from(["A16_16A:1", "a1:2", "type-VF", "CUSTOM_X", "10de",
                       "required", "yes", "resources=VCPU:1"])
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
FLAVORS = st.fixed_dictionaries({}, optional={
    "vcpus": JSON, "memory_mb": JSON, "root_gb": JSON, "swap": JSON,
    "extra_specs": st.dictionaries(
        st.sampled_from(["pci_passthrough:alias", "group_policy",
                         "resources1:VCPU", "trait:CUSTOM_X",
                         "hw:viommu_model", "hw:locked_memory",
                         "hw:pci_numa_affinity_policy", "resources_x:CUSTOM_Y"]),
        JSON, max_size=4) | JSON})
ALIASES = st.lists(st.fixed_dictionaries({}, optional={
    "name": JSON, "vendor_id": JSON, "product_id": JSON, "device_type": JSON,
    "resource_class": JSON, "traits": JSON, "live_migratable": JSON,
    "numa_policy": JSON}) | JSON, max_size=3) | JSON
BODIES = st.fixed_dictionaries({}, optional={
    "flavor": FLAVORS | JSON, "image": JSON, "alias": ALIASES,
    "limit": JSON, "hostname": JSON, "query": JSON,
    "allocation_request": JSON, "project_id": JSON, "user_id": JSON,
    "consumer_generation": JSON, "aliases": ALIASES, "name": JSON,
    "device_spec": JSON, "devices": JSON, "generation": JSON,
    "destination_consumer": JSON, "xml": JSON}) | JSON

CONSUMER = "0f5e4b8a-3c2d-4e1f-9a7b-6c5d4e3f2a1b"  # fixed: test ids must match across xdist workers
ENDPOINTS = [
    ("POST", "/pci/request-groups"), ("POST", "/pci/candidates"),
    ("POST", "/pci/diagnosis"), ("POST", "/pci/aliases"),
    ("POST", "/pci/aliases/preview"), ("PUT", "/pci/aliases/a1"),
    ("POST", "/pci/device-specs"), ("POST", "/pci/device-specs/preview"),
    ("PUT", "/pci/device-specs/s1"), ("PUT", f"/pci/claims/{CONSUMER}"),
    ("POST", f"/pci/claims/{CONSUMER}/live-migration/plan"),
    ("POST", f"/pci/claims/{CONSUMER}/live-migration/destinations"),
]


@pytest.fixture
def backend():
    """Input handling does not depend on the database: SQLite is enough."""
    return "sqlite"


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_no_input_gives_a_500(api, method, path):
    api.post("/pci/aliases", json={"alias": {
        "name": "a1", "vendor_id": "8086", "product_id": "154d"}})

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(BODIES)
    def check(body):
        response = api.request(method, path, json=body)
        assert response.status_code < 500, (body, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert response.get_json()["errors"][0]["detail"]

    check()
