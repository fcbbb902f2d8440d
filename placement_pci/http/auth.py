"""Authentication and policy.

``noauth2`` behaves like Placement's development auth: the X-Auth-Token
header is ``user[:project]``; user ``admin`` has the admin role unless an
X-Roles header lists the roles; X-Project-Id names the project; an
``OpenStack-System-Scope`` header makes the token system-scoped.

Policy follows Placement's defaults with the deprecated rules still
honoured: every API call needs the admin or service role on a
project-scoped token; a project reader may also read its own project's
usages (handlers mark such views with ``allow_project_reader``).
``GET /`` needs nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import flask

from placement_pci import errors

PUBLIC_ENDPOINTS = frozenset({"root.versions", "openapi.document"})
PRIVILEGED_ROLES = frozenset({"admin", "service"})
F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str | None
    roles: frozenset[str]
    system_scoped: bool = False

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def context_from_headers(headers) -> RequestContext | None:  # type: ignore[no-untyped-def]
    token = headers.get("X-Auth-Token")
    if not token:
        return None
    user_id, _, token_project = token.partition(":")
    roles_header = headers.get("X-Roles")
    if roles_header is not None:
        roles = frozenset(r.strip().lower() for r in roles_header.split(",") if r.strip())
    else:
        roles = frozenset({"admin"}) if user_id == "admin" else frozenset()
    system_scoped = bool(headers.get("OpenStack-System-Scope"))
    project_id = headers.get("X-Project-Id") or (
        None if system_scoped else (token_project or user_id))
    return RequestContext(user_id=user_id, project_id=project_id, roles=roles,
                          system_scoped=system_scoped)


def allow_project_reader(project_query_parameter: str = "project_id") -> Callable[[F], F]:
    """Mark a view a project reader may call for its own project."""
    def mark(view: F) -> F:
        view.project_reader_parameter = project_query_parameter  # type: ignore[attr-defined]
        return view
    return mark


def authenticate_and_authorize() -> None:
    """before_request hook: 401 without a token, 403 when policy says no."""
    settings = flask.current_app.config["SETTINGS"]
    if settings.auth_strategy == "none":
        flask.g.context = RequestContext("admin", "admin", frozenset({"admin"}))
        return
    if flask.request.path == "/" or flask.request.endpoint in PUBLIC_ENDPOINTS:
        return
    context = context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    flask.g.context = context
    if not _allowed(context):
        raise errors.Forbidden("Policy does not allow this action to be performed.")


def _allowed(context: RequestContext) -> bool:
    # Placement's rules are all project-scoped: a system-scoped token is
    # refused whatever its roles.
    if context.system_scoped:
        return False
    if context.roles & PRIVILEGED_ROLES:
        return True
    view = flask.current_app.view_functions.get(flask.request.endpoint or "")
    parameter = getattr(view, "project_reader_parameter", None)
    if parameter and "reader" in context.roles:
        return flask.request.args.get(parameter) == context.project_id
    return False
