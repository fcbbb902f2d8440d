"""Rendering request groups: the POST /pci/request-groups response and the
equivalent GET /allocation_candidates query string (microversion 1.39).

Trait lists are sorted (required first, then forbidden as ``!NAME``) so the
same request always renders to the same text.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.pci.request_groups import TranslatedRequest

# Characters of Placement's query syntax that need no escaping.
_SAFE = ":,!"


def _required_values(group: RequestGroup) -> list[str]:
    """One value per ``required`` parameter: plain traits (and forbidden
    ones) together, each any-of set as its own ``in:`` parameter."""
    plain = sorted(next(iter(any_of)) for any_of in group.required_traits
                   if len(any_of) == 1)
    forbidden = [f"!{name}" for name in sorted(group.forbidden_traits)]
    values = []
    if plain or forbidden:
        values.append(",".join(plain + forbidden))
    values.extend(f"in:{','.join(sorted(any_of))}"
                  for any_of in group.required_traits if len(any_of) > 1)
    return values


def _member_of_values(group: RequestGroup) -> list[str]:
    values = [(f"in:{','.join(sorted(any_of))}" if len(any_of) > 1
               else next(iter(any_of))) for any_of in group.member_of]
    if group.forbidden_aggregates:
        values.append(f"!in:{','.join(sorted(group.forbidden_aggregates))}")
    return values


def group_query_parameters(group: RequestGroup) -> list[tuple[str, str]]:
    suffix = group.suffix
    parameters = []
    if group.resources:
        parameters.append((f"resources{suffix}", ",".join(
            f"{name}:{amount}" for name, amount in sorted(group.resources.items()))))
    parameters.extend((f"required{suffix}", value)
                      for value in _required_values(group))
    parameters.extend((f"member_of{suffix}", value)
                      for value in _member_of_values(group))
    if group.in_tree:
        parameters.append((f"in_tree{suffix}", group.in_tree))
    return parameters


def query_parameters(request: CandidateRequest) -> list[tuple[str, str]]:
    """The request as ordered (name, value) pairs."""
    parameters: list[tuple[str, str]] = []
    for group in request.groups:
        parameters.extend(group_query_parameters(group))
    if request.limit is not None:
        parameters.append(("limit", str(request.limit)))
    if request.group_policy is not None:
        parameters.append(("group_policy", request.group_policy))
    if request.root_required or request.root_forbidden:
        parameters.append(("root_required", ",".join(
            sorted(request.root_required)
            + [f"!{name}" for name in sorted(request.root_forbidden)])))
    for subtree in request.same_subtree:
        parameters.append(("same_subtree", ",".join(sorted(subtree))))
    return parameters


def allocation_candidates_query(request: CandidateRequest) -> str:
    """The query string to append to ``GET /allocation_candidates?``."""
    return "&".join(f"{quote(name, safe='')}={quote(value, safe=_SAFE)}"
                    for name, value in query_parameters(request))


def render_group(group: RequestGroup) -> dict[str, Any]:
    required = sorted(next(iter(any_of)) for any_of in group.required_traits
                      if len(any_of) == 1)
    required += [f"in:{','.join(sorted(any_of))}"
                 for any_of in group.required_traits if len(any_of) > 1]
    return {
        "suffix": group.suffix,
        "resources": dict(sorted(group.resources.items())),
        "required": required,
        "forbidden": sorted(group.forbidden_traits),
        "member_of": [sorted(any_of) for any_of in group.member_of],
        "in_tree": group.in_tree,
    }


def render_request_groups(translated: TranslatedRequest) -> dict[str, Any]:
    """The POST /pci/request-groups response body."""
    request = translated.request
    groups = []
    for group in request.groups:
        rendered = render_group(group)
        rendered["source"] = translated.sources[group.suffix].as_dict()
        groups.append(rendered)
    return {
        "groups": groups,
        "group_policy": request.group_policy,
        "root_required": sorted(request.root_required),
        "root_forbidden": sorted(request.root_forbidden),
        "same_subtree": [sorted(subtree) for subtree in request.same_subtree],
        "query": allocation_candidates_query(request),
    }
