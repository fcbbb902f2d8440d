"""POST /pci/request-groups: a flavor and image become request groups
(pci-api.md; see api-ref/pci-scheduling.md)."""
from __future__ import annotations

from typing import Any

import flask

from placement_pci.http import routes, util
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.store import pci_config

blueprint = flask.Blueprint("pci_request_groups", __name__)

REQUEST_FIELDS = ("flavor", "image", "alias")


def request_input(body: dict[str, Any]) -> dict[str, Any]:
    """The flavor/image/alias part of a validated body, with the aliases it
    uses resolved (the body's, else the API-managed ones)."""
    request = {key: body[key] for key in REQUEST_FIELDS if body.get(key) is not None}
    if "alias" not in request:
        request["alias"] = pci_config.alias_entries(util.database())
    return request


@routes.route(blueprint, "/pci/request-groups", methods=["POST"],
              policy="placement_pci:request_groups:create", body=schemas.FlavorRequest,
              responses={200: responses.REQUEST_GROUPS})
def post_request_groups() -> flask.Response:
    """Translate a flavor and image into request groups.

    The body has the flavor (resources and extra specs), optional image
    properties and optional aliases (objects or nova.conf strings; the
    API-managed aliases when omitted).  The answer lists the groups with
    the alias item each serves, the group policy, root traits and the
    equivalent GET /allocation_candidates query string at 1.39.
    """
    translated = translate_body(request_input(routes.validated_body()), [])
    return util.json_response(render_request_groups(translated))
