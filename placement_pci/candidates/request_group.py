"""RequestGroup and CandidateRequest: what a caller asks candidates for.

One concept shared by the query-string parser (GET /allocation_candidates)
and the PCI translation (flavor + image -> groups), so both speak the same
structure.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestGroup:
    """One group of resources that must come from one provider (when
    suffixed) or from one tree (the unsuffixed group).

    ``required_traits`` is a list of any-of sets: a plain trait is a set of
    one, ``in:A,B`` is the set {A, B}.  ``member_of`` likewise lists any-of
    sets of aggregate uuids; ``forbidden_aggregates`` are excluded.
    """

    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required_traits: list[frozenset[str]] = field(default_factory=list)
    forbidden_traits: frozenset[str] = frozenset()
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggregates: frozenset[str] = frozenset()
    in_tree: str | None = None

    @property
    def is_unsuffixed(self) -> bool:
        return self.suffix == ""

    @property
    def is_resourceless(self) -> bool:
        return not self.resources


@dataclass
class CandidateRequest:
    """A whole GET /allocation_candidates request, parsed."""

    groups: list[RequestGroup]
    group_policy: str | None = None
    limit: int | None = None
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtree: list[frozenset[str]] = field(default_factory=list)
