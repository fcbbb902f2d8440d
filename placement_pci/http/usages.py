"""GET /usages (1.9) and GET /resource_providers/{uuid}/usages."""
from __future__ import annotations

import flask
import marshmallow

from placement_pci import errors
from placement_pci.http import microversion, util
from placement_pci.schemas import base
from placement_pci.schemas.usages import usages_query_schema
from placement_pci.store import usages as store
from placement_pci.store.providers import canonical_uuid

blueprint = flask.Blueprint("usages", __name__)


@blueprint.route("/resource_providers/<uuid>/usages", methods=["GET"])
def provider_usages(uuid: str) -> flask.Response:
    """One provider's usage per inventoried resource class."""
    util.check_accept_json()
    found = store.provider_usages(util.database(), canonical_uuid(uuid))
    body = {"resource_provider_generation": found.provider_generation,
            "usages": found.usages}
    # Usage is "now", whatever changed it: last-modified is the present.
    return util.with_cache_headers(util.json_response(body), [])


@blueprint.route("/usages", methods=["GET"])
def total_usages() -> flask.Response:
    """Usage of a project (and user), by consumer type from 1.38 (1.9)."""
    microversion.require(9)
    util.check_accept_json()
    query = {name: values[-1] for name, values in util.query_args().items()}
    try:
        params = usages_query_schema(microversion.current().minor).load(query)
    except marshmallow.ValidationError as error:
        raise errors.BadRequest(
            f"Invalid query string parameters: {base.describe(error)}") from None
    database = util.database()
    if microversion.is_at_least(38):
        usages = store.usages_by_consumer_type(
            database, params["project_id"], params.get("user_id"),
            params.get("consumer_type"))
    else:
        usages = store.total_usages(database, params["project_id"], params.get("user_id"))
    return util.with_cache_headers(util.json_response({"usages": usages}), [])
