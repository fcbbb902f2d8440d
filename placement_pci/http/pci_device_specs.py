"""/pci/device-specs: API-managed device spec sets (list, create, show,
replace, delete) and a preview of the provider tree a set gives a host.
See api-ref/pci-scheduling.md."""
from __future__ import annotations

from typing import Any

import flask

from placement_pci import errors
from placement_pci.http import routes, util
from placement_pci.pci.device_spec import DEVICE_SPEC_INVALID
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.services import host_sync
from placement_pci.store import pci_config

blueprint = flask.Blueprint("pci_device_specs", __name__)


def _view(stored: pci_config.ConfigObject, warnings: list[str] | None = None
          ) -> dict[str, Any]:
    if warnings is None:
        warnings = pci_config.check_device_specs(stored.body)
    return {
        "name": stored.name,
        "generation": stored.generation,
        "device_spec": stored.body,
        "warnings": warnings,
        "created_at": util.timestamp(stored.created_at),
        "updated_at": util.timestamp(stored.updated_at),
    }


@routes.route(blueprint, "/pci/device-specs", methods=["GET"],
              policy="placement_pci:device_specs:list",
              responses={200: responses.DEVICE_SPEC_SETS})
def list_device_spec_sets() -> flask.Response:
    """List the API-managed device spec sets, sorted by name."""
    stored = pci_config.list_objects(util.database(), pci_config.KIND_DEVICE_SPEC)
    return util.json_response({"device_spec_sets": [_view(s) for s in stored]})


@routes.route(blueprint, "/pci/device-specs", methods=["POST"],
              policy="placement_pci:device_specs:create", body=schemas.CreateDeviceSpecSet,
              body_error_code=DEVICE_SPEC_INVALID, responses={201: responses.DEVICE_SPEC_SET})
def create_device_spec_set() -> flask.Response:
    """Create a device spec set: ``{"name": ..., "device_spec": [...]}``.

    Entries are objects or nova.conf strings, validated as PUT /pci/hosts
    validates them; warnings (dropped duplicates) are returned.
    """
    body = routes.validated_body()
    stored, warnings = pci_config.create_device_spec_set(
        util.database(), body["name"], body["device_spec"])
    return util.json_response(_view(stored, warnings), status=201, headers={
        "Location": f"/pci/device-specs/{stored.name}"})


@routes.route(blueprint, "/pci/device-specs/preview", methods=["POST"],
              policy="placement_pci:device_specs:preview", body=schemas.PreviewDeviceSpecs,
              body_error_code=DEVICE_SPEC_INVALID, responses={200: responses.HOST_SYNC})
def preview_device_specs() -> flask.Response:
    """Preview the provider tree a device spec set gives a host.

    Body: ``hostname``, the host's ``devices`` (and optional ``mdev``,
    ``capabilities``) and either ``device_spec`` entries or the name of a
    stored ``device_spec_set``.  Nothing is written: this is PUT
    /pci/hosts/{hostname}?dry_run=true against the stored state.
    """
    body = routes.validated_body()
    if ("device_spec" in body) == ("device_spec_set" in body):
        raise errors.BadRequest("give either device_spec entries or a device_spec_set name",
                                code=DEVICE_SPEC_INVALID)
    entries = body.get("device_spec")
    if "device_spec_set" in body:
        entries = pci_config.device_spec_entries(util.database(), body["device_spec_set"])
    host_body = {"device_spec": entries, "devices": body.get("devices", [])}
    for key in ("mdev", "capabilities"):
        if key in body:
            host_body[key] = body[key]
    tree = host_sync.sync_host(util.database(), body["hostname"], host_body,
                               context=util.request_context(), dry_run=True)
    return util.json_response(tree.as_dict())


@routes.route(blueprint, "/pci/device-specs/<name>", methods=["GET"],
              policy="placement_pci:device_specs:show",
              responses={200: responses.DEVICE_SPEC_SET})
def show_device_spec_set(name: str) -> flask.Response:
    """Show one API-managed device spec set."""
    stored = pci_config.get_object(util.database(), pci_config.KIND_DEVICE_SPEC, name)
    return util.json_response(_view(stored))


@routes.route(blueprint, "/pci/device-specs/<name>", methods=["PUT"],
              policy="placement_pci:device_specs:update", body=schemas.ReplaceDeviceSpecSet,
              body_error_code=DEVICE_SPEC_INVALID, responses={200: responses.DEVICE_SPEC_SET})
def replace_device_spec_set(name: str) -> flask.Response:
    """Replace a set's entries: ``{"device_spec": [...], "generation": N}``."""
    body = routes.validated_body()
    stored, warnings = pci_config.update_device_spec_set(
        util.database(), name, body["device_spec"], body.get("generation"))
    return util.json_response(_view(stored, warnings))


@routes.route(blueprint, "/pci/device-specs/<name>", methods=["DELETE"],
              policy="placement_pci:device_specs:delete", responses={204: None})
def delete_device_spec_set(name: str) -> flask.Response:
    """Delete a device spec set (``?generation=N`` guards lost updates)."""
    pci_config.delete_object(util.database(), pci_config.KIND_DEVICE_SPEC, name,
                             util.generation_query())
    return util.no_content()
