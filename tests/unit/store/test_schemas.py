"""JSON-Schema-worded validation of request bodies (no database)."""
import pytest

from placement_pci import errors
from placement_pci.schemas import aggregates, base, inventories, resource_providers


@pytest.mark.parametrize("schema,body,fragments", [
    (inventories.CreateInventory(), {"resource_class": "VCPU", "total": 0},
     ["0 is less than the minimum of 1",
      "Failed validating 'minimum' in schema['properties']['total']"]),
    (inventories.CreateInventory(), {"resource_class": "VCPU"},
     ["'total' is a required property"]),
    (inventories.CreateInventory(), {"resource_class": "VCPU", "total": True},
     ["True is not of type 'integer'"]),
    (inventories.CreateInventory(), {"resource_class": "VCPU", "total": 1.5},
     ["1.5 is not of type 'integer'"]),
    (inventories.ReplaceInventories(),
     {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 2 ** 31}}},
     [("Failed validating 'maximum' in schema['properties']['inventories']"
       "['properties']['VCPU']['properties']['total']")]),
    (resource_providers.CreateProvider(), {"name": "x", "colour": "red"},
     ["Additional properties are not allowed ('colour' was unexpected)"]),
    (resource_providers.CreateProvider(), {"name": "x", "uuid": "nope"},
     ["'nope' is not a 'uuid'", "Failed validating 'format'"]),
    (resource_providers.CreateProvider(), ["x"], ["['x'] is not of type 'object'"]),
    (aggregates.AggregatesV1_19(),
     {"aggregates": ["a"], "resource_provider_generation": 0}, ["is not a 'uuid'"]),
])
def test_failures_read_like_json_schema(schema, body, fragments):
    with pytest.raises(errors.BadRequest) as caught:
        base.load(schema, body)
    assert caught.value.detail.startswith("JSON does not validate: ")
    for fragment in fragments:
        assert fragment in caught.value.detail


def test_uuids_are_canonicalised():
    loaded = base.load(resource_providers.CreateProviderV1_14(), {
        "name": "x", "uuid": "2290D4AF9E6E400B9D651EE01376F71A",
        "parent_provider_uuid": None})
    assert loaded == {"name": "x", "uuid": "2290d4af-9e6e-400b-9d65-1ee01376f71a",
                      "parent_provider_uuid": None}


def test_aggregate_list_refuses_duplicates():
    same = "f918801a-5e54-4bee-9095-09a9d0c786b8"
    with pytest.raises(errors.BadRequest, match="has non-unique elements"):
        base.load(aggregates.aggregate_list(), [same, same.upper()])
