"""GET /openapi.json: the OpenAPI document of this API (no auth needed)."""
from __future__ import annotations

import flask

from placement_pci.http import util
from placement_pci.openapi import build_document

blueprint = flask.Blueprint("openapi", __name__)


@blueprint.route("/openapi.json", methods=["GET"])
def document() -> flask.Response:
    """The OpenAPI 3 document describing every route of this service."""
    return util.json_response(build_document(flask.current_app))
