"""Route declarations: each handler states its path, methods, policy rule
and request schemas where it is defined.

``@route(blueprint, path, methods=..., policy=..., body=..., query=...,
responses=...)`` registers the handler on its blueprint and records a
``Route`` on it.  The auth hook reads the policy rule from there, handlers
read their validated body and query with ``validated_body()`` and
``validated_query()``, and the OpenAPI document reads the same schemas and
the declared answers, so they cannot disagree.  ``check_declared`` refuses to start an app
with a route that declares no policy (there is no silent fallback).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask
import marshmallow
from marshmallow import fields

from placement_pci import errors
from placement_pci.http import microversion, util
from placement_pci.schemas import base
from placement_pci.schemas.responses import Answer

# The policy of a route anyone may call without a token.
PUBLIC = "@public"

# A body or query schema: a marshmallow Schema class, or a Field instance
# for bodies that are not objects (a bare list before 1.19 aggregates).
SchemaLike = type[marshmallow.Schema] | fields.Field
# {first microversion minor it applies to: schema (None: no body from then)}
Versioned = Mapping[int, SchemaLike | None]

View = TypeVar("View", bound=Callable[..., Any])
ROUTE_ATTRIBUTE = "route"


@dataclass(frozen=True)
class Route:
    """What one handler declares about itself."""
    path: str
    methods: tuple[str, ...]
    policy: str
    # Query parameters that form the policy target (Placement's GET
    # /usages judges the project asked about); empty: the caller's project.
    policy_target: tuple[str, ...] = ()
    body: Versioned = field(default_factory=dict)
    query: Versioned = field(default_factory=dict)
    # Placement error code of a body that does not validate.
    body_error_code: str = errors.UNDEFINED_CODE
    # A route whose body may be left out entirely.
    body_required: bool = True
    # {success status: what it answers (None: no body)}.
    responses: Mapping[int, Answer | None] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        return self.policy == PUBLIC

    def body_schema(self, minor: int) -> SchemaLike | None:
        return schema_at(self.body, minor)

    def query_schema(self, minor: int) -> SchemaLike | None:
        return schema_at(self.query, minor)


def schema_at(versions: Versioned, minor: int) -> SchemaLike | None:
    """The schema in force at microversion 1.minor (None: no schema)."""
    applicable = [since for since in versions if since <= minor]
    return versions[max(applicable)] if applicable else None


def _as_versioned(value: SchemaLike | Versioned | None) -> Versioned:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return {0: value}


def route(blueprint: flask.Blueprint, path: str, *, methods: tuple[str, ...] | list[str],
          policy: str | None, policy_target: tuple[str, ...] = (),
          body: SchemaLike | Versioned | None = None,
          query: SchemaLike | Versioned | None = None,
          body_error_code: str = errors.UNDEFINED_CODE, body_required: bool = True,
          responses: Mapping[int, Answer | None] | None = None
          ) -> Callable[[View], View]:
    """Declare and register a handler (see the module docstring)."""
    def decorate(view: View) -> View:
        declared = Route(path=path, methods=tuple(methods), policy=policy or "",
                         policy_target=policy_target, body=_as_versioned(body),
                         query=_as_versioned(query), body_error_code=body_error_code,
                         body_required=body_required, responses=dict(responses or {}))
        setattr(view, ROUTE_ATTRIBUTE, declared)
        blueprint.add_url_rule(path, view_func=view, methods=list(methods))
        return view
    return decorate


def declared(app: flask.Flask, endpoint: str | None) -> Route | None:
    """The Route declared by the handler of ``endpoint`` (None: unrouted)."""
    view = app.view_functions.get(endpoint or "")
    return getattr(view, ROUTE_ATTRIBUTE, None)


def check_declared(app: flask.Flask) -> None:
    """Refuse an app with a route that declares no policy: every request
    must be judged by the rule its author chose, never by a default."""
    missing = sorted(f"{sorted((rule.methods or set()) - {'HEAD', 'OPTIONS'})} {rule.rule} "
                     f"({rule.endpoint})"
                     for rule in app.url_map.iter_rules()
                     if not (declared(app, rule.endpoint) or Route("", (), "")).policy)
    if missing:
        raise RuntimeError("routes without a declared policy (use http.routes.route): "
                           + "; ".join(missing))


def current() -> Route:
    """The Route of the request being served."""
    found = declared(flask.current_app, flask.request.endpoint)
    if found is None:
        raise RuntimeError(f"endpoint {flask.request.endpoint} has no route declaration")
    return found


def validated_body() -> Any:
    """The JSON body checked against the current route's schema for the
    requested microversion (400 in Placement's wording when it fails)."""
    declared_route = current()
    schema = declared_route.body_schema(microversion.current().minor)
    if schema is None:
        raise RuntimeError(f"{declared_route.path} declares no body at "
                           f"{microversion.current()}")
    return base.load(schema, util.json_body(), code=declared_route.body_error_code)


def validated_query() -> dict[str, Any]:
    """The query string (the last value of a repeated parameter) checked
    against the current route's query schema for the microversion."""
    declared_route = current()
    schema = declared_route.query_schema(microversion.current().minor)
    if schema is None:
        raise RuntimeError(f"{declared_route.path} declares no query schema at "
                           f"{microversion.current()}")
    query = {name: values[-1] for name, values in util.query_args().items()}
    return base.load(schema, query, failure=base.QUERY_INVALID)
