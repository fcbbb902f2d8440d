"""POST /pci/headroom over HTTP: per host and aggregate, honouring devices
held by claims and group_policy, writing nothing."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from placement_pci.db import tables
from tests.functional.test_pci_scheduling_flow import candidates, claim, flavor, put_host
from tests.seeds import A16_ALIAS, A16_PF, A16_SPEC, a16_vf

AGGREGATE = "3c1e4c55-0c53-4a5e-9d3f-5a1b6d7e8f90"


def a16_host(api, hostname, functions, vcpus):
    spec = [dict(A16_SPEC, address=f"0000:25:00.{f}") for f in functions]
    return put_host(api, hostname, spec, [A16_PF] + [a16_vf(f) for f in functions],
                    vcpus=vcpus)


def headroom(api, body, status=200):
    response = api.post("/pci/headroom", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def per_host(document):
    return {host["hostname"]: host["count"] for host in document["hosts"]}


def test_headroom_per_host_and_aggregate(api, database):
    compute1 = a16_host(api, "compute1", (4, 5, 6, 7), vcpus=16)
    a16_host(api, "compute2", (4, 5), vcpus=2)
    generation = api.get(f"/resource_providers/{compute1}").get_json()["generation"]
    assert api.put(f"/resource_providers/{compute1}/aggregates", json={
        "aggregates": [AGGREGATE], "resource_provider_generation": generation},
    ).status_code == 200
    request = {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:1")}

    document = headroom(api, request)
    # compute1: 4 VFs (16 VCPU would allow 8); compute2: 2 VCPU -> 1.
    assert per_host(document) == {"compute1": 4, "compute2": 1}
    assert document["total"] == 5 and document["hosts_considered"] == 2
    assert document["aggregates"] == [{"uuid": AGGREGATE, "count": 4}]
    assert document["hosts"][0]["root_provider_uuid"] == compute1
    assert document["request_groups"]["groups"][1]["resources"] == {"CUSTOM_A16_16A": 1}

    two = headroom(api, {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:2")})
    assert per_host(two) == {"compute1": 2, "compute2": 1}
    # Two VFs in isolated groups need two PFs: no host has them.
    isolated = headroom(api, {"alias": [A16_ALIAS],
                              "flavor": flavor("A16_16A:2", group_policy="isolate")})
    assert isolated["total"] == 0 and isolated["hosts"] == []

    assert per_host(headroom(api, {**request, "hostname": "compute2"})) == {"compute2": 1}


def test_claims_and_held_devices_reduce_headroom(api, database):
    a16_host(api, "compute1", (4, 5, 6, 7), vcpus=16)
    request = {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:1")}
    holder = str(uuid.uuid4())
    claim(api, holder, request, candidates(api, request)["candidates"][0])
    assert headroom(api, request)["total"] == 3
    # The host attached one more VF to the same instance than it holds an
    # allocation for: that device cannot be claimed, though the inventory
    # still shows room for it.
    with database.write() as connection:
        connection.execute(
            sa.update(tables.pci_devices)
            .where(tables.pci_devices.c.address == "0000:25:00.7")
            .values(assigned_to=holder))
    assert headroom(api, request)["total"] == 2


def test_headroom_writes_nothing_and_refuses_bad_input(api, database):
    a16_host(api, "compute1", (4, 5), vcpus=4)
    before = api.get("/resource_providers").get_json()
    request = {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:1")}
    assert headroom(api, request)["total"] == 2
    assert api.get("/resource_providers").get_json() == before
    assert api.get("/pci/ledger").get_json()["entries"] == []

    assert headroom(api, {**request, "hostname": "nowhere"}, 404)["errors"]
    assert headroom(api, {"alias": [A16_ALIAS]}, 400)["errors"]
    assert headroom(api, {**request, "limit": 3}, 400)["errors"]
    bad_class = {"flavor": {**flavor("A16_16A:1"),
                            "extra_specs": {"resources:CUSTOM_NOPE": "1"}}}
    assert headroom(api, bad_class, 400)["errors"]
