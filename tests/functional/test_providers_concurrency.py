"""Generation-checked provider writes under real concurrency: when N
clients send the same generation at once, exactly one wins and the others
get 409 placement.concurrent_update; nothing is half-applied."""
from __future__ import annotations

import threading

import pytest

from tests.conftest import ApiClient

RP = "3d4e5f60-7182-493a-8b1c-2d3e4f5a6b7c"
CLIENTS = 8


def _race(app, requests):  # type: ignore[no-untyped-def]
    """Run one request per thread, all released at the same instant."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, request):  # type: ignore[no-untyped-def]
        client = ApiClient(app.test_client())
        barrier.wait()
        results[index] = request(client)

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _traits(client, index):  # type: ignore[no-untyped-def]
    return client.put(f"/resource_providers/{RP}/traits", json={
        "traits": [f"CUSTOM_T{index}"], "resource_provider_generation": 0})


def _aggregates(client, index):  # type: ignore[no-untyped-def]
    return client.put(f"/resource_providers/{RP}/aggregates", json={
        "aggregates": [f"00000000-0000-4000-8000-00000000000{index}"],
        "resource_provider_generation": 0})


def _inventories(client, index):  # type: ignore[no-untyped-def]
    return client.put(f"/resource_providers/{RP}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": index + 1}}})


@pytest.mark.parametrize("write", [_traits, _aggregates, _inventories])
def test_same_generation_exactly_one_wins(app, api, write):
    assert api.post("/resource_providers", json={"name": "host", "uuid": RP}).status_code == 200
    for index in range(CLIENTS):
        assert api.put(f"/traits/CUSTOM_T{index}").status_code == 201
    responses = _race(app, [lambda c, i=i: write(c, i) for i in range(CLIENTS)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    for response in responses:
        if response.status_code == 409:
            assert response.get_json()["errors"][0]["code"] == "placement.concurrent_update"
    winner = next(r for r in responses if r.status_code == 200).get_json()
    assert api.get(f"/resource_providers/{RP}").get_json()["generation"] == 1
    # What is stored is exactly the winner's write.
    if write is _traits:
        assert api.get(f"/resource_providers/{RP}/traits").get_json()["traits"] == winner["traits"]
    elif write is _aggregates:
        stored = api.get(f"/resource_providers/{RP}/aggregates").get_json()["aggregates"]
        assert stored == winner["aggregates"]
    else:
        stored = api.get(f"/resource_providers/{RP}/inventories").get_json()["inventories"]
        assert stored == winner["inventories"]


def test_concurrent_creates_of_one_name_make_one_provider(app, api):
    responses = _race(app, [
        lambda c: c.post("/resource_providers", json={"name": "same"})
        for _ in range(CLIENTS)])
    assert sorted(r.status_code for r in responses) == [200] + [409] * (CLIENTS - 1)
    for response in responses:
        if response.status_code == 409:
            assert response.get_json()["errors"][0]["code"] == "placement.duplicate_name"
    assert len(api.get("/resource_providers").get_json()["resource_providers"]) == 1


def test_concurrent_trait_creation_is_idempotent(app, api):
    responses = _race(app, [lambda c: c.put("/traits/CUSTOM_RACE") for _ in range(CLIENTS)])
    assert sorted(r.status_code for r in responses) == [201] + [204] * (CLIENTS - 1)


def _roots_are_consistent(api) -> None:  # type: ignore[no-untyped-def]
    """Every provider's root is the top of its parent chain, with no loop."""
    listed = api.get("/resource_providers").get_json()["resource_providers"]
    by_uuid = {p["uuid"]: p for p in listed}
    for provider in listed:
        seen, current = set(), provider
        while current["parent_provider_uuid"] is not None:
            assert current["uuid"] not in seen, "loop in the provider tree"
            seen.add(current["uuid"])
            current = by_uuid[current["parent_provider_uuid"]]
        assert provider["root_provider_uuid"] == current["uuid"]


def test_crossed_reparenting_cannot_make_a_loop(app, api):
    first, second = (f"0000000{i}-0000-4000-8000-000000000000" for i in (1, 2))
    for name, uuid in (("first", first), ("second", second)):
        assert api.post("/resource_providers", json={"name": name, "uuid": uuid}
                        ).status_code == 200
    responses = _race(app, [
        lambda c: c.put(f"/resource_providers/{first}",
                        json={"name": "first", "parent_provider_uuid": second}),
        lambda c: c.put(f"/resource_providers/{second}",
                        json={"name": "second", "parent_provider_uuid": first}),
    ])
    assert sorted(r.status_code for r in responses) == [200, 400]
    refused = next(r for r in responses if r.status_code == 400)
    assert "creating loop" in refused.get_json()["errors"][0]["detail"]
    _roots_are_consistent(api)


def test_children_created_while_their_tree_moves_get_the_new_root(app, api):
    top, middle, new_top, deep = (f"0000000{i}-0000-4000-8000-000000000000"
                                  for i in (1, 2, 3, 4))
    assert api.post("/resource_providers", json={"name": "top", "uuid": top}).status_code == 200
    assert api.post("/resource_providers", json={
        "name": "middle", "uuid": middle, "parent_provider_uuid": top}).status_code == 200
    assert api.post("/resource_providers", json={
        "name": "deep", "uuid": deep, "parent_provider_uuid": middle}).status_code == 200
    assert api.post("/resource_providers", json={"name": "new top", "uuid": new_top}
                    ).status_code == 200
    requests = [lambda c: c.put(f"/resource_providers/{middle}", json={
        "name": "middle", "parent_provider_uuid": new_top})]
    requests += [lambda c, i=i: c.post("/resource_providers", json={
        "name": f"leaf{i}", "parent_provider_uuid": deep}) for i in range(CLIENTS - 1)]
    responses = _race(app, requests)
    assert all(r.status_code == 200 for r in responses)
    _roots_are_consistent(api)


def test_deleting_a_class_while_it_is_being_inventoried(app, api):
    assert api.put("/resource_classes/CUSTOM_RACE").status_code == 201
    hosts = [f"0000000{i}-0000-4000-8000-000000000000" for i in range(1, CLIENTS)]
    for index, uuid in enumerate(hosts):
        assert api.post("/resource_providers", json={"name": f"h{index}", "uuid": uuid}
                        ).status_code == 200
    requests = [lambda c: c.delete("/resource_classes/CUSTOM_RACE")]
    requests += [lambda c, u=u: c.post(f"/resource_providers/{u}/inventories", json={
        "resource_class": "CUSTOM_RACE", "total": 1}) for u in hosts]
    delete, *adds = _race(app, requests)
    assert delete.status_code in (204, 409)
    assert all(r.status_code in (201, 400, 409) for r in adds)
    added = [r for r in adds if r.status_code == 201]
    if delete.status_code == 204:
        assert not added
        assert api.get("/resource_classes/CUSTOM_RACE").status_code == 404
    else:
        assert added
    for uuid in hosts:
        inventory = api.get(f"/resource_providers/{uuid}/inventories").get_json()["inventories"]
        assert list(inventory) in ([], ["CUSTOM_RACE"])
