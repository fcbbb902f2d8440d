"""Parsers for the query-string values Placement shares between
GET /resource_providers and GET /allocation_candidates: ``resources``,
``required`` (traits), ``member_of`` (aggregates) and ``in_tree``.

Pure functions: they take the raw values and the microversion features the
caller allows, and raise ``errors.BadRequest`` with Placement's wording.
"""
from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping, Sequence

from placement_pci import errors
from placement_pci.schemas.base import is_uuid_like

INVALID_QUERY = "Invalid query string parameters"


def check_known_parameters(given: Iterable[str], allowed: Iterable[str]) -> None:
    """400 for a parameter the requested microversion does not know."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        verb = "were" if len(unknown) > 1 else "was"
        raise errors.BadRequest(
            f"{INVALID_QUERY}: Additional properties are not allowed "
            f"({listed} {verb} unexpected)")


def check_uuid_parameters(args: Mapping[str, Sequence[str]],
                          names: Iterable[str]) -> None:
    """400 when a parameter that must be a uuid is not one."""
    for name in names:
        for value in args.get(name, ()):
            if not is_uuid_like(value):
                raise errors.BadRequest(
                    f"{INVALID_QUERY}: {value!r} is not a 'uuid'")


def parse_resources(value: str) -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> {"VCPU": 2, "MEMORY_MB": 1024}."""
    form = ("Badly formed resources parameter. Expected resources query string "
            "parameter in form: ?resources=VCPU:2,MEMORY_MB:1024.")
    if value.strip() == "":
        raise errors.BadRequest(f"{form} Got: empty string.")
    result: dict[str, int] = {}
    for item in value.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            raise errors.BadRequest(f"{form} Got: {item}.")
        name, amount_text = parts
        try:
            amount = int(amount_text)
        except ValueError:
            raise errors.BadRequest(
                f"Requested resource {name} expected positive integer amount. "
                f"Got: {amount_text}.") from None
        if amount < 1:
            raise errors.BadRequest(
                f"Requested resource {name} requires amount >= 1. Got: {amount}.")
        result[name] = amount
    return result


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
        more_required, more_forbidden = _parse_one_required(
            value, allow_forbidden=allow_forbidden, allow_any_of=allow_any_of)
        required.extend(more_required)
        forbidden |= more_forbidden
    return required, frozenset(forbidden)


def _parse_one_required(value: str, *, allow_forbidden: bool,
                        allow_any_of: bool) -> tuple[list[frozenset[str]], set[str]]:
    if value.startswith("in:"):
        if not allow_any_of:
            raise errors.BadRequest(
                f"{INVALID_QUERY}: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}")
        any_of = {name.strip() for name in value[3:].split(",")}
        if not all(any_of):
            raise errors.BadRequest(
                f"{INVALID_QUERY}: Expected 'required' parameter value of the "
                f"form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}")
        if any(name.startswith("!") for name in any_of):
            raise errors.BadRequest(
                f"{INVALID_QUERY}: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}")
        return [frozenset(any_of)], set()

    names = [name.strip() for name in value.split(",")]
    # Placement strips any number of leading '!' (a documented quirk).
    forbidden = {name.lstrip("!") for name in names if name.startswith("!")}
    expected = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
    if not all(names) or not all(forbidden):
        raise errors.BadRequest(
            f"{INVALID_QUERY}: Expected 'required' parameter value of the form: "
            f"{expected}. Got an empty trait in: {value}")
    if forbidden and not allow_forbidden:
        raise errors.BadRequest(
            f"{INVALID_QUERY}: Expected 'required' parameter value of the form: "
            f"{expected}. Got: {value}")
    required = [frozenset({name}) for name in names if not name.startswith("!")]
    return required, forbidden


def parse_member_of(values: Sequence[str], *, allow_multiple: bool,
                    allow_forbidden: bool, suffix: str = ""
                    ) -> tuple[list[frozenset[str]], frozenset[str]]:
    """Aggregate requirements from the ``member_of`` parameter values.

    Returns (required, forbidden): ``required`` lists any-of sets of
    aggregate uuids, all of which must be met; a provider in any
    ``forbidden`` aggregate is excluded.
    """
    if not allow_multiple and len(values) > 1:
        raise errors.BadRequest(
            f"Multiple member_of{suffix} parameters are not supported")
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise errors.BadRequest(
                "Multiple values for 'member_of' must be prefixed with the "
                "'in:' or '!in:' keyword using the valid microversion. "
                f"Got: {value}")
        wanted: set[str] = set()
        unwanted: set[str] = set()
        if value.startswith("!in:"):
            unwanted = set(value[4:].split(","))
        elif value.startswith("!"):
            unwanted = {value[1:]}
        elif value.startswith("in:"):
            wanted = set(value[3:].split(","))
        else:
            wanted = {value}
        for aggregate in sorted(wanted | unwanted):
            if not is_uuid_like(aggregate):
                raise errors.BadRequest(
                    f"{INVALID_QUERY}: Expected 'member_of' parameter to "
                    f"contain valid UUID(s). Got: {aggregate}")
        if unwanted and not allow_forbidden:
            raise errors.BadRequest(
                f"Forbidden member_of{suffix} parameters are not supported in "
                "the specified microversion")
        if wanted:
            required.append(frozenset(_canonical(u) for u in wanted))
        forbidden |= {_canonical(u) for u in unwanted}
    return required, frozenset(forbidden)


def parse_in_tree(value: str, name: str = "in_tree") -> str:
    """A provider uuid given as ``in_tree``."""
    stripped = value.strip()
    if not is_uuid_like(stripped):
        raise errors.BadRequest(
            f"{INVALID_QUERY}: Expected '{name}' parameter to be a format of "
            f"uuid. Got: {value}")
    return _canonical(stripped)


def _canonical(uuid_text: str) -> str:
    return str(uuid_module.UUID(uuid_text))
