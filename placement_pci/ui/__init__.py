"""The operator dashboard at /ui/: a read-only page served by the service.

Hosts with their provider trees and device utilisation per resource
class, claims and the devices they hold, audit findings, the latest
ledger entries and a headroom form, rendered on the server from the same
services the API uses (``page.py`` holds the HTML).  It is authenticated
and authorised like the API (policy ``placement_pci:ui:view``); nothing is
fetched from outside and nothing is written.
"""
from __future__ import annotations

from typing import Any

import flask

from placement_pci import errors
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.http import routes, util
from placement_pci.http.pci_request_groups import request_input
from placement_pci.pci.request_groups import translate_body
from placement_pci.schemas import responses
from placement_pci.services import audit, pci_claims
from placement_pci.services import headroom as pci_headroom
from placement_pci.store import ledger
from placement_pci.ui import page

blueprint = flask.Blueprint("ui", __name__)

MAX_HOSTS_SHOWN = 50
LEDGER_ENTRIES_SHOWN = 20


def _hosts(graph: ProviderGraph, wanted: str) -> tuple[list[dict[str, Any]], int]:
    """Roots whose name contains ``wanted``, with their trees: (shown, total)."""
    roots = sorted((p for p in graph.providers.values()
                    if p.parent_id is None and not p.is_sharing and wanted in p.name),
                   key=lambda p: p.name)
    shown = []
    for root in roots[:MAX_HOSTS_SHOWN]:
        providers: list[dict[str, Any]] = []
        for provider_id in graph.tree_of(root.id):
            provider = graph.providers[provider_id]
            depth = len(graph.ancestors(provider_id)) - 1
            providers.append({
                "name": provider.name, "uuid": provider.uuid, "depth": depth,
                "traits": sorted(provider.traits),
                "usage": [{"resource_class": name, "used": provider.used(name),
                           "capacity": inventory.capacity}
                          for name, inventory in sorted(provider.inventories.items())]})
        providers.sort(key=lambda p: (p["depth"] > 0, p["name"]))
        shown.append({"name": root.name, "uuid": root.uuid,
                      "aggregates": sorted(root.aggregates), "providers": providers})
    return shown, len(roots)


def _headroom(args: Any) -> dict[str, Any] | None:
    """The headroom answer for the form's flavor, or None when not asked."""
    if "alias_request" not in args and "vcpus" not in args:
        return None
    try:
        flavor: dict[str, object] = {name: int(args.get(name) or 0)
                                     for name in ("vcpus", "memory_mb", "root_gb")}
    except ValueError:
        raise errors.BadRequest("vcpus, memory_mb and root_gb must be integers") from None
    alias_request = (args.get("alias_request") or "").strip()
    if alias_request:
        flavor["extra_specs"] = {"pci_passthrough:alias": alias_request}
    body = {"flavor": flavor}
    translated = translate_body(request_input(body), [])
    hostname = (args.get("hostname") or "").strip() or None
    return pci_headroom.compute_headroom(util.database(), util.snapshots(), translated,
                                         hostname=hostname)


@routes.route(blueprint, "/ui/", methods=["GET"], policy="placement_pci:ui:view",
              responses={200: responses.DASHBOARD})
def dashboard() -> flask.Response:
    """The operator dashboard (HTML): hosts and device utilisation, claims,
    audit findings, the latest ledger entries and a headroom form.

    ``?host=`` shows only hosts whose name contains it; the headroom form
    sends ``vcpus``, ``memory_mb``, ``root_gb``, ``alias_request`` (the
    ``pci_passthrough:alias`` extra spec, using the API-managed aliases)
    and ``hostname``.
    """
    args = flask.request.args
    wanted = (args.get("host") or "").strip()
    database = util.database()
    hosts, host_count = _hosts(util.snapshots().graph(database), wanted)
    headroom_error = None
    try:
        headroom = _headroom(args)
    except errors.PlacementError as error:
        headroom, headroom_error = None, error.detail
    html = page.render(
        hosts=hosts, host_count=host_count, host_filter=wanted,
        max_hosts=MAX_HOSTS_SHOWN,
        claims=[claim.as_dict() for claim in pci_claims.list_claims(database)],
        findings=[finding.as_dict() for finding in audit.find(database)],
        entries=ledger.latest_entries(database, LEDGER_ENTRIES_SHOWN),
        form={name: args.get(name, "") for name in
              ("vcpus", "memory_mb", "root_gb", "alias_request", "hostname")},
        headroom=headroom, headroom_error=headroom_error)
    response = flask.Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return response
