"""/pci/request-groups, /pci/aliases and /pci/device-specs.

POST /pci/request-groups translates a flavor and image into request groups
(pci-api.md).  Aliases and device-spec sets are API-managed objects (list,
create, show, replace, delete) with previews that show what a proposed set
would do before it is stored.  See api-ref/pci-scheduling.md.
"""
from __future__ import annotations

import datetime
from typing import Any

import flask

from placement_pci import errors
from placement_pci.http import util
from placement_pci.pci.alias import ALIAS_INVALID, parse_aliases
from placement_pci.pci.device_spec import DEVICE_SPEC_INVALID
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.services import host_sync as pci_hosts
from placement_pci.store import pci_config

blueprint = flask.Blueprint("pci_requests", __name__)


def _timestamp(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def _object_dict(body: Any, allowed: tuple[str, ...], required: tuple[str, ...],
                 code: str) -> dict:
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object",
                                code=code)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise errors.BadRequest(
            f"Unknown field(s) {', '.join(unknown)}; accepted fields are "
            f"{', '.join(allowed)}", code=code)
    for name in required:
        if name not in body:
            raise errors.BadRequest(f"'{name}' is a required field", code=code)
    return body


def _generation(body: dict, code: str) -> int | None:
    value = body.get("generation")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise errors.BadRequest("generation must be an integer", code=code)
    return value


def _generation_query() -> int | None:
    value = util.single_query_value("generation")
    if value is None:
        return None
    if not value.isdigit():
        raise errors.BadRequest("Invalid query parameter generation: must be "
                                "a non-negative integer",
                                code=errors.QUERY_BAD_VALUE)
    return int(value)


# --- request groups ---------------------------------------------------------

@blueprint.route("/pci/request-groups", methods=["POST"])
def post_request_groups() -> flask.Response:
    """Translate a flavor and image into request groups.

    The body has the flavor (resources and extra specs), optional image
    properties and optional aliases (objects or nova.conf strings; the
    API-managed aliases when omitted).  The answer lists the groups with
    the alias item each serves, the group policy, root traits and the
    equivalent GET /allocation_candidates query string at 1.39.
    """
    body = util.json_body()
    translated = translate_body(body, pci_config.alias_entries(util.database()))
    return util.json_response(render_request_groups(translated))


# --- aliases ----------------------------------------------------------------

def _alias_view(stored: pci_config.ConfigObject) -> dict[str, Any]:
    alias = pci_config.parse_alias(stored.body)
    return {
        "name": stored.name,
        "generation": stored.generation,
        "entry": stored.body,
        "alias": alias.as_dict(),
        "resource_class": alias.resource_class,
        "required_traits": sorted(alias.required_traits),
        "forbidden_traits": sorted(alias.forbidden_traits),
        "created_at": _timestamp(stored.created_at),
        "updated_at": _timestamp(stored.updated_at),
    }


@blueprint.route("/pci/aliases", methods=["GET"])
def list_aliases() -> flask.Response:
    """List the API-managed PCI aliases, sorted by name."""
    stored = pci_config.list_objects(util.database(), pci_config.KIND_ALIAS)
    return util.json_response({"aliases": [_alias_view(s) for s in stored]})


@blueprint.route("/pci/aliases", methods=["POST"])
def create_alias() -> flask.Response:
    """Create a PCI alias from ``{"alias": <object or nova.conf string>}``.

    The alias is validated with placement scheduling's rules; 409 when an
    alias of that name exists.
    """
    body = _object_dict(util.json_body(), ("alias",), ("alias",), ALIAS_INVALID)
    stored = pci_config.create_alias(util.database(), body["alias"])
    return util.json_response(_alias_view(stored), status=201, headers={
        "Location": f"/pci/aliases/{stored.name}"})


@blueprint.route("/pci/aliases/preview", methods=["POST"])
def preview_aliases() -> flask.Response:
    """Preview an alias set: validate it and translate a flavor with it.

    Body: ``aliases`` (the proposed complete set; the stored set when
    omitted), optional ``flavor`` and ``image``.  Nothing is stored.
    """
    body = _object_dict(util.json_body(), ("aliases", "flavor", "image"), (),
                        ALIAS_INVALID)
    entries = body.get("aliases")
    if entries is None:
        entries = pci_config.alias_entries(util.database())
    if not isinstance(entries, list):
        raise errors.BadRequest("aliases must be a list", code=ALIAS_INVALID)
    aliases = parse_aliases(entries)
    result: dict[str, Any] = {
        "aliases": [alias.as_dict() for _, alias in sorted(aliases.items())],
        "request_groups": None,
    }
    if "flavor" in body:
        request_body = {"alias": entries, "flavor": body["flavor"]}
        if "image" in body:
            request_body["image"] = body["image"]
        result["request_groups"] = render_request_groups(
            translate_body(request_body, []))
    return util.json_response(result)


@blueprint.route("/pci/aliases/<path:name>", methods=["GET"])
def show_alias(name: str) -> flask.Response:
    """Show one API-managed PCI alias."""
    stored = pci_config.get_object(util.database(), pci_config.KIND_ALIAS, name)
    return util.json_response(_alias_view(stored))


@blueprint.route("/pci/aliases/<path:name>", methods=["PUT"])
def replace_alias(name: str) -> flask.Response:
    """Replace an alias: ``{"alias": ..., "generation": N}``.

    ``generation`` (optional) must be the one last read; a stale one is a
    409 placement.concurrent_update.  The name cannot change.
    """
    body = _object_dict(util.json_body(), ("alias", "generation"), ("alias",),
                        ALIAS_INVALID)
    stored = pci_config.update_alias(util.database(), name, body["alias"],
                                     _generation(body, ALIAS_INVALID))
    return util.json_response(_alias_view(stored))


@blueprint.route("/pci/aliases/<path:name>", methods=["DELETE"])
def delete_alias(name: str) -> flask.Response:
    """Delete an alias (``?generation=N`` to guard against lost updates)."""
    pci_config.delete_object(util.database(), pci_config.KIND_ALIAS, name,
                             _generation_query())
    return util.no_content()


# --- device spec sets -------------------------------------------------------

def _device_spec_view(stored: pci_config.ConfigObject,
                      warnings: list[str] | None = None) -> dict[str, Any]:
    if warnings is None:
        warnings = pci_config.check_device_specs(stored.body)
    return {
        "name": stored.name,
        "generation": stored.generation,
        "device_spec": stored.body,
        "warnings": warnings,
        "created_at": _timestamp(stored.created_at),
        "updated_at": _timestamp(stored.updated_at),
    }


@blueprint.route("/pci/device-specs", methods=["GET"])
def list_device_spec_sets() -> flask.Response:
    """List the API-managed device spec sets, sorted by name."""
    stored = pci_config.list_objects(util.database(),
                                     pci_config.KIND_DEVICE_SPEC)
    return util.json_response(
        {"device_spec_sets": [_device_spec_view(s) for s in stored]})


@blueprint.route("/pci/device-specs", methods=["POST"])
def create_device_spec_set() -> flask.Response:
    """Create a device spec set: ``{"name": ..., "device_spec": [...]}``.

    Entries are objects or nova.conf strings, validated as PUT /pci/hosts
    validates them; warnings (dropped duplicates) are returned.
    """
    body = _object_dict(util.json_body(), ("name", "device_spec"),
                        ("name", "device_spec"), DEVICE_SPEC_INVALID)
    stored, warnings = pci_config.create_device_spec_set(
        util.database(), body["name"], body["device_spec"])
    return util.json_response(_device_spec_view(stored, warnings), status=201,
                              headers={"Location": f"/pci/device-specs/{stored.name}"})


@blueprint.route("/pci/device-specs/preview", methods=["POST"])
def preview_device_specs() -> flask.Response:
    """Preview the provider tree a device spec set gives a host.

    Body: ``hostname``, the host's ``devices`` (and optional ``mdev``,
    ``capabilities``) and either ``device_spec`` entries or the name of a
    stored ``device_spec_set``.  Nothing is written: this is PUT
    /pci/hosts/{hostname}?dry_run=true against the stored state.
    """
    body = _object_dict(
        util.json_body(),
        ("hostname", "devices", "device_spec", "device_spec_set", "mdev",
         "capabilities"), ("hostname",), DEVICE_SPEC_INVALID)
    if ("device_spec" in body) == ("device_spec_set" in body):
        raise errors.BadRequest(
            "give either device_spec entries or a device_spec_set name",
            code=DEVICE_SPEC_INVALID)
    entries = body.get("device_spec")
    if "device_spec_set" in body:
        entries = pci_config.device_spec_entries(
            util.database(), pci_config.check_set_name(body["device_spec_set"]))
    hostname = body["hostname"]
    if not isinstance(hostname, str) or not hostname:
        raise errors.BadRequest("hostname must be a non-empty string",
                                code=DEVICE_SPEC_INVALID)
    host_body = {"device_spec": entries, "devices": body.get("devices", [])}
    for key in ("mdev", "capabilities"):
        if key in body:
            host_body[key] = body[key]
    tree = pci_hosts.sync_host(util.database(), hostname, host_body,
                               context=util.request_context(), dry_run=True)
    return util.json_response(tree.as_dict())


@blueprint.route("/pci/device-specs/<name>", methods=["GET"])
def show_device_spec_set(name: str) -> flask.Response:
    """Show one API-managed device spec set."""
    stored = pci_config.get_object(util.database(), pci_config.KIND_DEVICE_SPEC,
                                   name)
    return util.json_response(_device_spec_view(stored))


@blueprint.route("/pci/device-specs/<name>", methods=["PUT"])
def replace_device_spec_set(name: str) -> flask.Response:
    """Replace a set's entries: ``{"device_spec": [...], "generation": N}``."""
    body = _object_dict(util.json_body(), ("device_spec", "generation"),
                        ("device_spec",), DEVICE_SPEC_INVALID)
    stored, warnings = pci_config.update_device_spec_set(
        util.database(), name, body["device_spec"],
        _generation(body, DEVICE_SPEC_INVALID))
    return util.json_response(_device_spec_view(stored, warnings))


@blueprint.route("/pci/device-specs/<name>", methods=["DELETE"])
def delete_device_spec_set(name: str) -> flask.Response:
    """Delete a device spec set (``?generation=N`` guards lost updates)."""
    pci_config.delete_object(util.database(), pci_config.KIND_DEVICE_SPEC,
                             name, _generation_query())
    return util.no_content()
