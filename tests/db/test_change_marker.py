"""The snapshot's change marker (db/change_marker.py) on every backend:
every committed write to a table snapshots are built from moves the
structure version, except allocation writes, which move only the ledger's
sequence; nothing moves for a rolled-back write or a read."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from placement_pci.db import tables
from placement_pci.db.change_marker import read_marker
from tests.functional.test_allocation_candidates import add_provider, provider_uuid

AGGREGATE = "0b4f1c9e-5d7a-4c55-9a53-3c2f0e9a7d11"


def marker(database):
    with database.engine.connect() as connection:
        return read_marker(connection)


def claim_vcpus(api, consumer, provider, amount):
    return api.put(f"/allocations/{consumer}", json={
        "allocations": {provider: {"resources": {"VCPU": amount}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None,
        "consumer_type": "INSTANCE"})


def generation(api, provider):
    return api.get(f"/resource_providers/{provider}").get_json()["generation"]


STRUCTURAL_WRITES = {
    "create provider": lambda api, rp: api.post(
        "/resource_providers", json={"name": "other", "uuid": str(uuid.uuid4())}),
    "rename provider": lambda api, rp: api.put(
        f"/resource_providers/{rp}", json={"name": "renamed"}),
    "set inventories": lambda api, rp: api.put(
        f"/resource_providers/{rp}/inventories",
        json={"resource_provider_generation": generation(api, rp),
              "inventories": {"VCPU": {"total": 16}}}),
    "delete inventories": lambda api, rp: api.delete(
        f"/resource_providers/{rp}/inventories/DISK_GB"),
    "set traits": lambda api, rp: api.put(
        f"/resource_providers/{rp}/traits",
        json={"resource_provider_generation": generation(api, rp),
              "traits": ["HW_CPU_X86_AVX2"]}),
    "set aggregates": lambda api, rp: api.put(
        f"/resource_providers/{rp}/aggregates",
        json={"resource_provider_generation": generation(api, rp),
              "aggregates": [AGGREGATE]}),
    "create resource class": lambda api, rp: api.put("/resource_classes/CUSTOM_NEW"),
    "create trait": lambda api, rp: api.put("/traits/CUSTOM_NEW"),
    "delete provider": lambda api, rp: api.delete(f"/resource_providers/{rp}"),
}


@pytest.mark.parametrize("write", sorted(STRUCTURAL_WRITES))
def test_structural_writes_move_the_structure_version(api, database, write):
    provider = add_provider(api, "cn1", inventory={"VCPU": 8, "DISK_GB": 100})
    before = marker(database)
    assert STRUCTURAL_WRITES[write](api, provider).status_code in (200, 201, 204)
    after = marker(database)
    assert after.structure_version > before.structure_version
    assert after.ledger_seq == before.ledger_seq


def test_allocation_writes_move_only_the_ledger(api, database):
    provider = add_provider(api, "cn1", inventory={"VCPU": 8})
    consumer = str(uuid.uuid4())
    before = marker(database)
    assert claim_vcpus(api, consumer, provider, 2).status_code == 204
    claimed = marker(database)
    assert claimed == (before.structure_version, before.ledger_seq + 1)
    assert api.delete(f"/allocations/{consumer}").status_code == 204
    assert marker(database) == (before.structure_version, before.ledger_seq + 2)


def test_refused_and_read_only_requests_move_nothing(api, database):
    provider = add_provider(api, "cn1", inventory={"VCPU": 8})
    before = marker(database)
    assert claim_vcpus(api, str(uuid.uuid4()), provider, 9).status_code == 409
    stale = api.put(f"/resource_providers/{provider}/inventories", json={
        "resource_provider_generation": 99, "inventories": {"VCPU": {"total": 1}}})
    assert stale.status_code == 409
    assert api.get("/allocation_candidates?resources=VCPU:1").status_code == 200
    assert marker(database) == before


def test_writes_outside_the_service_code_move_the_structure_version(api, database):
    """An allocation row written without a ledger entry (a repair by hand,
    a test) cannot be followed through the ledger: it counts as a
    structural change, so snapshots are refreshed the slow, sure way."""
    add_provider(api, "cn1", inventory={"VCPU": 8})
    before = marker(database)
    with database.engine.begin() as connection:
        provider_id = connection.execute(sa.select(tables.resource_providers.c.id).where(
            tables.resource_providers.c.uuid == provider_uuid("cn1"))).scalar_one()
        class_id = connection.execute(sa.select(tables.resource_classes.c.id).where(
            tables.resource_classes.c.name == "VCPU")).scalar_one()
        connection.execute(tables.allocations.insert().values(
            resource_provider_id=provider_id, resource_class_id=class_id,
            consumer_id=str(uuid.uuid4()), used=1))
    assert marker(database).structure_version > before.structure_version
    rolled_back = marker(database)
    with database.engine.connect() as connection, connection.begin() as transaction:
        connection.execute(sa.update(tables.inventories).values(total=1))
        transaction.rollback()
    assert marker(database) == rolled_back
