"""PUT/GET /pci/hosts/{hostname}: applying a host's PCI provider tree."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from placement_pci.db import tables
from tests.seeds import A16_PF as PF
from tests.seeds import A16_SPEC, X520_SPEC

HOST = "compute1"
URL = f"/pci/hosts/{HOST}"
CONSUMER = "6a9b5d3c-0a8e-4f7c-9e1d-2b3c4d5e6f70"

VF4 = {"address": "0000:25:00.4", "vendor_id": "10de", "product_id": "25b6",
       "dev_type": "type-VF", "parent_addr": "0000:25:00.0", "numa_node": 0,
       "assigned_to": None}
X520 = {"address": "0000:41:00.0", "vendor_id": "8086",
        "product_id": "154d", "dev_type": "type-PCI", "numa_node": 1}
A16_PROVIDER = f"{HOST}_0000:25:00.0"
X520_PROVIDER = f"{HOST}_0000:41:00.0"
MDEV_PROVIDER = f"{HOST}_pci_0000_86_00_0"
ALWAYS = ["COMPUTE_MANAGED_PCI_DEVICE", "OWNER_NOVA"]
SEED_BODY = {
    "device_spec": [A16_SPEC, X520_SPEC],
    "devices": [PF, VF4, X520],
    "mdev": {
        "enabled_mdev_types": ["nvidia-35", "mlx5_core-local"],
        "types": {"mlx5_core-local": {"device_addresses": ["0000:86:00.0"],
                                      "mdev_class": "CUSTOM_MLX5"}},
        "devices": [{"parent_addr": "0000:86:00.0",
                     "type": "mlx5_core-local", "available_instances": 4,
                     "existing": 0}]},
    "capabilities": {"viommu_models": ["intel", "virtio"]},
}


def body(**changes):
    result = copy.deepcopy(SEED_BODY)
    result.update(changes)
    return result


def providers(document):
    return {p["name"]: p for p in document["providers"]}


def put(api, payload, query="", status=200):
    response = api.put(URL + query, json=payload)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def error_of(response):
    [error] = response.get_json()["errors"]
    return error


def stored_state(database):
    """Everything the sync may touch, to prove a refusal changed nothing."""
    with database.engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(str(value) for key, value in row._mapping.items()
                      if key not in ("created_at", "updated_at"))
                for row in connection.execute(sa.select(table)))
            for table in (tables.resource_providers, tables.inventories,
                          tables.resource_provider_traits,
                          tables.allocations, tables.pci_devices)}


def test_seed_host_tree(api):
    document = put(api, SEED_BODY)
    assert document["hostname"] == HOST
    assert document["dry_run"] is False and document["changed"] is True
    root = document["root_provider"]
    assert root["name"] == HOST and root["uuid"]
    found = providers(document)
    assert list(found) == sorted(found)
    assert set(found) == {A16_PROVIDER, X520_PROVIDER, MDEV_PROVIDER}
    a16 = found[A16_PROVIDER]
    assert a16["parent_provider_uuid"] == root["uuid"]
    assert a16["inventories"] == {"CUSTOM_A16_16A": {
        "total": 1, "max_unit": 1, "reserved": 0, "min_unit": 1,
        "step_size": 1, "allocation_ratio": 1.0}}
    assert a16["traits"] == ALWAYS
    [device] = a16["devices"]
    assert device["address"] == "0000:25:00.4"
    assert device["dev_type"] == "type-VF"
    assert device["managed"] is False
    assert device["live_migratable"] is False
    assert device["numa_node"] == 0
    assert device["assigned_to"] is None
    assert device["provider_uuid"] == a16["uuid"]
    x520 = found[X520_PROVIDER]
    assert list(x520["inventories"]) == ["CUSTOM_PCI_8086_154D"]
    assert x520["devices"][0]["managed"] is True
    assert found[MDEV_PROVIDER]["inventories"]["CUSTOM_MLX5"]["total"] == 4
    assert document["root_traits"] == [
        "COMPUTE_VIOMMU_MODEL_AUTO", "COMPUTE_VIOMMU_MODEL_INTEL",
        "COMPUTE_VIOMMU_MODEL_VIRTIO", "OWNER_NOVA"]
    assert document["warnings"] == []


def test_get_returns_the_stored_tree(api):
    put(api, SEED_BODY)
    response = api.get(URL)
    assert response.status_code == 200
    document = response.get_json()
    assert set(providers(document)) == {A16_PROVIDER, X520_PROVIDER,
                                        MDEV_PROVIDER}
    a16 = providers(document)[A16_PROVIDER]
    assert a16["devices"][0]["managed"] is False
    assert a16["traits"] == ALWAYS


def test_get_unknown_host_is_404(api):
    assert api.get("/pci/hosts/nowhere").status_code == 404


def test_reapplying_is_idempotent(api, database):
    first = put(api, SEED_BODY)
    before = stored_state(database)
    second = put(api, SEED_BODY)
    assert second["changed"] is False
    assert stored_state(database) == before
    assert ([(p["uuid"], p["generation"]) for p in first["providers"]]
            == [(p["uuid"], p["generation"]) for p in second["providers"]])


def test_dry_run_changes_nothing(api, database):
    before = stored_state(database)
    document = put(api, SEED_BODY, "?dry_run=true")
    assert document["dry_run"] is True and document["changed"] is True
    assert set(providers(document)) == {A16_PROVIDER, X520_PROVIDER,
                                        MDEV_PROVIDER}
    assert all(p["uuid"] is None for p in document["providers"])
    assert stored_state(database) == before
    assert api.get(URL).status_code == 404


def test_dry_run_of_a_change_shows_it_without_applying(api, database):
    put(api, SEED_BODY)
    before = stored_state(database)
    document = put(api, body(devices=[PF, VF4]), "?dry_run=1")
    assert document["changed"] is True
    assert X520_PROVIDER not in providers(document)
    assert stored_state(database) == before
    assert put(api, SEED_BODY, "?dry_run=yes")["changed"] is False


@pytest.mark.parametrize("value", ["maybe", ""])
def test_bad_dry_run_value(api, value):
    response = api.put(URL + f"?dry_run={value}", json=SEED_BODY)
    assert response.status_code == 400
    assert error_of(response)["code"] == "placement.query.bad_value"


def test_new_device_is_added(api):
    put(api, body(devices=[PF, VF4]))
    document = put(api, SEED_BODY)
    assert document["changed"] is True
    assert X520_PROVIDER in providers(document)


def test_unallocated_device_that_disappears_is_removed(api):
    put(api, SEED_BODY)
    document = put(api, body(devices=[PF, VF4]))
    assert X520_PROVIDER not in providers(document)
    assert X520_PROVIDER not in providers(api.get(URL).get_json())


def test_allocated_device_that_disappears_is_kept_with_a_warning(api):
    put(api, body(devices=[PF, VF4, dict(X520, assigned_to=CONSUMER)]))
    document = put(api, body(devices=[PF, VF4]))
    kept = providers(document)[X520_PROVIDER]
    assert kept["inventories"]["CUSTOM_PCI_8086_154D"]["total"] == 1
    assert any(X520_PROVIDER in warning for warning in document["warnings"])


def test_assigned_device_allocation_is_healed(api, database):
    document = put(api, body(devices=[PF, VF4,
                                      dict(X520, assigned_to=CONSUMER)]))
    [healed] = document["healed_allocations"]
    assert healed["consumer_uuid"] == CONSUMER
    assert healed["provider_name"] == X520_PROVIDER
    assert (healed["used"], healed["previous"]) == (1, 0)
    with database.engine.connect() as connection:
        rows = connection.execute(sa.select(
            tables.allocations.c.consumer_id, tables.allocations.c.used)).all()
    assert [tuple(row) for row in rows] == [(CONSUMER, 1)]
    again = put(api, body(devices=[PF, VF4,
                                   dict(X520, assigned_to=CONSUMER)]))
    assert again["healed_allocations"] == [] and again["changed"] is False


def test_operator_reserved_is_kept(api, database):
    put(api, SEED_BODY)
    with database.engine.begin() as connection:
        connection.execute(sa.update(tables.inventories).values(reserved=1))
    document = put(api, SEED_BODY)
    inventory = providers(document)[X520_PROVIDER]["inventories"]
    assert inventory["CUSTOM_PCI_8086_154D"]["reserved"] == 1


def test_allocated_one_time_use_device_is_reserved(api):
    document = put(api, body(
        device_spec=[dict(X520_SPEC, one_time_use="yes")],
        devices=[dict(X520, assigned_to=CONSUMER)]))
    x520 = providers(document)[X520_PROVIDER]
    assert x520["inventories"]["CUSTOM_PCI_8086_154D"]["reserved"] == 1
    assert "HW_PCI_ONE_TIME_USE" in x520["traits"]


@pytest.mark.parametrize("payload, code, words", [
    (body(device_spec=[{"vendor_id": "10de"}]),
     "placement_pci.pf_vf_conflict", "either the parent PF or its VFs"),
    (body(device_spec=[{"address": "0000:25:00.0"}]),
     "placement_pci.pf_vf_conflict", "names the PF's exact address"),
    (body(device_spec=[dict(A16_SPEC), {"address": "*:*:*.5",
                                        "resource_class": "other"}],
          devices=[PF, VF4, dict(VF4, address="0000:25:00.5")]),
     "placement_pci.mixed_resource_class", "one resource class"),
    (body(device_spec=[dict(A16_SPEC, resource_class="x", traits="a"),
                       {"address": "*:*:*.5", "resource_class": "x"}],
          devices=[PF, VF4, dict(VF4, address="0000:25:00.5")]),
     "placement_pci.mixed_traits", "one set of traits"),
    (body(device_spec=[X520_SPEC, {"managed": "maybe"}]),
     "placement_pci.device_spec.invalid", "device_spec entry 1"),
    (body(device_spec=[{"devname": "eth0"}]),
     "placement_pci.device_spec.invalid", "PCI 'address'"),
    (body(devices=[dict(VF4, parent_addr=None)]),
     "placement_pci.devices.invalid", "parent"),
    (body(devices=[dict(X520, dev_type="type-XYZ")]),
     "placement_pci.devices.invalid", "unknown device type"),
    (body(mdev={"enabled_mdev_types": ["a"],
                "types": {"a": {"mdev_class": "nope"}}}),
     "placement_pci.mdev.invalid", "mdev_class"),
    (body(capabilities={"viommu_models": ["amd"]}),
     "placement_pci.capabilities.invalid", "amd"),
    ([], "placement_pci.host.invalid", "[] is not of type 'object'"),
])
def test_refusals_change_nothing(api, database, payload, code, words):
    put(api, SEED_BODY)
    before = stored_state(database)
    response = api.put(URL, json=payload)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert words in error["detail"]
    assert stored_state(database) == before


def test_allocated_pf_turned_into_vfs_is_refused(api, database):
    pf_spec = {"vendor_id": "10de", "product_id": "25b6",
               "address": "0000:25:00.0"}
    vf_device = dict(VF4, product_id="101e")
    put(api, body(device_spec=[pf_spec],
                  devices=[dict(PF, assigned_to=CONSUMER), vf_device]))
    before = stored_state(database)
    response = api.put(URL, json=body(
        device_spec=[{"product_id": "101e"}],
        devices=[dict(PF, assigned_to=CONSUMER), vf_device]))
    assert response.status_code == 409
    assert error_of(response)["code"] == \
        "placement_pci.allocated_pf_vf_change"
    assert stored_state(database) == before


def test_unallocated_pf_turned_into_vfs_is_applied(api):
    pf_spec = {"vendor_id": "10de", "product_id": "25b6",
               "address": "0000:25:00.0"}
    vf_device = dict(VF4, product_id="101e")
    put(api, body(device_spec=[pf_spec], devices=[PF, vf_device]))
    document = put(api, body(device_spec=[{"product_id": "101e"}],
                             devices=[PF, vf_device]))
    [device] = providers(document)[A16_PROVIDER]["devices"]
    assert device["dev_type"] == "type-VF"
    assert list(providers(document)[A16_PROVIDER]["inventories"]) == [
        "CUSTOM_PCI_10DE_101E"]


def test_hostname_taken_by_a_child_provider_is_a_conflict(api):
    put(api, SEED_BODY)
    response = api.put(f"/pci/hosts/{X520_PROVIDER}", json=SEED_BODY)
    assert response.status_code == 409


def test_neutron_devices_have_no_provider(api):
    document = put(api, body(
        device_spec=[dict(X520_SPEC, physical_network="physnet1")],
        devices=[X520]))
    assert X520_PROVIDER not in providers(document)
    [device] = document["devices_without_provider"]
    assert device["physical_network"] == "physnet1"


def test_root_viommu_traits_follow_capabilities(api):
    put(api, SEED_BODY)
    document = put(api, body(capabilities={"viommu_models": []}))
    assert document["root_traits"] == ["OWNER_NOVA"]
    document = put(api, {k: v for k, v in SEED_BODY.items()
                         if k != "capabilities"})
    assert document["root_traits"] == ["OWNER_NOVA"]


def test_tree_is_visible_through_the_placement_api(api):
    document = put(api, SEED_BODY)
    root_uuid = document["root_provider"]["uuid"]
    listed = api.get(f"/resource_providers?in_tree={root_uuid}").get_json()
    assert {p["name"] for p in listed["resource_providers"]} == {
        HOST, A16_PROVIDER, X520_PROVIDER, MDEV_PROVIDER}
    a16 = providers(document)[A16_PROVIDER]
    inventories = api.get(
        f"/resource_providers/{a16['uuid']}/inventories").get_json()
    assert inventories["resource_provider_generation"] == a16["generation"]
    assert inventories["inventories"]["CUSTOM_A16_16A"]["total"] == 1
    traits = api.get(f"/resource_providers/{a16['uuid']}/traits").get_json()
    assert sorted(traits["traits"]) == ALWAYS
    root_traits = api.get(f"/resource_providers/{root_uuid}/traits").get_json()
    assert sorted(root_traits["traits"]) == document["root_traits"]


def test_claimed_device_survives_its_removal(api):
    document = put(api, SEED_BODY)
    x520 = providers(document)[X520_PROVIDER]
    claim = api.put(f"/allocations/{CONSUMER}", json={
        "allocations": {x520["uuid"]: {
            "resources": {"CUSTOM_PCI_8086_154D": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None},
        version="1.28")
    assert claim.status_code == 204, claim.get_json()
    document = put(api, body(devices=[PF, VF4]))
    assert providers(document)[X520_PROVIDER]["uuid"] == x520["uuid"]
    assert document["warnings"]
    api.delete(f"/allocations/{CONSUMER}")
    document = put(api, body(devices=[PF, VF4]))
    assert X520_PROVIDER not in providers(document)


def test_stale_managed_providers_under_the_root_are_removed(api):
    root_uuid = put(api, SEED_BODY)["root_provider"]["uuid"]
    created = {}
    for name in (f"{HOST}_0000:99:00.0", f"{HOST}_operator_thing"):
        response = api.post("/resource_providers", json={
            "name": name, "parent_provider_uuid": root_uuid})
        assert response.status_code == 200, response.get_json()
        created[name] = response.get_json()
    stale = created[f"{HOST}_0000:99:00.0"]
    response = api.put(f"/resource_providers/{stale['uuid']}/traits", json={
        "traits": ALWAYS, "resource_provider_generation": stale["generation"]})
    assert response.status_code == 200, response.get_json()
    document = put(api, SEED_BODY)
    assert document["changed"] is True
    listed = api.get(f"/resource_providers?in_tree={root_uuid}").get_json()
    names = {p["name"] for p in listed["resource_providers"]}
    assert f"{HOST}_0000:99:00.0" not in names
    assert f"{HOST}_operator_thing" in names     # not ours: left alone
