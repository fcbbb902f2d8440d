"""Parse the GET /allocation_candidates query string into a CandidateRequest.

Input is the query string as a mapping of key -> list of values (in the
order they were given, like ``MultiDict.to_dict(flat=False)``) and the
request's microversion as a ``(major, minor)`` tuple.  Validation follows
Placement: which keys a microversion accepts, the value formats, and the
cross-group rules; every problem raises ``BadRequest`` with Placement's
message and error code.  Names (resource classes, traits) are checked
against the database later, by the solver, because they need a snapshot.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.errors import (
    QUERY_BAD_VALUE,
    QUERY_DUPLICATE_KEY,
    QUERY_MISSING_VALUE,
    BadRequest,
)
from placement_pci.identifiers import parse_uuid

Microversion = tuple[int, int]

GROUP_KEYS = ("resources", "required", "member_of", "in_tree")
_NUMERIC_SUFFIX = r"[1-9][0-9]*"
_STRING_SUFFIX = r"[a-zA-Z0-9_-]{1,64}"
_LIMIT = re.compile(r"^[1-9][0-9]*$")
GROUP_POLICIES = ("none", "isolate")
_INVALID = "Invalid query string parameters"


def _group_key_pattern(microversion: Microversion) -> re.Pattern[str]:
    keys = GROUP_KEYS if microversion >= (1, 31) else GROUP_KEYS[:3]
    suffix = _STRING_SUFFIX if microversion >= (1, 33) else _NUMERIC_SUFFIX
    return re.compile(r"^({})({})?$".format("|".join(keys), suffix))


def _is_accepted_key(key: str, microversion: Microversion) -> bool:
    """Whether the key is part of the API at this microversion."""
    if microversion >= (1, 25):
        if _group_key_pattern(microversion).match(key):
            return True
        request_wide = {"limit", "group_policy"}
        if microversion >= (1, 35):
            request_wide.add("root_required")
        if microversion >= (1, 36):
            request_wide.add("same_subtree")
        return key in request_wide
    accepted = {"resources"}
    if microversion >= (1, 16):
        accepted.add("limit")
    if microversion >= (1, 17):
        accepted.add("required")
    if microversion >= (1, 21):
        accepted.add("member_of")
    return key in accepted


def _schema_error(message: str, validator: str, where: str) -> BadRequest:
    """A 400 worded like the JSON-schema validation Placement does."""
    return BadRequest(f"{_INVALID}: {message}\n\nFailed validating "
                      f"{validator!r} in schema{where}")


def _unexpected_keys_message(unexpected: list[str],
                             microversion: Microversion) -> str:
    verb_one = len(unexpected) == 1
    if microversion < (1, 25):
        names = ", ".join(repr(key) for key in unexpected)
        return ("Additional properties are not allowed "
                f"({names} {'was' if verb_one else 'were'} unexpected)")
    keys = GROUP_KEYS if microversion >= (1, 31) else GROUP_KEYS[:3]
    suffix = _STRING_SUFFIX if microversion >= (1, 33) else _NUMERIC_SUFFIX
    patterns = sorted(f"^{key}({suffix})?$" for key in keys)
    names = ", ".join(repr(key) for key in sorted(unexpected))
    return (f"{names} {'does' if verb_one else 'do'} not match any of the "
            f"regexes: {', '.join(repr(p) for p in patterns)}")


def _check_keys_and_formats(query: Mapping[str, Sequence[str]],
                            microversion: Microversion) -> None:
    """The shape checks Placement does with its per-version JSON schema."""
    unexpected = [key for key in query if not _is_accepted_key(key, microversion)]
    if unexpected:
        raise _schema_error(_unexpected_keys_message(unexpected, microversion),
                            "additionalProperties", "")
    if microversion < (1, 25) and "resources" not in query:
        raise _schema_error("'resources' is a required property",
                            "required", "")
    for value in query.get("limit", ()):
        if not _LIMIT.match(value):
            raise _schema_error(f"{value!r} does not match '^[1-9][0-9]*$'",
                                "pattern", "['properties']['limit']")
        if int(value) > MAX_LIMIT:
            raise _schema_error(f"{value} is greater than the maximum of {MAX_LIMIT}",
                                "maximum", "['properties']['limit']")
    for value in query.get("group_policy", ()):
        if value not in GROUP_POLICIES:
            raise _schema_error(f"{value!r} is not one of ['none', 'isolate']",
                                "enum", "['properties']['group_policy']")


# The largest limit: larger ones only reach integer overflow downstream.
MAX_LIMIT = 2147483647


def parse_resources(value: str) -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> ``{"VCPU": 2, "MEMORY_MB": 1024}``."""
    expected = ("Badly formed resources parameter. Expected resources query "
                "string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. ")
    if value.strip() == "":
        raise BadRequest(expected + "Got: empty string.")
    result: dict[str, int] = {}
    for item in value.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            raise BadRequest(expected + f"Got: {item}.")
        name, raw_amount = parts
        try:
            amount = int(raw_amount)
        except ValueError:
            raise BadRequest(
                f"Requested resource {name} expected positive integer "
                f"amount. Got: {raw_amount}.") from None
        if amount < 1:
            raise BadRequest(f"Requested resource {name} requires amount "
                             f">= 1. Got: {amount}.")
        result[name] = amount
    return result


def parse_traits(value: str, *, allow_forbidden: bool,
                 allow_any_of: bool) -> tuple[list[frozenset[str]], set[str]]:
    """One ``required`` value -> (list of any-of sets, forbidden traits)."""
    if value.startswith("in:"):
        if not allow_any_of:
            raise BadRequest(
                f"{_INVALID}: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}")
        any_of = frozenset(part.strip() for part in value[3:].split(","))
        if not all(any_of):
            raise BadRequest(
                f"{_INVALID}: Expected 'required' parameter value of the "
                f"form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait "
                f"in: {value}")
        if any(trait.startswith("!") for trait in any_of):
            raise BadRequest(
                f"{_INVALID}: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}")
        return [any_of], set()
    names = [part.strip() for part in value.split(",")]
    forbidden = {name[1:] for name in names if name.startswith("!")}
    if not all(names) or not all(forbidden):
        form = ("HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden
                else "HW_CPU_X86_VMX,CUSTOM_MAGIC")
        raise BadRequest(
            f"{_INVALID}: Expected 'required' parameter value of the form: "
            f"{form}. Got an empty trait in: {value}")
    if forbidden and not allow_forbidden:
        raise BadRequest(
            f"{_INVALID}: Expected 'required' parameter value of the form: "
            f"HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}")
    required = [frozenset([name]) for name in names if not name.startswith("!")]
    return required, forbidden


def parse_member_of(value: str) -> tuple[frozenset[str], frozenset[str]]:
    """One ``member_of`` value -> (any-of aggregates, forbidden aggregates)."""
    if "," in value and not value.startswith(("in:", "!in:")):
        raise BadRequest(
            "Multiple values for 'member_of' must be prefixed with the 'in:' "
            f"or '!in:' keyword using the valid microversion. Got: {value}")
    required: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    if value.startswith("!in:"):
        forbidden = frozenset(value[4:].split(","))
    elif value.startswith("!"):
        forbidden = frozenset([value[1:]])
    elif value.startswith("in:"):
        required = frozenset(value[3:].split(","))
    else:
        required = frozenset([value])
    for aggregate in required | forbidden:
        if parse_uuid(aggregate) is None:
            raise BadRequest(
                f"{_INVALID}: Expected 'member_of' parameter to contain "
                f"valid UUID(s). Got: {aggregate}")
    return required, forbidden


def _parse_in_tree(value: str) -> str:
    stripped = value.strip()
    if parse_uuid(stripped) is None:
        raise BadRequest(f"{_INVALID}: Expected 'in_tree' parameter to be a "
                         f"format of uuid. Got: {value}")
    return stripped


def _fill_traits(group: RequestGroup, values: Sequence[str],
                 microversion: Microversion) -> None:
    allow_any_of = microversion >= (1, 39)
    if not allow_any_of:
        values = values[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        more_required, more_forbidden = parse_traits(
            value, allow_forbidden=microversion >= (1, 22),
            allow_any_of=allow_any_of)
        required += more_required
        forbidden |= more_forbidden
    group.required_traits = required
    group.forbidden_traits = frozenset(forbidden)


def _fill_member_of(group: RequestGroup, key: str, values: Sequence[str],
                    microversion: Microversion) -> None:
    suffix = key[len("member_of"):]
    if microversion < (1, 24) and len(values) > 1:
        raise BadRequest(f"Multiple member_of{suffix} parameters are not "
                         "supported")
    member_of: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        required, more_forbidden = parse_member_of(value)
        if required:
            member_of.append(required)
        if more_forbidden:
            if microversion < (1, 32):
                raise BadRequest(
                    f"Forbidden member_of{suffix} parameters are not "
                    "supported in the specified microversion")
            forbidden |= more_forbidden
    group.member_of = member_of
    group.forbidden_aggregates = frozenset(forbidden)


def _parse_groups(query: Mapping[str, Sequence[str]],
                  microversion: Microversion) -> dict[str, RequestGroup]:
    pattern = _group_key_pattern(microversion)
    groups: dict[str, RequestGroup] = {}
    for key, values in query.items():
        match = pattern.match(key)
        if not match:
            continue
        prefix, suffix = match.group(1), match.group(2) or ""
        group = groups.setdefault(suffix, RequestGroup(suffix=suffix))
        if prefix == "resources":
            for value in values:
                group.resources = parse_resources(value)
        elif prefix == "required":
            _fill_traits(group, list(values), microversion)
        elif prefix == "member_of":
            _fill_member_of(group, key, list(values), microversion)
        else:
            for value in values:
                group.in_tree = _parse_in_tree(value)
    return groups


def _has_aggregates(group: RequestGroup) -> bool:
    return bool(group.member_of or group.forbidden_aggregates)


def _check_groups_before_1_36(groups: dict[str, RequestGroup]) -> None:
    orphans = [f"required{suffix}" for suffix, group in groups.items()
               if group.required_traits and not group.resources]
    if orphans:
        raise BadRequest(
            "All traits parameters must be associated with resources.  "
            "Found the following orphaned traits keys: " + ", ".join(orphans))
    orphans = [f"member_of{suffix}" for suffix, group in groups.items()
               if _has_aggregates(group) and not group.resources]
    if orphans:
        raise BadRequest(
            "All member_of parameters must be associated with resources. "
            "Found the following orphaned member_of keys: "
            + ", ".join(orphans))
    if not all(group.resources for group in groups.values()):
        raise BadRequest("All request groups must specify resources.")
    if not groups:
        raise BadRequest("At least one request group (`resources` or "
                         "`resources{$S}`) is required.")


def _check_groups_since_1_36(groups: dict[str, RequestGroup],
                             same_subtree: list[frozenset[str]]) -> None:
    resourceless = [suffix for suffix, group in groups.items()
                    if not group.resources]
    if len(resourceless) == len(groups):
        raise BadRequest("There must be at least one resources or "
                         "resources[$S] parameter.", code=QUERY_MISSING_VALUE)
    in_subtree = set().union(*same_subtree)
    bad = [suffix for suffix in resourceless if suffix not in in_subtree]
    if bad:
        raise BadRequest(
            "Resourceless suffixed group request should be specified in "
            f"`same_subtree` query param: bad group(s) - {bad}.",
            code=QUERY_BAD_VALUE)
    unknown = [suffix for suffix in sorted(in_subtree) if suffix not in groups]
    if unknown:
        raise BadRequest(
            "Real suffixes should be specified in `same_subtree`: "
            f"{unknown} not found in {list(groups)}.", code=QUERY_BAD_VALUE)


def _check_conflicting_traits(groups: dict[str, RequestGroup]) -> None:
    conflicts = [
        f"required{suffix}: ({', '.join(sorted(any_of))})"
        for suffix, group in groups.items()
        for any_of in group.required_traits
        if any_of <= group.forbidden_traits
    ]
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in the "
            "following traits keys: " + ", ".join(sorted(conflicts)))


def _parse_root_required(values: Sequence[str]) -> tuple[frozenset[str],
                                                         frozenset[str]]:
    if not values:
        return frozenset(), frozenset()
    if len(values) > 1:
        raise BadRequest("Query parameter 'root_required' may be specified "
                         "only once.", code=QUERY_DUPLICATE_KEY)
    required, forbidden = parse_traits(values[0], allow_forbidden=True,
                                       allow_any_of=False)
    required_names = frozenset(name for any_of in required for name in any_of)
    conflicts = required_names & forbidden
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in "
            "root_required: " + ", ".join(sorted(conflicts)),
            code=QUERY_BAD_VALUE)
    return required_names, frozenset(forbidden)


def _parse_same_subtree(values: Iterable[str]) -> list[frozenset[str]]:
    result = []
    for value in values:
        suffixes = frozenset(part.strip() for part in value.split(","))
        if "" in suffixes:
            raise BadRequest("Empty string (unsuffixed group) can not be "
                             "specified in `same_subtree` ",
                             code=QUERY_BAD_VALUE)
        result.append(suffixes)
    return result


def parse_candidate_query(query: Mapping[str, Sequence[str]],
                          microversion: Microversion) -> CandidateRequest:
    """Validate and parse a GET /allocation_candidates query string.

    ``query`` maps each key to the list of its values in request order.
    Raises ``BadRequest`` with Placement's message and code on bad input.
    """
    _check_keys_and_formats(query, microversion)
    limits = query.get("limit", ())
    limit = int(limits[0]) if limits else None
    policies = query.get("group_policy", ())
    group_policy = policies[0] if policies else None
    root_required, root_forbidden = _parse_root_required(
        query.get("root_required", ()))
    same_subtree = _parse_same_subtree(query.get("same_subtree", ()))

    groups = _parse_groups(query, microversion)
    if microversion >= (1, 36):
        _check_groups_since_1_36(groups, same_subtree)
    else:
        _check_groups_before_1_36(groups)
    if microversion >= (1, 22):
        _check_conflicting_traits(groups)

    if group_policy is None and sum(1 for suffix in groups if suffix) > 1:
        raise BadRequest('The "group_policy" parameter is required when '
                         'specifying more than one "resources{N}" parameter.')
    return CandidateRequest(
        groups=list(groups.values()),
        group_policy=group_policy,
        limit=limit,
        root_required=root_required,
        root_forbidden=root_forbidden,
        same_subtree=same_subtree,
    )
