"""/pci/candidates, /pci/diagnosis and /pci/headroom.

POST /pci/candidates goes from a flavor to answers in one call; POST
/pci/diagnosis explains why hosts are not candidates; POST /pci/headroom
counts how many more instances of a flavor fit.  See
api-ref/pci-scheduling.md and api-ref/audit-ledger-headroom.md.
"""
from __future__ import annotations

from urllib.parse import parse_qs

import flask

from placement_pci import errors
from placement_pci.candidates.query import parse_candidate_query
from placement_pci.http import routes, util
from placement_pci.http.pci_request_groups import request_input
from placement_pci.pci.request_groups import translate_body
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.services import headroom as pci_headroom
from placement_pci.services import pci_candidates

blueprint = flask.Blueprint("pci_scheduling", __name__)


@routes.route(blueprint, "/pci/candidates", methods=["POST"],
              policy="placement_pci:candidates:list", body=schemas.PostCandidates,
              responses={200: responses.PCI_CANDIDATES})
def post_candidates() -> flask.Response:
    """From flavor to answer: request groups, allocation candidates and,
    per candidate, which device provider serves which alias item.

    Body: ``flavor``, optional ``image``, ``alias`` (default: the
    API-managed aliases), ``limit`` and ``hostname`` (only that host).
    Each candidate's ``allocation_request`` is what PUT /pci/claims takes.
    """
    body = routes.validated_body()
    translated = translate_body(request_input(body), [])
    result = pci_candidates.find_candidates(
        util.database(), util.snapshots(), util.settings(), translated,
        limit=body.get("limit"), hostname=body.get("hostname"))
    return util.json_response(result.as_dict())


@routes.route(blueprint, "/pci/diagnosis", methods=["POST"],
              policy="placement_pci:diagnosis:create", body=schemas.PostDiagnosis,
              responses={200: responses.DIAGNOSIS})
def post_diagnosis() -> flask.Response:
    """Why no candidate: per host, which group fails on which provider
    and why (inventory, capacity, trait, forbidden trait, aggregate, tree,
    root traits, or the groups not fitting together).

    Body: a flavor (``flavor``, ``image``, ``alias``) or a GET
    /allocation_candidates ``query`` string (1.39 syntax), and optionally
    ``hostname`` to look at one host only.
    """
    body = routes.validated_body()
    if ("query" in body) == ("flavor" in body):
        raise errors.BadRequest("give either a flavor or a query")
    if "query" in body:
        request = parse_candidate_query(
            parse_qs(body["query"].lstrip("?"), keep_blank_values=True), (1, 39))
        groups = None
    else:
        groups = translate_body(request_input(body), [])
        request = groups.request
    result = pci_candidates.diagnose(util.database(), util.snapshots(), request,
                                     body.get("hostname"))
    if groups is not None:
        sources = {suffix: source.as_dict() for suffix, source in groups.sources.items()}
        for host in result["hosts"]:
            for group in host["groups"]:
                group["source"] = sources.get(group["suffix"])
    return util.json_response(result)


@routes.route(blueprint, "/pci/headroom", methods=["POST"],
              policy="placement_pci:headroom:create", body=schemas.PostHeadroom,
              responses={200: responses.HEADROOM})
def post_headroom() -> flask.Response:
    """How many more instances of a flavor fit: in total, per host and per
    aggregate, computed from the candidate snapshot (nothing is written).

    Body as POST /pci/candidates: ``flavor``, optional ``image``,
    ``alias`` (default: the API-managed aliases) and ``hostname`` (only
    that host).  Each host is filled with the request, one candidate at a
    time, as consecutive boots would be: group_policy, traits, NUMA
    affinity and the devices still free for a claim all count.
    """
    body = routes.validated_body()
    translated = translate_body(request_input(body), [])
    return util.json_response(pci_headroom.compute_headroom(
        util.database(), util.snapshots(), translated, hostname=body.get("hostname")))
