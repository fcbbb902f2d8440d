"""Who is asking: the caller identity that writes carry down to the store.

Handlers build a ``RequestContext`` from the authenticated request and pass
it explicitly to services and repositories, which record it (the
allocation ledger) without knowing anything about Flask.  Work that no API
caller started (a command run by the operator) uses ``internal``.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# oslo.middleware's form of a request id; an inbound header in this form
# is the caller's global request id (Nova sends its own).
REQUEST_ID_PATTERN = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class RequestContext:
    """The caller of one request: user, project and request ids."""

    user_id: str | None
    project_id: str | None
    request_id: str
    global_request_id: str | None = None


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def global_request_id_from(header_value: str | None) -> str | None:
    """The inbound request id header, when it is a well-formed one."""
    if header_value and REQUEST_ID_PATTERN.match(header_value.strip()):
        return header_value.strip()
    return None


def internal() -> RequestContext:
    """The context of work started inside the service (no API caller)."""
    return RequestContext(user_id=None, project_id=None,
                          request_id=new_request_id())
