"""POST /pci/request-groups and the API-managed aliases and device specs."""
from __future__ import annotations

import json

import pytest

A16_ALIAS = {"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",
             "name": "A16_16A"}
X520_ALIAS = {"vendor_id": "8086", "product_id": "154d",
              "device_type": "type-PF", "name": "a1"}
A16_SPEC = {"vendor_id": "10de", "product_id": "25b6",
            "address": "0000:25:00.4", "resource_class": "CUSTOM_A16_16A",
            "managed": "no"}
A16_DEVICES = [
    {"address": "0000:25:00.0", "vendor_id": "10de", "product_id": "25b6",
     "dev_type": "type-PF", "numa_node": 0, "vf_product_id": "25b6"},
    {"address": "0000:25:00.4", "vendor_id": "10de", "product_id": "25b6",
     "dev_type": "type-VF", "parent_addr": "0000:25:00.0", "numa_node": 0},
]
FLAVOR = {"vcpus": 4, "memory_mb": 4096, "root_gb": 20, "ephemeral_gb": 0,
          "swap": 0}


def error_of(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["errors"][0]
    if code is not None:
        assert error["code"] == code
    return error["detail"]


def test_request_groups_contract_example(api):
    response = api.post("/pci/request-groups", json={
        "alias": [{"vendor_id": "10de", "product_id": "25b6",
                   "device_type": "type-VF", "name": "MYVF"}],
        "flavor": {**FLAVOR, "extra_specs": {"pci_passthrough:alias": "MYVF:2"}},
        "image": {"properties": {"hw_viommu_model": "virtio"}}})
    assert response.status_code == 200
    body = response.get_json()
    assert [g["suffix"] for g in body["groups"]] == ["", "_MYVF-0", "_MYVF-1"]
    assert body["groups"][2]["source"] == {"kind": "alias", "alias": "MYVF",
                                           "item": 0, "index": 1}
    assert body["group_policy"] == "none"
    assert body["root_required"] == ["COMPUTE_VIOMMU_MODEL_VIRTIO",
                                     "OWNER_NOVA"]
    assert body["query"].startswith("resources=DISK_GB:20,MEMORY_MB:4096,VCPU:4"
                                    "&resources_MYVF-0=CUSTOM_PCI_10DE_25B6:1")


def test_request_groups_accepts_nova_conf_strings(api):
    response = api.post("/pci/request-groups", json={
        "alias": [json.dumps(X520_ALIAS)],
        "flavor": {**FLAVOR, "extra_specs": {"pci_passthrough:alias": "a1:2"}}})
    assert response.status_code == 200
    assert response.get_json()["groups"][1]["resources"] == {
        "CUSTOM_PCI_8086_154D": 1}


def test_the_query_is_accepted_by_allocation_candidates(api):
    body = api.post("/pci/request-groups", json={
        "alias": [A16_ALIAS],
        "flavor": {**FLAVOR, "extra_specs": {
            "pci_passthrough:alias": "A16_16A:1", "trait:HW_CPU_X86_AVX": "forbidden"}},
    }).get_json()
    response = api.get("/allocation_candidates?" + body["query"])
    if response.status_code == 404:
        pytest.skip("GET /allocation_candidates is not served yet")
    # No provider exists, so no candidate; but the query itself is valid
    # once the resource class exists.
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert "CUSTOM_A16_16A" in response.get_json()["errors"][0]["detail"]


@pytest.mark.parametrize("body, status, code, text", [
    ({"flavor": FLAVOR, "alias": [{"name": "x", "vendor_id": "1"}]}, 400,
     "placement_pci.alias.invalid", "exactly 4 hex"),
    ({"flavor": {**FLAVOR, "extra_specs": {"pci_passthrough:alias": "nope:1"}}},
     400, "placement_pci.extra_specs.invalid", "alias 'nope' is not defined"),
    ({"flavor": {**FLAVOR, "extra_specs": {"pci_passthrough:alias": "A16_16A"}},
      "alias": [A16_ALIAS]}, 400, "placement_pci.extra_specs.invalid",
     "not of the form"),
    ({"flavor": {**FLAVOR, "extra_specs": {"hw:locked_memory": "true"}}}, 400,
     "placement_pci.extra_specs.invalid", "page size"),
    ({}, 400, None, "'flavor' is a required property"),
    ({"flavor": FLAVOR, "x": 1}, 400, None,
     "Additional properties are not allowed ('x' was unexpected)"),
    ({"flavor": FLAVOR, "alias": {"name": "x"}}, 400, None,
     "{'name': 'x'} is not of type 'array'"),
    ({"flavor": {**FLAVOR, "vcpus": None}}, 400, None, "None is not of type 'integer'"),
])
def test_request_groups_errors(api, body, status, code, text):
    assert text in error_of(api.post("/pci/request-groups", json=body),
                            status, code)


def test_request_groups_needs_json(api):
    response = api.post("/pci/request-groups", data="x",
                        content_type="text/plain")
    assert response.status_code == 415


def test_alias_lifecycle(api):
    created = api.post("/pci/aliases", json={"alias": A16_ALIAS})
    assert created.status_code == 201
    view = created.get_json()
    assert view["name"] == "A16_16A"
    assert view["generation"] == 0
    assert view["entry"] == A16_ALIAS
    assert view["resource_class"] == "CUSTOM_A16_16A"
    assert view["required_traits"] == ["OWNER_NOVA"]
    assert created.headers["Location"] == "/pci/aliases/A16_16A"

    assert error_of(api.post("/pci/aliases", json={"alias": A16_ALIAS}), 409,
                    "placement.duplicate_name")

    api.post("/pci/aliases", json={"alias": json.dumps(X520_ALIAS)})
    listed = api.get("/pci/aliases").get_json()["aliases"]
    assert [a["name"] for a in listed] == ["A16_16A", "a1"]
    assert listed[1]["entry"] == json.dumps(X520_ALIAS)

    # The stored aliases serve request-groups when the body has none.
    groups = api.post("/pci/request-groups", json={"flavor": {
        **FLAVOR, "extra_specs": {"pci_passthrough:alias": "A16_16A:1,a1:1"}}})
    assert groups.status_code == 200
    assert [g["suffix"] for g in groups.get_json()["groups"]] == [
        "", "_A16_16A-0", "_a1-0"]

    updated = api.put("/pci/aliases/A16_16A", json={
        "alias": {**A16_ALIAS, "live_migratable": "yes"}, "generation": 0})
    assert updated.status_code == 200
    assert updated.get_json()["generation"] == 1
    assert updated.get_json()["required_traits"] == [
        "HW_PCI_LIVE_MIGRATABLE", "OWNER_NOVA"]
    assert error_of(api.put("/pci/aliases/A16_16A", json={
        "alias": A16_ALIAS, "generation": 0}), 409, "placement.concurrent_update")
    assert "renaming" in error_of(api.put("/pci/aliases/A16_16A", json={
        "alias": {**A16_ALIAS, "name": "other"}}), 400,
        "placement_pci.alias.invalid")

    assert api.get("/pci/aliases/A16_16A").get_json()["alias"][
        "live_migratable"] is True
    assert error_of(api.delete("/pci/aliases/A16_16A?generation=0"), 409,
                    "placement.concurrent_update")
    assert api.delete("/pci/aliases/A16_16A?generation=1").status_code == 204
    assert api.get("/pci/aliases/A16_16A").status_code == 404
    assert api.delete("/pci/aliases/A16_16A").status_code == 404


@pytest.mark.parametrize("body, text", [
    ({"alias": {"name": "x"}}, "vendor_id and product_id, or resource_class"),
    ({"alias": {**A16_ALIAS, "colour": "red"}}, "unknown field(s) colour"),
    ({"alias": "{bad json"}, "not valid JSON"),
    ({}, "'alias' is a required property"),
    ({"alias": A16_ALIAS, "x": 1}, "Additional properties are not allowed ('x' was unexpected)"),
    ([], "[] is not of type 'object'"),
])
def test_invalid_alias_objects_are_refused(api, body, text):
    assert text in error_of(api.post("/pci/aliases", json=body), 400,
                            "placement_pci.alias.invalid")
    assert api.get("/pci/aliases").get_json()["aliases"] == []


def test_alias_preview(api):
    api.post("/pci/aliases", json={"alias": X520_ALIAS})
    stored = api.post("/pci/aliases/preview", json={}).get_json()
    assert stored["aliases"][0]["name"] == "a1"
    assert stored["request_groups"] is None

    preview = api.post("/pci/aliases/preview", json={
        "aliases": [A16_ALIAS],
        "flavor": {**FLAVOR, "extra_specs": {"pci_passthrough:alias": "A16_16A:1"}},
    })
    assert preview.status_code == 200
    body = preview.get_json()
    assert [a["name"] for a in body["aliases"]] == ["A16_16A"]
    assert body["request_groups"]["groups"][1]["resources"] == {
        "CUSTOM_A16_16A": 1}
    # nothing was stored
    assert [a["name"] for a in api.get("/pci/aliases").get_json()["aliases"]] \
        == ["a1"]
    assert "only one spec" in error_of(api.post("/pci/aliases/preview", json={
        "aliases": [X520_ALIAS, {**X520_ALIAS, "product_id": "10fb"}]}), 400,
        "placement_pci.alias.invalid")


def test_device_spec_set_lifecycle(api):
    created = api.post("/pci/device-specs", json={
        "name": "gpu-hosts", "device_spec": [A16_SPEC, json.dumps(A16_SPEC)]})
    assert created.status_code == 201, created.get_data(as_text=True)
    view = created.get_json()
    assert view["generation"] == 0
    assert len(view["warnings"]) == 1 and "duplicate" in view["warnings"][0]
    assert api.get("/pci/device-specs").get_json()["device_spec_sets"][0][
        "name"] == "gpu-hosts"
    assert error_of(api.post("/pci/device-specs", json={
        "name": "gpu-hosts", "device_spec": []}), 409, "placement.duplicate_name")

    replaced = api.put("/pci/device-specs/gpu-hosts", json={
        "device_spec": [A16_SPEC], "generation": 0})
    assert replaced.status_code == 200
    assert replaced.get_json()["warnings"] == []
    assert replaced.get_json()["generation"] == 1

    preview = api.post("/pci/device-specs/preview", json={
        "hostname": "compute1", "device_spec_set": "gpu-hosts",
        "devices": A16_DEVICES})
    assert preview.status_code == 200, preview.get_data(as_text=True)
    tree = preview.get_json()
    assert tree["dry_run"] is True
    assert [p["name"] for p in tree["providers"]] == ["compute1_0000:25:00.0"]
    assert tree["providers"][0]["inventories"]["CUSTOM_A16_16A"]["total"] == 1
    # a preview writes nothing
    assert api.get("/pci/hosts/compute1").status_code == 404

    assert api.delete("/pci/device-specs/gpu-hosts").status_code == 204
    assert api.get("/pci/device-specs/gpu-hosts").status_code == 404


@pytest.mark.parametrize("body, code, text", [
    ({"name": "bad name", "device_spec": []}, "placement_pci.device_spec.invalid",
     "'bad name' does not match"),
    ({"name": "x", "device_spec": [{"devname": "eth0"}]},
     "placement_pci.device_spec.invalid", "devname"),
    ({"name": "x", "device_spec": {"vendor_id": "10de"}},
     "placement_pci.device_spec.invalid", "is not of type 'array'"),
    ({"name": "x"}, "placement_pci.device_spec.invalid", "'device_spec' is a required"),
])
def test_invalid_device_spec_sets(api, body, code, text):
    assert text in error_of(api.post("/pci/device-specs", json=body), 400, code)


@pytest.mark.parametrize("body, text", [
    ({"hostname": "h", "devices": []}, "either device_spec"),
    ({"hostname": "h", "device_spec": [], "device_spec_set": "x"},
     "either device_spec"),
    ({"devices": [], "device_spec": []}, "'hostname' is a required"),
])
def test_device_spec_preview_errors(api, body, text):
    assert text in error_of(api.post("/pci/device-specs/preview", json=body),
                            400)


def test_device_spec_preview_unknown_set(api):
    response = api.post("/pci/device-specs/preview", json={
        "hostname": "h", "device_spec_set": "missing", "devices": []})
    assert response.status_code == 404


def test_alias_names_are_case_sensitive_on_read(api):
    api.post("/pci/aliases", json={"alias": X520_ALIAS})
    assert api.get("/pci/aliases/A1").status_code == 404
    assert api.get("/pci/aliases/a1").status_code == 200
