"""GET /: the version document (no auth needed)."""
from __future__ import annotations

import flask

from placement_pci.http import microversion, routes, util
from placement_pci.schemas import responses

blueprint = flask.Blueprint("root", __name__)


@routes.route(blueprint, "/", methods=["GET"],
              policy=routes.PUBLIC, responses={200: responses.VERSIONS})
def versions() -> flask.Response:
    """The version document: minimum and maximum supported microversion."""
    response = util.json_response({"versions": [{
        "id": f"v{microversion.MAX_VERSION.major}.0",
        "max_version": str(microversion.MAX_VERSION),
        "min_version": str(microversion.MIN_VERSION),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]})
    return util.with_cache_headers(response, [])
