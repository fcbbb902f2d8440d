"""Identifiers compare exactly on every backend: MariaDB's default
case-insensitive collation must not let project VICTIMPROJ read
victimproj's usages, nor host CASEHOST replace host casehost's devices."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from tests.functional.test_pci_hosts import SEED_BODY, body
from tests.seeds import A16_ALIAS


def _provider_with_vcpus(api, name: str) -> str:
    created = api.post("/resource_providers", json={"name": name})
    assert created.status_code == 200, created.get_json()
    provider = created.get_json()["uuid"]
    assert api.put(f"/resource_providers/{provider}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 16}}}).status_code == 200
    return provider


def _allocate(api, provider: str, project: str, user: str, vcpus: int) -> str:
    consumer = str(uuid.uuid4())
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {provider: {"resources": {"VCPU": vcpus}}},
        "project_id": project, "user_id": user, "consumer_generation": None,
        "consumer_type": "INSTANCE"})
    assert response.status_code == 204, response.get_json()
    return consumer


def test_projects_and_users_differing_in_case_are_different(api):
    provider = _provider_with_vcpus(api, "cn1")
    _allocate(api, provider, "victimproj", "victimuser", 2)
    other = _allocate(api, provider, "VICTIMPROJ", "VICTIMUSER", 3)

    def usages(**query):
        return api.get(f"/usages?{urlencode(query)}").get_json()["usages"]

    assert usages(project_id="victimproj") == {
        "INSTANCE": {"consumer_count": 1, "VCPU": 2}}
    assert usages(project_id="VICTIMPROJ") == {
        "INSTANCE": {"consumer_count": 1, "VCPU": 3}}
    assert usages(project_id="VictimProj") == {}
    assert usages(project_id="victimproj", user_id="VICTIMUSER") == {}
    shown = api.get(f"/allocations/{other}").get_json()
    assert (shown["project_id"], shown["user_id"]) == ("VICTIMPROJ", "VICTIMUSER")


def test_provider_names_differing_in_case_are_different(api):
    _provider_with_vcpus(api, "cn1")
    _provider_with_vcpus(api, "CN1")
    listed = api.get("/resource_providers?name=CN1").get_json()["resource_providers"]
    assert [p["name"] for p in listed] == ["CN1"]


def test_a_host_differing_in_case_does_not_touch_another_hosts_devices(api):
    def put(host, payload):
        response = api.put(f"/pci/hosts/{host}", json=payload)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    seeded = put("casehost", SEED_BODY)
    put("CASEHOST", body(devices=[], mdev={}))
    kept = api.get("/pci/hosts/casehost").get_json()
    assert sorted(p["name"] for p in kept["providers"]) == \
        sorted(p["name"] for p in seeded["providers"])
    assert api.get("/pci/hosts/CASEHOST").get_json()["root_provider"]["name"] == "CASEHOST"


def test_alias_names_differing_in_case_are_different(api):
    lower = dict(A16_ALIAS, name="gpu")
    upper = dict(A16_ALIAS, name="GPU", device_type="type-PF")
    assert api.post("/pci/aliases", json={"alias": lower}).status_code == 201
    assert api.post("/pci/aliases", json={"alias": upper}).status_code == 201
    assert api.get("/pci/aliases/GPU").get_json()["entry"] == upper
    assert api.get("/pci/aliases/gpu").get_json()["entry"] == lower
