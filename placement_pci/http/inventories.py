"""/resource_providers/{uuid}/inventories and .../inventories/{resource_class}."""
from __future__ import annotations

import flask

from placement_pci import errors
from placement_pci.http import microversion, routes, util
from placement_pci.identifiers import canonical_uuid
from placement_pci.schemas import inventories as schemas
from placement_pci.schemas import responses
from placement_pci.store import inventories, providers
from placement_pci.store.inventories import Inventory

blueprint = flask.Blueprint("inventories", __name__)

COLLECTION = "/resource_providers/<uuid>/inventories"
ITEM = "/resource_providers/<uuid>/inventories/<resource_class>"


def _reserved_may_equal_total() -> bool:
    return microversion.is_at_least(26)


def _one(generation: int, inventory: Inventory, status: int = 200,
         headers: dict[str, str] | None = None) -> flask.Response:
    body = {"resource_provider_generation": generation, **inventory.as_dict()}
    response = util.json_response(body, status=status, headers=headers)
    return util.with_cache_headers(response, [inventory.updated_at])


def _many(generation: int, inventory_map: dict[str, Inventory]) -> flask.Response:
    body = {"resource_provider_generation": generation,
            "inventories": {name: inv.as_dict() for name, inv in inventory_map.items()}}
    return util.with_cache_headers(util.json_response(body),
                                   [inv.updated_at for inv in inventory_map.values()])


@routes.route(blueprint, COLLECTION, methods=["GET"],
              policy="placement:resource_providers:inventories:list",
              responses={200: responses.INVENTORIES})
def list_inventories(uuid: str) -> flask.Response:
    """List the inventories of a resource provider."""
    provider, found = inventories.get_inventories(util.database(), uuid)
    return _many(provider.generation, found)


@routes.route(blueprint, ITEM, methods=["GET"],
              policy="placement:resource_providers:inventories:show",
              responses={200: responses.INVENTORY})
def show_inventory(uuid: str, resource_class: str) -> flask.Response:
    """Show the inventory of one resource class of a provider."""
    provider, found = inventories.get_inventories(util.database(), uuid)
    if resource_class not in found:
        raise errors.NotFound(f"No inventory of class {resource_class} for {uuid}")
    return _one(provider.generation, found[resource_class])


@routes.route(blueprint, COLLECTION, methods=["POST"],
              policy="placement:resource_providers:inventories:create",
              body=schemas.CreateInventory, responses={201: responses.INVENTORY})
def create_inventory(uuid: str) -> flask.Response:
    """Add the inventory of one more resource class to a provider."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)
    data = routes.validated_body()
    inventory = Inventory.from_fields(data["resource_class"], data)
    generation, inventory = inventories.add_inventory(
        database, uuid, inventory, reserved_may_equal_total=_reserved_may_equal_total())
    location = util.absolute_url(
        f"/resource_providers/{canonical_uuid(uuid)}/inventories/"
        f"{inventory.resource_class}")
    response = util.json_response(
        {"resource_provider_generation": generation, **inventory.as_dict()},
        status=201, headers={"Location": location})
    return util.with_cache_headers(response, [None])


@routes.route(blueprint, COLLECTION, methods=["PUT"],
              policy="placement:resource_providers:inventories:update",
              body=schemas.ReplaceInventories, responses={200: responses.INVENTORIES})
def replace_inventories(uuid: str) -> flask.Response:
    """Replace all inventories of a provider (generation checked)."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)
    data = routes.validated_body()
    wanted = {name: Inventory.from_fields(name, values)
              for name, values in data["inventories"].items()}
    generation, saved = inventories.replace_inventories(
        database, uuid, data["resource_provider_generation"], wanted,
        reserved_may_equal_total=_reserved_may_equal_total())
    return _many(generation, saved)


@routes.route(blueprint, COLLECTION, methods=["DELETE"],
              policy="placement:resource_providers:inventories:delete", responses={204: None})
def delete_inventories(uuid: str) -> flask.Response:
    """Delete all inventories of a provider (1.5+)."""
    if not microversion.is_at_least(5):
        raise errors.MethodNotAllowed(
            "The method DELETE is not allowed for this resource.",
            headers={"Allow": "GET, POST, PUT"})
    inventories.delete_all_inventories(util.database(), uuid)
    return util.no_content()


@routes.route(blueprint, ITEM, methods=["PUT"],
              policy="placement:resource_providers:inventories:update",
              body=schemas.UpdateInventory, responses={200: responses.INVENTORY})
def update_inventory(uuid: str, resource_class: str) -> flask.Response:
    """Update the inventory of one resource class (generation checked)."""
    util.require_json_content()
    database = util.database()
    providers.get_provider(database, uuid)
    data = routes.validated_body()
    generation, inventory = inventories.update_inventory(
        database, uuid, data["resource_provider_generation"],
        Inventory.from_fields(resource_class, data),
        reserved_may_equal_total=_reserved_may_equal_total())
    return _one(generation, inventory)


@routes.route(blueprint, ITEM, methods=["DELETE"],
              policy="placement:resource_providers:inventories:delete", responses={204: None})
def delete_inventory(uuid: str, resource_class: str) -> flask.Response:
    """Delete the inventory of one resource class unless it is in use."""
    inventories.delete_inventory(util.database(), uuid, resource_class)
    return util.no_content()
