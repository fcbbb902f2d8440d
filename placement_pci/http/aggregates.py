"""/resource_providers/{uuid}/aggregates (1.1+; generation from 1.19)."""
from __future__ import annotations

import flask

from placement_pci.http import microversion, routes, util
from placement_pci.schemas import aggregates as schemas
from placement_pci.schemas import responses
from placement_pci.store import aggregates, providers

blueprint = flask.Blueprint("aggregates", __name__)

PATH = "/resource_providers/<uuid>/aggregates"


@blueprint.before_request
def _aggregates_exist_from_1_1() -> None:
    microversion.require(1)


def _render(aggregate_uuids: list[str], generation: int) -> flask.Response:
    body: dict[str, object] = {"aggregates": aggregate_uuids}
    if microversion.is_at_least(19):
        body["resource_provider_generation"] = generation
    return util.with_cache_headers(util.json_response(body), [None])


@routes.route(blueprint, PATH, methods=["GET"],
              policy="placement:resource_providers:aggregates:list",
              responses={200: responses.AGGREGATES})
def list_aggregates(uuid: str) -> flask.Response:
    """List the aggregates a resource provider is in."""
    provider, found, _newest = aggregates.get_provider_aggregates(util.database(), uuid)
    return _render(found, provider.generation)


@routes.route(blueprint, PATH, methods=["PUT"],
              policy="placement:resource_providers:aggregates:update",
              body=schemas.SET_AGGREGATES, responses={200: responses.AGGREGATES})
def set_aggregates(uuid: str) -> flask.Response:
    """Replace the aggregates of a resource provider (generation checked from 1.19)."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)
    data = routes.validated_body()
    if microversion.is_at_least(19):
        wanted, expected = data["aggregates"], data["resource_provider_generation"]
    else:
        wanted, expected = data, None
    generation, saved = aggregates.set_provider_aggregates(database, uuid, wanted, expected)
    return _render(saved, generation)
