"""GET /openapi.json: the OpenAPI document of this API (no auth needed)."""
from __future__ import annotations

import flask

from placement_pci.http import routes, util
from placement_pci.openapi import build_document
from placement_pci.schemas import responses

blueprint = flask.Blueprint("openapi", __name__)


@routes.route(blueprint, "/openapi.json", methods=["GET"],
              policy=routes.PUBLIC, responses={200: responses.OPENAPI})
def document() -> flask.Response:
    """The OpenAPI 3 document describing every route of this service."""
    return util.json_response(build_document(flask.current_app))
