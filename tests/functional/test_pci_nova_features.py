"""Nova's flavor/image features over HTTP: the dedicated-CPU GPU flavor
with an image that sets disk bus, VIF model and architecture reaches only
the host Nova would pick, and the claim allocates PCPU (issue 13)."""
from __future__ import annotations

import uuid

import pytest

from tests.seeds import A16_ALIAS, A16_PF, A16_SPEC, a16_vf

IMAGE = {"properties": {"hw_disk_bus": "virtio", "hw_vif_model": "virtio",
                        "hw_architecture": "x86_64"}}
IMAGE_TRAITS = ["COMPUTE_NET_VIF_MODEL_VIRTIO", "COMPUTE_STORAGE_BUS_VIRTIO",
                "HW_ARCH_X86_64"]


def put_host(api, hostname, cpu_class, root_traits):
    response = api.put(f"/pci/hosts/{hostname}", json={
        "device_spec": [A16_SPEC], "devices": [A16_PF, a16_vf(4)]})
    assert response.status_code == 200, response.get_data(as_text=True)
    root = response.get_json()["root_provider"]["uuid"]
    generation = api.get(f"/resource_providers/{root}").get_json()["generation"]
    response = api.put(f"/resource_providers/{root}/inventories", json={
        "resource_provider_generation": generation,
        "inventories": {cpu_class: {"total": 8}, "MEMORY_MB": {"total": 8192},
                        "DISK_GB": {"total": 100}}})
    assert response.status_code == 200, response.get_data(as_text=True)
    response = api.put(f"/resource_providers/{root}/traits", json={
        "resource_provider_generation": generation + 1,
        "traits": ["OWNER_NOVA", *root_traits]})
    assert response.status_code == 200, response.get_data(as_text=True)


def request(extra_specs, image=IMAGE):
    return {"alias": [A16_ALIAS], "image": image,
            "flavor": {"vcpus": 2, "memory_mb": 1024, "root_gb": 10,
                       "extra_specs": {"pci_passthrough:alias": "A16_16A:1",
                                       **extra_specs}}}


@pytest.mark.parametrize("extra_specs, image, hosts", [
    # dedicated CPUs: only the PCPU host with the image's traits
    ({"hw:cpu_policy": "dedicated"}, IMAGE, {"pinned"}),
    # shared CPUs: only the VCPU host with the image's traits
    ({}, IMAGE, {"shared"}),
    # no image: the host without the image's traits qualifies too
    ({}, {"properties": {}}, {"shared", "shared-bare"}),
])
def test_candidates_follow_nova(api, extra_specs, image, hosts):
    put_host(api, "pinned", "PCPU", IMAGE_TRAITS)
    put_host(api, "shared", "VCPU", IMAGE_TRAITS)
    put_host(api, "shared-bare", "VCPU", [])
    response = api.post("/pci/candidates", json=request(extra_specs, image))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {c["hostname"] for c in response.get_json()["candidates"]} == hosts


def test_claim_allocates_pcpu(api):
    put_host(api, "pinned", "PCPU", IMAGE_TRAITS)
    body = request({"hw:cpu_policy": "dedicated"})
    candidate = api.post("/pci/candidates", json=body).get_json()[
        "candidates"][0]
    consumer = str(uuid.uuid4())
    response = api.put(f"/pci/claims/{consumer}", json={
        **body, "allocation_request": candidate["allocation_request"],
        "project_id": "p1", "user_id": "u1", "consumer_generation": None})
    assert response.status_code == 200, response.get_data(as_text=True)
    allocations = api.get(f"/allocations/{consumer}").get_json()["allocations"]
    used = {name: amount for entry in allocations.values()
            for name, amount in entry["resources"].items()}
    assert used == {"PCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10,
                    "CUSTOM_A16_16A": 1}


@pytest.mark.parametrize("path", ["/pci/request-groups", "/pci/candidates"])
@pytest.mark.parametrize("extra_specs, image, key", [
    ({"hw:cpu_policy": "shared"}, {"properties": {"hw_cpu_policy":
                                                  "dedicated"}},
     "hw:cpu_policy"),
    ({}, {"properties": {"hw_disk_bus": "nvme"}}, "hw_disk_bus"),
])
def test_settings_nova_refuses_are_400(api, path, extra_specs, image, key):
    response = api.post(path, json=request(extra_specs, image))
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["errors"][0]
    assert error["code"] == "placement_pci.extra_specs.invalid"
    assert f"'{key}'" in error["detail"]
