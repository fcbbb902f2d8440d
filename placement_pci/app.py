"""create_app(settings): the Flask application with every API blueprint."""
from __future__ import annotations

import re

import flask

from placement_pci import errors, log_lines, request_log, ui
from placement_pci.db import migrations
from placement_pci.db.engine import Database
from placement_pci.http import (
    aggregates,
    allocation_candidates,
    allocations,
    auth,
    client_input,
    cors,
    error_rendering,
    healthcheck,
    inventories,
    metrics,
    microversion,
    openapi,
    pci_aliases,
    pci_audit,
    pci_claims,
    pci_device_specs,
    pci_hosts,
    pci_ledger,
    pci_live_migration,
    pci_request_groups,
    pci_scheduling,
    reshaper,
    resource_classes,
    resource_providers,
    root,
    routes,
    traits,
    usages,
    util,
)
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.settings import Settings

REQUEST_ID_HEADER = "x-openstack-request-id"


def create_app(settings: Settings | None = None, *,
               database: Database | None = None,
               migrate: bool = True) -> flask.Flask:
    """Build the app.  ``migrate`` brings the schema up to date first,
    which makes an empty SQLite file usable without a separate step."""
    settings = settings or Settings.load()
    request_log.configure_logging(settings)
    log_lines.install()
    database = database or Database(settings.database_url,
                                    pool_size=settings.database_pool_size,
                                    retries=settings.database_retries)
    if migrate:
        migrations.upgrade(database)

    # No static files: every route is an API route with a policy.
    app = flask.Flask("placement_pci", static_folder=None)
    # Placement answers OPTIONS with 405 like any other unsupported method.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["SETTINGS"] = settings
    app.config["DATABASE"] = database
    app.extensions["snapshot_cache"] = SnapshotCache()
    app.url_map.strict_slashes = False
    # Placement answers 404, not a redirect, for a trailing slash mismatch.
    app.url_map.redirect_defaults = False

    error_rendering.register(app)
    # First: request ids exist before anything can fail, and the request
    # line (an after_request hook, so run last) sees the final response.
    request_log.install(app)
    metrics.install(app)
    client_input.install(app, settings.max_body_bytes)
    auth.install(app, settings)
    # In this order: Placement authenticates before it looks at the
    # microversion, and authorizes once the request is understood.
    app.before_request(_start_request)
    app.before_request(auth.authenticate)
    app.before_request(_negotiate)
    app.before_request(auth.authorize)
    # Before _finish_response: after_request hooks run in reverse, so CORS
    # sees the final response, as oslo.middleware's outer filter does.
    cors.install(app, settings)
    app.after_request(_finish_response)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    routes.check_declared(app)
    return app


# Every API resource, registered explicitly: a module that is not listed
# here serves nothing.
BLUEPRINTS = (
    root.blueprint, openapi.blueprint, healthcheck.blueprint, metrics.blueprint,
    resource_providers.blueprint, inventories.blueprint, traits.blueprint,
    resource_classes.blueprint, aggregates.blueprint, allocations.blueprint,
    usages.blueprint, allocation_candidates.blueprint, reshaper.blueprint,
    pci_hosts.blueprint, pci_device_specs.blueprint, pci_aliases.blueprint,
    pci_request_groups.blueprint, pci_scheduling.blueprint, pci_claims.blueprint,
    pci_live_migration.blueprint, pci_ledger.blueprint, pci_audit.blueprint,
    ui.blueprint,
)


# Routes that answer other media types than JSON (they negotiate themselves).
NON_JSON_ENDPOINTS = frozenset({"healthcheck.healthcheck", "metrics.exposition",
                                "ui.dashboard"})

# A Host header as RFC 3986 allows it: a name or IPv4, or an IPv6
# literal, and a port.  Anything else is not echoed in Location headers.
HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def _start_request() -> None:
    flask.g.microversion = microversion.MIN_VERSION


def _negotiate() -> None:
    flask.g.microversion = microversion.parse_request_version(flask.request.headers)
    request = flask.request
    util.check_text(request.path, "path")
    for name, value in request.args.items(multi=True):
        util.check_text(name, "query string")
        util.check_text(value, "query string")
    host = request.headers.get("Host")
    if host is not None and not HOST_PATTERN.match(host):
        raise errors.BadRequest("Invalid Host header")
    length = flask.request.headers.get("Content-Length")
    if length is not None and not length.strip().isdigit():
        raise errors.BadRequest("content-length header must be an integer")
    accept = flask.request.accept_mimetypes
    # Unrouted requests answer 404/405 first, whatever they accept.
    # Placement only negotiates on reads: a POST/PUT with an odd Accept
    # still gets its (JSON) answer.
    if (flask.request.url_rule is not None and flask.request.path != "/"
            and flask.request.method == "GET"
            and flask.request.endpoint not in NON_JSON_ENDPOINTS
            and flask.request.headers.get("Accept") and not accept.accept_json):
        raise errors.NotAcceptable("Only application/json is provided")


# Answers after which the rest of the request body is not worth reading:
# the server closes the connection instead of draining it.
CLOSING_STATUSES = (408, 413)


def _finish_response(response: flask.Response) -> flask.Response:
    response.headers[REQUEST_ID_HEADER] = flask.g.get("request_id", "")
    if response.status_code in CLOSING_STATUSES:
        response.headers["Connection"] = "close"
    version = flask.g.get("microversion", microversion.MIN_VERSION)
    for key, value in microversion.response_headers(version).items():
        response.headers[key] = value
    if response.status_code == 406 and isinstance(response.get_json(silent=True), dict):
        body = response.get_json()
        for entry in body.get("errors", []):
            entry["max_version"] = str(microversion.MAX_VERSION)
            entry["min_version"] = str(microversion.MIN_VERSION)
        response.set_data(flask.json.dumps(body))
    return response


__all__ = ["create_app", "errors"]
