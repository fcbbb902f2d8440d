"""/pci/claims: a chosen candidate becomes a consumer's allocation and its
concrete devices; the libvirt hostdev XML of those devices.  (Live
migration of a claim is in pci_live_migration.)  See
api-ref/pci-scheduling.md.
"""
from __future__ import annotations

from typing import Any

import flask

from placement_pci.http import routes, util
from placement_pci.http.pci_request_groups import request_input
from placement_pci.identifiers import canonical_uuid
from placement_pci.pci.alias import parse_aliases
from placement_pci.pci.hostdev_xml import hostdevs_xml
from placement_pci.pci.request_groups import translate_body
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.services import pci_claims

blueprint = flask.Blueprint("pci_claims", __name__)


def claim_view(claim: pci_claims.Claim) -> dict[str, Any]:
    view = claim.as_dict()
    view["hostdev_xml"] = hostdevs_xml(d.as_hostdev() for d in claim.devices)
    return view


@routes.route(blueprint, "/pci/claims", methods=["GET"], policy="placement_pci:claims:list",
              responses={200: responses.CLAIMS})
def list_claims() -> flask.Response:
    """List every consumer's PCI claim with its devices."""
    claims = pci_claims.list_claims(util.database())
    return util.json_response({"claims": [claim_view(c) for c in claims]})


@routes.route(blueprint, "/pci/claims/<consumer_uuid>", methods=["PUT"],
              policy="placement_pci:claims:update", body=schemas.PutClaim,
              body_error_code=pci_claims.CLAIM_INVALID, responses={200: responses.CLAIM})
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
    body = routes.validated_body()
    request = request_input(body)
    translated = translate_body(request, [])
    chosen = body["allocation_request"]
    allocations = {canonical_uuid(provider): value["resources"]
                   for provider, value in chosen["allocations"].items()}
    device_types = {name: alias.device_type
                    for name, alias in parse_aliases(request["alias"]).items()}
    claim = pci_claims.claim_devices(util.database(), pci_claims.ClaimInput(
        consumer_uuid=consumer_uuid, request_body=request,
        translated=translated, allocations=allocations,
        mappings=chosen.get("mappings", {}),
        project_id=body["project_id"], user_id=body["user_id"],
        consumer_generation=body["consumer_generation"],
        consumer_type=body.get("consumer_type")),
        device_types, context=util.request_context())
    return util.json_response(claim_view(claim))


@routes.route(blueprint, "/pci/claims/<consumer_uuid>", methods=["GET"],
              policy="placement_pci:claims:show", responses={200: responses.CLAIM})
def get_claim(consumer_uuid: str) -> flask.Response:
    """Show a consumer's claim: allocations, devices per request group."""
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    return util.json_response(claim_view(
        pci_claims.get_claim(util.database(), consumer_uuid)))


@routes.route(blueprint, "/pci/claims/<consumer_uuid>", methods=["DELETE"],
              policy="placement_pci:claims:delete", responses={204: None})
def delete_claim(consumer_uuid: str) -> flask.Response:
    """Release a claim: delete the allocations and free the devices."""
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    pci_claims.release_claim(util.database(), consumer_uuid,
                             context=util.request_context())
    return util.no_content()


@routes.route(blueprint, "/pci/claims/<consumer_uuid>/hostdev-xml", methods=["GET"],
              policy="placement_pci:claims:hostdev_xml",
              responses={200: responses.HOSTDEV_XML})
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
