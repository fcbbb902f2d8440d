"""Many consumers claiming VFs of the same PFs at once never share a VF and
never exceed capacity, on every backend."""
from __future__ import annotations

import collections
import concurrent.futures
import uuid

from tests.conftest import ApiClient

VF_SPEC = {"vendor_id": "15b3", "product_id": "101e",
           "resource_class": "CUSTOM_NIC_VF"}
VF_ALIAS = {"name": "nicvf", "device_type": "type-VF",
            "resource_class": "CUSTOM_NIC_VF"}
PFS = ("0000:81:00.0", "0000:82:00.0")
VFS_PER_PF = 4


def host_devices():
    devices = []
    for pf in PFS:
        bus = pf.split(":")[1]
        devices.append({"address": pf, "vendor_id": "15b3",
                        "product_id": "101d", "dev_type": "type-PF",
                        "vf_product_id": "101e"})
        devices += [{"address": f"0000:{bus}:00.{function}",
                     "vendor_id": "15b3", "product_id": "101e",
                     "dev_type": "type-VF", "parent_addr": pf}
                    for function in range(1, VFS_PER_PF + 1)]
    return devices


def claim_body(providers: list[str]) -> dict:
    allocations = collections.Counter(providers)
    return {
        "alias": [VF_ALIAS],
        "flavor": {"vcpus": 0, "memory_mb": 0, "root_gb": 0, "extra_specs": {
            "pci_passthrough:alias": f"nicvf:{len(providers)}",
            "group_policy": "none"}},
        "allocation_request": {
            "allocations": {p: {"resources": {"CUSTOM_NIC_VF": n}}
                            for p, n in allocations.items()},
            "mappings": {f"_nicvf-{i}": [p] for i, p in enumerate(providers)}},
        "project_id": "p", "user_id": "u", "consumer_generation": None}


def test_concurrent_vf_claims(app):
    setup = ApiClient(app.test_client())
    response = setup.put("/pci/hosts/compute9", json={
        "device_spec": [VF_SPEC], "devices": host_devices()})
    assert response.status_code == 200, response.get_data(as_text=True)
    providers = sorted(p["uuid"] for p in response.get_json()["providers"])
    assert len(providers) == 2

    # 10 consumers want 1 VF, 4 want one VF on each PF: 18 VFs asked, 8 exist.
    wishes = [[providers[i % 2]] for i in range(10)] + [providers] * 4

    def claim(wish: list[str]) -> tuple[str, int, dict]:
        client = ApiClient(app.test_client())
        consumer = str(uuid.uuid4())
        result = client.put(f"/pci/claims/{consumer}", json=claim_body(wish))
        return consumer, result.status_code, result.get_json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, wishes))

    assert {status for _, status, _ in results} <= {200, 409}, results
    granted = [(consumer, body) for consumer, status, body in results
               if status == 200]
    addresses = [d["address"] for _, body in granted for d in body["devices"]]
    assert len(addresses) == len(set(addresses)), "a VF was given twice"
    assert len(addresses) <= len(PFS) * VFS_PER_PF

    # Every refusal is a capacity or device refusal, never a 500.
    for _, status, body in results:
        if status == 409:
            assert body["errors"][0]["code"] in (
                "placement.undefined_code", "placement_pci.claim.no_free_device",
                "placement.concurrent_update")

    # The database agrees: each assigned VF belongs to one granted consumer,
    # sits under the PF its consumer's allocation names, and usage equals
    # the number of assigned VFs per PF.
    host = setup.get("/pci/hosts/compute9").get_json()
    assigned = {d["address"]: (d["assigned_to"], p["uuid"])
                for p in host["providers"] for d in p["devices"]
                if d["dev_type"] == "type-VF" and d["assigned_to"]}
    by_consumer = {consumer: body for consumer, body in granted}
    assert set(assigned) == set(addresses)
    for consumer, provider in assigned.values():
        assert consumer in by_consumer
        assert provider in by_consumer[consumer]["allocations"]
    for provider in providers:
        usages = setup.get(f"/resource_providers/{provider}/usages").get_json()
        used = usages["usages"].get("CUSTOM_NIC_VF", 0)
        assert used <= VFS_PER_PF
        assert used == sum(1 for _, p in assigned.values() if p == provider)
    assert len(granted) >= 4  # capacity was used, not everyone refused
