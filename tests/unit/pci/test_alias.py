"""[pci] alias parsing and validation (spec §5)."""
from __future__ import annotations

import json

import pytest

from placement_pci import errors
from placement_pci.pci.alias import parse_aliases

A16 = {"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",
       "name": "A16_16A"}
X520 = {"vendor_id": "8086", "product_id": "154d", "device_type": "type-PF",
        "name": "a1"}


def parse_one(entry):
    aliases = parse_aliases([entry])
    assert len(aliases) == 1
    return next(iter(aliases.values()))


def test_seed_alias_with_resource_class():
    alias = parse_one(A16)
    assert alias.name == "A16_16A"
    assert alias.device_type == "type-VF"
    assert alias.numa_policy == "legacy"
    assert alias.resource_class == "CUSTOM_A16_16A"
    assert alias.required_traits == {"OWNER_NOVA"}
    assert alias.forbidden_traits == frozenset()


def test_default_class_from_ids_is_upper_case():
    alias = parse_one({"vendor_id": "10DE", "product_id": "25b6", "name": "x"})
    assert alias.resource_class == "CUSTOM_PCI_10DE_25B6"
    assert alias.spec.vendor_id == "10de"


def test_nova_conf_string_is_accepted():
    alias = parse_one(json.dumps(X520))
    assert alias.resource_class == "CUSTOM_PCI_8086_154D"
    assert alias.device_type == "type-PF"


def test_name_is_stripped():
    assert parse_one({**A16, "name": "  gpu "}).name == "gpu"


@pytest.mark.parametrize("given, expected", [
    ("CUSTOM_A16_16A", "CUSTOM_A16_16A"),
    ("a16-16a", "CUSTOM_A16_16A"),
    ("CUSTOM_t4-gpu", "CUSTOM_T4_GPU"),
    ("pgpu", "PGPU"),
    ("", None),  # empty means the default from the ids
])
def test_resource_class_is_normalised(given, expected):
    alias = parse_one({"name": "x", "vendor_id": "10de", "product_id": "25b6",
                       "resource_class": given})
    assert alias.spec.resource_class == expected
    assert alias.resource_class == (expected or "CUSTOM_PCI_10DE_25B6")


@pytest.mark.parametrize("given, expected", [
    ("blue, big", {"CUSTOM_BLUE", "CUSTOM_BIG"}),
    ("HW_GPU_API_VULKAN", {"HW_GPU_API_VULKAN"}),
    ("", set()),
])
def test_traits_are_normalised_and_add_owner_nova(given, expected):
    alias = parse_one({**A16, "traits": given})
    assert alias.spec.traits == expected
    assert alias.required_traits == expected | {"OWNER_NOVA"}


@pytest.mark.parametrize("value, required, forbidden", [
    ("yes", {"HW_PCI_LIVE_MIGRATABLE"}, set()),
    ("TRUE", {"HW_PCI_LIVE_MIGRATABLE"}, set()),
    (True, {"HW_PCI_LIVE_MIGRATABLE"}, set()),
    ("no", set(), {"HW_PCI_LIVE_MIGRATABLE"}),
    ("0", set(), {"HW_PCI_LIVE_MIGRATABLE"}),
    (False, set(), {"HW_PCI_LIVE_MIGRATABLE"}),
])
def test_live_migratable_becomes_required_or_forbidden(value, required,
                                                       forbidden):
    alias = parse_one({**A16, "live_migratable": value})
    assert alias.required_traits == required | {"OWNER_NOVA"}
    assert alias.forbidden_traits == forbidden


@pytest.mark.parametrize("policy", ["required", "legacy", "preferred",
                                    "socket"])
def test_numa_policies(policy):
    assert parse_one({**A16, "numa_policy": policy}).numa_policy == policy


def test_capability_type_pci_is_accepted():
    assert parse_one({**A16, "capability_type": "pci"}).spec.capability_type \
        == "pci"


def test_as_dict_round_trips():
    alias = parse_one({**A16, "traits": "fast", "live_migratable": "yes"})
    again = parse_one(alias.as_dict())
    assert (again.name, again.numa_policy, again.device_type,
            again.resource_class, again.required_traits,
            again.forbidden_traits) == (
        alias.name, alias.numa_policy, alias.device_type,
        alias.resource_class, alias.required_traits, alias.forbidden_traits)


@pytest.mark.parametrize("entry, reason", [
    ("{not json", "not valid JSON"),
    ("[1]", "must be a JSON object"),
    (["x"], "must be a JSON object"),
    (42, "must be a JSON object"),
    ({"vendor_id": "10de"}, "name is required"),
    ({"name": ""}, "1 to 256 characters"),
    ({"name": "x" * 257}, "1 to 256 characters"),
    ({"name": "   "}, "name is blank"),
    ({"name": 5}, "name must be a string"),
    ({**A16, "colour": "red"}, "unknown field(s) colour"),
    ({**A16, "device_id": "1234"}, "unknown field(s) device_id"),
    ({**A16, "vendor_id": "10de1"}, "vendor_id '10de1' must be exactly 4 hex"),
    ({**A16, "vendor_id": "0x10"}, "must be exactly 4 hex"),
    ({**A16, "product_id": "xyzw"}, "product_id 'xyzw' must be exactly 4 hex"),
    ({**A16, "product_id": 4660}, "product_id must be a string"),
    ({**A16, "vendor_id": None}, "vendor_id must be a string"),
    ({**A16, "device_type": "vdpa"}, "device_type 'vdpa' is not one of"),
    ({**A16, "device_type": "VF"}, "device_type 'VF' is not one of"),
    ({**A16, "numa_policy": "strict"}, "numa_policy 'strict' is not one of"),
    ({**A16, "capability_type": "usb"}, "capability_type 'usb' is not one of"),
    ({**A16, "resource_class": "CUSTOM_" + "X" * 250}, "resource_class"),
    ({**A16, "resource_class": 7}, "resource_class must be a string"),
    ({**A16, "traits": "a,,b"}, "empty trait name"),
    ({**A16, "traits": ["a"]}, "traits must be a string"),
    ({**A16, "live_migratable": "maybe"}, "live_migratable"),
    ({**A16, "live_migratable": None}, "live_migratable"),
])
def test_invalid_entries(entry, reason):
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([entry])
    assert caught.value.code == "placement_pci.alias.invalid"
    assert reason in caught.value.detail
    assert "entry 0" in caught.value.detail


def test_error_names_the_alias():
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([A16, {**X520, "vendor_id": "86"}])
    assert "'a1'" in caught.value.detail
    assert "entry 1" in caught.value.detail


def test_live_migratable_error_lists_accepted_values():
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([{**A16, "live_migratable": "maybe"}])
    assert "yes" in caught.value.detail and "off" in caught.value.detail


@pytest.mark.parametrize("second, reason", [
    ({**X520, "product_id": "10fb", "numa_policy": "required"},
     "numa_policy 'required' differs from 'legacy'"),
    ({**X520, "product_id": "10fb", "device_type": "type-VF"},
     "device_type 'type-VF' differs from 'type-PF'"),
    ({"name": "a1", "vendor_id": "8086", "product_id": "10fb"},
     "must each set device_type"),
])
def test_same_name_entries_must_agree(second, reason):
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([X520, second], placement=False)
    assert reason in caught.value.detail
    assert "'a1'" in caught.value.detail


def test_same_name_missing_device_type_on_first_is_clear():
    first = {"name": "a1", "vendor_id": "8086", "product_id": "154d"}
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([first, X520], placement=False)
    assert "must each set device_type" in caught.value.detail


def test_same_name_entries_merge_without_placement():
    aliases = parse_aliases([X520, {**X520, "product_id": "10fb"}],
                            placement=False)
    assert [spec.product_id for spec in aliases["a1"].specs] == ["154d",
                                                                 "10fb"]


def test_placement_allows_one_spec_per_alias():
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([X520, {**X520, "product_id": "10fb"}])
    assert "only one spec" in caught.value.detail
    assert "'a1' (entries 0, 1)" in caught.value.detail


@pytest.mark.parametrize("entry", [
    {"name": "x"},
    {"name": "x", "vendor_id": "8086"},
    {"name": "x", "product_id": "154d", "device_type": "type-PF"},
    {"name": "x", "resource_class": ""},
])
def test_placement_needs_ids_or_resource_class(entry):
    with pytest.raises(errors.BadRequest) as caught:
        parse_aliases([entry])
    assert "vendor_id and product_id, or resource_class" in caught.value.detail
    assert parse_aliases([entry], placement=False)["x"].name == "x"


@pytest.mark.parametrize("entries", ["x", {"name": "x"}, 3])
def test_entries_must_be_a_list(entries):
    with pytest.raises(errors.BadRequest):
        parse_aliases(entries)


def test_too_many_entries():
    with pytest.raises(errors.BadRequest, match="at most"):
        parse_aliases([{**A16, "name": f"a{i}"} for i in range(1001)])
