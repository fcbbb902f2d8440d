"""The seed walkthroughs end to end over HTTP: host report -> flavor ->
candidates -> claim -> hostdev XML; live migration; "why no candidate"."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree

import pytest

from tests.seeds import A16_ALIAS, A16_PF, A16_SPEC, X520_ALIAS, a16_vf, x520_pfs
from tests.seeds import X520_SPEC_BY_ID as X520_SPEC

A16_DEVICES = [A16_PF, a16_vf(4), a16_vf(5)]
X520_DEVICES = x520_pfs(numa_node=0)
FLAVOR = {"vcpus": 2, "memory_mb": 2048, "root_gb": 10}


def put_host(api, hostname, spec, devices, vcpus=16):
    response = api.put(f"/pci/hosts/{hostname}",
                       json={"device_spec": spec, "devices": devices})
    assert response.status_code == 200, response.get_data(as_text=True)
    root = response.get_json()["root_provider"]["uuid"]
    inventories = api.put(f"/resource_providers/{root}/inventories", json={
        "resource_provider_generation": api.get(
            f"/resource_providers/{root}").get_json()["generation"],
        "inventories": {"VCPU": {"total": vcpus},
                        "MEMORY_MB": {"total": 65536},
                        "DISK_GB": {"total": 1000}}})
    assert inventories.status_code == 200, inventories.get_data(as_text=True)
    # The sync gives the root OWNER_NOVA, which every translated request
    # requires of the root: nothing else is needed to be a candidate.
    traits = api.get(f"/resource_providers/{root}/traits").get_json()["traits"]
    assert "OWNER_NOVA" in traits
    return root


def flavor(alias_request, **extra_specs):
    return {**FLAVOR, "extra_specs": {"pci_passthrough:alias": alias_request,
                                      **extra_specs}}


def candidates(api, body):
    response = api.post("/pci/candidates", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def claim(api, consumer, request, candidate, generation=None):
    response = api.put(f"/pci/claims/{consumer}", json={
        **request, "allocation_request": candidate["allocation_request"],
        "project_id": "p1", "user_id": "u1",
        "consumer_generation": generation})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_seed_a16_flavor_to_hostdev_xml(api):
    put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    request = {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:1")}
    answer = candidates(api, request)
    assert answer["request_groups"]["groups"][1]["suffix"] == "_A16_16A-0"
    assert len(answer["candidates"]) == 1
    candidate = answer["candidates"][0]
    assert candidate["hostname"] == "compute1"
    assert candidate["devices"] == [{
        "kind": "alias", "alias": "A16_16A", "item": 0, "index": 0,
        "group": "_A16_16A-0", "provider_uuid": candidate["devices"][0][
            "provider_uuid"],
        "provider_name": "compute1_0000:25:00.0",
        "resource_class": "CUSTOM_A16_16A"}]
    pf_uuid = candidate["devices"][0]["provider_uuid"]
    assert candidate["allocation_request"]["mappings"]["_A16_16A-0"] == [pf_uuid]
    assert answer["provider_summaries"][pf_uuid]["resources"][
        "CUSTOM_A16_16A"] == {"capacity": 1, "used": 0}

    consumer = str(uuid.uuid4())
    claimed = claim(api, consumer, request, candidate)
    assert [(d["address"], d["managed"]) for d in claimed["devices"]] == [
        ("0000:25:00.4", False)]
    element = ElementTree.fromstring(api.get(
        f"/pci/claims/{consumer}/hostdev-xml").get_json()["xml"])
    assert element.get("managed") == "no"
    assert element.find("source/address").attrib == {
        "domain": "0x0000", "bus": "0x25", "slot": "0x00", "function": "0x4"}

    # The only matched VF is used now: no more candidates.
    assert candidates(api, request)["candidates"] == []
    why = api.post("/pci/diagnosis", json=request).get_json()
    host = why["hosts"][0]
    assert host["name"] == "compute1" and host["candidate"] is False
    assert host["failed_groups"] == ["_A16_16A-0"]
    assert "CUSTOM_A16_16A: 1 requested, 0 free" in host["summary"]
    assert host["groups"][1]["source"]["alias"] == "A16_16A"


def test_seed_x520_a1_2(api):
    api.post("/pci/aliases", json={"alias": X520_ALIAS})
    put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    request = {"flavor": flavor("a1:2")}
    answer = candidates(api, request)
    assert answer["request_groups"]["group_policy"] == "none"
    assert answer["candidates"], answer
    candidate = answer["candidates"][0]
    names = sorted(d["provider_name"] for d in candidate["devices"])
    assert names == ["compute2_0000:41:00.0", "compute2_0000:41:00.1"]
    claimed = claim(api, str(uuid.uuid4()), request, candidate)
    assert sorted(d["address"] for d in claimed["devices"]) == [
        "0000:41:00.0", "0000:41:00.1"]
    assert all(d["managed"] for d in claimed["devices"])
    assert "managed='yes'" in claimed["hostdev_xml"]


def test_candidates_on_one_host_and_limit(api):
    put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    request = {"alias": [X520_ALIAS], "flavor": flavor("a1:1")}
    assert {c["hostname"] for c in candidates(api, request)["candidates"]} == {
        "compute2"}
    assert len(candidates(api, {**request, "limit": 1})["candidates"]) == 1
    assert candidates(api, {**request, "hostname": "compute1"})[
        "candidates"] == []
    missing = api.post("/pci/candidates", json={**request, "hostname": "nope"})
    assert missing.status_code == 404


@pytest.mark.parametrize("body, text", [
    ({"flavor": flavor("a1:1"), "alias": [X520_ALIAS], "limit": 0}, "limit"),
    ({"flavor": flavor("a1:1"), "alias": [X520_ALIAS], "x": 1}, "('x' was unexpected)"),
    ({"flavor": flavor("zz:1")}, "not defined"),
])
def test_candidates_errors(api, body, text):
    response = api.post("/pci/candidates", json=body)
    assert response.status_code == 400
    assert text in response.get_json()["errors"][0]["detail"]


def test_diagnosis_names_trait_and_forbidden_trait(api):
    put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    # the alias wants a live-migratable device; the specs do not say so
    request = {"alias": [{**A16_ALIAS, "live_migratable": "yes"}],
               "flavor": flavor("A16_16A:1")}
    result = api.post("/pci/diagnosis", json=request).get_json()
    assert result["hosts"] == sorted(result["hosts"], key=lambda h: h["name"])
    compute1, compute2 = result["hosts"]
    assert "missing required trait HW_PCI_LIVE_MIGRATABLE" in compute1["summary"]
    assert "no provider in this tree has CUSTOM_A16_16A" in compute2["summary"]
    assert (result["candidate_count"], result["host_count"]) == (0, 2)

    one = api.post("/pci/diagnosis", json={**request, "hostname": "compute1"})
    assert [h["name"] for h in one.get_json()["hosts"]] == ["compute1"]

    query = api.post("/pci/diagnosis", json={
        "query": "resources=VCPU:1&required=!OWNER_NOVA"}).get_json()
    assert all("forbidden trait(s) OWNER_NOVA" in h["summary"]
               for h in query["hosts"])
    bad = api.post("/pci/diagnosis", json={"query": "resources=VCPU:x"})
    assert bad.status_code == 400
    both = api.post("/pci/diagnosis", json={"query": "resources=VCPU:1",
                                            "flavor": FLAVOR})
    assert both.status_code == 400


LM_SPECS = [{**A16_SPEC, "address": f"0000:25:00.{function}",
             "live_migratable": "yes"} for function in (4, 5)]
LM_ALIAS = {**A16_ALIAS, "live_migratable": "yes"}


def test_live_migration_flow(api):
    put_host(api, "src", LM_SPECS, A16_DEVICES)
    put_host(api, "dst", LM_SPECS, A16_DEVICES)
    put_host(api, "nolm", [A16_SPEC], A16_DEVICES)
    request = {"alias": [LM_ALIAS], "flavor": flavor("A16_16A:1")}
    candidate = candidates(api, {**request, "hostname": "src"})["candidates"][0]
    consumer = str(uuid.uuid4())
    claimed = claim(api, consumer, request, candidate)
    source_address = claimed["devices"][0]["address"]
    assert claimed["devices"][0]["live_migratable"] is True

    check = api.post(f"/pci/claims/{consumer}/live-migration/check", json={})
    assert check.status_code == 200
    assert check.get_json()["live_migratable"] is True

    found = api.post(f"/pci/claims/{consumer}/live-migration/destinations",
                     json={}).get_json()
    hosts = {c["hostname"] for c in found["candidates"]}
    assert hosts == {"dst"}  # not the source, not the non-migratable host
    destination = found["candidates"][0]

    preview = api.post(f"/pci/claims/{consumer}/live-migration/plan", json={
        "allocation_request": destination["allocation_request"]})
    assert preview.status_code == 200, preview.get_data(as_text=True)
    planned = preview.get_json()
    assert planned["destination_devices_claimed"] is False
    [entry] = planned["address_map"]
    assert entry["source_address"] == source_address
    assert entry["destination_hostname"] == "dst"
    assert entry["destination_address"] == "0000:25:00.4"

    # Claim the destination for the migration's own consumer, then plan
    # from those devices; the guest XML given is rewritten.
    migration = str(uuid.uuid4())
    dst_claim = claim(api, migration, claimed["request"], destination)
    guest = (f"<domain><devices>{claimed['hostdev_xml']}</devices></domain>")
    planned = api.post(f"/pci/claims/{consumer}/live-migration/plan", json={
        "destination_consumer": migration, "xml": guest}).get_json()
    assert planned["destination_devices_claimed"] is True
    assert planned["address_map"][0]["destination_address"] == \
        dst_claim["devices"][0]["address"]
    rewritten = ElementTree.fromstring(planned["xml"])
    address = rewritten.find("devices/hostdev/source/address").attrib
    assert address["function"] == "0x" + dst_claim["devices"][0]["address"][-1]


def test_live_migration_refused_for_non_migratable_devices(api):
    put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    request = {"alias": [A16_ALIAS], "flavor": flavor("A16_16A:1")}
    consumer = str(uuid.uuid4())
    claim(api, consumer, request, candidates(api, request)["candidates"][0])
    for action, body in (("check", {}), ("destinations", {}),
                         ("plan", {"destination_consumer": consumer})):
        response = api.post(f"/pci/claims/{consumer}/live-migration/{action}",
                            json=body)
        assert response.status_code == 409, action
        error = response.get_json()["errors"][0]
        assert error["code"] == "placement_pci.live_migration.not_migratable"
        assert "compute1 0000:25:00.4 (alias 'A16_16A')" in error["detail"]
    assert api.post(f"/pci/claims/{uuid.uuid4()}/live-migration/check",
                    json={}).status_code == 404


def test_null_alias_means_the_stored_aliases(api):
    api.post("/pci/aliases", json={"alias": X520_ALIAS})
    put_host(api, "compute2", [X520_SPEC], X520_DEVICES)
    request = {"alias": None, "image": None, "flavor": flavor("a1:1")}
    candidate = candidates(api, request)["candidates"][0]
    claimed = claim(api, str(uuid.uuid4()), request, candidate)
    assert claimed["request"]["alias"] == [X520_ALIAS]
