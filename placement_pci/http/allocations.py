"""/allocations/{consumer_uuid}, POST /allocations (1.13) and
/resource_providers/{uuid}/allocations."""
from __future__ import annotations

from typing import Any

import flask

from placement_pci import errors, identifiers
from placement_pci.http import microversion, routes, util
from placement_pci.identifiers import canonical_uuid
from placement_pci.schemas import allocations as schemas
from placement_pci.schemas import responses
from placement_pci.store import allocations as store
from placement_pci.store import ledger
from placement_pci.store.allocations import ConsumerAllocations

blueprint = flask.Blueprint("allocations", __name__)


def _minor() -> int:
    return microversion.current().minor


def consumer_allocations_from_entry(consumer_uuid: str, entry: dict[str, Any]
                                    ) -> ConsumerAllocations:
    """One consumer's validated body (any microversion's shape) as the
    claim the store understands."""
    allocations = entry["allocations"]
    if isinstance(allocations, list):  # before 1.12
        by_provider: dict[str, dict[str, int]] = {}
        for item in allocations:
            by_provider[item["resource_provider"]["uuid"]] = item["resources"]
    else:
        by_provider = {canonical_uuid(uuid): value["resources"]
                       for uuid, value in allocations.items()}
    return ConsumerAllocations(
        consumer_uuid=canonical_uuid(consumer_uuid),
        allocations=by_provider,
        project_id=entry.get("project_id"),
        user_id=entry.get("user_id"),
        consumer_type=entry.get("consumer_type"),
        expected_generation=entry.get("consumer_generation"),
        check_generation=microversion.is_at_least(28),
    )


def _claim(claims: list[ConsumerAllocations], unknown_class_prefix: str,
           action: str) -> None:
    try:
        store.replace_allocations(util.database(), claims,
                                  context=util.request_context(), action=action)
    except store.UnknownResourceClass as error:
        raise errors.BadRequest(unknown_class_prefix + error.detail) from None


@routes.route(blueprint, "/allocations/<consumer_uuid>", methods=["PUT"],
              policy="placement:allocations:update", body=schemas.PUT_ALLOCATIONS,
              responses={204: None})
def put_allocations(consumer_uuid: str) -> flask.Response:
    """Replace all allocations of one consumer (the claim)."""
    if not identifiers.is_uuid_like(consumer_uuid):
        raise errors.BadRequest(f"Malformed consumer_uuid: {consumer_uuid}")
    consumer_uuid = canonical_uuid(consumer_uuid)
    body = routes.validated_body()
    claim = consumer_allocations_from_entry(consumer_uuid, body)
    _claim([claim], f"Unable to allocate inventory for consumer {consumer_uuid}: ",
           ledger.PUT_ALLOCATIONS)
    return util.no_content()


@routes.route(blueprint, "/allocations", methods=["POST"],
              policy="placement:allocations:manage", body=schemas.POST_ALLOCATIONS,
              responses={204: None})
def post_allocations() -> flask.Response:
    """Replace the allocations of several consumers atomically (1.13)."""
    microversion.require(13)
    body = routes.validated_body()
    claims = [consumer_allocations_from_entry(uuid, entry) for uuid, entry in body.items()]
    _claim(claims, "Unable to allocate inventory ", ledger.POST_ALLOCATIONS)
    return util.no_content()


@routes.route(blueprint, "/allocations/<consumer_uuid>", methods=["GET"],
              policy="placement:allocations:list",
              responses={200: responses.CONSUMER_ALLOCATIONS})
def get_allocations(consumer_uuid: str) -> flask.Response:
    """The allocations one consumer holds, by provider."""
    util.check_accept_json()
    view = store.get_consumer_allocations(util.database(), canonical_uuid(consumer_uuid))
    body: dict[str, Any] = {"allocations": view.allocations}
    if view.consumer is not None and microversion.is_at_least(12):
        body["project_id"] = view.consumer.project_id
        body["user_id"] = view.consumer.user_id
        if microversion.is_at_least(28):
            body["consumer_generation"] = view.consumer.generation
        if microversion.is_at_least(38):
            body["consumer_type"] = view.consumer.consumer_type
    return util.with_cache_headers(util.json_response(body), [view.last_modified])


@routes.route(blueprint, "/allocations/<consumer_uuid>", methods=["DELETE"],
              policy="placement:allocations:delete", responses={204: None})
def delete_allocations(consumer_uuid: str) -> flask.Response:
    """Release everything one consumer holds."""
    store.delete_allocations(util.database(), canonical_uuid(consumer_uuid),
                             context=util.request_context())
    return util.no_content()


@routes.route(blueprint, "/resource_providers/<uuid>/allocations", methods=["GET"],
              policy="placement:resource_providers:allocations:list",
              responses={200: responses.PROVIDER_ALLOCATIONS})
def get_provider_allocations(uuid: str) -> flask.Response:
    """The allocations against one provider, by consumer."""
    util.check_accept_json()
    try:
        view = store.get_provider_allocations(util.database(), canonical_uuid(uuid))
    except errors.NotFound as error:
        raise errors.NotFound(f"Resource provider '{uuid}' not found: {error.detail}",
                              code=error.code) from None
    show_generation = microversion.is_at_least(28)
    allocations = {
        consumer: ({"resources": entry["resources"],
                    "consumer_generation": entry["consumer_generation"]}
                   if show_generation else {"resources": entry["resources"]})
        for consumer, entry in view.allocations.items()
    }
    body = {"allocations": allocations,
            "resource_provider_generation": view.provider_generation}
    return util.with_cache_headers(util.json_response(body), [view.last_modified])
