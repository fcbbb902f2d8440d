"""/traits, /traits/{name} and /resource_providers/{uuid}/traits (1.6+)."""
from __future__ import annotations

import flask

from placement_pci import errors, names
from placement_pci.http import microversion, routes, util
from placement_pci.schemas import responses
from placement_pci.schemas import traits as schemas
from placement_pci.store import providers, traits

blueprint = flask.Blueprint("traits", __name__)

INVALID_TRAIT = ('The trait is invalid. A valid trait must be no longer than 255 '
                 'characters, start with the prefix "CUSTOM_" and use following '
                 'characters: "A"-"Z", "0"-"9" and "_"')


@blueprint.before_request
def _traits_exist_from_1_6() -> None:
    microversion.require(6)


def _name_filter(value: str) -> dict[str, object]:
    operator, _, operand = value.partition(":")
    if not _ or operator not in ("in", "startswith"):
        raise errors.BadRequest(
            "Badly formatted name parameter. Expected name query string parameter in "
            f'form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{value}"')
    if operator == "in":
        return {"name_in": [n for n in operand.split(",")]}
    return {"name_prefix": operand}


@routes.route(blueprint, "/traits", methods=["GET"],
              policy="placement:traits:list", query=schemas.ListTraitsQuery,
              responses={200: responses.TRAITS})
def list_traits() -> flask.Response:
    """List traits, filtered by name (in:, startswith:) and association."""
    args = routes.validated_query()
    filters: dict[str, object] = {}
    if "name" in args:
        filters.update(_name_filter(args["name"]))
    if "associated" in args:
        associated = args["associated"].lower()
        if associated not in ("true", "false"):
            raise errors.BadRequest(
                'The query parameter "associated" only accepts "true" or "false"')
        filters["associated"] = associated == "true"
    found, newest = traits.list_traits(util.database(), **filters)  # type: ignore[arg-type]
    return util.with_cache_headers(util.json_response({"traits": found}), [newest])


@routes.route(blueprint, "/traits/<name>", methods=["GET"],
              policy="placement:traits:show", responses={204: None})
def show_trait(name: str) -> flask.Response:
    """Check that a trait exists (204)."""
    stamp = traits.get_trait(util.database(), name)
    return util.with_cache_headers(util.no_content(), [stamp])


@routes.route(blueprint, "/traits/<name>", methods=["PUT"],
              policy="placement:traits:update", responses={201: None, 204: None})
def create_trait(name: str) -> flask.Response:
    """Create a CUSTOM_ trait (201), or confirm it exists (204)."""
    if not names.is_custom_name(name):
        raise errors.BadRequest(INVALID_TRAIT)
    created = traits.ensure_trait(util.database(), name)
    location = util.absolute_url(f"/traits/{name}")
    if created:
        response = flask.Response(status=201)
        response.headers.pop("Content-Type", None)
        response.headers["Location"] = location
        return response
    response = util.no_content()
    response.headers["Location"] = location
    return util.with_cache_headers(response, [traits.get_trait(util.database(), name)])


@routes.route(blueprint, "/traits/<name>", methods=["DELETE"],
              policy="placement:traits:delete", responses={204: None})
def delete_trait(name: str) -> flask.Response:
    """Delete a CUSTOM_ trait that no provider has."""
    traits.delete_trait(util.database(), name)
    return util.no_content()


@routes.route(blueprint, "/resource_providers/<uuid>/traits", methods=["GET"],
              policy="placement:resource_providers:traits:list",
              responses={200: responses.PROVIDER_TRAITS})
def list_provider_traits(uuid: str) -> flask.Response:
    """List the traits of a resource provider."""
    provider, found, newest = traits.get_provider_traits(util.database(), uuid)
    body = {"traits": found, "resource_provider_generation": provider.generation}
    return util.with_cache_headers(util.json_response(body), [newest, provider.last_modified])


@routes.route(blueprint, "/resource_providers/<uuid>/traits", methods=["PUT"],
              policy="placement:resource_providers:traits:update",
              body=schemas.ProviderTraits, responses={200: responses.PROVIDER_TRAITS})
def set_provider_traits(uuid: str) -> flask.Response:
    """Replace the traits of a resource provider (generation checked)."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)
    data = routes.validated_body()
    generation, found = traits.set_provider_traits(
        database, uuid, data["resource_provider_generation"], data["traits"])
    body = {"traits": found, "resource_provider_generation": generation}
    return util.with_cache_headers(util.json_response(body), [None])


@routes.route(blueprint, "/resource_providers/<uuid>/traits", methods=["DELETE"],
              policy="placement:resource_providers:traits:delete", responses={204: None})
def delete_provider_traits(uuid: str) -> flask.Response:
    """Remove every trait from a resource provider."""
    traits.delete_provider_traits(util.database(), uuid)
    return util.no_content()
