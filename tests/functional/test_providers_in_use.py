"""Rules that need allocations: deleting providers, inventories and
resource classes that are in use, and shrinking inventory below usage.
Allocations are written straight into the table so these tests depend on
nothing but the provider side of the API."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from placement_pci.db import tables

RP = "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"


def _allocate(database, resource_class: str, used: int) -> None:
    with database.engine.begin() as connection:
        provider_id = connection.execute(sa.select(tables.resource_providers.c.id).where(
            tables.resource_providers.c.uuid == RP)).scalar_one()
        class_id = connection.execute(sa.select(tables.resource_classes.c.id).where(
            tables.resource_classes.c.name == resource_class)).scalar_one()
        connection.execute(tables.allocations.insert().values(
            resource_provider_id=provider_id, resource_class_id=class_id,
            consumer_id=str(uuid.uuid4()), used=used))


@pytest.fixture
def provider_with_usage(api, database):
    assert api.post("/resource_providers", json={"name": "host", "uuid": RP}).status_code == 200
    assert api.put("/resource_classes/CUSTOM_GOLD").status_code == 201
    response = api.put(f"/resource_providers/{RP}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8}, "CUSTOM_GOLD": {"total": 4},
                        "DISK_GB": {"total": 100}}})
    assert response.status_code == 200
    _allocate(database, "VCPU", 6)
    _allocate(database, "CUSTOM_GOLD", 1)
    return api


def _inventories(api):
    return api.get(f"/resource_providers/{RP}/inventories").get_json()


def test_provider_with_allocations_cannot_be_deleted(provider_with_usage):
    api = provider_with_usage
    response = api.delete(f"/resource_providers/{RP}")
    assert response.status_code == 409
    error = response.get_json()["errors"][0]
    assert error["code"] == "placement.resource_provider.inuse"
    assert f"Unable to delete resource provider {RP}" in error["detail"]
    assert api.get(f"/resource_providers/{RP}").status_code == 200


def test_deleting_an_inventory_in_use_is_refused_and_changes_nothing(provider_with_usage):
    api = provider_with_usage
    before = _inventories(api)
    response = api.delete(f"/resource_providers/{RP}/inventories/VCPU")
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["code"] == "placement.inventory.inuse"
    assert _inventories(api) == before


@pytest.mark.parametrize("method", ["replace", "delete_all"])
def test_removing_used_classes_is_refused(provider_with_usage, method):
    api = provider_with_usage
    before = _inventories(api)
    if method == "replace":
        response = api.put(f"/resource_providers/{RP}/inventories", json={
            "resource_provider_generation": before["resource_provider_generation"],
            "inventories": {"DISK_GB": {"total": 100}}})
    else:
        response = api.delete(f"/resource_providers/{RP}/inventories")
    assert response.status_code == 409
    error = response.get_json()["errors"][0]
    assert error["code"] == "placement.inventory.inuse"
    assert "VCPU, CUSTOM_GOLD" in error["detail"]
    assert _inventories(api) == before


def test_unused_class_can_be_removed_while_others_are_used(provider_with_usage):
    api = provider_with_usage
    generation = _inventories(api)["resource_provider_generation"]
    response = api.delete(f"/resource_providers/{RP}/inventories/DISK_GB")
    assert response.status_code == 204
    after = _inventories(api)
    assert sorted(after["inventories"]) == ["CUSTOM_GOLD", "VCPU"]
    assert after["resource_provider_generation"] == generation + 1


def test_shrinking_below_usage_is_allowed_as_in_placement(provider_with_usage):
    api = provider_with_usage
    generation = _inventories(api)["resource_provider_generation"]
    response = api.put(f"/resource_providers/{RP}/inventories/VCPU", json={
        "resource_provider_generation": generation, "total": 4})
    assert response.status_code == 200
    assert _inventories(api)["inventories"]["VCPU"]["total"] == 4


def test_a_class_with_allocations_cannot_be_deleted(provider_with_usage):
    api = provider_with_usage
    response = api.delete("/resource_classes/CUSTOM_GOLD")
    assert response.status_code == 409
    assert "Class is in use in inventory" in response.get_json()["errors"][0]["detail"]
    assert api.get("/resource_classes/CUSTOM_GOLD").status_code == 200


def test_resources_filter_counts_usage(provider_with_usage):
    api = provider_with_usage
    # 8 VCPU, 6 used: 2 fit, 3 do not.
    fits = api.get("/resource_providers?resources=VCPU:2").get_json()["resource_providers"]
    assert [p["uuid"] for p in fits] == [RP]
    assert api.get("/resource_providers?resources=VCPU:3").get_json()["resource_providers"] == []

