""""Why no candidate": per host, which group fails on which provider, why."""
from __future__ import annotations

import pytest

from placement_pci.candidates.graph import InventoryRow, ProviderGraph, ProviderRow
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.inventory import Inventory
from placement_pci.pci.diagnosis import diagnose

AGG = "11111111-1111-1111-1111-111111111111"
OTHER_AGG = "22222222-2222-2222-2222-222222222222"


def graph(pf_traits=("OWNER_NOVA",), pf_total=1, pf_used=0, root_traits=("OWNER_NOVA",),
          pf_aggregates=(), vcpus=8):
    providers = [ProviderRow(1, "root-1", "compute1"),
                 ProviderRow(2, "pf-1", "compute1_0000:25:00.0", parent_id=1, root_id=1),
                 ProviderRow(3, "root-2", "compute2")]
    inventories = [
        InventoryRow(1, "VCPU", Inventory(vcpus)),
        InventoryRow(2, "CUSTOM_GPU", Inventory(pf_total, max_unit=pf_total)),
        InventoryRow(3, "VCPU", Inventory(8)),
    ]
    usages = [(2, "CUSTOM_GPU", pf_used)] if pf_used else []
    traits = ([(1, t) for t in root_traits] + [(2, t) for t in pf_traits]
              + [(3, "OWNER_NOVA")])
    names = {"OWNER_NOVA", "HW_PCI_LIVE_MIGRATABLE", "COMPUTE_STATUS_DISABLED",
             "CUSTOM_FAST"}
    return ProviderGraph.build(
        providers, inventories, usages, traits,
        [(2, a) for a in pf_aggregates],
        resource_classes={"VCPU", "CUSTOM_GPU"}, traits=names)


def request(gpu_group=None, vcpus=2, **kwargs):
    groups = [RequestGroup("", {"VCPU": vcpus})]
    groups.append(gpu_group or RequestGroup(
        "_gpu-0", {"CUSTOM_GPU": 1}, [frozenset({"OWNER_NOVA"})]))
    return CandidateRequest(groups=groups, root_required=frozenset({"OWNER_NOVA"}),
                            root_forbidden=frozenset({"COMPUTE_STATUS_DISABLED"}),
                            **kwargs)


def verdict_for(verdicts, name):
    return next(v for v in verdicts if v.name == name)


def test_a_fitting_host_is_a_candidate_and_the_other_lacks_inventory():
    verdicts = diagnose(graph(), request())
    assert [v.name for v in verdicts] == ["compute1", "compute2"]
    first, second = verdicts
    assert first.candidate and first.summary() == "candidate"
    assert first.as_dict()["groups"][1]["satisfied_by"] == ["pf-1"]
    assert not second.candidate
    assert second.failed_groups == ["_gpu-0"]
    reasons = second.as_dict()["groups"][1]["reasons"]
    assert reasons == [{"kind": "inventory", "detail":
                        "no provider in this tree has CUSTOM_GPU inventory"}]


@pytest.mark.parametrize("graph_args, group, kind, text", [
    ({"pf_used": 1}, None, "capacity", "CUSTOM_GPU: 1 requested, 0 free (capacity 1, used 1)"),
    ({"pf_traits": ()}, None, "trait", "missing required trait OWNER_NOVA"),
    ({}, RequestGroup("_gpu-0", {"CUSTOM_GPU": 1},
                      forbidden_traits=frozenset({"OWNER_NOVA"})),
     "forbidden_trait", "has forbidden trait(s) OWNER_NOVA"),
    ({"pf_traits": ("OWNER_NOVA",)},
     RequestGroup("_gpu-0", {"CUSTOM_GPU": 1},
                  [frozenset({"HW_PCI_LIVE_MIGRATABLE", "CUSTOM_FAST"})]),
     "trait", "missing required trait one of CUSTOM_FAST, HW_PCI_LIVE_MIGRATABLE"),
    ({"pf_aggregates": (OTHER_AGG,)},
     RequestGroup("_gpu-0", {"CUSTOM_GPU": 1}, member_of=[frozenset({AGG})]),
     "aggregate", f"not in aggregate(s) {AGG}"),
    ({"pf_aggregates": (AGG,)},
     RequestGroup("_gpu-0", {"CUSTOM_GPU": 1},
                  forbidden_aggregates=frozenset({AGG})),
     "aggregate", f"in forbidden aggregate(s) {AGG}"),
    ({"pf_total": 2}, RequestGroup("_gpu-0", {"CUSTOM_GPU": 3}),
     "capacity", "CUSTOM_GPU: 3 requested, 2 free (capacity 2, used 0)"),
])
def test_provider_reasons(graph_args, group, kind, text):
    host = verdict_for(diagnose(graph(**graph_args), request(group)), "compute1")
    assert not host.candidate
    assert host.failed_groups == ["_gpu-0"]
    gpu = host.as_dict()["groups"][1]
    assert gpu["providers"][0]["uuid"] == "pf-1"
    assert {"kind": kind, "detail": text} in gpu["providers"][0]["reasons"]
    assert text in host.summary()


def test_in_tree_elsewhere_is_a_tree_reason():
    group = RequestGroup("_gpu-0", {"CUSTOM_GPU": 1}, in_tree="root-2")
    host = verdict_for(diagnose(graph(), request(group)), "compute1")
    assert host.as_dict()["groups"][1]["reasons"][0]["kind"] == "tree"


def test_root_traits():
    host = verdict_for(diagnose(graph(root_traits=("COMPUTE_STATUS_DISABLED",)),
                                request()), "compute1")
    kinds = [r["detail"] for r in host.as_dict()["root_reasons"]]
    assert kinds == ["root provider misses required trait(s) OWNER_NOVA",
                     "root provider has forbidden trait(s) COMPUTE_STATUS_DISABLED"]
    assert not host.candidate


def test_unsuffixed_capacity():
    host = verdict_for(diagnose(graph(vcpus=1), request(vcpus=2)), "compute1")
    assert host.failed_groups == [""]
    assert "no provider in this tree can give 2 VCPU" in host.summary()


def test_groups_that_fit_alone_but_not_together():
    two = CandidateRequest(groups=[
        RequestGroup("_gpu-0", {"CUSTOM_GPU": 1}),
        RequestGroup("_gpu-1", {"CUSTOM_GPU": 1})], group_policy="none")
    host = verdict_for(diagnose(graph(), two), "compute1")
    assert host.failed_groups == []
    assert not host.candidate
    assert host.as_dict()["combination_reasons"][0]["kind"] == "combination"


def test_only_the_roots_asked_for():
    verdicts = diagnose(graph(), request(), roots=["root-2", "nope"])
    assert [v.name for v in verdicts] == ["compute2"]


def test_unsuffixed_group_lists_each_provider_once():
    request_ = CandidateRequest(groups=[RequestGroup("", {"VCPU": 2,
                                                          "CUSTOM_GPU": 1})])
    host = verdict_for(diagnose(graph(), request_), "compute1")
    providers = host.as_dict()["groups"][0]["providers"]
    assert [p["uuid"] for p in providers] == ["root-1", "pf-1"]
    assert host.candidate
