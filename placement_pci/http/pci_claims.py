"""/pci/claims: a chosen candidate becomes a consumer's allocation and its
concrete devices; the libvirt hostdev XML of those devices.

See api-ref/pci-scheduling.md.
"""
from __future__ import annotations

from typing import Any

import flask

from placement_pci import errors
from placement_pci.http import util
from placement_pci.pci.alias import parse_aliases
from placement_pci.pci.hostdev_xml import hostdevs_xml
from placement_pci.pci.request_groups import translate_body
from placement_pci.services import pci_claims
from placement_pci.store import pci_config

blueprint = flask.Blueprint("pci_claims", __name__)

CLAIM_FIELDS = ("flavor", "image", "alias", "allocation_request", "project_id",
                "user_id", "consumer_generation", "consumer_type")
REQUEST_FIELDS = ("flavor", "image", "alias")


def _invalid(detail: str) -> errors.BadRequest:
    return errors.BadRequest(detail, code=pci_claims.CLAIM_INVALID)


def request_input(body: dict[str, Any]) -> dict[str, Any]:
    """The flavor/image/alias part of a body, with the aliases it uses
    resolved (the body's, else the API-managed ones)."""
    request = {key: body[key] for key in REQUEST_FIELDS
               if body.get(key) is not None}
    if "alias" not in request:
        request["alias"] = pci_config.alias_entries(util.database())
    return request


def _resources(provider: str, value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not isinstance(value.get("resources"), dict):
        raise _invalid(f"allocations of provider {provider} must be "
                       f"{{\"resources\": {{CLASS: amount}}}}")
    resources = value["resources"]
    for name, amount in resources.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise _invalid(f"amount of {name} on provider {provider} must be "
                           f"a positive integer")
    return resources


def _allocation_request(value: Any) -> tuple[dict[str, dict[str, int]],
                                             dict[str, list[str]]]:
    if not isinstance(value, dict) or not isinstance(value.get("allocations"), dict):
        raise _invalid("allocation_request must be one allocation request of "
                       "GET /allocation_candidates (1.34+): {\"allocations\": "
                       "{...}, \"mappings\": {...}}")
    allocations = {util.normalize_uuid(provider, "provider uuid"):
                   _resources(provider, resources)
                   for provider, resources in value["allocations"].items()}
    mappings = value.get("mappings", {})
    if not isinstance(mappings, dict) or not all(
            isinstance(providers, list) for providers in mappings.values()):
        raise _invalid("mappings must map group suffixes to lists of "
                       "provider uuids")
    mappings = {suffix: [util.normalize_uuid(p, "provider uuid")
                         for p in providers]
                for suffix, providers in mappings.items()}
    return allocations, mappings


def claim_view(claim: pci_claims.Claim) -> dict[str, Any]:
    view = claim.as_dict()
    view["hostdev_xml"] = hostdevs_xml(d.as_hostdev() for d in claim.devices)
    return view


@blueprint.route("/pci/claims", methods=["GET"])
def list_claims() -> flask.Response:
    """List every consumer's PCI claim with its devices."""
    claims = pci_claims.list_claims(util.database())
    return util.json_response({"claims": [claim_view(c) for c in claims]})


@blueprint.route("/pci/claims/<consumer_uuid>", methods=["PUT"])
def put_claim(consumer_uuid: str) -> flask.Response:
    """Claim a candidate for a consumer and assign its devices.

    The body repeats the flavor (and image, aliases) the candidate was
    asked for, the chosen ``allocation_request`` (with ``mappings``), the
    consumer's ``project_id``, ``user_id`` and ``consumer_generation``
    (null for a new consumer).  In one transaction the allocation is
    written and each alias request group gets a device of the provider it
    is mapped to.  409 when the generation is stale, capacity is gone or no
    device is free.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    body = util.json_body()
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object")
    unknown = sorted(set(body) - set(CLAIM_FIELDS))
    if unknown:
        raise _invalid(f"Unknown field(s) {', '.join(unknown)}; accepted "
                       f"fields are {', '.join(CLAIM_FIELDS)}")
    for name in ("flavor", "allocation_request", "project_id", "user_id",
                 "consumer_generation"):
        if name not in body:
            raise _invalid(f"'{name}' is a required field")
    for name in ("project_id", "user_id"):
        if not isinstance(body[name], str) or not 1 <= len(body[name]) <= 255:
            raise _invalid(f"{name} must be a string of 1 to 255 characters")
    generation = body["consumer_generation"]
    if generation is not None and (isinstance(generation, bool)
                                   or not isinstance(generation, int)):
        raise _invalid("consumer_generation must be an integer or null")
    consumer_type = body.get("consumer_type")
    if consumer_type is not None and not isinstance(consumer_type, str):
        raise _invalid("consumer_type must be a string")

    request = request_input(body)
    translated = translate_body(request, [])
    allocations, mappings = _allocation_request(body["allocation_request"])
    device_types = {name: alias.device_type
                    for name, alias in parse_aliases(request["alias"]).items()}
    claim = pci_claims.claim_devices(util.database(), pci_claims.ClaimInput(
        consumer_uuid=consumer_uuid, request_body=request,
        translated=translated, allocations=allocations, mappings=mappings,
        project_id=body["project_id"], user_id=body["user_id"],
        consumer_generation=generation, consumer_type=consumer_type),
        device_types, context=util.request_context())
    return util.json_response(claim_view(claim))


@blueprint.route("/pci/claims/<consumer_uuid>", methods=["GET"])
def get_claim(consumer_uuid: str) -> flask.Response:
    """Show a consumer's claim: allocations, devices per request group."""
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    return util.json_response(claim_view(
        pci_claims.get_claim(util.database(), consumer_uuid)))


@blueprint.route("/pci/claims/<consumer_uuid>", methods=["DELETE"])
def delete_claim(consumer_uuid: str) -> flask.Response:
    """Release a claim: delete the allocations and free the devices."""
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    pci_claims.release_claim(util.database(), consumer_uuid,
                             context=util.request_context())
    return util.no_content()


@blueprint.route("/pci/claims/<consumer_uuid>/hostdev-xml", methods=["GET"])
def get_hostdev_xml(consumer_uuid: str) -> flask.Response:
    """The libvirt <hostdev> elements of a consumer's devices.

    ``managed`` comes from the device spec that matched each device.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    claim = pci_claims.get_claim(util.database(), consumer_uuid)
    return util.json_response({
        "consumer_uuid": consumer_uuid,
        "hostnames": claim.hostnames,
        "devices": [{"group": d.group, "alias": d.alias,
                     "hostname": d.hostname, "address": d.address,
                     "managed": d.managed} for d in claim.devices],
        "xml": hostdevs_xml(d.as_hostdev() for d in claim.devices),
    })
