"""GET /usages (1.9) and GET /resource_providers/{uuid}/usages."""
from __future__ import annotations

import flask

from placement_pci.http import microversion, routes, util
from placement_pci.identifiers import canonical_uuid
from placement_pci.schemas import responses
from placement_pci.schemas.usages import USAGES_QUERY
from placement_pci.store import usages as store

blueprint = flask.Blueprint("usages", __name__)


@routes.route(blueprint, "/resource_providers/<uuid>/usages", methods=["GET"],
              policy="placement:resource_providers:usages",
              responses={200: responses.PROVIDER_USAGES})
def provider_usages(uuid: str) -> flask.Response:
    """One provider's usage per inventoried resource class."""
    util.check_accept_json()
    found = store.provider_usages(util.database(), canonical_uuid(uuid))
    body = {"resource_provider_generation": found.provider_generation,
            "usages": found.usages}
    # Usage is "now", whatever changed it: last-modified is the present.
    return util.with_cache_headers(util.json_response(body), [])


@routes.route(blueprint, "/usages", methods=["GET"],
              policy="placement:usages", policy_target=("project_id",),
              query=USAGES_QUERY, responses={200: responses.TOTAL_USAGES})
def total_usages() -> flask.Response:
    """Usage of a project (and user), by consumer type from 1.38 (1.9)."""
    microversion.require(9)
    util.check_accept_json()
    params = routes.validated_query()
    database = util.database()
    usages: dict[str, dict[str, int]] | dict[str, int]
    if microversion.is_at_least(38):
        usages = store.usages_by_consumer_type(
            database, params["project_id"], params.get("user_id"),
            params.get("consumer_type"))
    else:
        usages = store.total_usages(database, params["project_id"], params.get("user_id"))
    return util.with_cache_headers(util.json_response({"usages": usages}), [])
