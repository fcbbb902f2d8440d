"""Authentication and policy.

``noauth2`` behaves like Placement's development auth: the X-Auth-Token
header is ``user[:project]``; user ``admin`` has the admin role unless an
X-Roles header says otherwise.  Policy follows Placement's legacy defaults:
every API call needs the admin role; ``GET /`` needs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import flask

from placement_pci import errors

PUBLIC_ENDPOINTS = frozenset({"root.versions", "openapi.document"})


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def context_from_headers(headers) -> RequestContext | None:  # type: ignore[no-untyped-def]
    token = headers.get("X-Auth-Token")
    if not token:
        return None
    user_id, _, project_id = token.partition(":")
    roles_header = headers.get("X-Roles")
    if roles_header is not None:
        roles = frozenset(r.strip().lower() for r in roles_header.split(",") if r.strip())
    else:
        roles = frozenset({"admin"}) if user_id == "admin" else frozenset()
    return RequestContext(user_id=user_id, project_id=project_id or user_id,
                          roles=roles)


def authenticate_and_authorize() -> None:
    """before_request hook: 401 without a token, 403 without the role."""
    settings = flask.current_app.config["SETTINGS"]
    if settings.auth_strategy == "none":
        flask.g.context = RequestContext("admin", "admin", frozenset({"admin"}))
        return
    if flask.request.endpoint in PUBLIC_ENDPOINTS and flask.request.method == "GET":
        return
    context = context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    flask.g.context = context
    if not context.is_admin:
        raise errors.Forbidden("Policy does not allow this action to be performed.")
