"""GET /allocation_candidates over HTTP, on every backend: nested trees,
forbidden traits, the many-identical-GPUs case, and snapshot freshness
across workers (each app below has its own Database and snapshot cache,
as separate gunicorn workers would)."""
from __future__ import annotations

import uuid

import pytest

from tests import databases
from tests.conftest import ApiClient, make_app

AGG = "5f1b9bd4-3b0c-4f5e-9d1e-3c1a7e0a0a01"


def provider_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))


def add_provider(api: ApiClient, name: str, parent: str | None = None,
                 inventory: dict[str, int] | None = None,
                 traits: list[str] | None = None) -> str:
    rp = provider_uuid(name)
    body = {"name": name, "uuid": rp}
    if parent:
        body["parent_provider_uuid"] = provider_uuid(parent)
    assert api.post("/resource_providers", json=body).status_code == 200
    generation = 0
    if inventory:
        response = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": generation,
            "inventories": {rc: {"total": total} for rc, total in inventory.items()}})
        assert response.status_code == 200, response.get_json()
        generation = response.get_json()["resource_provider_generation"]
    if traits:
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                api.put(f"/traits/{trait}")
        response = api.put(f"/resource_providers/{rp}/traits", json={
            "resource_provider_generation": generation, "traits": traits})
        assert response.status_code == 200, response.get_json()
    return rp


def compute_with_devices(api: ApiClient, host: str) -> None:
    add_provider(api, host, inventory={"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100})
    add_provider(api, f"{host}_numa0", host, traits=["HW_NUMA_ROOT"])
    add_provider(api, f"{host}_gpu", f"{host}_numa0", inventory={"CUSTOM_GPU": 1},
                 traits=["HW_PCI_LIVE_MIGRATABLE"])
    add_provider(api, f"{host}_nic", f"{host}_numa0", inventory={"SRIOV_NET_VF": 4})


def candidates(api: ApiClient, query: str, version: str = "1.39"):
    response = api.get(f"/allocation_candidates?{query}", version=version)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def api(database) -> ApiClient:
    client = ApiClient(make_app(database).test_client())
    client.put("/resource_classes/CUSTOM_GPU")
    return client


def test_forbidden_trait_in_unsuffixed_group_on_nested_trees(api):
    for host in ("cn1", "cn2"):
        compute_with_devices(api, host)
    body = candidates(api, "resources=VCPU:1,MEMORY_MB:256,DISK_GB:10"
                           "&required=!HW_PCI_LIVE_MIGRATABLE")
    assert len(body["allocation_requests"]) == 2
    assert {next(iter(req["allocations"])) for req in body["allocation_requests"]} == {
        provider_uuid("cn1"), provider_uuid("cn2")}
    # whole trees are summarised, with parents and roots
    gpu = body["provider_summaries"][provider_uuid("cn1_gpu")]
    assert gpu["parent_provider_uuid"] == provider_uuid("cn1_numa0")
    assert gpu["root_provider_uuid"] == provider_uuid("cn1")
    # a GPU request now hits the forbidden trait
    assert candidates(api, "resources=VCPU:1,CUSTOM_GPU:1"
                           "&required=!HW_PCI_LIVE_MIGRATABLE")["allocation_requests"] == []


def test_nested_answers_depend_on_microversion(api):
    compute_with_devices(api, "cn1")
    query = "resources=VCPU:1,SRIOV_NET_VF:1"
    assert len(candidates(api, query, "1.29")["allocation_requests"]) == 1
    # before 1.29 an answer may not use two providers of one tree
    old = candidates(api, query, "1.28")
    assert old == {"allocation_requests": [], "provider_summaries": {}}


def test_identical_gpus_isolated_with_and_without_limit(api):
    for host in range(3):
        root = add_provider(api, f"h{host}", inventory={"VCPU": 16})
        assert root
        for gpu in range(6):
            add_provider(api, f"h{host}_gpu{gpu}", f"h{host}",
                         inventory={"CUSTOM_GPU": 1})
    groups = "&".join(f"resources{i}=CUSTOM_GPU:1" for i in range(1, 5))
    query = f"resources=VCPU:1&{groups}&group_policy=isolate"
    everything = candidates(api, query)["allocation_requests"]
    assert len(everything) == 3 * 6 * 5 * 4 * 3
    limited = candidates(api, query + "&limit=3")
    assert len(limited["allocation_requests"]) == 3
    roots = {provider_uuid(f"h{h}") for h in range(3)}
    used_roots = {uuid for req in limited["allocation_requests"]
                  for uuid in req["allocations"] if uuid in roots}
    assert used_roots <= roots
    # summaries only for trees that appear in the limited answer
    summarised_roots = {s["root_provider_uuid"]
                        for s in limited["provider_summaries"].values()}
    assert summarised_roots == used_roots


def _second_worker(database):
    """Another app on its own Database object and its own snapshot cache."""
    url = database.url.render_as_string(hide_password=False)
    other = databases.migrated_database(url)
    app = make_app(other)
    return other, ApiClient(app.test_client())


def test_a_claim_is_visible_at_once_to_another_worker(api, database):
    add_provider(api, "cn1", inventory={"VCPU": 2})
    other_db, other = _second_worker(database)
    try:
        assert len(candidates(other, "resources=VCPU:2")["allocation_requests"]) == 1
        consumer = str(uuid.uuid4())
        response = api.put(f"/allocations/{consumer}", json={
            "allocations": {provider_uuid("cn1"): {"resources": {"VCPU": 1}}},
            "project_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()),
            "consumer_generation": None}, version="1.36")
        assert response.status_code == 204, response.get_json()
        assert candidates(other, "resources=VCPU:2")["allocation_requests"] == []
        summary = candidates(other, "resources=VCPU:1")["provider_summaries"]
        assert summary[provider_uuid("cn1")]["resources"]["VCPU"]["used"] == 1
        # releasing does not bump generations; it must still show at once
        assert api.delete(f"/allocations/{consumer}").status_code == 204
        assert len(candidates(other, "resources=VCPU:2")["allocation_requests"]) == 1
    finally:
        other_db.dispose()


def test_changes_that_keep_generations_are_still_seen(api, database):
    cn1 = add_provider(api, "cn1", inventory={"VCPU": 2})
    other_db, other = _second_worker(database)
    try:
        query = f"resources=VCPU:1&member_of={AGG}"
        assert candidates(other, query)["allocation_requests"] == []
        # before 1.19 setting aggregates leaves the generation alone
        response = api.put(f"/resource_providers/{cn1}/aggregates", json=[AGG],
                           version="1.18")
        assert response.status_code == 200
        assert len(candidates(other, query)["allocation_requests"]) == 1
        # a provider replaced by another: same counts, new uuid
        assert api.delete(f"/resource_providers/{cn1}").status_code == 204
        add_provider(api, "cn1-new", inventory={"VCPU": 2})
        body = candidates(other, "resources=VCPU:1")
        assert list(body["provider_summaries"]) == [provider_uuid("cn1-new")]
    finally:
        other_db.dispose()


def test_unknown_names_and_bad_queries_are_400(api):
    for query, message in [
        ("resources=CUSTOM_NOPE:1", "No such resource class CUSTOM_NOPE"),
        ("resources=VCPU:1&required=CUSTOM_NOPE", "No such trait(s): CUSTOM_NOPE"),
        ("resources=VCPU:1&limit=0", "Invalid query string parameters"),
    ]:
        response = api.get(f"/allocation_candidates?{query}")
        assert response.status_code == 400
        assert message in response.get_json()["errors"][0]["detail"]
    assert api.get("/allocation_candidates?resources=VCPU:1",
                   version="1.9").status_code == 404


def test_repeated_query_same_body_until_a_write(api):
    add_provider(api, "cn1", inventory={"VCPU": 4})
    query = "/allocation_candidates?resources=VCPU:1"
    first = api.get(query).get_data()
    assert api.get(query).get_data() == first
    # another microversion is another body
    assert api.get(query, version="1.12").get_data() != first
    add_provider(api, "cn2", inventory={"VCPU": 4})
    after = api.get(query).get_json()
    assert len(after["allocation_requests"]) == 2


def test_body_cache_keeps_only_small_bodies():
    from placement_pci.services.allocation_candidates import BodyCache
    cache = BodyCache()
    cache.MAX_BODY = 10
    assert "".join(cache.filling("small", iter(["ab", "cd"]))) == "abcd"
    assert "".join(cache.filling("big", iter(["x" * 8, "y" * 8]))) == "x" * 8 + "y" * 8
    assert cache.get("small") == "abcd"
    assert cache.get("big") is None
