"""/pci/candidates, /pci/diagnosis, /pci/headroom and live migration of a
claim.

POST /pci/candidates goes from a flavor to answers in one call; POST
/pci/diagnosis explains why hosts are not candidates; the
/pci/claims/{consumer}/live-migration/* calls check, search destinations
and plan the device address change; POST /pci/headroom counts how many more
instances of a flavor fit.  See api-ref/pci-scheduling.md and
api-ref/audit-ledger-headroom.md.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import flask

from placement_pci import errors
from placement_pci.candidates.query import parse_candidate_query
from placement_pci.http import util
from placement_pci.http.pci_claims import request_input
from placement_pci.pci.request_groups import translate_body
from placement_pci.services import headroom as pci_headroom
from placement_pci.services import live_migration as pci_migration
from placement_pci.services import pci_candidates

blueprint = flask.Blueprint("pci_scheduling", __name__)


def _body(allowed: tuple[str, ...]) -> dict[str, Any]:
    body = util.json_body()
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise errors.BadRequest(
            f"Unknown field(s) {', '.join(unknown)}; accepted fields are "
            f"{', '.join(allowed)}")
    return body


def _hostname(body: dict[str, Any]) -> str | None:
    hostname = body.get("hostname")
    if hostname is not None and (not isinstance(hostname, str) or not hostname):
        raise errors.BadRequest("hostname must be a non-empty string")
    return hostname


def _settings():
    return flask.current_app.config["SETTINGS"]


@blueprint.route("/pci/candidates", methods=["POST"])
def post_candidates() -> flask.Response:
    """From flavor to answer: request groups, allocation candidates and,
    per candidate, which device provider serves which alias item.

    Body: ``flavor``, optional ``image``, ``alias`` (default: the
    API-managed aliases), ``limit`` and ``hostname`` (only that host).
    Each candidate's ``allocation_request`` is what PUT /pci/claims takes.
    """
    body = _body(("flavor", "image", "alias", "limit", "hostname"))
    translated = translate_body(request_input(body), [])
    result = pci_candidates.find_candidates(
        util.database(), util.snapshots(), _settings(), translated,
        limit=pci_candidates.check_limit(body.get("limit")),
        hostname=_hostname(body))
    return util.json_response(result.as_dict())


@blueprint.route("/pci/diagnosis", methods=["POST"])
def post_diagnosis() -> flask.Response:
    """Why no candidate: per host, which group fails on which provider
    and why (inventory, capacity, trait, forbidden trait, aggregate, tree,
    root traits, or the groups not fitting together).

    Body: a flavor (``flavor``, ``image``, ``alias``) or a GET
    /allocation_candidates ``query`` string (1.39 syntax), and optionally
    ``hostname`` to look at one host only.
    """
    body = _body(("flavor", "image", "alias", "query", "hostname"))
    if ("query" in body) == ("flavor" in body):
        raise errors.BadRequest("give either a flavor or a query")
    if "query" in body:
        if not isinstance(body["query"], str):
            raise errors.BadRequest("query must be a string")
        request = parse_candidate_query(
            parse_qs(body["query"].lstrip("?"), keep_blank_values=True), (1, 39))
        groups = None
    else:
        translated = translate_body(request_input(body), [])
        request = translated.request
        groups = translated
    result = pci_candidates.diagnose(util.database(), util.snapshots(), request,
                                     _hostname(body))
    if groups is not None:
        sources = {suffix: source.as_dict()
                   for suffix, source in groups.sources.items()}
        for host in result["hosts"]:
            for group in host["groups"]:
                group["source"] = sources.get(group["suffix"])
    return util.json_response(result)


@blueprint.route("/pci/claims/<consumer_uuid>/live-migration/check",
                 methods=["POST"])
def post_live_migration_check(consumer_uuid: str) -> flask.Response:
    """Whether a consumer may be live migrated.

    409 ``placement_pci.live_migration.not_migratable`` names every
    alias-requested device whose device spec is not live_migratable.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    claim = pci_migration.check(util.database(), consumer_uuid)
    return util.json_response({
        "consumer_uuid": consumer_uuid, "live_migratable": True,
        "devices": [{"group": d.group, "alias": d.alias,
                     "hostname": d.hostname, "address": d.address,
                     "live_migratable": d.live_migratable}
                    for d in claim.devices]})


@blueprint.route("/pci/claims/<consumer_uuid>/live-migration/destinations",
                 methods=["POST"])
def post_live_migration_destinations(consumer_uuid: str) -> flask.Response:
    """Destination candidates: the consumer's request groups with
    HW_PCI_LIVE_MIGRATABLE required on its device groups, on other hosts.

    Body (optional): ``limit``.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    body = _body(("limit",)) if flask.request.get_data() else {}
    result = pci_migration.destinations(
        util.database(), util.snapshots(), _settings(), consumer_uuid,
        pci_candidates.check_limit(body.get("limit")))
    return util.json_response(result.as_dict())


@blueprint.route("/pci/claims/<consumer_uuid>/live-migration/plan",
                 methods=["POST"])
def post_live_migration_plan(consumer_uuid: str) -> flask.Response:
    """Source -> destination device addresses and the rewritten hostdev XML.

    Body: ``destination_consumer`` (a consumer that claimed the
    destination devices) or ``allocation_request`` (a destination
    candidate: free devices are previewed), and optionally ``xml`` (the
    guest's domain XML; default: the consumer's hostdev XML).
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    body = _body(("destination_consumer", "allocation_request", "xml"))
    destination = body.get("destination_consumer")
    if destination is not None:
        destination = util.normalize_uuid(destination, "destination_consumer")
    xml = body.get("xml")
    if xml is not None and not isinstance(xml, str):
        raise errors.BadRequest("xml must be a string")
    result = pci_migration.plan(
        util.database(), consumer_uuid, destination_consumer=destination,
        allocation_request=body.get("allocation_request"), xml=xml)
    return util.json_response(result.as_dict())


@blueprint.route("/pci/headroom", methods=["POST"])
def post_headroom() -> flask.Response:
    """How many more instances of a flavor fit: in total, per host and per
    aggregate, computed from the candidate snapshot (nothing is written).

    Body as POST /pci/candidates: ``flavor``, optional ``image``,
    ``alias`` (default: the API-managed aliases) and ``hostname`` (only
    that host).  Each host is filled with the request, one candidate at a
    time, as consecutive boots would be: group_policy, traits, NUMA
    affinity and the devices still free for a claim all count.
    """
    body = _body(("flavor", "image", "alias", "hostname"))
    if "flavor" not in body:
        raise errors.BadRequest("'flavor' is a required field")
    translated = translate_body(request_input(body), [])
    return util.json_response(pci_headroom.compute_headroom(
        util.database(), util.snapshots(), translated, hostname=_hostname(body)))
