"""Authentication and policy at the HTTP edge.

Three strategies (``auth_strategy``):

- ``keystone``: keystonemiddleware's ``auth_token`` validates the
  X-Auth-Token (and X-Service-Token) with Keystone, as it does in front of
  Placement, configured by the ``[keystone_authtoken]`` section of the ini
  file; the request context (user, project, roles, system scope) comes
  from the token it validated, never from headers the client sent.
- ``noauth2``, for development, behaves like Placement's: the X-Auth-Token
  header is ``user[:project]``; user ``admin`` has the admin role unless an
  X-Roles header lists the roles; X-Project-Id names the project; an
  ``OpenStack-System-Scope`` header makes the token system-scoped.
- ``none``: every request is the admin (embedded single-user use).

Authentication (401) runs before the microversion is looked at, as
Placement's middleware order does; authorization (403) runs after.
Every route declares its policy rule where it is declared (http.routes);
the rules, their defaults and the operator's policy file live in
``placement_pci.policy``.  Public routes (``GET /``, ``GET /openapi.json``,
``GET /healthcheck``) need nothing.
"""
from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import flask
import werkzeug.datastructures

from placement_pci import errors, policy
from placement_pci.http import routes
from placement_pci.settings import Settings

LOG = logging.getLogger(__name__)
ENFORCER_CONFIG_KEY = "POLICY_ENFORCER"


# Requests no route matches (404/405 follow): the rule most of the API
# uses, so an unknown path tells a caller without rights nothing.
UNROUTED_POLICY = "admin_or_service_api"


@dataclass(frozen=True)
class AuthenticatedCaller:
    """Who the token says is calling: identity, roles and scope, as the
    policy rules judge them (``context.RequestContext`` is what writes
    carry down to the store)."""

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


def context_from_headers(headers: werkzeug.datastructures.Headers) -> AuthenticatedCaller | None:
    """The noauth2 context: whatever the client's headers claim."""
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
    return AuthenticatedCaller(user_id=user_id, project_id=project_id, roles=roles,
                          system_scoped=system_scoped)


def context_from_keystone(environ: Mapping[str, object]) -> AuthenticatedCaller | None:
    """The context of the token auth_token validated (None when it let an
    unauthenticated request through, with ``delay_auth_decision``).

    Read from the validated token itself (``keystone.token_auth``), not
    from headers: auth_token does not strip every identity header a client
    may send (OpenStack-System-Scope survives), so headers are not proof.
    """
    token_auth = environ.get("keystone.token_auth")
    access = getattr(token_auth, "user", None)
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed" or access is None:
        return None
    return AuthenticatedCaller(user_id=access.user_id,
                          project_id=access.project_id or None,
                          roles=frozenset(r.lower() for r in access.role_names or ()),
                          system_scoped=bool(access.system_scoped
                                             and (access.system or {}).get("all")))


def install(app: flask.Flask, settings: Settings) -> None:
    """Build the policy enforcer (a bad policy file raises PolicyError
    here, at start-up) and, for ``keystone``, put auth_token in front of
    the app.  The app registers ``authenticate`` and ``authorize``."""
    app.config[ENFORCER_CONFIG_KEY] = policy.enforcer_from_settings(
        settings.policy_file or None,
        enforce_new_defaults=settings.enforce_new_defaults,
        enforce_scope=settings.enforce_scope)
    if settings.auth_strategy == "keystone":
        # Flask documents wrapping wsgi_app as its middleware hook; its
        # stubs declare a method.
        app.wsgi_app = KeystoneAuth(  # type: ignore[method-assign]
            app.wsgi_app, keystone_config(settings))


def _declared_route() -> routes.Route | None:
    return routes.declared(flask.current_app, flask.request.endpoint)


def is_public() -> bool:
    route = _declared_route()
    return flask.request.path == "/" or (route is not None and route.is_public)


def authenticate() -> None:
    """before_request hook, before the microversion check: 401 unless the
    request carries a valid token (public routes need none)."""
    settings = flask.current_app.config["SETTINGS"]
    if settings.auth_strategy == "none":
        flask.g.context = AuthenticatedCaller("admin", "admin", frozenset({"admin"}))
        return
    failure = flask.request.environ.get(AUTH_FAILURE_KEY)
    if failure is not None:
        raise errors.PlacementError(failure.detail, status=failure.status,
                                    headers=failure.headers)
    if is_public():
        return
    if settings.auth_strategy == "keystone":
        context = context_from_keystone(flask.request.environ)
    else:
        context = context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    flask.g.context = context


def authorize() -> None:
    """before_request hook, after the microversion is understood: 403 when
    the policy rule the route declares (http.routes) says no."""
    context: AuthenticatedCaller | None = flask.g.get("context")
    if (context is None or is_public()
            or flask.current_app.config["SETTINGS"].auth_strategy == "none"):
        return
    route = _declared_route()
    rule = route.policy if route is not None else UNROUTED_POLICY
    enforcer: policy.Enforcer = flask.current_app.config[ENFORCER_CONFIG_KEY]
    if not enforcer.authorize(rule, context.credentials, _target(route, context)):
        raise errors.Forbidden(f"Policy does not allow {rule} to be performed.")


def warn_if_exposed(settings: Settings) -> None:
    """Say loudly that noauth2 trusts headers when it listens beyond
    loopback: anyone who reaches the port can claim to be admin."""
    if settings.auth_strategy not in ("noauth2", "none"):
        return
    if settings.bind.startswith("unix:"):
        return
    host = settings.bind.rpartition(":")[0] if ":" in settings.bind else settings.bind
    host = host.strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        LOG.warning("auth_strategy = %s on %s: THERE IS NO AUTHENTICATION; any "
                    "client that reaches this address is admin. Use "
                    "auth_strategy = keystone for anything but development.",
                    settings.auth_strategy, settings.bind)


# --------------------------------------------------------------------------
# Keystone: auth_token in front of the Flask app

KEYSTONE_SECTION = "keystone_authtoken"
AUTH_FAILURE_KEY = "placement_pci.auth_failure"
_PASSED_KEY = "placement_pci.auth_passed"
# Paths auth_token never sees: the routes declared public (the version
# document, the API schema, the health check); a test keeps them equal.
PUBLIC_PATHS = frozenset({"", "/openapi.json", "/healthcheck"})


@dataclass(frozen=True)
class AuthFailure:
    """auth_token's own answer (401, or 503 when Keystone is unreachable),
    re-rendered by the app in Placement's error format."""
    status: int
    detail: str
    headers: dict[str, str]


def keystone_config(settings: Settings) -> Any:
    """An oslo.config object holding the ini file, which auth_token reads
    its ``[keystone_authtoken]`` options (and auth plugin options) from,
    exactly as in Placement's own configuration file."""
    import configparser

    from oslo_config import cfg

    if not settings.config_file:
        raise ValueError("auth_strategy = keystone needs a config file (--config) "
                         f"with a [{KEYSTONE_SECTION}] section")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(settings.config_file)
    if not parser.has_section(KEYSTONE_SECTION):
        raise ValueError(f"auth_strategy = keystone needs a [{KEYSTONE_SECTION}] "
                         f"section in {settings.config_file}")
    conf = cfg.ConfigOpts()
    conf(args=[], project="placement_pci", default_config_files=[settings.config_file],
         default_config_dirs=[], use_env=False)
    return conf


class KeystoneAuth:
    """WSGI middleware: keystonemiddleware's auth_token around the app.

    Requests auth_token lets through reach the app with the identity
    headers set.  When auth_token answers by itself (no token, a bad or
    expired one, Keystone unreachable) the app renders that answer, so it
    has Placement's error format, a request id and CORS headers; the
    WWW-Authenticate header is kept.
    """

    def __init__(self, app: Callable, conf: Any) -> None:
        from keystonemiddleware import auth_token

        self.app = app
        self.protocol = auth_token.AuthProtocol(self._passed, {"oslo_config_config": conf})

    def _passed(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[_PASSED_KEY] = True
        return self.app(environ, start_response)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") in PUBLIC_PATHS:
            return self.app(environ, start_response)
        answer: list = []

        def capture(status: str, headers: list, exc_info: object = None) -> Callable:
            if environ.get(_PASSED_KEY):
                return start_response(status, headers, exc_info)
            answer.append((status, headers))
            return lambda data: None

        body = self.protocol(environ, capture)
        if environ.get(_PASSED_KEY):
            return body
        raw = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        status, headers = answer[0]
        environ[AUTH_FAILURE_KEY] = _auth_failure(status, headers, raw)
        return self.app(environ, start_response)


def _auth_failure(status: str, headers: list, raw: bytes) -> AuthFailure:
    code = int(status.split()[0])
    try:
        detail = json.loads(raw)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        detail = "The request you have made requires authentication." if code == 401 \
            else status
    kept = {name: value for name, value in headers
            if name.lower() == "www-authenticate"}
    return AuthFailure(status=code, detail=str(detail), headers=kept)


def _target(route: routes.Route | None, context: AuthenticatedCaller) -> dict[str, object]:
    if route is None or not route.policy_target:
        return {"project_id": context.project_id, "user_id": context.user_id}
    # The last value, as the handlers read repeated parameters: policy
    # must judge the same project the handler answers about.
    target: dict[str, object] = {}
    for name in route.policy_target:
        values = flask.request.args.getlist(name)
        target[name] = values[-1] if values else None
    return target
