"""Who is asking: the caller identity that writes carry down to the store.

Handlers build a ``RequestContext`` from the authenticated request and pass
it explicitly to services and repositories, which record it (the
allocation ledger) without knowing anything about Flask.  Work that no API
caller started (a command run by the operator) uses ``internal``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """The caller of one request: user, project and request ids."""

    user_id: str | None
    project_id: str | None
    request_id: str
    global_request_id: str | None = None


def new_request_id() -> str:
    """A request id in oslo's form, ``req-<uuid>``."""
    return f"req-{uuid.uuid4()}"


def internal() -> RequestContext:
    """The context of work started inside the service (no API caller)."""
    return RequestContext(user_id=None, project_id=None,
                          request_id=new_request_id())
