"""Query-string parsing for GET /allocation_candidates, per microversion."""
from __future__ import annotations

import pytest

from placement_pci.candidates.query import parse_candidate_query
from placement_pci.errors import BadRequest

AGG1 = "6b7d3bd5-4f6b-4c19-9a3d-0a5f3e9b3f01"
AGG2 = "6b7d3bd5-4f6b-4c19-9a3d-0a5f3e9b3f02"
RP = "0c3e5b44-79f9-4b4e-9a5b-d2a7a5a0c001"


def parse(query: str, version: tuple[int, int] = (1, 39)):
    from urllib.parse import parse_qsl
    mapping: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        mapping.setdefault(key, []).append(value)
    return parse_candidate_query(mapping, version)


@pytest.mark.parametrize("query, version, message, code", [
    ("", (1, 10), "'resources' is a required property", None),
    ("resources=", (1, 10), "Badly formed resources parameter", None),
    ("resources=VCPU", (1, 10), "Got: VCPU.", None),
    ("resources=VCPU:x", (1, 10), "expected positive integer amount", None),
    ("resources=VCPU:0", (1, 10), "requires amount >= 1", None),
    ("resources=VCPU:1&limit=1", (1, 15), "Invalid query string parameters", None),
    ("resources=VCPU:1&limit=0", (1, 16), "Invalid query string parameters", None),
    ("resources=VCPU:1&limit=-1", (1, 16), "Invalid query string parameters", None),
    ("resources=VCPU:1&required=FOO", (1, 16), "Invalid query string parameters", None),
    ("resources=VCPU:1&required=", (1, 17),
     "Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC.", None),
    ("resources=VCPU:1&required=!FOO", (1, 21),
     "Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. "
     "Got: !FOO", None),
    ("resources=VCPU:1&required=FOO,!", (1, 22),
     "of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait", None),
    ("resources=VCPU:1&required=in:A,B", (1, 38),
     "only supported since microversion 1.39", None),
    ("resources=VCPU:1&required=in:A,!B", (1, 39),
     "does not support forbidden traits", None),
    ("resources=VCPU:1&member_of=" + AGG1, (1, 20),
     "Invalid query string parameters", None),
    ("resources=VCPU:1&member_of=nope", (1, 21),
     "Expected 'member_of' parameter to contain valid UUID(s).", None),
    (f"resources=VCPU:1&member_of={AGG1},{AGG2}", (1, 21),
     "must be prefixed with the 'in:' or '!in:' keyword", None),
    (f"resources=VCPU:1&member_of={AGG1}&member_of={AGG2}", (1, 23),
     "Multiple member_of parameters are not supported", None),
    (f"resources=VCPU:1&member_of=!{AGG1}", (1, 31),
     "Forbidden member_of parameters are not supported", None),
    ("resources=VCPU:1&resources1=VCPU:1", (1, 24),
     "Invalid query string parameters", None),
    ("resources1=VCPU:1&resources2=VCPU:1", (1, 25),
     'The "group_policy" parameter is required', None),
    ("resources=VCPU:1&group_policy=bogus", (1, 25),
     "Invalid query string parameters", None),
    ("resources=VCPU:1&required1=FOO", (1, 25),
     "Found the following orphaned traits keys: required1", None),
    (f"resources=VCPU:1&member_of1={AGG1}", (1, 25),
     "orphaned member_of keys: member_of1", None),
    (f"resources=VCPU:1&in_tree1={RP}", (1, 31),
     "All request groups must specify resources.", None),
    ("resources=VCPU:1&in_tree=" + RP, (1, 30), "Invalid query string parameters", None),
    ("resources=VCPU:1&in_tree=nope", (1, 31),
     "Expected 'in_tree' parameter to be a format of uuid", None),
    ("resources=VCPU:1&resourcesX=VCPU:1", (1, 32), "Invalid query string parameters", None),
    ("resources=VCPU:1&root_required=FOO", (1, 34), "Invalid query string parameters", None),
    ("resources=VCPU:1&root_required=A,!A", (1, 35),
     "Conflicting required and forbidden traits found in root_required: A",
     "placement.query.bad_value"),
    ("resources=VCPU:1&root_required=A&root_required=B", (1, 35),
     "Query parameter 'root_required' may be specified only once.",
     "placement.query.duplicate_key"),
    ("resources=VCPU:1&same_subtree=_A", (1, 35), "Invalid query string parameters", None),
    ("resources=VCPU:1&required_A=FOO", (1, 36),
     "Resourceless suffixed group request should be specified in `same_subtree`",
     "placement.query.bad_value"),
    ("required_A=FOO&same_subtree=_A", (1, 36),
     "There must be at least one resources or resources[$S] parameter.",
     "placement.query.missing_value"),
    ("resources_A=VCPU:1&same_subtree=_A,_B", (1, 36),
     "Real suffixes should be specified in `same_subtree`",
     "placement.query.bad_value"),
    ("resources_A=VCPU:1&same_subtree=_A,", (1, 36),
     "Empty string (unsuffixed group) can not be specified",
     "placement.query.bad_value"),
    ("resources=VCPU:1&required=FOO,!FOO", (1, 22),
     "Conflicting required and forbidden traits found in the following "
     "traits keys: required: (FOO)", None),
    ("resources=VCPU:1&required=in:A,B&required=!A,!B", (1, 39),
     "required: (A, B)", None),
])
def test_bad_queries_are_rejected(query, version, message, code):
    with pytest.raises(BadRequest) as caught:
        parse(query, version)
    assert message in caught.value.detail
    assert caught.value.status == 400
    assert caught.value.code == (code or "placement.undefined_code")


def test_groups_traits_aggregates_and_request_wide_parameters():
    request = parse(
        f"resources=VCPU:2,MEMORY_MB:512&required=A,!B&required=in:C,D"
        f"&member_of=in:{AGG1},{AGG2}&member_of=!{AGG2}&in_tree={RP}"
        f"&resources_GPU=CUSTOM_GPU:1&required_GPU=G&limit=5"
        f"&group_policy=isolate&root_required=R,!S&same_subtree=_GPU")
    unsuffixed, gpu = request.groups
    assert unsuffixed.suffix == "" and gpu.suffix == "_GPU"
    assert unsuffixed.resources == {"VCPU": 2, "MEMORY_MB": 512}
    assert unsuffixed.required_traits == [frozenset({"A"}), frozenset({"C", "D"})]
    assert unsuffixed.forbidden_traits == {"B"}
    assert unsuffixed.member_of == [frozenset({AGG1, AGG2})]
    assert unsuffixed.forbidden_aggregates == {AGG2}
    assert unsuffixed.in_tree == RP
    assert gpu.resources == {"CUSTOM_GPU": 1}
    assert gpu.required_traits == [frozenset({"G"})]
    assert request.limit == 5 and request.group_policy == "isolate"
    assert request.root_required == {"R"} and request.root_forbidden == {"S"}
    assert request.same_subtree == [frozenset({"_GPU"})]


@pytest.mark.parametrize("version, expected", [
    # before 1.39 only the last required value counts
    ((1, 38), [frozenset({"B"})]),
    ((1, 39), [frozenset({"A"}), frozenset({"B"})]),
])
def test_repeated_required(version, expected):
    request = parse("resources=VCPU:1&required=A&required=B", version)
    assert request.groups[0].required_traits == expected


def test_resourceless_group_in_same_subtree_is_accepted():
    request = parse("resources_A=VCPU:1&required_B=HW_NUMA_ROOT"
                    "&same_subtree=_A,_B&group_policy=none", (1, 36))
    assert [group.suffix for group in request.groups] == ["_A", "_B"]
    assert request.groups[1].is_resourceless


def test_numeric_suffixes_before_1_33_string_suffixes_after():
    assert parse("resources1=VCPU:1", (1, 25)).groups[0].suffix == "1"
    assert parse("resources_X-1=VCPU:1", (1, 33)).groups[0].suffix == "_X-1"
