"""Provider behaviours that differ between backends or that gabbi cannot
express: name collations, deep trees, deletion cleaning up associations."""
from __future__ import annotations

import sqlalchemy as sa

from placement_pci.db import tables

RP = "4e5f6071-8293-4a4b-9c2d-3e4f5a6b7c8d"


def test_renaming_a_provider_to_a_case_variant_of_its_name(api):
    assert api.post("/resource_providers", json={"name": "Host", "uuid": RP}).status_code == 200
    response = api.put(f"/resource_providers/{RP}", json={"name": "host"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "host"


def test_reparenting_moves_a_deep_subtree_to_the_new_root(api):
    chain = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    parent = None
    for index, uuid in enumerate(chain):
        body = {"name": f"level{index}", "uuid": uuid}
        if parent:
            body["parent_provider_uuid"] = parent
        assert api.post("/resource_providers", json=body).status_code == 200
        parent = uuid
    other_root = "00000000-0000-4000-8000-0000000000ff"
    assert api.post("/resource_providers", json={"name": "other", "uuid": other_root}
                    ).status_code == 200
    response = api.put(f"/resource_providers/{chain[1]}",
                       json={"name": "level1", "parent_provider_uuid": other_root})
    assert response.status_code == 200
    for uuid in chain[1:]:
        shown = api.get(f"/resource_providers/{uuid}").get_json()
        assert shown["root_provider_uuid"] == other_root
    assert api.get(f"/resource_providers/{chain[0]}").get_json()["root_provider_uuid"] == chain[0]
    tree = api.get(f"/resource_providers?in_tree={chain[4]}").get_json()["resource_providers"]
    assert sorted(p["uuid"] for p in tree) == sorted(chain[1:] + [other_root])


def test_deleting_a_provider_removes_its_inventories_traits_and_aggregates(api, database):
    assert api.post("/resource_providers", json={"name": "host", "uuid": RP}).status_code == 200
    assert api.put(f"/resource_providers/{RP}/inventories", json={
        "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}}
    ).status_code == 200
    assert api.put(f"/resource_providers/{RP}/traits", json={
        "traits": ["HW_CPU_X86_AVX"], "resource_provider_generation": 1}).status_code == 200
    assert api.put(f"/resource_providers/{RP}/aggregates", json={
        "aggregates": [RP], "resource_provider_generation": 2}).status_code == 200
    assert api.delete(f"/resource_providers/{RP}").status_code == 204
    with database.engine.connect() as connection:
        for table in (tables.inventories, tables.resource_provider_traits,
                      tables.resource_provider_aggregates, tables.resource_providers):
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    # The name is free again.
    assert api.post("/resource_providers", json={"name": "host"}).status_code == 200
