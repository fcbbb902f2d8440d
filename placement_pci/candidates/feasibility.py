"""Per-group feasibility: which providers can serve each request group,
grouped by the tree (anchor) they would serve.

Stages 1-3 of the solver: names the database lacks are a 400, root
filters pick the anchors, then each group gets its providers per anchor.
Results are memoized on the (immutable) graph per group shape.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from placement_pci.candidates.graph import ProviderGraph, ProviderNode
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.errors import BadRequest

# -- names ----------------------------------------------------------

def check_names(graph: ProviderGraph, request: CandidateRequest) -> None:
    """Raise BadRequest for a resource class or trait the database lacks."""
    def check_traits(names: Iterable[str]) -> None:
        for name in names:
            if name not in graph.trait_names:
                raise BadRequest(f"No such trait(s): {name}.")

    check_traits(sorted(request.root_required))
    check_traits(sorted(request.root_forbidden))
    for group in request.groups:
        for resource_class in group.resources:
            if resource_class not in graph.resource_classes:
                raise BadRequest(
                    "Invalid resource class in resources parameter: "
                    f"No such resource class {resource_class}.")
        for any_of in group.required_traits:
            check_traits(sorted(any_of))
        check_traits(sorted(group.forbidden_traits))


# -- anchors --------------------------------------------------------

def allowed_roots(graph: ProviderGraph,
                  request: CandidateRequest) -> frozenset[int] | None:
    """Roots passing root_required; None when nothing filters roots."""
    if not (request.root_required or request.root_forbidden):
        return None
    key = ("roots", request.root_required, request.root_forbidden)
    return graph.memoized(key, lambda: frozenset(
        provider.id for provider in graph.providers.values()
        if provider.parent_id is None
        and request.root_required <= provider.traits
        and not request.root_forbidden & provider.traits))


# -- per-group feasibility ------------------------------------------

def _has_traits(traits: frozenset[str], group: RequestGroup) -> bool:
    return all(any_of & traits for any_of in group.required_traits)


def _in_aggregates(aggregates: frozenset[str], group: RequestGroup) -> bool:
    return all(any_of & aggregates for any_of in group.member_of)


def _tree_root(graph: ProviderGraph, group: RequestGroup) -> int | None:
    """Root id for in_tree; -1 when the named provider does not exist."""
    if group.in_tree is None:
        return None
    provider = graph.by_uuid.get(group.in_tree)
    return provider.root_id if provider is not None else -1


def _seed_ids(graph: ProviderGraph, group: RequestGroup) -> Iterable[int]:
    """A small superset of the providers that can serve a granular group."""
    if group.resources:
        return min((graph.by_class.get(rc, ()) for rc in group.resources),
                   key=len)
    seeds: list[Sequence[int]] = []
    seeds += [[pid for trait in any_of for pid in graph.by_trait.get(trait, ())]
              for any_of in group.required_traits]
    seeds += [sorted(graph.providers_in_aggregates(any_of))
              for any_of in group.member_of]
    if not seeds:
        # Upstream matches nothing for a resourceless group that names
        # neither a required trait nor an aggregate.
        return ()
    smallest = min(seeds, key=len)
    return sorted(set(smallest))


def _serves_granular(provider: ProviderNode, group: RequestGroup,
                     tree_root: int | None) -> bool:
    """Whether the provider alone satisfies a suffixed group."""
    if tree_root is not None and provider.root_id != tree_root:
        return False
    if not all(provider.fits(rc, amount) for rc, amount in group.resources.items()):
        return False
    return (_has_traits(provider.traits, group)
            and not group.forbidden_traits & provider.traits
            and _in_aggregates(provider.aggregates, group)
            and not group.forbidden_aggregates & provider.aggregates)


def granular_providers(graph: ProviderGraph, group: RequestGroup) -> list[int]:
    """Providers that alone satisfy a suffixed group."""
    tree_root = _tree_root(graph, group)
    return [provider_id for provider_id in _seed_ids(graph, group)
            if _serves_granular(graph.providers[provider_id], group, tree_root)]


def anchors_of(graph: ProviderGraph, provider: ProviderNode) -> Iterable[int]:
    """The trees a provider can serve: its own, plus those it shares with."""
    yield provider.root_id
    if provider.is_sharing:
        for root in sorted(graph.sharing_anchors(provider.id)):
            if root != provider.root_id:
                yield root


def group_key(group: RequestGroup) -> tuple:
    """What a group asks for, without its suffix: equal keys, equal options."""
    def sets(items: Iterable[frozenset[str]]) -> tuple:
        return tuple(sorted(tuple(sorted(item)) for item in items))
    return (tuple(sorted(group.resources.items())), sets(group.required_traits),
            tuple(sorted(group.forbidden_traits)), sets(group.member_of),
            tuple(sorted(group.forbidden_aggregates)), group.in_tree)


def granular_options(graph: ProviderGraph, group: RequestGroup,
                     roots: frozenset[int] | None) -> dict[int, list[int]]:
    """anchor root -> providers serving this suffixed group there
    (memoized per snapshot: identical groups and repeated queries reuse it)."""
    return graph.memoized(("granular", group_key(group), roots),
                          lambda: _granular_options(graph, group, roots))


def _granular_options(graph: ProviderGraph, group: RequestGroup,
                      roots: frozenset[int] | None) -> dict[int, list[int]]:
    by_anchor: dict[int, list[int]] = {}
    for provider_id in granular_providers(graph, group):
        for anchor in anchors_of(graph, graph.providers[provider_id]):
            if roots is None or anchor in roots:
                by_anchor.setdefault(anchor, []).append(provider_id)
    return by_anchor


def unsuffixed_options(graph: ProviderGraph, group: RequestGroup,
                       roots: frozenset[int] | None
                       ) -> dict[int, dict[str, list[int]]]:
    """Memoized per snapshot, see ``_unsuffixed_options``."""
    return graph.memoized(("unsuffixed", group_key(group), roots),
                          lambda: _unsuffixed_options(graph, group, roots))


def _unsuffixed_options(graph: ProviderGraph, group: RequestGroup,
                        roots: frozenset[int] | None
                        ) -> dict[int, dict[str, list[int]]]:
    """anchor root -> resource class -> providers of the unsuffixed group.

    The unsuffixed group may take each class from a different provider of
    the tree, or from a sharing provider associated with it.  member_of
    counts the provider's or its root's aggregates; a sharing provider must
    itself be in the aggregates.  Required traits are checked later, on the
    union of the chosen providers' traits.
    """
    tree_root = _tree_root(graph, group)
    per_class: list[dict[int, list[int]]] = []
    for rc, amount in group.resources.items():
        by_anchor: dict[int, list[int]] = {}
        for provider_id in graph.by_class.get(rc, ()):
            provider = graph.providers[provider_id]
            if not _may_serve_unsuffixed(provider, rc, amount, group, tree_root):
                continue
            anchors = [provider.root_id]
            if _shares_unsuffixed(provider, group, tree_root):
                anchors += [root for root in
                            sorted(graph.sharing_anchors(provider_id))
                            if root != provider.root_id]
            for anchor in anchors:
                if roots is not None and anchor not in roots:
                    continue
                if _aggregates_ok(graph, group, provider, anchor):
                    by_anchor.setdefault(anchor, []).append(provider_id)
        if not by_anchor:
            return {}
        per_class.append(by_anchor)
    common = set(per_class[0]).intersection(*per_class[1:]) if per_class else set()
    resource_classes = list(group.resources)
    options = {anchor: {rc: per_class[index][anchor]
                        for index, rc in enumerate(resource_classes)}
               for anchor in sorted(common)}
    if group.required_traits:
        options = {anchor: by_class for anchor, by_class in options.items()
                   if _traits_coverable(graph, group, by_class)}
    return options


def _may_serve_unsuffixed(provider: ProviderNode, rc: str, amount: int,
                          group: RequestGroup, tree_root: int | None) -> bool:
    """The unsuffixed group's per-provider checks for one class (its
    required traits are checked on the union of the chosen providers)."""
    return (provider.fits(rc, amount)
            and not group.forbidden_traits & provider.traits
            and (tree_root is None or provider.root_id == tree_root))


def _shares_unsuffixed(provider: ProviderNode, group: RequestGroup,
                       tree_root: int | None) -> bool:
    """Whether a provider may serve the unsuffixed group of other trees."""
    return (provider.is_sharing and tree_root is None
            and _in_aggregates(provider.aggregates, group))


def _aggregates_ok(graph: ProviderGraph, group: RequestGroup,
                   provider: ProviderNode, anchor: int) -> bool:
    """member_of counts the provider's or the anchor's aggregates."""
    forbidden = group.forbidden_aggregates
    anchor_aggs = graph.providers[anchor].aggregates
    if forbidden & provider.aggregates or forbidden & anchor_aggs:
        return False
    return (not group.member_of
            or _in_aggregates(provider.aggregates, group)
            or _in_aggregates(anchor_aggs, group))


def _traits_coverable(graph: ProviderGraph, group: RequestGroup,
                      by_class: dict[str, list[int]]) -> bool:
    """A tree whose candidate providers cannot cover the required traits
    even all together has no answer: skip it early."""
    return _has_traits(frozenset().union(*(
        graph.providers[pid].traits for pids in by_class.values() for pid in pids)),
        group)


# -- one anchor at a time -------------------------------------------

AnchorOptions = tuple[dict[str, list[int]] | None, dict[str, list[int]]]


def anchor_options(graph: ProviderGraph, request: CandidateRequest,
                   anchor: int) -> AnchorOptions | None:
    """The options of every group on one tree, as ``granular_options`` and
    ``unsuffixed_options`` give them for ``anchor`` (same providers, same
    order), looking only at the tree and the sharing providers serving
    it: (unsuffixed class -> providers or None, suffix -> providers), or
    None when some group has nothing there."""
    root = graph.providers.get(anchor)
    if root is None or root.parent_id is not None or not _root_allowed(root, request):
        return None
    own = graph.tree_of(anchor)
    shared = graph.sharing_for(anchor)
    candidates = sorted((*own, *shared)) if shared else own
    unsuffixed: dict[str, list[int]] | None = None
    granular: dict[str, list[int]] = {}
    for group in request.groups:
        tree_root = _tree_root(graph, group)
        if group.is_unsuffixed:
            unsuffixed = _anchor_unsuffixed(graph, group, anchor, candidates, tree_root)
            if unsuffixed is None:
                return None
            continue
        if group.is_resourceless and not (group.required_traits or group.member_of):
            return None   # as _seed_ids: such a group matches nothing
        found = [pid for pid in candidates
                 if _serves_granular(graph.providers[pid], group, tree_root)]
        if not found:
            return None
        granular[group.suffix] = found
    return unsuffixed, granular


def sharing_signature(graph: ProviderGraph, request: CandidateRequest,
                      provider_id: int) -> tuple | None:
    """What the other trees a sharing provider serves see of it, for a
    request of the unsuffixed group only: its traits and, per class,
    whether it may serve it.  Equal signatures, equal options and answers
    for those trees (aggregates move the graph's epoch instead).  None
    when the request has suffixed groups: their search also weighs the
    provider's usage against amounts merged over groups."""
    if any(not group.is_unsuffixed for group in request.groups):
        return None
    provider = graph.providers[provider_id]
    parts: list[object] = [provider.traits]
    for group in request.groups:
        tree_root = _tree_root(graph, group)
        parts.append(_shares_unsuffixed(provider, group, tree_root))
        parts.append(tuple(
            rc in provider.inventories
            and _may_serve_unsuffixed(provider, rc, amount, group, tree_root)
            for rc, amount in group.resources.items()))
    return tuple(parts)


def _root_allowed(root: ProviderNode, request: CandidateRequest) -> bool:
    """``allowed_roots`` for one root."""
    return (request.root_required <= root.traits
            and not request.root_forbidden & root.traits)


def _anchor_unsuffixed(graph: ProviderGraph, group: RequestGroup, anchor: int,
                       candidates: Sequence[int], tree_root: int | None
                       ) -> dict[str, list[int]] | None:
    by_class: dict[str, list[int]] = {}
    for rc, amount in group.resources.items():
        found = []
        for provider_id in candidates:
            provider = graph.providers[provider_id]
            if rc not in provider.inventories or not _may_serve_unsuffixed(
                    provider, rc, amount, group, tree_root):
                continue
            if provider.root_id != anchor and not _shares_unsuffixed(
                    provider, group, tree_root):
                continue
            if _aggregates_ok(graph, group, provider, anchor):
                found.append(provider_id)
        if not found:
            return None
        by_class[rc] = found
    if not by_class:
        return None
    if group.required_traits and not _traits_coverable(graph, group, by_class):
        return None
    return by_class


def all_anchor_options(graph: ProviderGraph, request: CandidateRequest
                       ) -> dict[int, AnchorOptions]:
    """``anchor_options`` for every anchor at once, from the whole-graph
    (memoized) options: cheaper when most trees are asked."""
    roots = allowed_roots(graph, request)
    if roots is not None and not roots:
        return {}
    anchors: set[int] | None = None
    unsuffixed: dict[int, dict[str, list[int]]] | None = None
    granular: dict[str, dict[int, list[int]]] = {}
    for group in request.groups:
        if group.is_unsuffixed:
            unsuffixed = unsuffixed_options(graph, group, roots)
            group_anchors = set(unsuffixed)
        else:
            granular[group.suffix] = granular_options(graph, group, roots)
            group_anchors = set(granular[group.suffix])
        anchors = group_anchors if anchors is None else anchors & group_anchors
        if not anchors:
            return {}
    return {anchor: (unsuffixed[anchor] if unsuffixed is not None else None,
                     {suffix: by_anchor[anchor] for suffix, by_anchor in granular.items()})
            for anchor in sorted(anchors or ())}
