"""/pci/candidates and /pci/diagnosis.

POST /pci/candidates goes from a flavor to answers in one call; POST
/pci/diagnosis explains why hosts are not candidates.  See
api-ref/pci-scheduling.md.
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
from placement_pci.services import pci_candidates

blueprint = flask.Blueprint("pci_scheduling", __name__)


@routes.route(blueprint, "/pci/candidates", methods=["POST"],
              policy="placement_pci:candidates:list", body=schemas.Candidates,
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
              policy="placement_pci:diagnosis:create", body=schemas.Diagnosis,
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
