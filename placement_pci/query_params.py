"""Query string values of GET /resource_providers: the repeated
``required`` / ``member_of`` values and ``resources``, built on the
candidate engine's single-value parsers.  Which parameters exist and which
must be uuids is the route's query schema's business
(schemas/resource_providers.py).

Pure functions: they take the raw values and the microversion features the
caller allows, and raise ``errors.BadRequest`` with Placement's wording.
"""
from __future__ import annotations

from collections.abc import Sequence

from placement_pci import errors
from placement_pci.candidates import query as candidate_query
from placement_pci.identifiers import canonical_uuid

# Single values are parsed by the candidate engine's query module (one
# parser per concept); this module adds what GET /resource_providers needs
# around them: repeated parameters and the microversion rules.
parse_resources = candidate_query.parse_resources


def parse_required(values: Sequence[str], *, allow_forbidden: bool,
                   allow_any_of: bool) -> tuple[list[frozenset[str]], frozenset[str]]:
    """Trait requirements from the ``required`` parameter values.

    Returns (required, forbidden): ``required`` is a list of any-of sets
    (a plain trait is a set of one); every set must be satisfied.  Before
    any-of support (1.39) only the last value of a repeated parameter counts.
    """
    if not allow_any_of:
        values = list(values)[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        more_required, more_forbidden = candidate_query.parse_traits(
            value, allow_forbidden=allow_forbidden, allow_any_of=allow_any_of)
        required.extend(more_required)
        forbidden |= more_forbidden
    return required, frozenset(forbidden)


def parse_member_of(values: Sequence[str], *, allow_multiple: bool,
                    allow_forbidden: bool, suffix: str = ""
                    ) -> tuple[list[frozenset[str]], frozenset[str]]:
    """Aggregate requirements from the ``member_of`` parameter values.

    Returns (required, forbidden): ``required`` lists any-of sets of
    aggregate uuids (canonical form), all of which must be met; a provider
    in any ``forbidden`` aggregate is excluded.
    """
    if not allow_multiple and len(values) > 1:
        raise errors.BadRequest(
            f"Multiple member_of{suffix} parameters are not supported")
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        wanted, unwanted = candidate_query.parse_member_of(value)
        if unwanted and not allow_forbidden:
            raise errors.BadRequest(
                f"Forbidden member_of{suffix} parameters are not supported in "
                "the specified microversion")
        if wanted:
            required.append(frozenset(canonical_uuid(u) for u in wanted))
        forbidden |= {canonical_uuid(u) for u in unwanted}
    return required, frozenset(forbidden)
