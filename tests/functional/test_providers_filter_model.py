"""GET /resource_providers filters agree with a plain-Python model of
Placement's rules, for random providers, traits, aggregates, inventories,
usage and filters (hypothesis), on every backend."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from placement_pci import inventory as capacity
from placement_pci.db import tables
from placement_pci.inventory import Inventory
from placement_pci.store import aggregates, inventories, providers, traits
from placement_pci.store.providers import ProviderFilters
from tests import databases

TRAITS = ["HW_CPU_X86_AVX", "HW_CPU_X86_SSE", "STORAGE_DISK_SSD"]
AGGREGATES = [str(uuid.UUID(int=i + 1)) for i in range(3)]
CLASSES = ["VCPU", "DISK_GB"]

inventory_strategy = st.fixed_dictionaries({
    "total": st.integers(1, 16), "reserved": st.integers(0, 4),
    "min_unit": st.integers(1, 3), "max_unit": st.integers(1, 16),
    "step_size": st.integers(1, 3), "allocation_ratio": st.sampled_from([0.5, 1.0, 2.0]),
    "used": st.integers(0, 20)})

provider_strategy = st.fixed_dictionaries({
    "traits": st.sets(st.sampled_from(TRAITS)),
    "aggregates": st.sets(st.sampled_from(AGGREGATES)),
    "inventories": st.dictionaries(st.sampled_from(CLASSES), inventory_strategy),
})

filter_strategy = st.fixed_dictionaries({
    "required_traits": st.lists(st.frozensets(st.sampled_from(TRAITS), min_size=1,
                                              max_size=2), max_size=2),
    "forbidden_traits": st.frozensets(st.sampled_from(TRAITS), max_size=1),
    "member_of": st.lists(st.frozensets(st.sampled_from(AGGREGATES), min_size=1,
                                        max_size=2), max_size=2),
    "forbidden_aggregates": st.frozensets(st.sampled_from(AGGREGATES), max_size=1),
    "resources": st.dictionaries(st.sampled_from(CLASSES), st.integers(1, 8), max_size=2),
})


def _expected(world: list[dict], wanted: dict) -> list[int]:
    matches = []
    for index, provider in enumerate(world):
        if not all(any_of & provider["traits"] for any_of in wanted["required_traits"]):
            continue
        if wanted["forbidden_traits"] & provider["traits"]:
            continue
        if not all(any_of & provider["aggregates"] for any_of in wanted["member_of"]):
            continue
        if wanted["forbidden_aggregates"] & provider["aggregates"]:
            continue
        fits = True
        for name, amount in wanted["resources"].items():
            inv = provider["inventories"].get(name)
            if inv is None or inv["reserved"] >= inv["total"]:
                fits = False
                break
            room = capacity.capacity(inv["total"], inv["reserved"], inv["allocation_ratio"])
            if (inv["used"] + amount > room or not capacity.amount_fits_units(
                    amount, inv["min_unit"], inv["max_unit"], inv["step_size"])):
                fits = False
                break
        if fits:
            matches.append(index)
    return matches


def _build(database, world: list[dict]) -> list[str]:
    uuids = []
    for index, spec in enumerate(world):
        provider = providers.create_provider(database, name=f"p{index}")
        uuids.append(provider.uuid)
        generation = provider.generation
        usable = {name: inv for name, inv in spec["inventories"].items()
                  if inv["reserved"] < inv["total"]}
        spec["inventories"] = usable
        if usable:
            generation, _ = inventories.replace_inventories(
                database, provider.uuid, generation,
                {name: Inventory.from_fields(name, inv) for name, inv in usable.items()},
                reserved_may_equal_total=False)
        generation, _ = traits.set_provider_traits(database, provider.uuid, generation,
                                                   spec["traits"])
        aggregates.set_provider_aggregates(database, provider.uuid,
                                           sorted(spec["aggregates"]), generation)
        with database.engine.begin() as connection:
            for name, inv in usable.items():
                if inv["used"]:
                    class_id = connection.execute(sa.select(tables.resource_classes.c.id).where(
                        tables.resource_classes.c.name == name)).scalar_one()
                    connection.execute(tables.allocations.insert().values(
                        resource_provider_id=provider.id, resource_class_id=class_id,
                        consumer_id=str(uuid.uuid4()), used=inv["used"]))
    return uuids


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=st.lists(provider_strategy, min_size=1, max_size=4), wanted=filter_strategy)
def test_filters_match_the_model(database, world, wanted):
    databases.empty_database(database)
    uuids = _build(database, world)
    found = providers.list_providers(database, ProviderFilters(**wanted))
    expected = _expected(world, wanted)
    event("some providers match" if expected else "no provider matches")
    assert sorted(p.uuid for p in found) == sorted(uuids[i] for i in expected)
