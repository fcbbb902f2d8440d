"""Property tests: the solver gives exactly the brute-force answer set."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.candidates.solver import SolverOptions, solve
from placement_pci.inventory import Inventory
from tests.unit.candidates.graphs import GraphBuilder, provider_uuid
from tests.unit.candidates.reference import reference_answers

CLASSES = ("VCPU", "CUSTOM_GPU", "DISK_GB")
TRAITS = ("HW_CPU_X86_AVX2", "HW_NUMA_ROOT", "CUSTOM_FAST")
AGGS = ("aaaaaaaa-0000-0000-0000-000000000001",
        "bbbbbbbb-0000-0000-0000-000000000002")


@st.composite
def graphs(draw):
    builder = GraphBuilder()
    count = draw(st.integers(1, 9))
    for index in range(count):
        parent = None
        if index and draw(st.booleans()):
            parent = draw(st.integers(1, index))
        inventory = {}
        used = {}
        for rc in draw(st.sets(st.sampled_from(CLASSES), max_size=2)):
            total = draw(st.integers(1, 3))
            inventory[rc] = Inventory(
                total, reserved=draw(st.integers(0, 1)) if total > 1 else 0,
                max_unit=draw(st.integers(1, 3)))
            used[rc] = draw(st.integers(0, 1))
        traits = set(draw(st.sets(st.sampled_from(TRAITS), max_size=2)))
        if draw(st.integers(0, 2)) == 0:
            traits.add("MISC_SHARES_VIA_AGGREGATE")
        builder.add(f"p{index}", parent, inventory, used, tuple(traits),
                    tuple(draw(st.sets(st.sampled_from(AGGS), max_size=2))))
    return builder.graph()


def _traits(draw):
    required = draw(st.lists(st.frozensets(st.sampled_from(TRAITS), min_size=1,
                                           max_size=2), max_size=1))
    forbidden = draw(st.frozensets(st.sampled_from(TRAITS), max_size=1))
    return required, forbidden


@st.composite
def requests(draw):
    groups = []
    if draw(st.booleans()):
        required, forbidden = _traits(draw)
        member_of = draw(st.lists(st.frozensets(st.sampled_from(AGGS),
                                                min_size=1), max_size=1))
        groups.append(RequestGroup(
            suffix="",
            resources={rc: draw(st.integers(1, 2)) for rc in draw(
                st.sets(st.sampled_from(CLASSES), min_size=1, max_size=2))},
            required_traits=required, forbidden_traits=forbidden,
            member_of=member_of,
            forbidden_aggregates=draw(st.frozensets(st.sampled_from(AGGS),
                                                    max_size=1)),
            in_tree=draw(st.sampled_from([None, None, None, provider_uuid("p1")]))))
    granular = draw(st.integers(0 if groups else 1, 3))
    for index in range(granular):
        required, forbidden = _traits(draw)
        groups.append(RequestGroup(
            suffix=f"_{index}",
            resources={draw(st.sampled_from(CLASSES)): draw(st.integers(1, 2))},
            required_traits=required, forbidden_traits=forbidden,
            member_of=draw(st.lists(st.frozensets(st.sampled_from(AGGS),
                                                  min_size=1), max_size=1)),
            forbidden_aggregates=draw(st.frozensets(st.sampled_from(AGGS),
                                                    max_size=1)),
            in_tree=draw(st.sampled_from([None, None, None, provider_uuid("p0"),
                                          provider_uuid("p1")]))))
    same_subtree = []
    if granular and draw(st.booleans()):
        groups.append(RequestGroup(suffix="_R", required_traits=[
            frozenset([draw(st.sampled_from(TRAITS))])]))
        members = ["_R"] + [f"_{index}" for index in range(granular)]
        same_subtree.append(frozenset(draw(st.lists(
            st.sampled_from(members), min_size=2, max_size=3, unique=True))
            + ["_R"]))
    elif granular >= 2 and draw(st.booleans()):
        same_subtree.append(frozenset(["_0", "_1"]))
    root_required = frozenset()
    root_forbidden = frozenset()
    if draw(st.integers(0, 3)) == 0:
        root_forbidden = frozenset([draw(st.sampled_from(TRAITS))])
    return CandidateRequest(
        groups=groups, group_policy=draw(st.sampled_from(["none", "isolate"])),
        root_required=root_required, root_forbidden=root_forbidden,
        same_subtree=same_subtree)


def _as_sets(answers):
    return {(frozenset(a.resources),
             frozenset((s, frozenset(p)) for s, p in a.mappings))
            for a in answers}


@settings(max_examples=int(os.environ.get("CANDIDATE_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), requests(), st.booleans())
def test_solver_matches_brute_force(graph, request, nested_aware):
    result = solve(graph, request, SolverOptions(nested_aware=nested_aware))
    got = _as_sets(result.allocation_requests)
    assert len(got) == len(result.allocation_requests), "duplicate answers"
    assert got == reference_answers(graph, request, nested_aware)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), requests(), st.integers(1, 4), st.booleans())
def test_limited_answers_are_distinct_valid_and_as_many_as_allowed(
        graph, request, limit, randomize):
    request.limit = limit
    result = solve(graph, request, SolverOptions(randomize=randomize, seed=1))
    got = _as_sets(result.allocation_requests)
    everything = reference_answers(graph, request)
    assert len(got) == len(result.allocation_requests) == min(limit, len(everything))
    assert got <= everything
