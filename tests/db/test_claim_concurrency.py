"""Concurrent claims on the same inventory never overcommit.

Many threads (through the HTTP app) and several processes (each with its
own engine, as gunicorn workers on different hosts would have) claim the
same providers at once on SQLite, PostgreSQL and MariaDB.  Afterwards:
usage <= capacity, every 204 claim is stored exactly, every refused claim
left nothing behind, and nobody got a 500.
"""
from __future__ import annotations

import json
import multiprocessing
import random
import threading
import uuid

import pytest
import sqlalchemy as sa

from placement_pci import context
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.store import ledger
from placement_pci.store.allocations import ConsumerAllocations, replace_allocations
from tests.conftest import ApiClient, make_app

PROJECT = "6a9a1b0e-0000-4000-8000-000000000001"
USER = "6a9a1b0e-0000-4000-8000-000000000002"


def make_provider(database: Database, name: str, inventories: dict[str, int]) -> str:
    """A root provider with ``{class: total}`` inventory (reserved 0,
    ratio 1, units 1), written straight to the tables."""
    provider_uuid = str(uuid.uuid4())
    with database.write() as connection:
        provider_id = connection.execute(sa.insert(tables.resource_providers).values(
            uuid=provider_uuid, name=name, generation=0)).inserted_primary_key[0]
        connection.execute(sa.update(tables.resource_providers)
                           .where(tables.resource_providers.c.id == provider_id)
                           .values(root_provider_id=provider_id))
        for class_name, total in inventories.items():
            class_id = connection.execute(
                sa.select(tables.resource_classes.c.id)
                .where(tables.resource_classes.c.name == class_name)).scalar_one()
            connection.execute(sa.insert(tables.inventories).values(
                resource_provider_id=provider_id, resource_class_id=class_id,
                total=total, reserved=0, min_unit=1, max_unit=total, step_size=1,
                allocation_ratio=1.0))
    return provider_uuid


def stored_allocations(database: Database) -> dict[str, dict[tuple[str, str], int]]:
    """consumer uuid -> {(provider uuid, class): amount}."""
    allocations, providers, classes = (tables.allocations, tables.resource_providers,
                                       tables.resource_classes)
    result: dict[str, dict[tuple[str, str], int]] = {}
    with database.read() as connection:
        rows = connection.execute(
            sa.select(allocations.c.consumer_id, providers.c.uuid, classes.c.name,
                      allocations.c.used)
            .join(providers, providers.c.id == allocations.c.resource_provider_id)
            .join(classes, classes.c.id == allocations.c.resource_class_id))
        for consumer, provider, class_name, used in rows:
            result.setdefault(consumer, {})[(provider, class_name)] = used
    return result


def consumer_rows(database: Database) -> set[str]:
    with database.read() as connection:
        return set(connection.execute(sa.select(tables.consumers.c.uuid)).scalars())


def usage(allocations: dict[str, dict[tuple[str, str], int]]) -> dict[tuple[str, str], int]:
    total: dict[tuple[str, str], int] = {}
    for claim in allocations.values():
        for key, amount in claim.items():
            total[key] = total.get(key, 0) + amount
    return total


def put_body(claim: dict[str, dict[str, int]], generation: int | None = None) -> dict:
    return {"allocations": {p: {"resources": r} for p, r in claim.items()},
            "project_id": PROJECT, "user_id": USER, "consumer_generation": generation,
            "consumer_type": "INSTANCE"}


def run_threads(count: int, work) -> list:  # type: ignore[no-untyped-def]
    results: list = [None] * count
    failures: list[BaseException] = []

    def target(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def assert_claims_consistent(database: Database, outcomes: dict[str, tuple[int, dict]],
                             capacity: dict[tuple[str, str], int]) -> None:
    """Every 204 is stored exactly, every refusal left nothing, no overcommit."""
    statuses = {status for status, _ in outcomes.values()}
    assert statuses <= {204, 409}, statuses
    stored = stored_allocations(database)
    consumers = consumer_rows(database)
    for consumer, (status, claim) in outcomes.items():
        if status == 204:
            expected = {(p, c): a for p, r in claim.items() for c, a in r.items()}
            assert stored.get(consumer) == expected
            assert consumer in consumers
        else:
            assert consumer not in stored
            assert consumer not in consumers
    for key, used in usage(stored).items():
        assert used <= capacity[key], (key, used, capacity[key])
    # The ledger holds one entry per successful claim, numbered without
    # gaps (the database was emptied, so from 1), each showing what was
    # stored.
    with database.read() as connection:
        entries = connection.execute(
            sa.select(tables.allocation_ledger).order_by(tables.allocation_ledger.c.seq)).all()
    winners = {c for c, (status, _) in outcomes.items() if status == 204}
    assert sorted(e.consumer_uuid for e in entries) == sorted(winners)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    for entry in entries:
        claim = outcomes[entry.consumer_uuid][1]
        assert json.loads(entry.allocations_after) == {
            p: {"resources": r} for p, r in claim.items()}


def test_eight_clients_race_for_the_last_unit(database):
    provider = make_provider(database, "one-unit", {"VCPU": 1})
    app = make_app(database)
    barrier = threading.Barrier(8)
    consumers = [str(uuid.uuid4()) for _ in range(8)]
    claim = {provider: {"VCPU": 1}}

    def put(index: int) -> tuple[int, dict]:
        client = ApiClient(app.test_client())
        barrier.wait()
        response = client.put(f"/allocations/{consumers[index]}", json=put_body(claim))
        return response.status_code, response.get_json(silent=True)

    results = run_threads(8, put)
    statuses = sorted(status for status, _ in results)
    assert statuses == [204] + [409] * 7, results
    for status, body in results:
        if status == 409:
            assert body["errors"][0]["code"] in ("placement.undefined_code",
                                                 "placement.concurrent_update")
    outcomes = {consumers[i]: (results[i][0], claim) for i in range(8)}
    assert_claims_consistent(database, outcomes, {(provider, "VCPU"): 1})
    assert sum(usage(stored_allocations(database)).values()) == 1


def test_many_threads_fill_two_providers_without_overcommit(database):
    first = make_provider(database, "first", {"VCPU": 10, "MEMORY_MB": 12})
    second = make_provider(database, "second", {"VCPU": 7})
    capacity = {(first, "VCPU"): 10, (first, "MEMORY_MB"): 12, (second, "VCPU"): 7}
    app = make_app(database)
    count = 24
    barrier = threading.Barrier(count)
    chooser = random.Random(42)
    claims = []
    for _ in range(count):
        claim = {first: {"VCPU": chooser.randint(1, 3)}}
        if chooser.random() < 0.5:
            claim[first]["MEMORY_MB"] = chooser.randint(1, 4)
        if chooser.random() < 0.5:
            claim[second] = {"VCPU": chooser.randint(1, 3)}
        claims.append(claim)
    consumers = [str(uuid.uuid4()) for _ in range(count)]

    def put(index: int) -> int:
        client = ApiClient(app.test_client())
        barrier.wait()
        return client.put(f"/allocations/{consumers[index]}",
                          json=put_body(claims[index])).status_code

    statuses = run_threads(count, put)
    assert 204 in statuses and 409 in statuses
    outcomes = {consumers[i]: (statuses[i], claims[i]) for i in range(count)}
    assert_claims_consistent(database, outcomes, capacity)


def test_one_consumer_updated_by_many_threads_keeps_one_winner_per_generation(database):
    """Writers of the same consumer at 1.28 with the same generation: one
    wins, the others get concurrent_update; the consumer then holds exactly
    the winner's claim."""
    provider = make_provider(database, "shared", {"VCPU": 50})
    app = make_app(database)
    consumer = str(uuid.uuid4())
    client = ApiClient(app.test_client())
    assert client.put(f"/allocations/{consumer}",
                      json=put_body({provider: {"VCPU": 1}})).status_code == 204
    barrier = threading.Barrier(6)

    def put(index: int) -> tuple[int, dict]:
        own = ApiClient(app.test_client())
        barrier.wait()
        response = own.put(f"/allocations/{consumer}",
                           json=put_body({provider: {"VCPU": index + 2}}, generation=1))
        return response.status_code, response.get_json(silent=True)

    results = run_threads(6, put)
    winners = [i for i, (status, _) in enumerate(results) if status == 204]
    assert len(winners) == 1, results
    for status, body in results:
        if status != 204:
            assert status == 409
            assert body["errors"][0]["code"] == "placement.concurrent_update"
    assert stored_allocations(database)[consumer] == {(provider, "VCPU"): winners[0] + 2}


def _claim_in_own_process(url: str, provider: str, consumers: list[str],
                          amounts: list[int]) -> list[tuple[str, str]]:
    """Runs in a spawned process with its own engine: claim one consumer
    after another, report what happened."""
    database = Database(url, pool_size=2)
    outcomes = []
    try:
        for consumer, amount in zip(consumers, amounts):
            claim = ConsumerAllocations(
                consumer_uuid=consumer, allocations={provider: {"VCPU": amount}},
                project_id=PROJECT, user_id=USER, check_generation=True)
            try:
                replace_allocations(database, [claim], context=context.internal(),
                                    action=ledger.PUT_ALLOCATIONS)
                outcomes.append((consumer, "claimed"))
            except Exception as error:  # noqa: BLE001 - the parent inspects it
                outcomes.append((consumer, f"{type(error).__name__}: {error}"))
    finally:
        database.dispose()
    return outcomes


@pytest.mark.slow
def test_several_processes_with_their_own_engines_never_overcommit(database):
    provider = make_provider(database, "contended", {"VCPU": 25})
    url = database.url.render_as_string(hide_password=False)
    processes, per_process = 4, 12
    chooser = random.Random(7)
    plans = []
    for _ in range(processes):
        consumers = [str(uuid.uuid4()) for _ in range(per_process)]
        plans.append((url, provider, consumers,
                      [chooser.randint(1, 2) for _ in range(per_process)]))
    amounts = {c: a for _, _, cs, as_ in plans for c, a in zip(cs, as_)}
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.starmap(_claim_in_own_process, plans)
    outcomes = {}
    for consumer, result in (item for batch in results for item in batch):
        if result == "claimed":
            outcomes[consumer] = (204, {provider: {"VCPU": amounts[consumer]}})
        else:
            # Refusals are domain conflicts only: never a database error.
            assert result.startswith(("AllocationRefused", "Conflict")), result
            outcomes[consumer] = (409, {})
    assert_claims_consistent(database, outcomes, {(provider, "VCPU"): 25})
    # The inventory is small enough that it fills up.
    assert sum(usage(stored_allocations(database)).values()) >= 24


def test_claims_racing_provider_deletion_never_dangle(database):
    """Either the provider goes first (claims then fail with 400/409) or a
    claim lands first (deletion is refused); never a 500, never an
    allocation on a deleted provider."""
    provider = make_provider(database, "doomed", {"VCPU": 100})
    app = make_app(database)
    count = 8
    barrier = threading.Barrier(count + 1)
    consumers = [str(uuid.uuid4()) for _ in range(count)]

    def act(index: int) -> int:
        client = ApiClient(app.test_client())
        barrier.wait()
        if index == count:
            return client.delete(f"/resource_providers/{provider}").status_code
        return client.put(f"/allocations/{consumers[index]}",
                          json=put_body({provider: {"VCPU": 1}})).status_code

    statuses = run_threads(count + 1, act)
    deletion, claims = statuses[-1], statuses[:-1]
    assert deletion in (204, 409)
    assert set(claims) <= {204, 400, 409}, claims
    stored = stored_allocations(database)
    if deletion == 204:
        assert stored == {}
    else:
        assert 204 in claims
    for consumer, status in zip(consumers, claims):
        assert (consumer in stored) == (status == 204)


def test_reshape_racing_claims_keeps_every_inventory_within_capacity(database):
    """A reshaper moving VCPU from a root to its child retries on
    generation conflicts while clients keep claiming VCPU on whichever
    provider has it; no provider ever ends over capacity and no claim is
    lost."""
    root = make_provider(database, "reshape-root", {"VCPU": 12, "DISK_GB": 100})
    app = make_app(database)
    admin = ApiClient(app.test_client())
    child = str(uuid.uuid4())
    created = admin.post("/resource_providers", json={
        "name": "reshape-child", "uuid": child, "parent_provider_uuid": root})
    assert created.status_code == 200, created.get_json()
    count = 10
    barrier = threading.Barrier(count + 1)
    consumers = [str(uuid.uuid4()) for _ in range(count)]
    claimed_on: dict[str, str] = {}

    def claim(index: int) -> int:
        client = ApiClient(app.test_client())
        barrier.wait()
        status = 409
        for _ in range(5):
            for target in (root, child):
                response = client.put(f"/allocations/{consumers[index]}",
                                      json=put_body({target: {"VCPU": 1}}))
                status = response.status_code
                assert status in (204, 409), response.get_json()
                if status == 204:
                    claimed_on[consumers[index]] = target
                    return status
        return status

    def reshape() -> int:
        client = ApiClient(app.test_client())
        barrier.wait()
        for _ in range(50):
            generations = {p: client.get(f"/resource_providers/{p}/allocations").get_json()
                           for p in (root, child)}
            moves = {}
            for consumer, entry in generations[root]["allocations"].items():
                current = client.get(f"/allocations/{consumer}").get_json()
                moves[consumer] = {
                    "allocations": {child: {"resources": {"VCPU": entry["resources"]["VCPU"]}}},
                    "project_id": PROJECT, "user_id": USER,
                    "consumer_generation": current.get("consumer_generation"),
                    "consumer_type": "INSTANCE"}
            response = client.post("/reshaper", json={
                "inventories": {
                    root: {"resource_provider_generation":
                           generations[root]["resource_provider_generation"],
                           "inventories": {"DISK_GB": {"total": 100}}},
                    child: {"resource_provider_generation":
                            generations[child]["resource_provider_generation"],
                            "inventories": {"VCPU": {"total": 12}}}},
                "allocations": moves})
            if response.status_code == 204:
                return 204
            assert response.status_code in (409, 400), response.get_json()
        return 409

    def act(index: int) -> int:
        return reshape() if index == count else claim(index)

    statuses = run_threads(count + 1, act)
    # The claimers give up after a few rounds, so the reshaper's retries
    # eventually see a quiet moment.
    assert statuses[-1] == 204
    stored = stored_allocations(database)
    # The root no longer has VCPU at all.
    capacity = {(root, "VCPU"): 0, (child, "VCPU"): 12, (root, "DISK_GB"): 100}
    for key, used in usage(stored).items():
        assert used <= capacity[key], (key, used)
    for consumer, status in zip(consumers, statuses[:-1]):
        if status == 204:
            assert sum(stored[consumer].values()) == 1
        else:
            assert consumer not in stored
