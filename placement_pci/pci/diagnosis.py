""""Why no candidate": explain, per host, which request group fails on which
provider and why.

Works on the candidate engine's ``ProviderGraph`` snapshot and a
``CandidateRequest``.  For every root provider (host) asked about it checks
the root traits, then each group against each provider of the tree that
could serve it, naming every reason a provider is out:

- ``inventory``: the tree has no inventory of a requested class;
- ``capacity``: not enough free capacity, or the amount breaks
  min_unit / max_unit / step_size;
- ``trait``: a required trait is missing;
- ``forbidden_trait``: a forbidden trait is present;
- ``aggregate``: not in a required aggregate, or in a forbidden one;
- ``tree``: outside the tree named by in_tree;
- ``root``: the host's root misses a root_required trait or has a
  forbidden one;
- ``combination``: each group fits somewhere, but not all together
  (shared capacity, group_policy=isolate, same_subtree).

Sharing providers are not examined (their capacity counts for every tree
in their aggregates and would drown the per-host answer).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from placement_pci.candidates.graph import ProviderGraph, ProviderNode
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.candidates.solver import generate

INVENTORY = "inventory"
CAPACITY = "capacity"
TRAIT = "trait"
FORBIDDEN_TRAIT = "forbidden_trait"
AGGREGATE = "aggregate"
TREE = "tree"
ROOT = "root"
COMBINATION = "combination"


@dataclass
class Reason:
    kind: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass
class ProviderVerdict:
    uuid: str
    name: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "name": self.name, "ok": self.ok,
                "reasons": [reason.as_dict() for reason in self.reasons]}


@dataclass
class GroupVerdict:
    suffix: str
    providers: list[ProviderVerdict] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)  # tree-wide reasons

    @property
    def ok(self) -> bool:
        return not self.reasons and any(p.ok for p in self.providers)

    def as_dict(self) -> dict[str, Any]:
        return {"suffix": self.suffix, "ok": self.ok,
                "satisfied_by": [p.uuid for p in self.providers if p.ok],
                "reasons": [reason.as_dict() for reason in self.reasons],
                "providers": [p.as_dict() for p in self.providers]}


@dataclass
class HostVerdict:
    root_uuid: str
    name: str
    root_reasons: list[Reason]
    groups: list[GroupVerdict]
    candidate: bool
    combination_reasons: list[Reason] = field(default_factory=list)

    @property
    def failed_groups(self) -> list[str]:
        return [group.suffix for group in self.groups if not group.ok]

    def summary(self) -> str:
        if self.candidate:
            return "candidate"
        parts = [reason.detail for reason in self.root_reasons]
        for group in self.groups:
            if group.ok:
                continue
            label = f"group '{group.suffix}'" if group.suffix else "unsuffixed group"
            details = [reason.detail for reason in group.reasons] or sorted({
                f"{provider.name}: {reason.detail}"
                for provider in group.providers for reason in provider.reasons})
            parts.append(f"{label}: " + "; ".join(details))
        parts += [reason.detail for reason in self.combination_reasons]
        return " | ".join(parts) or "no candidate"

    def as_dict(self) -> dict[str, Any]:
        return {"root_provider_uuid": self.root_uuid, "name": self.name,
                "candidate": self.candidate,
                "root_reasons": [r.as_dict() for r in self.root_reasons],
                "failed_groups": self.failed_groups,
                "combination_reasons": [r.as_dict()
                                        for r in self.combination_reasons],
                "groups": [group.as_dict() for group in self.groups],
                "summary": self.summary()}


# --- single checks ------------------------------------------------------------

def _capacity_reasons(provider: ProviderNode, resources: dict[str, int]) -> list[Reason]:
    reasons = []
    for resource_class, amount in sorted(resources.items()):
        inventory = provider.inventories.get(resource_class)
        if inventory is None:
            reasons.append(Reason(INVENTORY, f"no {resource_class} inventory"))
            continue
        used = provider.used(resource_class)
        free = inventory.capacity - used
        if amount > free:
            reasons.append(Reason(CAPACITY, (
                f"{resource_class}: {amount} requested, {max(free, 0)} free "
                f"(capacity {inventory.capacity}, used {used})")))
        elif not inventory.min_unit <= amount <= inventory.max_unit:
            reasons.append(Reason(CAPACITY, (
                f"{resource_class}: {amount} requested, allowed per "
                f"allocation {inventory.min_unit} to {inventory.max_unit}")))
        elif amount % inventory.step_size:
            reasons.append(Reason(CAPACITY, (
                f"{resource_class}: {amount} is not a multiple of step_size "
                f"{inventory.step_size}")))
    return reasons


def _trait_reasons(traits: frozenset[str], group: RequestGroup) -> list[Reason]:
    reasons = []
    for any_of in group.required_traits:
        if not any_of & traits:
            wanted = (next(iter(any_of)) if len(any_of) == 1
                      else "one of " + ", ".join(sorted(any_of)))
            reasons.append(Reason(TRAIT, f"missing required trait {wanted}"))
    present = sorted(group.forbidden_traits & traits)
    if present:
        reasons.append(Reason(FORBIDDEN_TRAIT,
                              f"has forbidden trait(s) {', '.join(present)}"))
    return reasons


def _aggregate_reasons(aggregates: frozenset[str],
                       group: RequestGroup) -> list[Reason]:
    reasons = []
    for any_of in group.member_of:
        if not any_of & aggregates:
            reasons.append(Reason(AGGREGATE, "not in aggregate(s) "
                                  + ", ".join(sorted(any_of))))
    present = sorted(group.forbidden_aggregates & aggregates)
    if present:
        reasons.append(Reason(AGGREGATE, "in forbidden aggregate(s) "
                              + ", ".join(present)))
    return reasons


def _tree_reason(graph: ProviderGraph, root: ProviderNode,
                 group: RequestGroup) -> Reason | None:
    if group.in_tree is None:
        return None
    named = graph.by_uuid.get(group.in_tree)
    if named is None or named.root_id != root.id:
        return Reason(TREE, f"in_tree asks for the tree of {group.in_tree}")
    return None


def _verdict(provider: ProviderNode, reasons: list[Reason]) -> ProviderVerdict:
    return ProviderVerdict(provider.uuid, provider.name, reasons)


# --- groups -------------------------------------------------------------------

def _tree_providers(graph: ProviderGraph, root: ProviderNode) -> list[ProviderNode]:
    return [graph.providers[pid] for pid in graph.tree_of(root.id)]


def _suffixed_group(graph: ProviderGraph, root: ProviderNode,
                    group: RequestGroup) -> GroupVerdict:
    verdict = GroupVerdict(group.suffix)
    tree_reason = _tree_reason(graph, root, group)
    if tree_reason:
        verdict.reasons.append(tree_reason)
        return verdict
    providers = _tree_providers(graph, root)
    relevant = [p for p in providers
                if not group.resources
                or any(rc in p.inventories for rc in group.resources)]
    if not relevant:
        classes = ", ".join(sorted(group.resources))
        verdict.reasons.append(Reason(
            INVENTORY, f"no provider in this tree has {classes} inventory"))
        return verdict
    for provider in relevant:
        reasons = _capacity_reasons(provider, group.resources)
        reasons += _trait_reasons(provider.traits, group)
        reasons += _aggregate_reasons(provider.aggregates, group)
        verdict.providers.append(_verdict(provider, reasons))
    return verdict


def _unsuffixed_group(graph: ProviderGraph, root: ProviderNode,
                      group: RequestGroup) -> GroupVerdict:
    """The unsuffixed group may spread over the tree: each class on some
    provider, the traits on the union of the tree's providers."""
    verdict = GroupVerdict("")
    tree_reason = _tree_reason(graph, root, group)
    if tree_reason:
        verdict.reasons.append(tree_reason)
        return verdict
    providers = _tree_providers(graph, root)
    per_provider: dict[int, ProviderVerdict] = {}
    for resource_class, amount in sorted(group.resources.items()):
        holders = [p for p in providers if resource_class in p.inventories]
        if not holders:
            verdict.reasons.append(Reason(
                INVENTORY, f"no provider in this tree has {resource_class} "
                           f"inventory"))
            continue
        for provider in holders:
            per_provider.setdefault(provider.id, _verdict(provider, [])) \
                .reasons.extend(_capacity_reasons(provider,
                                                  {resource_class: amount}))
        if not any(provider.fits(resource_class, amount) for provider in holders):
            verdict.reasons.append(Reason(
                CAPACITY, f"no provider in this tree can give {amount} "
                          f"{resource_class}"))
    verdict.providers = [per_provider[pid] for pid in sorted(per_provider)]
    all_traits = frozenset().union(*(p.traits for p in providers))
    verdict.reasons += _trait_reasons(all_traits, group)
    verdict.reasons += _aggregate_reasons(root.aggregates, group)
    if not group.resources and not verdict.reasons:
        verdict.providers.append(_verdict(root, []))
    return verdict


def _root_reasons(root: ProviderNode, request: CandidateRequest) -> list[Reason]:
    reasons = []
    missing = sorted(request.root_required - root.traits)
    if missing:
        reasons.append(Reason(ROOT, "root provider misses required trait(s) "
                              + ", ".join(missing)))
    present = sorted(request.root_forbidden & root.traits)
    if present:
        reasons.append(Reason(ROOT, "root provider has forbidden trait(s) "
                              + ", ".join(present)))
    return reasons


def _tree_only_graph(graph: ProviderGraph, root: ProviderNode) -> ProviderGraph:
    return ProviderGraph(_tree_providers(graph, root), graph.resource_classes,
                         graph.trait_names)


def diagnose_host(graph: ProviderGraph, request: CandidateRequest,
                  root: ProviderNode) -> HostVerdict:
    root_reasons = _root_reasons(root, request)
    groups = [(_unsuffixed_group if group.is_unsuffixed else _suffixed_group)(
        graph, root, group) for group in request.groups]
    candidate = False
    combination: list[Reason] = []
    if not root_reasons and all(group.ok for group in groups):
        tree_graph = _tree_only_graph(graph, root)
        candidate = next(iter(generate(tree_graph, request)), None) is not None
        if not candidate:
            combination.append(Reason(COMBINATION, (
                "every group fits on its own but not all together: they "
                "compete for the same capacity"
                + (", or group_policy=isolate forbids sharing a provider"
                   if request.group_policy == "isolate" else "")
                + (", or same_subtree cannot be met" if request.same_subtree
                   else ""))))
    return HostVerdict(root.uuid, root.name, root_reasons, groups, candidate,
                       combination)


def diagnose(graph: ProviderGraph, request: CandidateRequest,
             roots: Iterable[str] | None = None) -> list[HostVerdict]:
    """Verdicts for the given root provider uuids (default: every root),
    sorted by name.  Unknown names in the request make no verdict: the
    solver's name check reports them first."""
    if roots is None:
        chosen = [p for p in graph.providers.values() if p.parent_id is None]
    else:
        chosen = [graph.by_uuid[uuid] for uuid in roots if uuid in graph.by_uuid]
    chosen = [p for p in chosen if p.parent_id is None and not p.is_sharing]
    return [diagnose_host(graph, request, root)
            for root in sorted(chosen, key=lambda p: (p.name, p.uuid))]


def verdict_counts(verdicts: Iterable[HostVerdict]) -> dict[str, int]:
    counted = list(verdicts)
    return {"host_count": len(counted),
            "candidate_count": sum(1 for v in counted if v.candidate)}

