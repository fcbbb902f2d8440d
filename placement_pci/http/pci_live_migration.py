"""/pci/claims/{consumer}/live-migration/*: whether a claim may be live
migrated, its destination candidates, and the device address plan.  See
api-ref/pci-scheduling.md."""
from __future__ import annotations

import flask

from placement_pci.http import routes, util
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.services import live_migration

blueprint = flask.Blueprint("pci_live_migration", __name__)

PREFIX = "/pci/claims/<consumer_uuid>/live-migration"


@routes.route(blueprint, f"{PREFIX}/check", methods=["POST"],
              policy="placement_pci:live_migration:check",
              responses={200: responses.MIGRATION_CHECK})
def post_live_migration_check(consumer_uuid: str) -> flask.Response:
    """Whether a consumer may be live migrated.

    409 ``placement_pci.live_migration.not_migratable`` names every
    alias-requested device whose device spec is not live_migratable.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    claim = live_migration.check(util.database(), consumer_uuid)
    return util.json_response({
        "consumer_uuid": consumer_uuid, "live_migratable": True,
        "devices": [{"group": d.group, "alias": d.alias,
                     "hostname": d.hostname, "address": d.address,
                     "live_migratable": d.live_migratable}
                    for d in claim.devices]})


@routes.route(blueprint, f"{PREFIX}/destinations", methods=["POST"],
              policy="placement_pci:live_migration:destinations",
              body=schemas.PostMigrationDestinations, body_required=False,
              responses={200: responses.PCI_CANDIDATES})
def post_live_migration_destinations(consumer_uuid: str) -> flask.Response:
    """Destination candidates: the consumer's request groups with
    HW_PCI_LIVE_MIGRATABLE required on its device groups, on other hosts.

    Body (optional): ``limit``.
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    body = routes.validated_body() if flask.request.get_data() else {}
    result = live_migration.destinations(
        util.database(), util.snapshots(), util.settings(), consumer_uuid,
        body.get("limit"))
    return util.json_response(result.as_dict())


@routes.route(blueprint, f"{PREFIX}/plan", methods=["POST"],
              policy="placement_pci:live_migration:plan", body=schemas.PostMigrationPlan,
              responses={200: responses.MIGRATION_PLAN})
def post_live_migration_plan(consumer_uuid: str) -> flask.Response:
    """Source -> destination device addresses and the rewritten hostdev XML.

    Body: ``destination_consumer`` (a consumer that claimed the
    destination devices) or ``allocation_request`` (a destination
    candidate: free devices are previewed), and optionally ``xml`` (the
    guest's domain XML; default: the consumer's hostdev XML).
    """
    consumer_uuid = util.normalize_uuid(consumer_uuid, "consumer uuid")
    body = routes.validated_body()
    result = live_migration.plan(
        util.database(), consumer_uuid,
        destination_consumer=body.get("destination_consumer"),
        allocation_request=body.get("allocation_request"), xml=body.get("xml"))
    return util.json_response(result.as_dict())
