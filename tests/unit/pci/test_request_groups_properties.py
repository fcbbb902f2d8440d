"""Properties of the translation: the query string means exactly the groups
(it parses back through the candidate engine's own 1.39 parser), suffixes
are valid and unique, and the same input always gives the same answer."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs

from hypothesis import given, settings
from hypothesis import strategies as st

from placement_pci.candidates.query import parse_candidate_query
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import allocation_candidates_query, render_request_groups

SUFFIX = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CUSTOM = st.from_regex(r"CUSTOM_[A-Z0-9_]{1,8}", fullmatch=True)
SUFFIXES = st.from_regex(r"[a-zA-Z0-9_-]{1,10}", fullmatch=True)
UUIDS = st.builds(lambda: str(uuid.uuid4()))


def as_comparable(request: CandidateRequest) -> dict:
    return {
        "groups": {g.suffix: (g.resources, frozenset(g.required_traits),
                              g.forbidden_traits, frozenset(g.member_of),
                              g.forbidden_aggregates, g.in_tree)
                   for g in request.groups},
        "policy": request.group_policy,
        "root": (request.root_required, request.root_forbidden),
        "subtree": frozenset(request.same_subtree),
    }


def parse(query: str) -> CandidateRequest:
    return parse_candidate_query(parse_qs(query, keep_blank_values=True),
                                 (1, 39))


@st.composite
def groups(draw, suffix: str) -> RequestGroup:
    traits = draw(st.lists(CUSTOM, max_size=4, unique=True))
    required = traits[:len(traits) // 2]
    forbidden = traits[len(traits) // 2:]
    any_of = draw(st.lists(st.frozensets(CUSTOM, min_size=2, max_size=3),
                           max_size=2))
    any_of = [s for s in any_of if not s <= frozenset(forbidden)]
    return RequestGroup(
        suffix=suffix,
        resources=draw(st.dictionaries(CUSTOM, st.integers(1, 9), min_size=1,
                                       max_size=3)),
        required_traits=[frozenset({t}) for t in required] + any_of,
        forbidden_traits=frozenset(forbidden),
        member_of=draw(st.lists(st.frozensets(UUIDS, min_size=1, max_size=2),
                                max_size=2)),
        forbidden_aggregates=draw(st.frozensets(UUIDS, max_size=2)),
        in_tree=draw(st.none() | UUIDS))


@st.composite
def requests(draw) -> CandidateRequest:
    suffixes = draw(st.lists(SUFFIXES, max_size=4, unique=True))
    built = [draw(groups(""))] + [draw(groups(s)) for s in suffixes]
    root = draw(st.lists(CUSTOM, max_size=4, unique=True))
    return CandidateRequest(
        groups=built,
        group_policy=draw(st.sampled_from(["none", "isolate"]))
        if len(suffixes) > 1 else None,
        root_required=frozenset(root[:2]), root_forbidden=frozenset(root[2:]),
        same_subtree=[frozenset(suffixes[:2])] if len(suffixes) >= 2 else [])


@settings(max_examples=150, deadline=None)
@given(requests())
def test_query_parses_back_to_the_same_request(request):
    assert as_comparable(parse(allocation_candidates_query(request))) == \
        as_comparable(request)


ALIAS_NAMES = st.text(alphabet=st.characters(blacklist_characters=":,",
                                             blacklist_categories=("Cs",)),
                      min_size=1, max_size=80).filter(lambda n: n.strip())


@st.composite
def flavors(draw) -> dict:
    names = draw(st.lists(ALIAS_NAMES.map(str.strip), min_size=1, max_size=3,
                          unique=True))
    aliases = [{"name": name, "resource_class": f"CUSTOM_DEV_{i}",
                "traits": ",".join(draw(st.lists(CUSTOM, max_size=2))),
                **draw(st.sampled_from([{}, {"live_migratable": "yes"},
                                        {"live_migratable": "no"}]))}
               for i, name in enumerate(names)]
    items = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(0, 3)),
                          min_size=1, max_size=4))
    extra_specs = {"pci_passthrough:alias": ",".join(
        f"{name}:{count}" for name, count in items)}
    for suffix in draw(st.lists(SUFFIXES, max_size=2, unique=True)):
        extra_specs[f"resources{suffix}:CUSTOM_X"] = "1"
        extra_specs[f"trait{suffix}:CUSTOM_T"] = draw(
            st.sampled_from(["required", "forbidden"]))
    extra_specs["group_policy"] = "none"
    return {"alias": aliases, "flavor": {
        "vcpus": draw(st.integers(1, 4)), "memory_mb": draw(st.integers(0, 64)),
        "root_gb": draw(st.integers(0, 3)), "extra_specs": extra_specs}}


@settings(max_examples=150, deadline=None)
@given(flavors())
def test_translation_properties(body):
    translated = translate_body(body, [])
    rendered = render_request_groups(translated)
    suffixes = [g["suffix"] for g in rendered["groups"]]
    assert len(suffixes) == len(set(suffixes))
    assert all(s == "" or SUFFIX.match(s) for s in suffixes)
    alias_groups = [g for g in rendered["groups"]
                    if g["source"]["kind"] == "alias"]
    requested = sum(int(item.rsplit(":", 1)[1]) for item in
                    body["flavor"]["extra_specs"]["pci_passthrough:alias"]
                    .split(","))
    assert len(alias_groups) == requested
    assert all(sum(g["resources"].values()) == 1 for g in alias_groups)
    assert as_comparable(parse(rendered["query"])) == \
        as_comparable(translated.request)
    assert render_request_groups(translate_body(body, [])) == rendered
