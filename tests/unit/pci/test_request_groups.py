"""Flavor + image + aliases -> request groups (spec §6)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import render_request_groups

MYVF = {"vendor_id": "10de", "product_id": "25b6", "device_type": "type-VF",
        "name": "MYVF"}
A16 = {"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",
       "name": "A16_16A"}
X520 = {"vendor_id": "8086", "product_id": "154d", "device_type": "type-PF",
        "name": "a1"}
FLAVOR = {"vcpus": 4, "memory_mb": 4096, "root_gb": 20, "ephemeral_gb": 0,
          "swap": 0}


def groups_for(extra_specs=None, image=None, aliases=(MYVF, A16, X520),
               flavor=FLAVOR):
    body = {"alias": list(aliases),
            "flavor": {**flavor, "extra_specs": extra_specs or {}}}
    if image is not None:
        body["image"] = {"properties": image}
    return render_request_groups(translate_body(body, []))


def group(result, suffix):
    matches = [g for g in result["groups"] if g["suffix"] == suffix]
    assert len(matches) == 1, [g["suffix"] for g in result["groups"]]
    return matches[0]


def rejected(extra_specs=None, image=None, aliases=(MYVF, A16, X520),
             flavor=FLAVOR):
    with pytest.raises(errors.BadRequest) as caught:
        groups_for(extra_specs, image, aliases, flavor)
    return caught.value


def test_api_contract_example():
    result = groups_for({"pci_passthrough:alias": "MYVF:2"},
                        {"hw_viommu_model": "virtio"})
    assert result == {
        "groups": [
            {"suffix": "", "resources": {"DISK_GB": 20, "MEMORY_MB": 4096,
                                         "VCPU": 4},
             "required": [], "forbidden": [], "member_of": [],
             "in_tree": None, "source": {"kind": "flavor"}},
            {"suffix": "_MYVF-0", "resources": {"CUSTOM_PCI_10DE_25B6": 1},
             "required": ["OWNER_NOVA"], "forbidden": [], "member_of": [],
             "in_tree": None,
             "source": {"kind": "alias", "alias": "MYVF", "item": 0,
                        "index": 0}},
            {"suffix": "_MYVF-1", "resources": {"CUSTOM_PCI_10DE_25B6": 1},
             "required": ["OWNER_NOVA"], "forbidden": [], "member_of": [],
             "in_tree": None,
             "source": {"kind": "alias", "alias": "MYVF", "item": 0,
                        "index": 1}},
        ],
        "group_policy": "none",
        "root_required": ["COMPUTE_VIOMMU_MODEL_VIRTIO", "OWNER_NOVA"],
        "root_forbidden": ["COMPUTE_STATUS_DISABLED"],
        "same_subtree": [],
        "query": "resources=DISK_GB:20,MEMORY_MB:4096,VCPU:4"
                 "&resources_MYVF-0=CUSTOM_PCI_10DE_25B6:1"
                 "&required_MYVF-0=OWNER_NOVA"
                 "&resources_MYVF-1=CUSTOM_PCI_10DE_25B6:1"
                 "&required_MYVF-1=OWNER_NOVA"
                 "&group_policy=none"
                 "&root_required=COMPUTE_VIOMMU_MODEL_VIRTIO,OWNER_NOVA,"
                 "!COMPUTE_STATUS_DISABLED",
    }


def test_seed_a16_alias_uses_its_resource_class():
    result = groups_for({"pci_passthrough:alias": "A16_16A:1"})
    device = group(result, "_A16_16A-0")
    assert device["resources"] == {"CUSTOM_A16_16A": 1}
    assert device["source"] == {"kind": "alias", "alias": "A16_16A",
                                "item": 0, "index": 0}
    assert result["group_policy"] is None  # one suffixed group needs none


def test_x520_a1_2_gives_two_groups_and_policy_none():
    result = groups_for({"pci_passthrough:alias": "a1:2"})
    assert [g["suffix"] for g in result["groups"]] == ["", "_a1-0", "_a1-1"]
    assert group(result, "_a1-1")["resources"] == {"CUSTOM_PCI_8086_154D": 1}
    assert result["group_policy"] == "none"


@pytest.mark.parametrize("value, expected", [
    ("MYVF:1", [("MYVF", 0, 0)]),
    (" MYVF : 2 , a1:1 ", [("MYVF", 0, 0), ("MYVF", 0, 1), ("a1", 1, 0)]),
    ("MYVF:0", []),
    ("MYVF:1,MYVF:1", [("MYVF", 0, 0), ("MYVF", 1, 0)]),
])
def test_alias_items_and_their_groups(value, expected):
    result = groups_for({"pci_passthrough:alias": value})
    sources = [(g["source"]["alias"], g["source"]["item"], g["source"]["index"])
               for g in result["groups"] if g["source"]["kind"] == "alias"]
    assert sources == expected


def test_same_alias_twice_gets_distinct_suffixes():
    result = groups_for({"pci_passthrough:alias": "MYVF:1,MYVF:2"})
    suffixes = [g["suffix"] for g in result["groups"]][1:]
    assert suffixes == ["_MYVF-0", "_MYVF-1", "_MYVF-2"]


def test_alias_suffix_avoids_flavor_suffix_and_bad_characters():
    result = groups_for(
        {"pci_passthrough:alias": "gpu big.one:1",
         "resources_gpu_big_one-0:VCPU": "1", "group_policy": "none"},
        aliases=[{**MYVF, "name": "gpu big.one"}])
    suffixes = [g["suffix"] for g in result["groups"]]
    assert "_gpu_big_one-0" in suffixes and "_gpu_big_one-1" in suffixes
    assert group(result, "_gpu_big_one-1")["source"]["alias"] == "gpu big.one"


def test_long_alias_name_gives_valid_suffix():
    name = "n" * 200
    result = groups_for({"pci_passthrough:alias": f"{name}:1"},
                        aliases=[{**MYVF, "name": name}])
    suffix = result["groups"][1]["suffix"]
    assert len(suffix) <= 64 and suffix.endswith("-0")


@pytest.mark.parametrize("alias_fields, required, forbidden", [
    ({}, ["OWNER_NOVA"], []),
    ({"traits": "blue, HW_GPU_API_VULKAN"},
     ["CUSTOM_BLUE", "HW_GPU_API_VULKAN", "OWNER_NOVA"], []),
    ({"live_migratable": "yes"}, ["HW_PCI_LIVE_MIGRATABLE", "OWNER_NOVA"], []),
    ({"live_migratable": "no"}, ["OWNER_NOVA"], ["HW_PCI_LIVE_MIGRATABLE"]),
])
def test_alias_traits(alias_fields, required, forbidden):
    result = groups_for({"pci_passthrough:alias": "MYVF:1"},
                        aliases=[{**MYVF, **alias_fields}])
    device = group(result, "_MYVF-0")
    assert device["required"] == required
    assert device["forbidden"] == forbidden


def test_forbidden_alias_trait_in_query():
    result = groups_for({"pci_passthrough:alias": "MYVF:1"},
                        aliases=[{**MYVF, "live_migratable": "no",
                                  "traits": "zeta,alpha"}])
    assert ("required_MYVF-0=CUSTOM_ALPHA,CUSTOM_ZETA,OWNER_NOVA,"
            "!HW_PCI_LIVE_MIGRATABLE") in result["query"]


@pytest.mark.parametrize("value, reason", [
    ("", "is empty"),
    ("MYVF", "not of the form"),
    ("MYVF:1:2", "not of the form"),
    (":1", "has no alias name"),
    ("MYVF:-1", "not a non-negative integer"),
    ("MYVF:x", "not a non-negative integer"),
    ("MYVF:1,", "not of the form"),
    ("NOPE:1", "alias 'NOPE' is not defined"),
    ("MYVF:200", "at most 128"),
])
def test_bad_alias_requests(value, reason):
    error = rejected({"pci_passthrough:alias": value})
    assert error.code == "placement_pci.extra_specs.invalid"
    assert "pci_passthrough:alias" in error.detail
    assert reason in error.detail


def test_granular_resources_and_traits():
    result = groups_for({
        "resources1:CUSTOM_FPGA": "2", "trait1:CUSTOM_FAST": "required",
        "trait1:HW_CPU_X86_AVX": "forbidden", "resources_net:SRIOV_NET_VF": "1",
        "group_policy": "isolate", "trait:HW_CPU_X86_SSE": "required"})
    assert group(result, "1") == {
        "suffix": "1", "resources": {"CUSTOM_FPGA": 2},
        "required": ["CUSTOM_FAST"], "forbidden": ["HW_CPU_X86_AVX"],
        "member_of": [], "in_tree": None, "source": {"kind": "flavor"}}
    assert group(result, "_net")["resources"] == {"SRIOV_NET_VF": 1}
    assert group(result, "")["required"] == ["HW_CPU_X86_SSE"]
    assert result["group_policy"] == "isolate"
    assert ("resources1=CUSTOM_FPGA:2&required1=CUSTOM_FAST,!HW_CPU_X86_AVX"
            in result["query"])


@pytest.mark.parametrize("extra_specs, expected", [
    ({}, {"VCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 20}),
    ({"resources:VCPU": "8"}, {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 20}),
    ({"resources:VCPU": "0"}, {"MEMORY_MB": 4096, "DISK_GB": 20}),
    ({"resources:PCPU": "4"}, {"PCPU": 4, "MEMORY_MB": 4096, "DISK_GB": 20}),
    ({"resources:DISK_GB": "0", "resources:MEMORY_MB": "0"}, {"VCPU": 4}),
])
def test_flavor_resources_unless_already_requested(extra_specs, expected):
    assert group(groups_for(extra_specs), "")["resources"] == expected


def test_flavor_class_requested_in_a_suffixed_group_is_not_repeated():
    result = groups_for({"resources1:VCPU": "2"})
    assert group(result, "")["resources"] == {"MEMORY_MB": 4096,
                                              "DISK_GB": 20}
    assert group(result, "1")["resources"] == {"VCPU": 2}


def test_disk_counts_root_ephemeral_and_swap_rounded_up():
    flavor = {"vcpus": 1, "memory_mb": 512, "root_gb": 10, "ephemeral_gb": 5,
              "swap": 1025}
    assert group(groups_for(flavor=flavor), "")["resources"]["DISK_GB"] == 17


def test_empty_unsuffixed_group_is_dropped():
    flavor = {"vcpus": 0, "memory_mb": 0, "root_gb": 0}
    result = groups_for({"pci_passthrough:alias": "MYVF:1"}, flavor=flavor)
    assert [g["suffix"] for g in result["groups"]] == ["_MYVF-0"]
    assert result["query"].startswith("resources_MYVF-0=")


def test_zero_amount_suffixed_group_is_dropped():
    result = groups_for({"resources1:CUSTOM_FPGA": "0"})
    assert [g["suffix"] for g in result["groups"]] == [""]


@pytest.mark.parametrize("extra_specs, expected", [
    ({"pci_passthrough:alias": "a1:2"}, "none"),
    ({"pci_passthrough:alias": "a1:1"}, None),
    ({"pci_passthrough:alias": "a1:1", "resources1:CUSTOM_X": "1"}, "none"),
    ({"pci_passthrough:alias": "a1:1", "resources1:CUSTOM_X": "1",
      "group_policy": "isolate"}, "isolate"),
    ({"resources1:CUSTOM_X": "1"}, None),
    ({"resources1:CUSTOM_X": "1", "resources2:CUSTOM_Y": "1",
      "group_policy": "none"}, "none"),
])
def test_group_policy_default(extra_specs, expected):
    result = groups_for(extra_specs)
    assert result["group_policy"] == expected
    assert ("group_policy=" in result["query"]) == (expected is not None)


def test_two_flavor_groups_without_policy_is_an_error():
    error = rejected({"resources1:CUSTOM_X": "1", "resources2:CUSTOM_Y": "1"})
    assert "group_policy" in error.detail


@pytest.mark.parametrize("key, value, reason", [
    ("group_policy", "strict", "'strict' is not one of none, isolate"),
    ("resources:VCPU", "-1", "must be an integer from 0"),
    ("resources:VCPU", "two", "must be an integer from 0"),
    ("resources:VCPU", "2147483648", "must be an integer from 0"),
    ("resources:vcpu", "1", "neither a standard resource class"),
    ("resources:CUSTOM_lower", "1", "neither a standard resource class"),
    ("resources:NOT_A_CLASS", "1", "neither a standard resource class"),
    ("resources:", "1", "neither a standard resource class"),
    ("trait:CUSTOM_X", "maybe", "must be 'required' or 'forbidden'"),
    ("trait:NOT_A_TRAIT", "required", "neither a standard trait"),
    ("trait:custom_x", "required", "neither a standard trait"),
    ("resources bad:VCPU", "1", "SUFFIX of 1 to 64"),
    ("resources" + "x" * 65 + ":VCPU", "1", "SUFFIX of 1 to 64"),
    ("trait.1:CUSTOM_X", "required", "SUFFIX of 1 to 64"),
    ("trait1:CUSTOM_X", "required", "asks for traits but no resources"),
    ("hw:pci_numa_affinity_policy", "strict", "not one of"),
    ("hw:viommu_model", "amd", "not one of"),
    ("hw:locked_memory", "maybe", "not a boolean"),
    ("hw:locked_memory", "true", "needs an explicit page size"),
    ("hw:mem_page_size", "huge", "not a page size"),
])
def test_invalid_extra_specs(key, value, reason):
    error = rejected({key: value})
    assert error.code == "placement_pci.extra_specs.invalid"
    assert f"'{key}'" in error.detail or key in ("trait1:CUSTOM_X",)
    assert reason in error.detail


def test_required_and_forbidden_same_trait_is_an_error():
    error = rejected({"trait:CUSTOM_X": "forbidden"},
                     image={"trait:CUSTOM_X": "required"})
    assert "both required and forbidden" in error.detail


@pytest.mark.parametrize("flavor_policy, image_policy, socket_trait", [
    ("socket", None, True),
    (None, "socket", True),
    ("socket", "socket", True),
    ("required", None, False),
    (None, "preferred", False),
    ("legacy", "legacy", False),
])
def test_pci_numa_policy(flavor_policy, image_policy, socket_trait):
    extra_specs = {"hw:pci_numa_affinity_policy": flavor_policy} \
        if flavor_policy else {}
    image = {"hw_pci_numa_affinity_policy": image_policy} \
        if image_policy else {}
    result = groups_for(extra_specs, image)
    required = group(result, "")["required"]
    assert ("COMPUTE_SOCKET_PCI_NUMA_AFFINITY" in required) == socket_trait


def test_flavor_and_image_numa_policy_conflict():
    error = rejected({"hw:pci_numa_affinity_policy": "socket"},
                     {"hw_pci_numa_affinity_policy": "required"})
    assert "conflicts with image property" in error.detail


@pytest.mark.parametrize("alias_policy, flavor_policy, socket_trait", [
    ("socket", None, True),
    ("socket", "required", False),  # the flavor's policy wins
    ("required", "socket", True),
    ("legacy", None, False),
])
def test_alias_numa_policy_socket(alias_policy, flavor_policy, socket_trait):
    extra_specs = {"pci_passthrough:alias": "MYVF:1"}
    if flavor_policy:
        extra_specs["hw:pci_numa_affinity_policy"] = flavor_policy
    result = groups_for(extra_specs,
                        aliases=[{**MYVF, "numa_policy": alias_policy}])
    assert ("COMPUTE_SOCKET_PCI_NUMA_AFFINITY"
            in group(result, "")["required"]) == socket_trait


@pytest.mark.parametrize("flavor_model, image_model, trait", [
    ("intel", None, "COMPUTE_VIOMMU_MODEL_INTEL"),
    (None, "smmuv3", "COMPUTE_VIOMMU_MODEL_SMMUV3"),
    ("virtio", "intel", "COMPUTE_VIOMMU_MODEL_VIRTIO"),  # the flavor wins
    (None, "auto", "COMPUTE_VIOMMU_MODEL_AUTO"),
    (None, None, None),
])
def test_viommu_model(flavor_model, image_model, trait):
    extra_specs = {"hw:viommu_model": flavor_model} if flavor_model else {}
    image = {"hw_viommu_model": image_model, "trait:CUSTOM_KEEP": "required"} \
        if image_model else {}
    result = groups_for(extra_specs, image)
    expected = {"OWNER_NOVA"} | ({trait} if trait else set())
    assert set(result["root_required"]) == expected
    if image_model:  # the image's other traits are kept
        assert "CUSTOM_KEEP" in group(result, "")["required"]


def test_image_viommu_model_invalid():
    error = rejected(image={"hw_viommu_model": "amd"})
    assert "image property 'hw_viommu_model'" in error.detail


@pytest.mark.parametrize("extra_specs, image, ok", [
    ({"hw:locked_memory": "true", "hw:mem_page_size": "large"}, {}, True),
    ({"hw:locked_memory": "true"}, {"hw_mem_page_size": "2048"}, True),
    ({}, {"hw_locked_memory": "true", "hw_mem_page_size": "1GB"}, True),
    ({"hw:locked_memory": "false"}, {}, True),
    ({}, {"hw_locked_memory": "true"}, False),
    ({"hw:locked_memory": "yes"}, {}, False),
    ({"hw:locked_memory": "true", "hw:mem_page_size": "large"},
     {"hw_locked_memory": "false"}, False),
])
def test_locked_memory_needs_page_size(extra_specs, image, ok):
    if ok:
        groups_for(extra_specs, image)
    else:
        assert rejected(extra_specs, image).code == \
            "placement_pci.extra_specs.invalid"


@pytest.mark.parametrize("image, reason", [
    ({"trait:CUSTOM_X": "forbidden"}, "can only be 'required'"),
    ({"trait:nope": "required"}, "neither a standard trait"),
    ({"hw_pci_numa_affinity_policy": "strict"}, "not one of"),
    ({"hw_locked_memory": "perhaps"}, "not a boolean"),
    ({"hw_mem_page_size": "huge"}, "not a page size"),
])
def test_invalid_image_properties(image, reason):
    error = rejected(image=image)
    assert error.code == "placement_pci.extra_specs.invalid"
    assert "image property" in error.detail and reason in error.detail


def test_image_traits_go_to_the_unsuffixed_group():
    result = groups_for(image={"trait:HW_CPU_X86_AVX2": "required",
                               "trait:CUSTOM_GOLD": "required",
                               "os_distro": "ubuntu"})
    assert group(result, "")["required"] == ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]
    assert "required=CUSTOM_GOLD,HW_CPU_X86_AVX2" in result["query"]


def test_other_extra_specs_are_ignored():
    result = groups_for({"hw:cpu_policy": "shared", "quota:cpu_shares": "10",
                         "aggregate_instance_extra_specs:ssd": "true"})
    assert [g["suffix"] for g in result["groups"]] == [""]


def test_numeric_and_boolean_spec_values_are_strings():
    result = groups_for({"resources:VCPU": 2, "hw:locked_memory": False})
    assert group(result, "")["resources"]["VCPU"] == 2


def test_root_traits_always_present():
    result = groups_for()
    assert result["root_required"] == ["OWNER_NOVA"]
    assert result["root_forbidden"] == ["COMPUTE_STATUS_DISABLED"]
    assert result["query"].endswith(
        "root_required=OWNER_NOVA,!COMPUTE_STATUS_DISABLED")


@pytest.mark.parametrize("body, reason", [
    ({"flavor": {"extra_specs": []}}, "extra_specs must be an object"),
    ({"flavor": {"extra_specs": {"k": ["v"]}}}, "value must be a string"),
    ({"flavor": {"extra_specs": {"k": "v" * 256}}}, "longer than 255"),
    ({"flavor": {}, "image": {"properties": "x"}}, "properties must be an"),
])
def test_invalid_bodies(body, reason):
    with pytest.raises(errors.BadRequest) as caught:
        translate_body(body, [])
    assert reason in caught.value.detail


def test_default_aliases_are_used_when_body_has_none():
    body = {"flavor": {**FLAVOR,
                       "extra_specs": {"pci_passthrough:alias": "a1:1"}}}
    result = render_request_groups(translate_body(body, [X520]))
    assert group(result, "_a1-0")["resources"] == {"CUSTOM_PCI_8086_154D": 1}


def test_body_aliases_replace_default_aliases():
    body = {"alias": [A16], "flavor": {
        **FLAVOR, "extra_specs": {"pci_passthrough:alias": "a1:1"}}}
    with pytest.raises(errors.BadRequest, match="not defined"):
        translate_body(body, [X520])


def test_invalid_alias_in_body_is_an_alias_error():
    body = {"alias": [{"name": "x", "vendor_id": "1"}], "flavor": FLAVOR}
    with pytest.raises(errors.BadRequest) as caught:
        translate_body(body, [])
    assert caught.value.code == "placement_pci.alias.invalid"


def test_same_input_same_output():
    extra_specs = {"pci_passthrough:alias": "MYVF:2,a1:1",
                   "resources_x:CUSTOM_Y": "1", "trait_x:CUSTOM_Z": "required"}
    assert groups_for(extra_specs) == groups_for(dict(
        reversed(list(extra_specs.items()))))


def test_a_request_for_nothing_is_an_error():
    error = rejected({"pci_passthrough:alias": "MYVF:0"},
                     flavor={"vcpus": 0, "memory_mb": 0, "root_gb": 0})
    assert "requests no resources at all" in error.detail
