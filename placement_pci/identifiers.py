"""UUIDs as the API accepts them and as they are stored."""
from __future__ import annotations

import uuid as uuid_module


def is_uuid_like(value: object) -> bool:
    """Whether ``value`` reads as a UUID in any form Python accepts (braces,
    no dashes, any case), as Placement checks uuids in paths."""
    try:
        uuid_module.UUID(str(value))
    except ValueError:
        return False
    return True


def is_canonical_uuid(value: object) -> bool:
    """Whether ``value`` is a dashed (or dash-less) hex UUID string, as JSON
    Schema's ``uuid`` format in Placement's bodies and query strings wants:
    no braces, no ``urn:`` prefix."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid_module.UUID(value)
    except ValueError:
        return False
    return parsed.hex == value.replace("-", "").lower()


def canonical_uuid(value: str) -> str:
    """Dashed lower-case form when ``value`` is uuid-like, else unchanged
    (a path segment that is not a uuid simply matches nothing)."""
    try:
        return str(uuid_module.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return value
