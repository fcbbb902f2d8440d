"""/resource_providers and /resource_providers/{uuid}."""
from __future__ import annotations

import flask

from placement_pci import query_params
from placement_pci.http import microversion, routes, util
from placement_pci.schemas import resource_providers as schemas
from placement_pci.schemas import responses
from placement_pci.store import providers
from placement_pci.store.providers import Provider, ProviderFilters

blueprint = flask.Blueprint("resource_providers", __name__)


def provider_path(uuid: str) -> str:
    return f"/resource_providers/{uuid}"


def _links(uuid: str) -> list[dict[str, str]]:
    """The links a provider shows, growing with the microversion."""
    base_path = provider_path(uuid)
    links = [{"rel": "self", "href": base_path},
             {"rel": "inventories", "href": f"{base_path}/inventories"},
             {"rel": "usages", "href": f"{base_path}/usages"}]
    if microversion.is_at_least(1):
        links.append({"rel": "aggregates", "href": f"{base_path}/aggregates"})
    if microversion.is_at_least(6):
        links.append({"rel": "traits", "href": f"{base_path}/traits"})
    if microversion.is_at_least(11):
        links.append({"rel": "allocations", "href": f"{base_path}/allocations"})
    return links


def serialize(provider: Provider) -> dict[str, object]:
    body: dict[str, object] = {
        "uuid": provider.uuid,
        "name": provider.name,
        "generation": provider.generation,
        "links": _links(provider.uuid),
    }
    if microversion.is_at_least(14):
        body["parent_provider_uuid"] = provider.parent_provider_uuid
        body["root_provider_uuid"] = provider.root_provider_uuid
    return body


def _list_filters() -> ProviderFilters:
    last = routes.validated_query()  # uuids come canonical
    args = util.query_args()  # member_of and required may repeat
    filters = ProviderFilters(name=last.get("name"), uuid=last.get("uuid"))
    if "in_tree" in last:
        filters.in_tree = last["in_tree"]
    if "member_of" in args:
        filters.member_of, filters.forbidden_aggregates = query_params.parse_member_of(
            args["member_of"], allow_multiple=microversion.is_at_least(24),
            allow_forbidden=microversion.is_at_least(32))
    if "resources" in last:
        filters.resources = query_params.parse_resources(last["resources"])
    if "required" in args:
        filters.required_traits, filters.forbidden_traits = query_params.parse_required(
            args["required"], allow_forbidden=microversion.is_at_least(22),
            allow_any_of=microversion.is_at_least(39))
    return filters


@routes.route(blueprint, "/resource_providers", methods=["GET"],
              policy="placement:resource_providers:list", query=schemas.LIST_PROVIDERS_QUERY,
              responses={200: responses.PROVIDERS})
def list_resource_providers() -> flask.Response:
    """List resource providers, filtered by name, uuid, member_of,
    resources, in_tree and required."""
    found = providers.list_providers(util.database(), _list_filters())
    response = util.json_response({"resource_providers": [serialize(p) for p in found]})
    return util.with_cache_headers(response, [p.last_modified for p in found])


@routes.route(blueprint, "/resource_providers", methods=["POST"],
              policy="placement:resource_providers:create", body=schemas.CREATE_PROVIDER,
              responses={200: responses.PROVIDER, 201: None})
def create_resource_provider() -> flask.Response:
    """Create a resource provider (the body is returned from 1.20)."""
    data = routes.validated_body()
    provider = providers.create_provider(
        util.database(), name=data["name"], uuid=data.get("uuid"),
        parent_provider_uuid=data.get("parent_provider_uuid"))
    location = util.absolute_url(provider_path(provider.uuid))
    if microversion.is_at_least(20):
        response = util.json_response(serialize(provider), headers={"Location": location})
        response.last_modified = provider.last_modified
        response.headers["Cache-Control"] = "no-cache"
        return response
    response = flask.Response(status=201)
    response.headers.pop("Content-Type", None)
    response.headers["Location"] = location
    return response


@routes.route(blueprint, "/resource_providers/<uuid>", methods=["GET"],
              policy="placement:resource_providers:show", responses={200: responses.PROVIDER})
def show_resource_provider(uuid: str) -> flask.Response:
    """Show one resource provider."""
    provider = providers.get_provider(util.database(), uuid)
    return util.with_cache_headers(util.json_response(serialize(provider)),
                                   [provider.last_modified])


@routes.route(blueprint, "/resource_providers/<uuid>", methods=["PUT"],
              policy="placement:resource_providers:update", body=schemas.UPDATE_PROVIDER,
              responses={200: responses.PROVIDER})
def update_resource_provider(uuid: str) -> flask.Response:
    """Rename a resource provider or change its parent (re-parenting from 1.37)."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)  # 404 before body validation, as upstream
    data = routes.validated_body()
    changes = {}
    if "parent_provider_uuid" in data:
        changes["parent_provider_uuid"] = data["parent_provider_uuid"]
    provider = providers.update_provider(
        database, uuid, name=data["name"],
        allow_reparenting=microversion.is_at_least(37), **changes)
    return util.with_cache_headers(util.json_response(serialize(provider)),
                                   [provider.last_modified])


@routes.route(blueprint, "/resource_providers/<uuid>", methods=["DELETE"],
              policy="placement:resource_providers:delete", responses={204: None})
def delete_resource_provider(uuid: str) -> flask.Response:
    """Delete a resource provider that has no allocations and no children."""
    providers.delete_provider(util.database(), uuid)
    return util.no_content()
