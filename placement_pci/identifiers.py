"""UUIDs: the one place that makes, recognises and canonicalises them.

Placement stores uuids in their canonical form (lower-case, dashed);
callers give them in any form ``uuid.UUID`` accepts where Placement does
(paths), and as plain hex with optional dashes where its JSON Schemas ask
for the ``uuid`` format (bodies, query strings).  Pure functions, used by
the edge, the store, the services and the pure core alike.
"""
from __future__ import annotations

import uuid as uuid_module


def generate_uuid() -> str:
    """A new random uuid in canonical form."""
    return str(uuid_module.uuid4())


def parse_uuid(value: object) -> str | None:
    """The canonical form of anything ``uuid.UUID`` accepts (with or
    without dashes, braces, ``urn:uuid:``); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        return None


def canonical_uuid(value: str) -> str:
    """Canonical form when ``value`` is uuid-like, else unchanged (a path
    segment that is not a uuid then simply matches nothing)."""
    return parse_uuid(value) or value


def is_uuid_like(value: object) -> bool:
    """Whether ``value`` reads as a UUID in any form Python accepts (braces,
    no dashes, any case), as Placement checks uuids in paths."""
    return parse_uuid(str(value)) is not None


def is_canonical_uuid(value: object) -> bool:
    """Whether ``value`` is a dashed (or dash-less) hex UUID string, as JSON
    Schema's ``uuid`` format in Placement's bodies and query strings wants:
    no braces, no ``urn:`` prefix."""
    parsed = parse_uuid(value)
    return parsed is not None and (
        parsed.replace("-", "") == str(value).replace("-", "").lower())
