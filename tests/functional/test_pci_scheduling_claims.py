"""PUT/GET/DELETE /pci/claims and the hostdev XML, from the seeds."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree

import pytest

from tests.seeds import A16_ALIAS, A16_DEVICES, A16_SPEC, X520_ALIAS, x520_pfs
from tests.seeds import X520_SPEC_BY_ID as X520_SPEC

X520_DEVICES = x520_pfs(numa_node=1)
NO_RESOURCES = {"vcpus": 0, "memory_mb": 0, "root_gb": 0}


def put_host(api, hostname, spec, devices):
    response = api.put(f"/pci/hosts/{hostname}",
                       json={"device_spec": spec, "devices": devices})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {p["name"]: p for p in response.get_json()["providers"]}


def flavor(alias_request):
    return {**NO_RESOURCES,
            "extra_specs": {"pci_passthrough:alias": alias_request}}


def claim_body(alias_entries, alias_request, allocations, mappings,
               generation=None):
    return {"alias": alias_entries, "flavor": flavor(alias_request),
            "allocation_request": {
                "allocations": {uuid_: {"resources": resources}
                                for uuid_, resources in allocations.items()},
                "mappings": mappings},
            "project_id": "p1", "user_id": "u1",
            "consumer_generation": generation}


def source_address(element):
    return element.find("source/address").attrib


def test_seed_a16_vf_claim_and_hostdev_xml(api):
    providers = put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    pf = providers["compute1_0000:25:00.0"]
    consumer = str(uuid.uuid4())
    response = api.put(f"/pci/claims/{consumer}", json=claim_body(
        [A16_ALIAS], "A16_16A:1", {pf["uuid"]: {"CUSTOM_A16_16A": 1}},
        {"_A16_16A-0": [pf["uuid"]]}))
    assert response.status_code == 200, response.get_data(as_text=True)
    claim = response.get_json()
    assert claim["consumer_generation"] == 1
    assert [(d["group"], d["address"], d["managed"], d["dev_type"])
            for d in claim["devices"]] == [
        ("_A16_16A-0", "0000:25:00.4", False, "type-VF")]
    assert claim["devices"][0]["provider_uuid"] == pf["uuid"]

    xml = api.get(f"/pci/claims/{consumer}/hostdev-xml").get_json()
    assert xml["hostnames"] == ["compute1"]
    element = ElementTree.fromstring(xml["xml"])
    assert element.attrib == {"mode": "subsystem", "type": "pci",
                              "managed": "no"}
    assert element.find("driver").get("name") == "vfio"
    assert source_address(element) == {"domain": "0x0000", "bus": "0x25",
                                       "slot": "0x00", "function": "0x4"}

    allocations = api.get(f"/allocations/{consumer}").get_json()
    assert allocations["allocations"][pf["uuid"]]["resources"] == {
        "CUSTOM_A16_16A": 1}
    host = api.get("/pci/hosts/compute1").get_json()
    vf = [d for p in host["providers"] for d in p["devices"]
          if d["address"] == "0000:25:00.4"][0]
    assert vf["assigned_to"] == consumer

    # The host re-reports the same devices (the VF not yet attached, so
    # reported free): the claim's assignment survives and nothing changes.
    resync = api.put("/pci/hosts/compute1",
                     json={"device_spec": [A16_SPEC], "devices": A16_DEVICES})
    assert resync.get_json()["changed"] is False
    vf = [d for p in resync.get_json()["providers"] for d in p["devices"]
          if d["address"] == "0000:25:00.4"][0]
    assert vf["assigned_to"] == consumer

    # The only VF is taken: a second consumer is refused, nothing written.
    other = str(uuid.uuid4())
    refused = api.put(f"/pci/claims/{other}", json=claim_body(
        [A16_ALIAS], "A16_16A:1", {pf["uuid"]: {"CUSTOM_A16_16A": 1}},
        {"_A16_16A-0": [pf["uuid"]]}))
    assert refused.status_code == 409
    assert api.get(f"/allocations/{other}").get_json()["allocations"] == {}

    assert api.delete(f"/pci/claims/{consumer}").status_code == 204
    assert api.get(f"/pci/claims/{consumer}").status_code == 404
    assert api.get(f"/allocations/{consumer}").get_json()["allocations"] == {}
    again = api.put(f"/pci/claims/{other}", json=claim_body(
        [A16_ALIAS], "A16_16A:1", {pf["uuid"]: {"CUSTOM_A16_16A": 1}},
        {"_A16_16A-0": [pf["uuid"]]}))
    assert again.status_code == 200


def test_seed_x520_two_pfs(api):
    api.post("/pci/aliases", json={"alias": X520_ALIAS})
    providers = put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    first = providers["compute2_0000:41:00.0"]["uuid"]
    second = providers["compute2_0000:41:00.1"]["uuid"]
    consumer = str(uuid.uuid4())
    body = claim_body(None, "a1:2", {first: {"CUSTOM_PCI_8086_154D": 1},
                                     second: {"CUSTOM_PCI_8086_154D": 1}},
                      {"_a1-0": [first], "_a1-1": [second]})
    del body["alias"]  # the API-managed alias is used
    response = api.put(f"/pci/claims/{consumer}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    claim = response.get_json()
    assert [(d["group"], d["address"], d["managed"]) for d in claim["devices"]] \
        == [("_a1-0", "0000:41:00.0", True), ("_a1-1", "0000:41:00.1", True)]
    assert claim["request"]["alias"] == [X520_ALIAS]
    elements = ElementTree.fromstring(
        f"<r>{claim['hostdev_xml']}</r>").findall("hostdev")
    assert [e.get("managed") for e in elements] == ["yes", "yes"]
    assert [source_address(e)["function"] for e in elements] == ["0x0", "0x1"]
    listed = api.get("/pci/claims").get_json()["claims"]
    assert [c["consumer_uuid"] for c in listed] == [consumer]


def test_reclaim_keeps_devices_and_honours_generation(api):
    providers = put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    first = providers["compute2_0000:41:00.0"]["uuid"]
    second = providers["compute2_0000:41:00.1"]["uuid"]
    consumer = str(uuid.uuid4())
    one = claim_body([X520_ALIAS], "a1:1", {second: {"CUSTOM_PCI_8086_154D": 1}},
                     {"_a1-0": [second]})
    assert api.put(f"/pci/claims/{consumer}", json=one).status_code == 200
    # stale generation (null = "new consumer") is refused
    stale = api.put(f"/pci/claims/{consumer}", json=one)
    assert stale.status_code == 409
    assert stale.get_json()["errors"][0]["code"] == "placement.concurrent_update"
    # grow to two devices: the device held is kept, one more is added
    two = claim_body([X520_ALIAS], "a1:2", {first: {"CUSTOM_PCI_8086_154D": 1},
                                            second: {"CUSTOM_PCI_8086_154D": 1}},
                     {"_a1-0": [second], "_a1-1": [first]}, generation=1)
    response = api.put(f"/pci/claims/{consumer}", json=two)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [d["address"] for d in response.get_json()["devices"]] == [
        "0000:41:00.1", "0000:41:00.0"]
    # shrink back: the other device is released
    back = claim_body([X520_ALIAS], "a1:1", {first: {"CUSTOM_PCI_8086_154D": 1}},
                      {"_a1-0": [first]}, generation=2)
    assert api.put(f"/pci/claims/{consumer}", json=back).status_code == 200
    host = api.get("/pci/hosts/compute2").get_json()
    assigned = {d["address"]: d["assigned_to"] for p in host["providers"]
                for d in p["devices"]}
    assert assigned == {"0000:41:00.0": consumer, "0000:41:00.1": None}


def test_stale_assignment_after_plain_allocation_delete_is_reused(api):
    providers = put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    pf = providers["compute1_0000:25:00.0"]["uuid"]
    body = claim_body([A16_ALIAS], "A16_16A:1", {pf: {"CUSTOM_A16_16A": 1}},
                      {"_A16_16A-0": [pf]})
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert api.put(f"/pci/claims/{first}", json=body).status_code == 200
    assert api.delete(f"/allocations/{first}").status_code == 204
    response = api.put(f"/pci/claims/{second}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["devices"][0]["address"] == "0000:25:00.4"
    stale = api.get(f"/pci/claims/{first}").get_json()
    assert stale["devices"][0]["assigned"] is False


@pytest.mark.parametrize("change, status, text", [
    (lambda b: b.pop("allocation_request"), 400, "'allocation_request' is a required"),
    (lambda b: b.update(extra=1), 400, "('extra' was unexpected)"),
    (lambda b: b["allocation_request"].update(mappings={}), 400,
     "exactly one provider for request group '_A16_16A-0'"),
    (lambda b: b["allocation_request"].update(allocations={}), 400,
     "{} does not have enough properties"),
    (lambda b: b.update(consumer_type="x" * 256), 400, "is too long"),
    (lambda b: b.update(consumer_generation=2 ** 31), 400,
     "2147483648 is greater than the maximum of 2147483647"),
    (lambda b: b.update(consumer_generation="x"), 400, "consumer_generation"),
    (lambda b: b.update(project_id=""), 400, "project_id"),
    (lambda b: b["flavor"]["extra_specs"].update(
        {"pci_passthrough:alias": "nope:1"}), 400, "not defined"),
])
def test_claim_errors(api, change, status, text):
    providers = put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    pf = providers["compute1_0000:25:00.0"]["uuid"]
    body = claim_body([A16_ALIAS], "A16_16A:1", {pf: {"CUSTOM_A16_16A": 1}},
                      {"_A16_16A-0": [pf]})
    change(body)
    consumer = str(uuid.uuid4())
    response = api.put(f"/pci/claims/{consumer}", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert text in response.get_json()["errors"][0]["detail"]
    assert api.get(f"/pci/claims/{consumer}").status_code == 404


def test_claim_mapping_to_a_provider_without_that_allocation(api):
    providers = put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    first = providers["compute2_0000:41:00.0"]["uuid"]
    second = providers["compute2_0000:41:00.1"]["uuid"]
    body = claim_body([X520_ALIAS], "a1:1", {first: {"CUSTOM_PCI_8086_154D": 1}},
                      {"_a1-0": [second]})
    response = api.put(f"/pci/claims/{uuid.uuid4()}", json=body)
    assert response.status_code == 400
    assert "mapped to it" in response.get_json()["errors"][0]["detail"]


def test_claim_beyond_capacity_is_refused(api):
    providers = put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    first = providers["compute2_0000:41:00.0"]["uuid"]
    body = claim_body([X520_ALIAS], "a1:2", {first: {"CUSTOM_PCI_8086_154D": 2}},
                      {"_a1-0": [first], "_a1-1": [first]})
    response = api.put(f"/pci/claims/{uuid.uuid4()}", json=body)
    assert response.status_code == 409
    assert "Unable to allocate inventory" in response.get_json()["errors"][0]["detail"]


def test_unknown_claims(api):
    missing = str(uuid.uuid4())
    assert api.get(f"/pci/claims/{missing}").status_code == 404
    assert api.get(f"/pci/claims/{missing}/hostdev-xml").status_code == 404
    assert api.delete(f"/pci/claims/{missing}").status_code == 404
    assert api.get("/pci/claims/not-a-uuid").status_code == 400


def test_host_report_without_assignments_does_not_free_held_devices(api):
    two_vfs = A16_DEVICES + [{**A16_DEVICES[1], "address": "0000:25:00.5"}]
    specs = [A16_SPEC, {**A16_SPEC, "address": "0000:25:00.5"}]
    providers = put_host(api, "compute1", specs, two_vfs)
    pf = providers["compute1_0000:25:00.0"]["uuid"]
    body = claim_body([A16_ALIAS], "A16_16A:1", {pf: {"CUSTOM_A16_16A": 1}},
                      {"_A16_16A-0": [pf]})
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    held = api.put(f"/pci/claims/{first}", json=body).get_json()[
        "devices"][0]["address"]
    # The host reports again, knowing nothing of the assignment.
    put_host(api, "compute1", specs, two_vfs)
    other = api.put(f"/pci/claims/{second}", json=body)
    assert other.status_code == 200, other.get_data(as_text=True)
    assert other.get_json()["devices"][0]["address"] != held
    # and the first consumer's re-claim keeps its device
    again = api.put(f"/pci/claims/{first}", json={**body, "consumer_generation": 1})
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["devices"][0]["address"] == held
