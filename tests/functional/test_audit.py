"""GET/POST /pci/audit and POST /pci/audit/heal over HTTP, on every backend:
each kind of finding, its repair, dry runs, concurrent claims, host syncs."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from placement_pci.db import tables
from tests.conftest import ApiClient, make_app
from tests.functional.test_pci_scheduling_claims import claim_body
from tests.seeds import A16_ALIAS, A16_PF, A16_SPEC, a16_vf

HOST = "compute1"
PF_NAME = f"{HOST}_0000:25:00.0"
VF = "CUSTOM_A16_16A"


def put_a16_host(api, functions=(4, 5), hostname=HOST, assigned=None):
    assigned = assigned or {}
    devices = [A16_PF] + [dict(a16_vf(f), assigned_to=assigned.get(f)) for f in functions]
    spec = [dict(A16_SPEC, address=f"0000:25:00.{f}") for f in functions]
    response = api.put(f"/pci/hosts/{hostname}", json={"device_spec": spec,
                                                       "devices": devices})
    assert response.status_code == 200, response.get_json()
    return {p["name"]: p["uuid"] for p in response.get_json()["providers"]}


def put_plain(api, consumer, allocations):
    """Allocations through the plain Placement API (no device assigned)."""
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": allocations, "project_id": "p", "user_id": "u",
        "consumer_generation": None, "consumer_type": "INSTANCE"})
    assert response.status_code == 204, response.get_json()
    return response


def claim_vf(api, consumer, pf, status=200):
    response = api.put(f"/pci/claims/{consumer}", json=claim_body(
        [A16_ALIAS], "A16_16A:1", {pf: {VF: 1}}, {"_A16_16A-0": [pf]}))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def findings(api, query="", body=None):
    response = (api.post("/pci/audit" + query, json=body) if body is not None
                else api.get("/pci/audit" + query))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["findings"]


def kinds(found):
    return sorted((f["kind"], f["consumer_uuid"], f["address"]) for f in found)


def heal(api, query="", body=None):
    response = api.post("/pci/audit/heal" + query, json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def held_devices(api, consumer):
    """(hostname, address, group) of the devices the consumer's claim holds."""
    claim = api.get(f"/pci/claims/{consumer}").get_json()
    return [(d["hostname"], d["address"], d["group"]) for d in claim["devices"]
            if d["assigned"]]


def allocations(api, consumer):
    return {p: e["resources"] for p, e in
            api.get(f"/allocations/{consumer}").get_json()["allocations"].items()}


def test_the_scenario_over_http(api, database):
    """Claim a VF, delete its allocation behind the service's back, audit
    reports it, a dry run proposes re-creating it, the heal applies it,
    the audit is clean and the ledger shows all four writes."""
    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    claimed = claim_vf(api, consumer, pf)
    address = claimed["devices"][0]["address"]
    assert findings(api) == []

    assert api.delete(f"/allocations/{consumer}").status_code == 204
    found = findings(api)
    assert kinds(found) == [("claim_without_allocation", consumer, None),
                            ("device_without_allocation", consumer, address)]
    by_kind = {f["kind"]: f for f in found}
    assert by_kind["device_without_allocation"]["provider_uuid"] == pf
    assert by_kind["device_without_allocation"]["hostname"] == HOST
    assert "no allocations at all" in by_kind["claim_without_allocation"]["detail"]

    proposed = heal(api, "?dry_run=true")
    assert proposed["dry_run"] is True
    assert {(a["kind"], a["action"], a["applied"]) for a in proposed["actions"]} == {
        ("claim_without_allocation", "re-create allocations", False),
        ("device_without_allocation", "re-create allocations", False)}
    assert any(a["detail"].startswith("would re-create") for a in proposed["actions"])
    assert allocations(api, consumer) == {}  # the dry run changed nothing
    assert kinds(findings(api)) == kinds(found)

    applied = heal(api)
    assert applied["dry_run"] is False
    assert all(a["applied"] for a in applied["actions"]), applied
    assert allocations(api, consumer) == {pf: {VF: 1}}
    assert findings(api) == []
    assert held_devices(api, consumer) == [(HOST, address, "_A16_16A-0")]

    ledger = api.get(f"/pci/ledger?consumer_uuid={consumer}").get_json()["entries"]
    assert [(e["action"], e["after"]) for e in ledger] == [
        ("pci.claim", {pf: {"resources": {VF: 1}}}),
        ("allocations.delete", {}),
        ("pci.audit.heal", {pf: {"resources": {VF: 1}}}),
    ]
    assert api.get("/pci/ledger").get_json()["entries"][-1]["action"] == "pci.audit.heal"


def test_allocation_without_device_gets_a_free_device_in_its_claim(api, database):
    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    first = claim_vf(api, consumer, pf)["devices"][0]["address"]
    # Behind the service's back the consumer's allocation grows to 2 VFs.
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {pf: {"resources": {VF: 2}}}, "project_id": "p1", "user_id": "u1",
        "consumer_generation": 1, "consumer_type": "INSTANCE"})
    assert response.status_code == 204, response.get_json()
    [finding] = findings(api)
    assert (finding["kind"], finding["consumer_uuid"], finding["provider_uuid"],
            finding["resource_class"]) == ("allocation_without_device", consumer, pf, VF)
    assert "holds 2 CUSTOM_A16_16A" in finding["detail"]
    assert "only 1 device(s)" in finding["detail"]
    [action] = heal(api)["actions"]
    assert (action["action"], action["applied"]) == ("assign device", True)
    assert sorted(held_devices(api, consumer)) == sorted([
        (HOST, first, "_A16_16A-0"), (HOST, "0000:25:00.5", "")])
    assert findings(api) == []


def test_allocation_without_device_and_without_claim_is_reported(api, database):
    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    # Through the plain Placement API: an allocation, no device.
    put_plain(api, consumer, {pf: {"resources": {VF: 1}}})
    [finding] = findings(api)
    assert (finding["kind"], finding["consumer_uuid"]) == ("allocation_without_device",
                                                           consumer)
    assert "no device of that provider is assigned" in finding["detail"]
    [action] = heal(api)["actions"]
    assert (action["action"], action["applied"]) == ("none", False)
    assert "has no PCI claim" in action["detail"]
    assert api.get(f"/pci/claims/{consumer}").status_code == 404


def test_device_in_use_by_a_consumer_without_allocation_gets_one(api, database):
    pf = put_a16_host(api)[PF_NAME]
    instance = str(uuid.uuid4())
    # The host reports VF .5 in use: the sync heals its allocation ...
    put_a16_host(api, assigned={5: instance})
    assert allocations(api, instance) == {pf: {VF: 1}}
    # ... which is then deleted behind the service's back.
    assert api.delete(f"/allocations/{instance}").status_code == 204
    [finding] = findings(api)
    assert (finding["kind"], finding["consumer_uuid"], finding["address"]) == (
        "device_without_allocation", instance, "0000:25:00.5")
    assert "its host reports in use by it" in finding["detail"]
    [action] = heal(api)["actions"]
    assert (action["action"], action["applied"]) == ("add allocation", True)
    assert allocations(api, instance) == {pf: {VF: 1}}
    assert findings(api) == []


def test_over_capacity_is_reported_and_left_to_an_operator(api, database):
    pf = put_a16_host(api)[PF_NAME]
    consumers = [str(uuid.uuid4()), str(uuid.uuid4())]
    for consumer in consumers:
        claim_vf(api, consumer, pf)
    # The inventory shrinks below its usage (reserved raised behind the
    # allocations' back).
    with database.write() as connection:
        connection.execute(sa.update(tables.inventories).values(reserved=1))
    [finding] = findings(api)
    assert (finding["kind"], finding["provider_uuid"], finding["consumer_uuid"]) == (
        "over_capacity", pf, None)
    assert "2 CUSTOM_A16_16A allocated but a capacity of 1" in finding["detail"]
    [action] = heal(api)["actions"]
    assert (action["action"], action["applied"]) == ("none", False)
    assert all(allocations(api, c) == {pf: {VF: 1}} for c in consumers)


def test_host_assignment_mismatch(api, database):
    pf = put_a16_host(api)[PF_NAME]
    owner, other = str(uuid.uuid4()), str(uuid.uuid4())
    claimed = claim_vf(api, owner, pf)["devices"][0]["address"]
    put_plain(api, other, {pf: {"resources": {VF: 1}}})
    function = int(claimed[-1])
    # The host says the claimed VF is attached to the other instance.
    put_a16_host(api, assigned={function: other})
    found = findings(api)
    mismatch = [f for f in found if f["kind"] == "host_assignment_mismatch"]
    assert [(f["consumer_uuid"], f["address"]) for f in mismatch] == [(other, claimed)]
    assert f"the service assigned it to {owner}" in mismatch[0]["detail"]
    actions = heal(api, "?dry_run=true")["actions"]
    assert [(a["action"], a["applied"]) for a in actions
            if a["kind"] == "host_assignment_mismatch"] == [("none", False)]


def test_orphans_from_a_list_of_live_consumers(api, database):
    pf = put_a16_host(api)[PF_NAME]
    live, gone = str(uuid.uuid4()), str(uuid.uuid4())
    claim_vf(api, live, pf)
    claim_vf(api, gone, pf)
    body = {"hostname": HOST, "live_consumers": [live]}
    assert kinds(findings(api, body=body)) == [("orphan_consumer", gone, None)]
    assert findings(api) == []  # without the list nobody is an orphan
    [action] = heal(api, body=body)["actions"]
    assert (action["action"], action["applied"]) == (
        "delete allocations and release devices", True)
    assert allocations(api, gone) == {}
    assert api.get(f"/pci/claims/{gone}").status_code == 404
    assert allocations(api, live) == {pf: {VF: 1}}
    assert findings(api, body=body) == []


def test_a_migrating_consumer_keeps_both_hosts(api, database):
    source = put_a16_host(api, hostname="src")["src_0000:25:00.0"]
    destination = put_a16_host(api, hostname="dst")["dst_0000:25:00.0"]
    consumer = str(uuid.uuid4())
    claim_vf(api, consumer, source)
    # During a move the consumer holds the source and the destination;
    # no destination device is assigned yet.
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {source: {"resources": {VF: 1}},
                        destination: {"resources": {VF: 1}}},
        "project_id": "p1", "user_id": "u1", "consumer_generation": 1,
        "consumer_type": "INSTANCE"})
    assert response.status_code == 204, response.get_json()
    [finding] = findings(api)
    assert (finding["kind"], finding["hostname"]) == ("allocation_without_device", "dst")
    # One host's list of its instances cannot make a migrating consumer
    # an orphan.
    assert findings(api, body={"hostname": "dst", "live_consumers": []}) == [finding]
    [action] = heal(api)["actions"]
    assert (action["action"], action["applied"]) == ("assign device", True)
    # Not "fixed" into a single-host allocation: both hosts kept.
    assert allocations(api, consumer) == {source: {VF: 1}, destination: {VF: 1}}
    assert sorted(held_devices(api, consumer)) == [("dst", "0000:25:00.4", ""),
                                              ("src", "0000:25:00.4", "_A16_16A-0")]
    assert findings(api) == []


def test_heal_after_a_host_sync_removed_the_claimed_device(api, database):
    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    claim_vf(api, consumer, pf)  # takes 0000:25:00.4
    # The host now reports the PF with only VF .5: .4 is gone.
    put_a16_host(api, functions=(5,))
    found = findings(api)
    assert ("allocation_without_device", consumer, None) in kinds(found)
    [action] = [a for a in heal(api)["actions"] if a["kind"] == "allocation_without_device"]
    assert (action["action"], action["applied"]) == ("assign device", True)
    # The vanished device's place in the claim (its request group) goes to
    # the device that is left.
    assert held_devices(api, consumer) == [(HOST, "0000:25:00.5", "_A16_16A-0")]
    assert findings(api) == []


def test_a_finding_that_changed_meanwhile_is_skipped(api, database, monkeypatch):
    """The heal's compare-and-swap: a claim landing between the heal's
    audit and its repair makes the repair stand down.  The heal is handed
    the facts read before that claim, as if the claim had committed right
    after the heal read them."""
    from placement_pci.context import internal
    from placement_pci.services import audit as audit_service
    from placement_pci.store import audit_facts

    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    claim_vf(api, consumer, pf)
    api.delete(f"/allocations/{consumer}")
    before_the_claim = database.run_read(audit_facts.read_facts)
    claim_vf(api, str(uuid.uuid4()), pf)  # another claim bumps the PF
    monkeypatch.setattr(audit_facts, "read_facts", lambda connection: before_the_claim)
    actions = audit_service.heal(database, context=internal())
    assert actions and not any(a["applied"] for a in actions)
    assert all("skipped, nothing written" in a["detail"] for a in actions)
    assert "changed since the audit" in actions[0]["detail"]
    assert allocations(api, consumer) == {}


def test_concurrent_claims_during_heals_never_double_assign(database):
    app = make_app(database)
    api = ApiClient(app.test_client())
    pf = put_a16_host(api, functions=(4, 5, 6, 7))[PF_NAME]
    broken = [str(uuid.uuid4()) for _ in range(2)]
    for consumer in broken:  # claims whose allocations grew behind their back
        claim_vf(api, consumer, pf)
        api.put(f"/allocations/{consumer}", json={
            "allocations": {pf: {"resources": {VF: 2}}}, "project_id": "p1",
            "user_id": "u1", "consumer_generation": 1, "consumer_type": "INSTANCE"})
    claimers = [str(uuid.uuid4()) for _ in range(3)]
    barrier = threading.Barrier(len(claimers) + 2)
    statuses, failures = [], []

    def claim(consumer):
        try:
            client = ApiClient(app.test_client())
            barrier.wait()
            statuses.append(client.put(f"/pci/claims/{consumer}", json=claim_body(
                [A16_ALIAS], "A16_16A:1", {pf: {VF: 1}}, {"_A16_16A-0": [pf]})).status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    def healer():
        try:
            client = ApiClient(app.test_client())
            barrier.wait()
            for _ in range(3):
                statuses.append(client.post("/pci/audit/heal").status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=claim, args=(c,)) for c in claimers]
    threads += [threading.Thread(target=healer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert set(statuses) <= {200, 409}, statuses
    # Whatever interleaving: usage within capacity, no device held by two
    # claims, no claim holding more devices than its allocation.
    usage = api.get(f"/resource_providers/{pf}/usages").get_json()["usages"][VF]
    assert usage <= 4
    claims = api.get("/pci/claims").get_json()["claims"]
    held = [(c["consumer_uuid"], d["address"]) for c in claims for d in c["devices"]
            if d["assigned"]]
    assert len({address for _, address in held}) == len(held)
    for claim in claims:
        count = sum(1 for consumer, _ in held if consumer == claim["consumer_uuid"])
        assert allocations(api, claim["consumer_uuid"]).get(pf, {}).get(VF, 0) >= count
    # A last heal leaves nothing to repair.
    heal(api)
    assert [f for f in findings(api) if f["kind"] != "allocation_without_device"] == []


@pytest.mark.parametrize("query, body", [
    ("?dry_run=maybe", None), ("?hostname=", None),
    ("", {"live_consumers": ["not-a-uuid"]}), ("", {"colour": "red"}),
    ("", {"hostname": 5}), ("?hostname=a", {"hostname": "b"}),
])
def test_bad_heal_input_is_400_and_changes_nothing(api, database, query, body):
    pf = put_a16_host(api)[PF_NAME]
    consumer = str(uuid.uuid4())
    claim_vf(api, consumer, pf)
    api.delete(f"/allocations/{consumer}")
    response = api.post("/pci/audit/heal" + query, json=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"][0]["detail"]
    assert allocations(api, consumer) == {}
