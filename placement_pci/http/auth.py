"""Authentication and policy at the HTTP edge.

``noauth2`` behaves like Placement's development auth: the X-Auth-Token
header is ``user[:project]``; user ``admin`` has the admin role unless an
X-Roles header lists the roles; X-Project-Id names the project; an
``OpenStack-System-Scope`` header makes the token system-scoped.

Every route declares its policy rule where it is declared (http.routes);
the rules, their defaults and the operator's policy file live in
``placement_pci.policy``.  Public routes (``GET /``, ``GET /openapi.json``)
need nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import flask

from placement_pci import errors, policy
from placement_pci.http import routes
from placement_pci.settings import Settings

LOG = logging.getLogger(__name__)
ENFORCER_CONFIG_KEY = "POLICY_ENFORCER"


# Requests no route matches (404/405 follow): the rule most of the API
# uses, so an unknown path tells a caller without rights nothing.
UNROUTED_POLICY = "admin_or_service_api"


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str | None
    roles: frozenset[str]
    system_scoped: bool = False

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def credentials(self) -> policy.Credentials:
        return policy.Credentials(user_id=self.user_id, project_id=self.project_id,
                                  roles=self.roles, system_scoped=self.system_scoped)


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


def install(app: flask.Flask, settings: Settings) -> None:
    """Build the policy enforcer (a bad policy file raises PolicyError
    here, at start-up) and register the before_request hook."""
    app.config[ENFORCER_CONFIG_KEY] = policy.enforcer_from_settings(
        settings.policy_file or None,
        enforce_new_defaults=settings.enforce_new_defaults,
        enforce_scope=settings.enforce_scope)
    app.before_request(authenticate_and_authorize)


def authenticate_and_authorize() -> None:
    """before_request hook: 401 without a token, 403 when the policy rule
    the route declares (http.routes) says no."""
    settings = flask.current_app.config["SETTINGS"]
    if settings.auth_strategy == "none":
        flask.g.context = RequestContext("admin", "admin", frozenset({"admin"}))
        return
    route = routes.declared(flask.current_app, flask.request.endpoint)
    if flask.request.path == "/" or (route is not None and route.is_public):
        return
    context = context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    flask.g.context = context
    rule = route.policy if route is not None else UNROUTED_POLICY
    enforcer: policy.Enforcer = flask.current_app.config[ENFORCER_CONFIG_KEY]
    if not enforcer.authorize(rule, context.credentials, _target(route, context)):
        raise errors.Forbidden(f"Policy does not allow {rule} to be performed.")


def _target(route: routes.Route | None, context: RequestContext) -> dict[str, object]:
    if route is None or not route.policy_target:
        return {"project_id": context.project_id, "user_id": context.user_id}
    # The last value, as the handlers read repeated parameters: policy
    # must judge the same project the handler answers about.
    return {name: (flask.request.args.getlist(name) or [None])[-1]
            for name in route.policy_target}
