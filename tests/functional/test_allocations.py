"""Allocations, usages and the claim API on every backend (HTTP and store)."""
from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from placement_pci.context import internal
from placement_pci.db import tables
from placement_pci.store import allocations as store
from placement_pci.store import ledger
from placement_pci.store.allocations import ConsumerAllocations
from tests.db.test_claim_concurrency import make_provider, stored_allocations

# What the store needs besides the claim: who writes, for the ledger.
STORE_CALL = {"context": internal(), "action": ledger.PUT_ALLOCATIONS}


def claim_body(provider: str, resources: dict[str, int], generation=None,
               consumer_type: str = "INSTANCE", project: str = "p", user: str = "u") -> dict:
    return {"allocations": {provider: {"resources": resources}}, "project_id": project,
            "user_id": user, "consumer_generation": generation,
            "consumer_type": consumer_type}


def test_oversize_body_is_refused_and_changes_nothing(api, database):
    provider = make_provider(database, "big", {"VCPU": 4})
    consumer = str(uuid.uuid4())
    body = claim_body(provider, {"VCPU": 1})
    body["project_id"] = "p" * (2 * 1024 * 1024)
    response = api.put(f"/allocations/{consumer}", json=body)
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["status"] == 413
    assert stored_allocations(database) == {}


def test_claim_on_overcommitted_inventory_may_shrink_but_not_grow(api, database):
    """An inventory shrunk below its usage accepts claims that reduce the
    overage (as Placement does) and refuses those that add to it."""
    provider = make_provider(database, "shrunk", {"VCPU": 8})
    consumer = str(uuid.uuid4())
    assert api.put(f"/allocations/{consumer}",
                   json=claim_body(provider, {"VCPU": 6})).status_code == 204
    with database.write() as connection:
        connection.execute(sa.update(tables.inventories).values(total=4))
    smaller = api.put(f"/allocations/{consumer}", json=claim_body(provider, {"VCPU": 5}, 1))
    assert smaller.status_code == 204
    other = api.put(f"/allocations/{uuid.uuid4()}", json=claim_body(provider, {"VCPU": 1}))
    assert other.status_code == 409
    assert "exceed the capacity" in other.get_json()["errors"][0]["detail"]
    assert stored_allocations(database) == {consumer: {(provider, "VCPU"): 5}}


def test_refused_claim_of_new_consumer_leaves_no_consumer(api, database):
    provider = make_provider(database, "small", {"VCPU": 2})
    consumer = str(uuid.uuid4())
    refused = api.put(f"/allocations/{consumer}", json=claim_body(provider, {"VCPU": 3}))
    assert refused.status_code == 409
    assert api.get(f"/allocations/{consumer}").get_json() == {"allocations": {}}
    # Still a new consumer: null is still the right generation.
    assert api.put(f"/allocations/{consumer}",
                   json=claim_body(provider, {"VCPU": 2})).status_code == 204
    assert api.get(f"/allocations/{consumer}").get_json()["consumer_generation"] == 1


def test_claims_bump_the_generation_of_the_providers_they_allocate_from(api, database):
    first = make_provider(database, "first", {"VCPU": 4})
    second = make_provider(database, "second", {"VCPU": 4})
    consumer = str(uuid.uuid4())

    def generations() -> tuple[int, int]:
        return tuple(api.get(f"/resource_providers/{p}/allocations")
                     .get_json()["resource_provider_generation"] for p in (first, second))

    assert generations() == (0, 0)
    api.put(f"/allocations/{consumer}", json=claim_body(first, {"VCPU": 1}))
    assert generations() == (1, 0)
    api.put(f"/allocations/{consumer}", json=claim_body(second, {"VCPU": 1}, 1))
    assert generations() == (1, 1)
    api.put(f"/allocations/{consumer}", json={**claim_body(second, {}, 2), "allocations": {}})
    assert generations() == (1, 2)


def test_owner_and_type_follow_each_write(api, database):
    """The claim finds the owner's rows by name for a new consumer and
    reuses an existing consumer's rows while its owner stays: whichever
    way, what is read back is what was written last."""
    provider = make_provider(database, "owned", {"VCPU": 64})
    first, second, old = (str(uuid.uuid4()) for _ in range(3))

    def owner(consumer: str) -> tuple:
        body = api.get(f"/allocations/{consumer}", version="1.38").get_json()
        return (body["project_id"], body["user_id"], body["consumer_type"],
                body["consumer_generation"])

    def put(consumer: str, version: str = "1.38", **changes) -> None:
        body = {**claim_body(provider, {"VCPU": 1}), **changes}
        if version == "1.28":  # before consumer types
            body.pop("consumer_type")
        response = api.put(f"/allocations/{consumer}", json=body, version=version)
        assert response.status_code == 204, response.get_json()

    put(first, project_id="p1", user_id="u1")
    assert owner(first) == ("p1", "u1", "INSTANCE", 1)
    put(first, project_id="p1", user_id="u1", consumer_generation=1)
    assert owner(first) == ("p1", "u1", "INSTANCE", 2)
    put(first, project_id="p2", user_id="u1", consumer_type="MIGRATION",
        consumer_generation=2)
    assert owner(first) == ("p2", "u1", "MIGRATION", 3)
    put(first, project_id="p2", user_id="u2", consumer_generation=3, version="1.28")
    assert owner(first) == ("p2", "u2", "MIGRATION", 4)
    # A new owner and type, then the same owner with a type the consumer
    # did not have.
    put(second, project_id="p3", user_id="u3", version="1.28")
    assert owner(second) == ("p3", "u3", "unknown", 1)
    put(second, project_id="p3", user_id="u3", consumer_type="NEWTYPE",
        consumer_generation=1)
    assert owner(second) == ("p3", "u3", "NEWTYPE", 2)
    # Before 1.8 a claim has no owner: Placement's placeholders.
    listed = api.put(f"/allocations/{old}", version="1.7", json={"allocations": [
        {"resource_provider": {"uuid": provider}, "resources": {"VCPU": 1}}]})
    assert listed.status_code == 204, listed.get_json()
    placeholder = "00000000-0000-0000-0000-000000000000"
    assert owner(old) == (placeholder, placeholder, "unknown", 1)
    assert api.get("/usages?project_id=p2&user_id=u2").get_json()["usages"] == {
        "MIGRATION": {"VCPU": 1, "consumer_count": 1}}


def test_usages_by_consumer_type_on_every_backend(api, database):
    """Upstream answers 500 here on PostgreSQL; we group portably."""
    provider = make_provider(database, "typed", {"VCPU": 64, "MEMORY_MB": 8192})
    claims = [("INSTANCE", {"VCPU": 2, "MEMORY_MB": 512}), ("INSTANCE", {"VCPU": 4}),
              ("MIGRATION", {"VCPU": 1})]
    for consumer_type, resources in claims:
        assert api.put(f"/allocations/{uuid.uuid4()}",
                       json=claim_body(provider, resources,
                                       consumer_type=consumer_type)).status_code == 204
    old = api.put(f"/allocations/{uuid.uuid4()}", version="1.28",
                  json={k: v for k, v in claim_body(provider, {"MEMORY_MB": 256}).items()
                        if k != "consumer_type"})
    assert old.status_code == 204

    grouped = api.get("/usages?project_id=p").get_json()["usages"]
    assert grouped == {
        "INSTANCE": {"VCPU": 6, "MEMORY_MB": 512, "consumer_count": 2},
        "MIGRATION": {"VCPU": 1, "consumer_count": 1},
        "unknown": {"MEMORY_MB": 256, "consumer_count": 1},
    }
    assert api.get("/usages?project_id=p&consumer_type=all").get_json()["usages"] == {
        "all": {"VCPU": 7, "MEMORY_MB": 768, "consumer_count": 4}}
    assert api.get("/usages?project_id=p&consumer_type=unknown&user_id=u").get_json() == {
        "usages": {"unknown": {"MEMORY_MB": 256, "consumer_count": 1}}}
    assert api.get("/usages?project_id=p", version="1.37").get_json() == {
        "usages": {"VCPU": 7, "MEMORY_MB": 768}}


def test_replace_allocations_reports_generations_and_drops_emptied_consumers(database):
    provider = make_provider(database, "store", {"VCPU": 8})
    keep, release = str(uuid.uuid4()), str(uuid.uuid4())
    first = store.replace_allocations(database, [
        ConsumerAllocations(keep, {provider: {"VCPU": 1}}, "p", "u", check_generation=True),
        ConsumerAllocations(release, {provider: {"VCPU": 2}}, "p", "u",
                            check_generation=True)], **STORE_CALL)
    assert first == {keep: 1, release: 1}
    second = store.replace_allocations(database, [
        ConsumerAllocations(keep, {provider: {"VCPU": 3}}, "p", "u",
                            expected_generation=1, check_generation=True),
        ConsumerAllocations(release, {}, "p", "u", expected_generation=1,
                            check_generation=True)], **STORE_CALL)
    assert second == {keep: 2, release: None}
    assert stored_allocations(database) == {keep: {(provider, "VCPU"): 3}}
    with database.read() as connection:
        consumers = set(connection.execute(sa.select(tables.consumers.c.uuid)).scalars())
    assert consumers == {keep}


@pytest.mark.parametrize("claim, error", [
    ({"VCPU": 9}, store.AllocationRefused),
    ({"CUSTOM_MISSING": 1}, store.UnknownResourceClass),
    ({"MEMORY_MB": 1}, store.AllocationRefused),
])
def test_refused_store_claims_write_nothing(database, claim, error):
    provider = make_provider(database, "refusing", {"VCPU": 8})
    with pytest.raises(error):
        store.replace_allocations(database, [
            ConsumerAllocations(str(uuid.uuid4()), {provider: claim}, "p", "u")],
            **STORE_CALL)
    assert stored_allocations(database) == {}


@pytest.mark.parametrize("inventory, amount, fits", [
    # (total, reserved, min_unit, max_unit, step_size, allocation_ratio)
    ((10, 0, 1, 10, 1, 1.0), 10, True),
    ((10, 0, 1, 10, 1, 1.0), 11, False),          # capacity
    ((10, 2, 1, 10, 1, 1.0), 9, False),           # reserved is not usable
    ((10, 2, 1, 10, 1, 1.0), 8, True),
    ((10, 0, 1, 40, 1, 4.0), 40, True),           # ratio multiplies
    ((10, 0, 1, 40, 1, 1.5), 16, False),          # 15 usable
    ((10, 0, 2, 10, 1, 1.0), 1, False),           # min_unit
    ((10, 0, 1, 4, 1, 1.0), 5, False),            # max_unit
    ((10, 0, 1, 10, 3, 1.0), 4, False),           # step_size
    ((10, 0, 1, 10, 3, 1.0), 9, True),
])
def test_capacity_and_unit_rules(database, inventory, amount, fits):
    total, reserved, min_unit, max_unit, step_size, ratio = inventory
    provider = make_provider(database, "rules", {"VCPU": total})
    with database.write() as connection:
        connection.execute(sa.update(tables.inventories).values(
            reserved=reserved, min_unit=min_unit, max_unit=max_unit,
            step_size=step_size, allocation_ratio=ratio))
    claim = ConsumerAllocations(str(uuid.uuid4()), {provider: {"VCPU": amount}}, "p", "u")
    if fits:
        store.replace_allocations(database, [claim], **STORE_CALL)
        assert stored_allocations(database) == {claim.consumer_uuid: {(provider, "VCPU"): amount}}
    else:
        with pytest.raises(store.AllocationRefused):
            store.replace_allocations(database, [claim], **STORE_CALL)
        assert stored_allocations(database) == {}


def test_allocations_are_answered_in_the_order_they_were_written(api, database):
    """GET /allocations/{consumer} and GET /resource_providers/{uuid}/allocations
    list what a PUT wrote in the PUT's order on every backend (PostgreSQL
    used to answer in reverse)."""
    providers = sorted(
        make_provider(database, name, {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100})
        for name in ("first", "second", "third"))
    # Neither sorted nor reversed: only the request's order explains it.
    order = [providers[2], providers[0], providers[1]]
    consumer = str(uuid.uuid4())
    body = claim_body(order[0], {"MEMORY_MB": 64, "VCPU": 1})
    body["allocations"] = {provider: {"resources": {"MEMORY_MB": 64, "VCPU": 1, "DISK_GB": 2}}
                           for provider in order}
    # json.dumps keeps the order (the test client's json= would sort keys).
    assert api.put(f"/allocations/{consumer}", data=json.dumps(body),
                   content_type="application/json").status_code == 204
    for _ in range(3):
        answer = api.get(f"/allocations/{consumer}").get_json()["allocations"]
        assert list(answer) == order
        for provider in order:
            assert list(answer[provider]["resources"]) == ["MEMORY_MB", "VCPU", "DISK_GB"]
    others = [str(uuid.uuid4()) for _ in range(3)]
    for other in others:
        assert api.put(f"/allocations/{other}", json=claim_body(
            order[1], {"VCPU": 1})).status_code == 204
    by_consumer = api.get(f"/resource_providers/{order[1]}/allocations").get_json()
    assert list(by_consumer["allocations"]) == [consumer, *others]


def test_usages_are_answered_sorted_by_resource_class(api, database):
    """GET /usages and GET /resource_providers/{uuid}/usages: the same order
    on every backend (GROUP BY alone gives each its own)."""
    classes = ["VCPU", "MEMORY_MB", "DISK_GB", "PCPU", "IPV4_ADDRESS", "SRIOV_NET_VF"]
    provider = make_provider(database, "usage-order", {name: 1000 for name in classes})
    consumer = str(uuid.uuid4())
    body = claim_body(provider, {name: 1 for name in classes}, project="proj")
    assert api.put(f"/allocations/{consumer}", data=json.dumps(body),
                   content_type="application/json").status_code == 204
    assert list(api.get(f"/resource_providers/{provider}/usages").get_json()["usages"]) \
        == sorted(classes)
    assert list(api.get("/usages?project_id=proj", version="1.37").get_json()["usages"]) \
        == sorted(classes)
    by_type = api.get("/usages?project_id=proj").get_json()["usages"]
    assert list(by_type["INSTANCE"]) == [*sorted(classes), "consumer_count"]
