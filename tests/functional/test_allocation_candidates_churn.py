"""Candidates under churn, on every backend: a worker that keeps per-tree
answers across writes answers exactly what a fresh worker answers after
every claim and release, and a claim is visible at once to another worker
while other clients keep claiming and releasing."""
from __future__ import annotations

import random
import threading
import uuid

from placement_pci.candidates.answer_cache import TreeAnswers
from placement_pci.candidates.query import parse_candidate_query
from placement_pci.services.allocation_candidates import stream_candidates
from placement_pci.services.snapshot_cache import SnapshotCache
from tests.conftest import ApiClient
from tests.functional.test_allocation_candidates import (
    _second_worker,
    add_provider,
    candidates,
    provider_uuid,
)

AGG = "5f1b9bd4-3b0c-4f5e-9d1e-3c1a7e0a0a03"
QUERIES = [
    "resources=VCPU:1,DISK_GB:10&member_of=" + AGG,
    "resources=VCPU:2&resources1=CUSTOM_GPU:1&resources2=SRIOV_NET_VF:1"
    "&group_policy=isolate",
    "resources=VCPU:1&resources1=CUSTOM_GPU:1&resources2=CUSTOM_GPU:1"
    "&group_policy=isolate&limit=4",
    "resources=DISK_GB:30",
]


def _cloud(api: ApiClient, hosts: int) -> None:
    api.put("/resource_classes/CUSTOM_GPU")
    for index in range(hosts):
        host = f"h{index}"
        root = add_provider(api, host, inventory={"VCPU": 4, "DISK_GB": 20})
        if index % 2 == 0:
            generation = api.get(f"/resource_providers/{root}").get_json()["generation"]
            api.put(f"/resource_providers/{root}/aggregates", json={
                "aggregates": [AGG], "resource_provider_generation": generation})
        add_provider(api, f"{host}_numa", host, traits=["HW_NUMA_ROOT"])
        for gpu in range(2):
            add_provider(api, f"{host}_gpu{gpu}", f"{host}_numa",
                         inventory={"CUSTOM_GPU": 1})
        add_provider(api, f"{host}_nic", f"{host}_numa", inventory={"SRIOV_NET_VF": 2})
    shared = add_provider(api, "shared", inventory={"DISK_GB": 100},
                          traits=["MISC_SHARES_VIA_AGGREGATE"])
    api.put(f"/resource_providers/{shared}/aggregates", json={
        "aggregates": [AGG], "resource_provider_generation":
        api.get(f"/resource_providers/{shared}").get_json()["generation"]})


def _body(database, cache: SnapshotCache, query: str) -> str:
    args: dict[str, list[str]] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        args.setdefault(key, []).append(value)
    request = parse_candidate_query(args, (1, 39))
    return "".join(stream_candidates(database, cache, request, (1, 39)))


def _claim(api: ApiClient, allocations: dict, consumer: str | None = None) -> int:
    consumer = consumer or str(uuid.uuid4())
    return api.put(f"/allocations/{consumer}", json={
        "allocations": allocations, "project_id": "p", "user_id": "u",
        "consumer_generation": None}, version="1.36").status_code


def test_kept_answers_equal_fresh_ones_while_claims_and_releases_land(
        api, database, monkeypatch):
    # A small cloud: make every change go tree by tree, as in a large one.
    monkeypatch.setattr(TreeAnswers, "whole_graph_share", 1.0)
    _cloud(api, 6)
    other_db, _ = _second_worker(database)
    kept = SnapshotCache()
    rng = random.Random(7)
    consumers: list[str] = []
    try:
        for step in range(24):
            query = QUERIES[step % len(QUERIES)]
            body = _body(other_db, kept, query)
            assert body == _body(other_db, SnapshotCache(), query), (step, query)
            if consumers and rng.random() < 0.4:
                consumer = consumers.pop(rng.randrange(len(consumers)))
                assert api.delete(f"/allocations/{consumer}").status_code == 204
                continue
            answers = candidates(api, query)["allocation_requests"]
            if answers:
                consumer = str(uuid.uuid4())
                status = _claim(api, rng.choice(answers)["allocations"], consumer)
                assert status == 204
                consumers.append(consumer)
        assert kept.loads > 1
    finally:
        other_db.dispose()


def test_a_claim_is_visible_at_once_to_another_worker_under_churn(api, database):
    _cloud(api, 4)
    target = provider_uuid("h3_gpu1")
    query = "resources1=CUSTOM_GPU:1&group_policy=none"
    other_db, other = _second_worker(database)
    churn_db, churn = _second_worker(database)
    stop = threading.Event()
    failures: list[str] = []

    def keep_claiming() -> None:
        # Claims and releases elsewhere, as other schedulers would.
        rng = random.Random(3)
        while not stop.is_set():
            consumer = str(uuid.uuid4())
            host = f"h{rng.randrange(3)}"
            status = _claim(churn, {provider_uuid(host): {"resources": {"VCPU": 1}}},
                            consumer)
            if status == 204:
                churn.delete(f"/allocations/{consumer}")
            elif status != 409:
                failures.append(f"churn claim answered {status}")

    thread = threading.Thread(target=keep_claiming)
    thread.start()
    try:
        for _ in range(8):
            consumer = str(uuid.uuid4())
            assert _claim(api, {target: {"resources": {"CUSTOM_GPU": 1}}}, consumer) == 204
            seen = candidates(other, query)
            assert all(target not in answer["allocations"]
                       for answer in seen["allocation_requests"])
            assert api.delete(f"/allocations/{consumer}").status_code == 204
            seen = candidates(other, query)
            assert any(target in answer["allocations"]
                       for answer in seen["allocation_requests"])
    finally:
        stop.set()
        thread.join()
        other_db.dispose()
        churn_db.dispose()
    assert not failures


def test_structural_writes_are_visible_at_once_to_another_worker(api, database):
    """Inventory, trait and aggregate changes and a provider's deletion,
    each followed at once by a query on a worker that keeps a snapshot
    (and has just followed claims through the ledger)."""
    _cloud(api, 2)
    other_db, other = _second_worker(database)
    host = provider_uuid("h0")

    def answers(query: str) -> set[str]:
        return {rp for answer in candidates(other, query)["allocation_requests"]
                for rp in answer["allocations"]}

    def generation() -> int:
        return api.get(f"/resource_providers/{host}").get_json()["generation"]

    try:
        consumer = str(uuid.uuid4())
        assert _claim(api, {host: {"resources": {"VCPU": 1}}}, consumer) == 204
        assert host in answers("resources=VCPU:3")
        assert api.put(f"/resource_providers/{host}/inventories", json={
            "resource_provider_generation": generation(),
            "inventories": {"VCPU": {"total": 3}, "DISK_GB": {"total": 20}},
        }).status_code == 200
        assert host not in answers("resources=VCPU:3")
        assert api.put(f"/resource_providers/{host}/traits", json={
            "resource_provider_generation": generation(),
            "traits": ["HW_CPU_X86_AVX2"]}).status_code == 200
        assert answers("resources=VCPU:1&required=HW_CPU_X86_AVX2") == {host}
        assert api.put(f"/resource_providers/{host}/aggregates", json={
            "resource_provider_generation": generation(),
            "aggregates": []}).status_code == 200
        assert host not in answers(f"resources=VCPU:1&member_of={AGG}")
        assert api.delete(f"/allocations/{consumer}").status_code == 204
        assert host in answers("resources=VCPU:3")
        for child in ("h0_gpu0", "h0_gpu1", "h0_nic", "h0_numa"):
            assert api.delete(
                f"/resource_providers/{provider_uuid(child)}").status_code == 204
        assert api.delete(f"/resource_providers/{host}").status_code == 204
        assert host not in answers("resources=VCPU:1")
    finally:
        other_db.dispose()


def test_answers_too_large_to_keep_are_streamed_whole(api, database, monkeypatch):
    from placement_pci.candidates import answer_cache

    _cloud(api, 4)
    query = QUERIES[1]
    expected = _body(database, SnapshotCache(), query)
    monkeypatch.setattr(answer_cache, "MAX_KEPT_CHARS", 300)
    kept = SnapshotCache()
    for _ in range(2):
        assert _body(database, kept, query) == expected
        consumer = str(uuid.uuid4())
        assert _claim(api, {provider_uuid("h1"): {"resources": {"VCPU": 1}}},
                      consumer) == 204
        monkeypatch.setattr(answer_cache, "MAX_KEPT_CHARS", 10**9)
        expected = _body(database, SnapshotCache(), query)
        monkeypatch.setattr(answer_cache, "MAX_KEPT_CHARS", 300)
    assert _body(database, kept, query) == expected
