"""Claims racing host re-syncs of the same host (issue 9).

Claimers take and release VFs of two PFs while other threads re-sync the
host, some reports leaving out a VF (a held VF that disappears and comes
back).  Once the host reports every device again, on every backend:

- every live claim's devices are assigned to it (in the claim and in the
  host's device list);
- nothing is assigned to a released claim;
- no device has two holders, and each PF's usage equals its held VFs.
"""
from __future__ import annotations

import collections
import random
import threading
import uuid

from tests.conftest import ApiClient, make_app

HOST = "racehost"
URL = f"/pci/hosts/{HOST}"
VF_SPEC = {"vendor_id": "15b3", "product_id": "101e", "resource_class": "CUSTOM_RACE_VF"}
VF_ALIAS = {"name": "racevf", "device_type": "type-VF", "resource_class": "CUSTOM_RACE_VF"}
PFS = ("0000:81:00.0", "0000:82:00.0")
VFS_PER_PF = 3
CLAIMERS, ROUNDS, SYNCERS = 6, 6, 3


def devices(missing: str | None = None) -> list[dict]:
    """The host's devices; ``missing`` names a VF the host does not see."""
    found = []
    for pf in PFS:
        bus = pf.split(":")[1]
        found.append({"address": pf, "vendor_id": "15b3", "product_id": "101d",
                      "dev_type": "type-PF", "vf_product_id": "101e"})
        found += [{"address": f"0000:{bus}:00.{function}", "vendor_id": "15b3",
                   "product_id": "101e", "dev_type": "type-VF", "parent_addr": pf}
                  for function in range(1, VFS_PER_PF + 1)]
    return [device for device in found if device["address"] != missing]


VF_ADDRESSES = [d["address"] for d in devices() if d["dev_type"] == "type-VF"]


def claim_body(provider: str, generation: int | None) -> dict:
    return {
        "alias": [VF_ALIAS],
        "flavor": {"vcpus": 0, "memory_mb": 0, "root_gb": 0,
                   "extra_specs": {"pci_passthrough:alias": "racevf:1"}},
        "allocation_request": {
            "allocations": {provider: {"resources": {"CUSTOM_RACE_VF": 1}}},
            "mappings": {"_racevf-0": [provider]}},
        "project_id": "p", "user_id": "u", "consumer_generation": generation}


def run_all(workers) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def run(work) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            work()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures


def test_claims_racing_host_syncs_keep_one_holder_per_device(database):
    app = make_app(database)
    admin = ApiClient(app.test_client())
    created = admin.put(URL, json={"device_spec": [VF_SPEC], "devices": devices()})
    assert created.status_code == 200, created.get_json()
    providers = sorted(p["uuid"] for p in created.get_json()["providers"])
    live: dict[str, str] = {}       # consumer -> provider of its claim
    released: set[str] = set()
    lock = threading.Lock()

    def claimer(seed: int):  # type: ignore[no-untyped-def]
        def work() -> None:
            client = ApiClient(app.test_client())
            chooser = random.Random(seed)
            for _ in range(ROUNDS):
                consumer = str(uuid.uuid4())
                provider = chooser.choice(providers)
                response = client.put(f"/pci/claims/{consumer}",
                                      json=claim_body(provider, None))
                assert response.status_code in (200, 409), response.get_json()
                if response.status_code == 200:
                    with lock:
                        live[consumer] = provider
                    if chooser.random() < 0.4:
                        deleted = client.delete(f"/pci/claims/{consumer}")
                        assert deleted.status_code == 204, deleted.get_json()
                        with lock:
                            del live[consumer]
                            released.add(consumer)
        return work

    def syncer(seed: int):  # type: ignore[no-untyped-def]
        def work() -> None:
            client = ApiClient(app.test_client())
            chooser = random.Random(seed)
            for _ in range(ROUNDS):
                missing = chooser.choice([None, *VF_ADDRESSES])
                response = client.put(URL, json={"device_spec": [VF_SPEC],
                                                 "devices": devices(missing)})
                assert response.status_code in (200, 409), response.get_json()
                if response.status_code == 409:
                    code = response.get_json()["errors"][0]["code"]
                    assert code == "placement.concurrent_update", response.get_json()
        return work

    run_all([claimer(i) for i in range(CLAIMERS)]
            + [syncer(100 + i) for i in range(SYNCERS)])
    assert live, "no claim survived: the race exercised nothing"

    # Every VF is back.
    final = admin.put(URL, json={"device_spec": [VF_SPEC], "devices": devices()})
    assert final.status_code == 200, final.get_json()
    host = admin.get(URL).get_json()
    shown = {d["address"]: d["assigned_to"] for p in host["providers"]
             for d in p["devices"] if d["dev_type"] == "type-VF"}
    assert sorted(shown) == sorted(VF_ADDRESSES)

    claims = {c["consumer_uuid"]: c for c in admin.get("/pci/claims").get_json()["claims"]}
    assert set(claims) == set(live)
    held: dict[str, str] = {}
    for consumer, claim in claims.items():
        [device] = claim["devices"]
        assert device["assigned"] is True, claim
        assert device["provider_uuid"] == live[consumer]
        assert shown[device["address"]] == consumer, (device, shown)
        assert device["address"] not in held, "a device has two holders"
        held[device["address"]] = consumer
    for address, holder in shown.items():
        assert holder is None or holder in live, (address, holder)
        assert holder not in released
        if holder is not None:
            assert held[address] == holder
    per_provider = collections.Counter(live.values())
    for provider in providers:
        usages = admin.get(f"/resource_providers/{provider}/usages").get_json()
        assert usages["usages"].get("CUSTOM_RACE_VF", 0) == per_provider[provider]
