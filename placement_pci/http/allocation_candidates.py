"""GET /allocation_candidates (1.10+): parse, find, render."""
from __future__ import annotations

import flask

from placement_pci.candidates.query import parse_candidate_query
from placement_pci.http import microversion, routes, util
from placement_pci.schemas import responses
from placement_pci.services.allocation_candidates import stream_candidates

blueprint = flask.Blueprint("allocation_candidates", __name__)


@routes.route(blueprint, "/allocation_candidates", methods=["GET"],
              policy="placement:allocation_candidates:list",
              responses={200: responses.ALLOCATION_CANDIDATES})
def list_allocation_candidates() -> flask.Response:
    """Allocation candidates: where a request for resources could be claimed.

    Query: resources[SUFFIX], required[SUFFIX] (traits, !forbidden, in:any-of),
    member_of[SUFFIX] (in:, !), in_tree[SUFFIX], group_policy, limit,
    root_required, same_subtree; availability per microversion as in
    Placement 1.10-1.39.  Answers allocation_requests (the body of a PUT
    /allocations) and provider_summaries; see api-ref/allocation-candidates.md.
    """
    microversion.require(10)
    util.check_accept_json()
    major, minor = microversion.current()
    version = (major, minor)
    request = parse_candidate_query(util.query_args(), version)
    chunks = stream_candidates(util.database(), util.snapshots(), request, version,
                               flask.current_app.config["SETTINGS"])
    # Streamed: an unlimited answer with many thousand candidates never
    # sits in memory whole.  Last-modified is the present, as upstream.
    return util.with_cache_headers(
        flask.Response(chunks, mimetype="application/json"), [])
