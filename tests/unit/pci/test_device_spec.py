"""device_spec entries: parsing, validation, tags, matching (spec §1-2)."""
from __future__ import annotations

import json

import pytest

from placement_pci import errors
from placement_pci.pci import device_spec
from placement_pci.pci.address import PciAddress, parse_address

SEED_A16 = {"vendor_id": "10de", "product_id": "25b6",
            "address": "0000:25:00.4", "resource_class": "CUSTOM_A16_16A",
            "managed": "no"}
SEED_X520 = {"vendor_id": "8086", "product_id": "154d",
             "address": "0000:41:00.0"}


def parse_one(raw):
    specs, warnings = device_spec.parse_device_specs([raw])
    assert len(specs) == 1 and warnings == []
    return specs[0]


def parse_error(entries) -> errors.BadRequest:
    with pytest.raises(errors.BadRequest) as caught:
        device_spec.parse_device_specs(entries)
    assert caught.value.code == "placement_pci.device_spec.invalid"
    return caught.value


def test_seed_a16_spec():
    spec = parse_one(SEED_A16)
    assert (spec.vendor_id, spec.product_id) == ("10de", "25b6")
    assert spec.single_address() == PciAddress(0, 0x25, 0, 4)
    assert spec.resource_class == "CUSTOM_A16_16A"
    assert spec.managed is False
    assert spec.live_migratable is False


@pytest.mark.parametrize("entries, count", [
    ([SEED_A16], 1),
    ([[SEED_A16, SEED_X520]], 2),                    # a list in one entry
    ([json.dumps(SEED_X520)], 1),                    # nova.conf string
    ([json.dumps([SEED_A16, SEED_X520])], 2),        # string holding a list
    ([SEED_A16, json.dumps(SEED_X520)], 2),
    ([], 0),
    (None, 0),
])
def test_entry_forms(entries, count):
    specs, _ = device_spec.parse_device_specs(entries)
    assert len(specs) == count


@pytest.mark.parametrize("entries, reason", [
    ({"vendor_id": "10de"}, "must be a list"),
    ([42], "JSON object"),
    ([[]], "JSON object"),
    ([[SEED_A16, 1]], "JSON object"),
    (["[1, 2]"], "JSON object"),
    (["not json"], "not valid JSON"),
    (["{'vendor_id': '10de'}"], "not valid JSON"),
    ([None], "JSON object"),
])
def test_entry_form_errors(entries, reason):
    error = parse_error(entries)
    assert reason in error.detail
    assert "device_spec" in error.detail


def test_duplicates_are_dropped_with_a_warning():
    specs, warnings = device_spec.parse_device_specs(
        [SEED_A16, SEED_X520, dict(SEED_A16)])
    assert len(specs) == 2
    assert len(warnings) == 1
    assert "device_spec entry 2" in warnings[0]
    assert "duplicate of device_spec entry 0" in warnings[0]


def test_error_names_entry_index_text_and_field():
    error = parse_error([SEED_X520, '{"vendor_id": "zz10"}'])
    assert "device_spec entry 1" in error.detail
    assert '{"vendor_id": "zz10"}' in error.detail
    assert "field 'vendor_id'" in error.detail


@pytest.mark.parametrize("value, expected", [
    ("10de", "10de"), ("10DE", "10de"), ("0x10de", "10de"),
    ("0X10DE", "10de"), (" 10de ", "10de"), ("de", "00de"),
    ("*", None), (None, None),
])
def test_vendor_and_product_ids(value, expected):
    spec = parse_one({"vendor_id": value, "product_id": value})
    assert spec.vendor_id == expected
    assert spec.product_id == expected


def test_missing_ids_mean_any():
    spec = parse_one({"address": "0000:41:00.0"})
    assert spec.vendor_id is None and spec.product_id is None


@pytest.mark.parametrize("value, reason", [
    ("xyz", "not a hex number"),
    ("10000", "greater than 0xFFFF"),
    (4318, "hex string"),                # JSON number: Deviation, error
    (-1, "hex string"),
    ("-1", "not a hex number"),
    ("", "not a hex number"),
    ("1*", "not a hex number"),
    (True, "hex string"),
])
@pytest.mark.parametrize("key", ["vendor_id", "product_id"])
def test_id_errors(key, value, reason):
    error = parse_error([{key: value}])
    assert f"field '{key}'" in error.detail
    assert reason in error.detail


@pytest.mark.parametrize("address, reason", [
    ("0000:8*:00.0", "hex"),
    ("1:0000:81:00.0", "three"),
    ("0000:81:20.0", "maximum"),
    ("0000:81:00.8", "maximum"),
    ("10000:81:00.0", "maximum"),
    ("0000:100:00.0", "maximum"),
    ({"bus": "[0-"}, "regular expression"),
    ({"bus": 81}, "regular expression string"),
    (81, "string glob or an object"),
    (["0000:81:00.0"], "string glob or an object"),
])
def test_address_errors(address, reason):
    error = parse_error([{"address": address}])
    assert "field 'address'" in error.detail
    assert reason in error.detail


def test_devname_is_refused():
    error = parse_error([{"devname": "eth0"}])
    assert "field 'devname'" in error.detail
    assert "PCI 'address'" in error.detail


@pytest.mark.parametrize("value, expected", [
    *[(word, True) for word in ("1", "t", "true", "on", "y", "yes",
                               "TRUE", "Yes", " on ")],
    *[(word, False) for word in ("0", "f", "false", "off", "n", "no",
                                "FALSE", "No")],
    (True, True), (False, False),
])
@pytest.mark.parametrize("tag", ["managed", "live_migratable",
                                 "one_time_use", "remote_managed",
                                 "trusted"])
def test_boolean_tags(tag, value, expected):
    spec = parse_one({tag: value})
    assert spec.tags[tag] is expected
    assert getattr(spec, tag) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", 1, 0, None, "yess"])
@pytest.mark.parametrize("tag", ["managed", "live_migratable",
                                 "one_time_use"])
def test_boolean_tag_errors_list_accepted_values(tag, value):
    error = parse_error([{tag: value}])
    assert f"field '{tag}'" in error.detail
    assert "1/t/true/on/y/yes" in error.detail
    assert "0/f/false/off/n/no" in error.detail


def test_tag_defaults():
    spec = parse_one({})
    assert spec.managed is True
    assert spec.live_migratable is False
    assert spec.one_time_use is False
    assert spec.remote_managed is False
    assert spec.trusted is None
    assert spec.physical_network is None


def test_other_tags_are_kept():
    spec = parse_one({"physical_network": "physnet1", "foo": "bar",
                      "trusted": "true"})
    assert spec.tags == {"physical_network": "physnet1", "foo": "bar",
                         "trusted": True}


@pytest.mark.parametrize("value, expected", [
    ("CUSTOM_A16_16A", "CUSTOM_A16_16A"),
    ("a16-16a", "CUSTOM_A16_16A"),
    ("pgpu", "PGPU"),
    ("VGPU", "VGPU"),
    ("CUSTOM_t4-gpu", "CUSTOM_T4_GPU"),      # Deviation: tail sanitised
    ("my  gpu!!x", "CUSTOM_MY_GPU_X"),
    ("", None),                              # empty = default class
    ("  ", None),
])
def test_resource_class_normalisation(value, expected):
    assert parse_one({"resource_class": value}).resource_class == expected


@pytest.mark.parametrize("value, reason", [
    ("x" * 300, "valid name"),
    (5, "must be a string"),
])
def test_resource_class_errors(value, reason):
    error = parse_error([{"resource_class": value}])
    assert "field 'resource_class'" in error.detail
    assert reason in error.detail


@pytest.mark.parametrize("value, expected", [
    ("blue, big", {"CUSTOM_BLUE", "CUSTOM_BIG"}),   # Deviation: stripped
    ("HW_GPU_API_VULKAN", {"HW_GPU_API_VULKAN"}),  # standard trait kept
    ("custom_fast", {"CUSTOM_FAST"}),
    ("a-b", {"CUSTOM_A_B"}),
    ("", set()),
])
def test_traits_tag(value, expected):
    assert parse_one({"traits": value}).traits == frozenset(expected)


@pytest.mark.parametrize("value, reason", [
    ("a,,b", "empty trait"),
    ("a, ", "empty trait"),
    (["a"], "must be a string"),
])
def test_traits_errors(value, reason):
    error = parse_error([{"traits": value}])
    assert "field 'traits'" in error.detail
    assert reason in error.detail


PF = parse_address("0000:25:00.0")
VF = parse_address("0000:25:00.4")


def match(specs, vendor, product, address, parent=None, pfs=(PF,)):
    return device_spec.first_matching_spec(
        specs, vendor, product, parse_address(address),
        parse_address(parent) if parent else None, frozenset(pfs))


def test_first_matching_spec_wins():
    specs, _ = device_spec.parse_device_specs([
        {"vendor_id": "10de", "resource_class": "first"},
        {"vendor_id": "10de", "product_id": "25b6",
         "resource_class": "second"}])
    found = match(specs, "10de", "25b6", "0000:25:00.4", "0000:25:00.0")
    assert found.resource_class == "CUSTOM_FIRST"


@pytest.mark.parametrize("spec, address, parent, pfs, matches", [
    (SEED_A16, "0000:25:00.4", "0000:25:00.0", (PF,), True),
    (SEED_A16, "0000:25:00.5", "0000:25:00.0", (PF,), False),
    ({"vendor_id": "8086"}, "0000:25:00.4", None, (), False),
    ({"product_id": "25b6"}, "0000:25:00.4", None, (), True),
    # an exact PF address selects the PF's VFs too (Nova's rule)
    ({"address": "0000:25:00.0"}, "0000:25:00.4", "0000:25:00.0", (PF,),
     True),
    ({"address": "0000:25:00.0"}, "0000:25:00.0", None, (PF,), True),
    # ... but only when that address is a PF on the host
    ({"address": "0000:25:00.0"}, "0000:25:00.4", "0000:25:00.0", (),
     False),
    ({"address": "0000:25:00.*"}, "0000:26:00.4", "0000:25:00.0", (PF,),
     False),
    ({"address": {"bus": "2", "function": "[4-7]"}}, "0000:25:00.4", None,
     (), True),
])
def test_matching(spec, address, parent, pfs, matches):
    specs, _ = device_spec.parse_device_specs([spec])
    found = match(specs, "10de", "25b6", address, parent, pfs)
    assert (found is not None) is matches


@pytest.mark.parametrize("address, reason", [
    ("0000:81:00. ", "function ' ' is blank"),
    ("0000:81: .0", "slot ' ' is blank"),
    ("0000: 81:00.0", "bus ' 81' is padded with whitespace"),
    (" 0000:81:00.0", "domain ' 0000' is padded with whitespace"),
    ("0000:81:00.1 ", "function '1 ' is padded with whitespace"),
    ({"function": " "}, "function ' ' is blank"),
    ({"bus": "81 "}, "bus '81 ' is padded with whitespace"),
])
def test_blank_or_padded_address_fields_are_refused(address, reason):
    with pytest.raises(errors.BadRequest) as caught:
        device_spec.parse_device_specs([{"address": address}])
    assert caught.value.code == "placement_pci.device_spec.invalid"
    assert "device_spec entry 0" in caught.value.detail
    assert "field 'address'" in caught.value.detail
    assert reason in caught.value.detail


@pytest.mark.parametrize("address", ["0000:81:00.", ":81:00.0", "::.",
                                     {"function": ""}])
def test_empty_address_fields_still_mean_any(address):
    specs, _ = device_spec.parse_device_specs([{"address": address}])
    assert specs[0].address.matches(parse_address("0000:81:00.0"))


@pytest.mark.parametrize("tags, field", [
    ({"managed": None}, "managed"),
    ({"live_migratable": 1}, "live_migratable"),
    ({"one_time_use": 0}, "one_time_use"),
    ({"physical_network": None}, "physical_network"),
    ({"resource_class": 5}, "resource_class"),
])
def test_tag_values_must_be_strings_or_booleans(tags, field):
    # Deliberately stricter than Nova (api-ref/pci-deviations.md item 6b).
    error = parse_error([{"vendor_id": "8086", **tags}])
    assert f"field '{field}'" in error.detail
