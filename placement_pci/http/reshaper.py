"""POST /reshaper (1.30): move inventories and allocations atomically."""
from __future__ import annotations

import flask

from placement_pci import errors
from placement_pci.http import microversion, routes, util
from placement_pci.http.allocations import consumer_allocations_from_entry
from placement_pci.identifiers import canonical_uuid
from placement_pci.schemas.reshaper import RESHAPE
from placement_pci.services import reshaper as store
from placement_pci.store.allocations import UnknownResourceClass
from placement_pci.store.inventories import Inventory

blueprint = flask.Blueprint("reshaper", __name__)


@routes.route(blueprint, "/reshaper", methods=["POST"],
              policy="placement:reshaper:reshape", body=RESHAPE, responses={204: None})
def reshape() -> flask.Response:
    """Replace inventories and move allocations in one transaction (1.30)."""
    microversion.require(30)
    body = routes.validated_body()
    inventories = [
        store.ProviderInventories(
            provider_uuid=canonical_uuid(uuid),
            expected_generation=entry["resource_provider_generation"],
            inventories={name: Inventory.from_fields(name, fields)
                         for name, fields in entry["inventories"].items()})
        for uuid, entry in body["inventories"].items()
    ]
    claims = [consumer_allocations_from_entry(uuid, entry)
              for uuid, entry in body["allocations"].items()]
    try:
        store.reshape(util.database(), inventories, claims,
                      context=util.request_context())
    except UnknownResourceClass as error:
        raise errors.BadRequest(f"malformed reshaper data: {error.detail}") from None
    return util.no_content()
