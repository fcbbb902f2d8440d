"""Authentication and policy at the HTTP edge.

``noauth2`` behaves like Placement's development auth: the X-Auth-Token
header is ``user[:project]``; user ``admin`` has the admin role unless an
X-Roles header lists the roles; X-Project-Id names the project; an
``OpenStack-System-Scope`` header makes the token system-scoped.

Every route names its policy rule in ROUTE_POLICIES; the rules, their
defaults and the operator's policy file live in ``placement_pci.policy``.
``GET /`` and ``GET /openapi.json`` need nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import flask

from placement_pci import errors, policy
from placement_pci.settings import Settings

LOG = logging.getLogger(__name__)
ENFORCER_CONFIG_KEY = "POLICY_ENFORCER"


@dataclass(frozen=True)
class RoutePolicy:
    """The rule a route enforces, and where its target comes from."""
    rule: str
    # Query parameters that form the target (Placement's GET /usages
    # judges the project asked about); empty: the caller's own project.
    target_query_parameters: tuple[str, ...] = ()


PUBLIC = None

# Flask endpoint -> policy (PUBLIC: no token needed).  A test checks that
# every route of the app is listed here.
ROUTE_POLICIES: Mapping[str, RoutePolicy | None] = {
    "root.versions": PUBLIC,
    "openapi.document": PUBLIC,
    # ?detailed checks placement_pci:healthcheck:detailed in the handler.
    "healthcheck.healthcheck": PUBLIC,
    "metrics.exposition": RoutePolicy("placement_pci:metrics"),

    "resource_providers.list_resource_providers": RoutePolicy("placement:resource_providers:list"),
    "resource_providers.create_resource_provider":
        RoutePolicy("placement:resource_providers:create"),
    "resource_providers.show_resource_provider": RoutePolicy("placement:resource_providers:show"),
    "resource_providers.update_resource_provider":
        RoutePolicy("placement:resource_providers:update"),
    "resource_providers.delete_resource_provider":
        RoutePolicy("placement:resource_providers:delete"),

    "inventories.list_inventories": RoutePolicy("placement:resource_providers:inventories:list"),
    "inventories.create_inventory": RoutePolicy("placement:resource_providers:inventories:create"),
    "inventories.show_inventory": RoutePolicy("placement:resource_providers:inventories:show"),
    "inventories.replace_inventories":
        RoutePolicy("placement:resource_providers:inventories:update"),
    "inventories.update_inventory": RoutePolicy("placement:resource_providers:inventories:update"),
    "inventories.delete_inventories":
        RoutePolicy("placement:resource_providers:inventories:delete"),
    "inventories.delete_inventory": RoutePolicy("placement:resource_providers:inventories:delete"),

    "aggregates.list_aggregates": RoutePolicy("placement:resource_providers:aggregates:list"),
    "aggregates.set_aggregates": RoutePolicy("placement:resource_providers:aggregates:update"),

    "traits.list_provider_traits": RoutePolicy("placement:resource_providers:traits:list"),
    "traits.set_provider_traits": RoutePolicy("placement:resource_providers:traits:update"),
    "traits.delete_provider_traits": RoutePolicy("placement:resource_providers:traits:delete"),
    "traits.list_traits": RoutePolicy("placement:traits:list"),
    "traits.show_trait": RoutePolicy("placement:traits:show"),
    "traits.create_trait": RoutePolicy("placement:traits:update"),
    "traits.delete_trait": RoutePolicy("placement:traits:delete"),

    "resource_classes.list_resource_classes": RoutePolicy("placement:resource_classes:list"),
    "resource_classes.create_resource_class": RoutePolicy("placement:resource_classes:create"),
    "resource_classes.show_resource_class": RoutePolicy("placement:resource_classes:show"),
    "resource_classes.put_resource_class": RoutePolicy("placement:resource_classes:update"),
    "resource_classes.delete_resource_class": RoutePolicy("placement:resource_classes:delete"),

    "allocations.post_allocations": RoutePolicy("placement:allocations:manage"),
    "allocations.get_allocations": RoutePolicy("placement:allocations:list"),
    "allocations.put_allocations": RoutePolicy("placement:allocations:update"),
    "allocations.delete_allocations": RoutePolicy("placement:allocations:delete"),
    "allocations.get_provider_allocations":
        RoutePolicy("placement:resource_providers:allocations:list"),

    "usages.provider_usages": RoutePolicy("placement:resource_providers:usages"),
    "usages.total_usages": RoutePolicy("placement:usages", ("project_id",)),

    "allocation_candidates.list_allocation_candidates":
        RoutePolicy("placement:allocation_candidates:list"),
    "reshaper.reshape": RoutePolicy("placement:reshaper:reshape"),

    "pci_hosts.get_host": RoutePolicy("placement_pci:hosts:show"),
    "pci_hosts.put_host": RoutePolicy("placement_pci:hosts:update"),
    "pci_requests.list_device_spec_sets": RoutePolicy("placement_pci:device_specs:list"),
    "pci_requests.show_device_spec_set": RoutePolicy("placement_pci:device_specs:show"),
    "pci_requests.create_device_spec_set": RoutePolicy("placement_pci:device_specs:create"),
    "pci_requests.replace_device_spec_set": RoutePolicy("placement_pci:device_specs:update"),
    "pci_requests.delete_device_spec_set": RoutePolicy("placement_pci:device_specs:delete"),
    "pci_requests.preview_device_specs": RoutePolicy("placement_pci:device_specs:preview"),
    "pci_requests.list_aliases": RoutePolicy("placement_pci:aliases:list"),
    "pci_requests.show_alias": RoutePolicy("placement_pci:aliases:show"),
    "pci_requests.create_alias": RoutePolicy("placement_pci:aliases:create"),
    "pci_requests.replace_alias": RoutePolicy("placement_pci:aliases:update"),
    "pci_requests.delete_alias": RoutePolicy("placement_pci:aliases:delete"),
    "pci_requests.preview_aliases": RoutePolicy("placement_pci:aliases:preview"),
    "pci_requests.post_request_groups": RoutePolicy("placement_pci:request_groups:create"),
    "pci_scheduling.post_candidates": RoutePolicy("placement_pci:candidates:list"),
    "pci_scheduling.post_diagnosis": RoutePolicy("placement_pci:diagnosis:create"),
    "pci_claims.list_claims": RoutePolicy("placement_pci:claims:list"),
    "pci_claims.get_claim": RoutePolicy("placement_pci:claims:show"),
    "pci_claims.put_claim": RoutePolicy("placement_pci:claims:update"),
    "pci_claims.delete_claim": RoutePolicy("placement_pci:claims:delete"),
    "pci_claims.get_hostdev_xml": RoutePolicy("placement_pci:claims:hostdev_xml"),
    "pci_scheduling.post_live_migration_check": RoutePolicy("placement_pci:live_migration:check"),
    "pci_scheduling.post_live_migration_destinations":
        RoutePolicy("placement_pci:live_migration:destinations"),
    "pci_scheduling.post_live_migration_plan": RoutePolicy("placement_pci:live_migration:plan"),
    "pci_ledger.list_entries": RoutePolicy("placement_pci:ledger:list"),
    "pci_audit.get_audit": RoutePolicy("placement_pci:audit:list"),
    "pci_audit.post_audit": RoutePolicy("placement_pci:audit:list"),
    "pci_audit.post_heal": RoutePolicy("placement_pci:audit:heal"),
    "pci_scheduling.post_headroom": RoutePolicy("placement_pci:headroom:create"),
}

# Requests no route matches (404/405 follow) and any route missing from
# the table: the rule most of the API uses, so an unknown path tells a
# caller without rights nothing.
FALLBACK_POLICY = RoutePolicy("admin_or_service_api")


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
    """before_request hook: 401 without a token, 403 when policy says no."""
    settings = flask.current_app.config["SETTINGS"]
    if settings.auth_strategy == "none":
        flask.g.context = RequestContext("admin", "admin", frozenset({"admin"}))
        return
    endpoint = flask.request.endpoint
    if flask.request.path == "/" or (endpoint in ROUTE_POLICIES
                                     and ROUTE_POLICIES[endpoint] is PUBLIC):
        return
    context = context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("The request you have made requires authentication.")
    flask.g.context = context
    route_policy = route_policy_for(endpoint)
    enforcer: policy.Enforcer = flask.current_app.config[ENFORCER_CONFIG_KEY]
    if not enforcer.authorize(route_policy.rule, context.credentials,
                              _target(route_policy, context)):
        raise errors.Forbidden(
            f"Policy does not allow {route_policy.rule} to be performed.")


def route_policy_for(endpoint: str | None) -> RoutePolicy:
    """The policy of a non-public endpoint (FALLBACK_POLICY when unknown)."""
    found = ROUTE_POLICIES.get(endpoint or "")
    if found is None:
        if endpoint is not None:
            LOG.warning("route %s has no policy in ROUTE_POLICIES; enforcing %s",
                        endpoint, FALLBACK_POLICY.rule)
        return FALLBACK_POLICY
    return found


def _target(route_policy: RoutePolicy, context: RequestContext) -> dict[str, object]:
    if not route_policy.target_query_parameters:
        return {"project_id": context.project_id, "user_id": context.user_id}
    # The last value, as the handlers read repeated parameters: policy
    # must judge the same project the handler answers about.
    return {name: (flask.request.args.getlist(name) or [None])[-1]
            for name in route_policy.target_query_parameters}
