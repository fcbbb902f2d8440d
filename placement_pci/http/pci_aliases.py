"""/pci/aliases: API-managed PCI aliases (list, create, show, replace,
delete) and a preview of what a proposed set would do.  See
api-ref/pci-scheduling.md."""
from __future__ import annotations

from typing import Any

import flask

from placement_pci.http import routes, util
from placement_pci.pci.alias import ALIAS_INVALID, parse_aliases
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import render_request_groups
from placement_pci.schemas import pci as schemas
from placement_pci.schemas import responses
from placement_pci.store import pci_config

blueprint = flask.Blueprint("pci_aliases", __name__)


def _view(stored: pci_config.ConfigObject) -> dict[str, Any]:
    alias = pci_config.parse_alias(stored.body)
    return {
        "name": stored.name,
        "generation": stored.generation,
        "entry": stored.body,
        "alias": alias.as_dict(),
        "resource_class": alias.resource_class,
        "required_traits": sorted(alias.required_traits),
        "forbidden_traits": sorted(alias.forbidden_traits),
        "created_at": util.timestamp(stored.created_at),
        "updated_at": util.timestamp(stored.updated_at),
    }


@routes.route(blueprint, "/pci/aliases", methods=["GET"], policy="placement_pci:aliases:list",
              responses={200: responses.ALIASES})
def list_aliases() -> flask.Response:
    """List the API-managed PCI aliases, sorted by name."""
    stored = pci_config.list_objects(util.database(), pci_config.KIND_ALIAS)
    return util.json_response({"aliases": [_view(s) for s in stored]})


@routes.route(blueprint, "/pci/aliases", methods=["POST"],
              policy="placement_pci:aliases:create", body=schemas.CreateAlias,
              body_error_code=ALIAS_INVALID, responses={201: responses.ALIAS})
def create_alias() -> flask.Response:
    """Create a PCI alias from ``{"alias": <object or nova.conf string>}``.

    The alias is validated with placement scheduling's rules; 409 when an
    alias of that name exists.
    """
    stored = pci_config.create_alias(util.database(), routes.validated_body()["alias"])
    return util.json_response(_view(stored), status=201, headers={
        "Location": f"/pci/aliases/{stored.name}"})


@routes.route(blueprint, "/pci/aliases/preview", methods=["POST"],
              policy="placement_pci:aliases:preview", body=schemas.PreviewAliases,
              body_error_code=ALIAS_INVALID, responses={200: responses.ALIAS_PREVIEW})
def preview_aliases() -> flask.Response:
    """Preview an alias set: validate it and translate a flavor with it.

    Body: ``aliases`` (the proposed complete set; the stored set when
    omitted), optional ``flavor`` and ``image``.  Nothing is stored.
    """
    body = routes.validated_body()
    entries = body.get("aliases")
    if entries is None:
        entries = pci_config.alias_entries(util.database())
    aliases = parse_aliases(entries)
    result: dict[str, Any] = {
        "aliases": [alias.as_dict() for _, alias in sorted(aliases.items())],
        "request_groups": None,
    }
    if "flavor" in body:
        request_body = {"alias": entries, "flavor": body["flavor"]}
        if body.get("image") is not None:
            request_body["image"] = body["image"]
        result["request_groups"] = render_request_groups(translate_body(request_body, []))
    return util.json_response(result)


@routes.route(blueprint, "/pci/aliases/<path:name>", methods=["GET"],
              policy="placement_pci:aliases:show", responses={200: responses.ALIAS})
def show_alias(name: str) -> flask.Response:
    """Show one API-managed PCI alias."""
    stored = pci_config.get_object(util.database(), pci_config.KIND_ALIAS, name)
    return util.json_response(_view(stored))


@routes.route(blueprint, "/pci/aliases/<path:name>", methods=["PUT"],
              policy="placement_pci:aliases:update", body=schemas.ReplaceAlias,
              body_error_code=ALIAS_INVALID, responses={200: responses.ALIAS})
def replace_alias(name: str) -> flask.Response:
    """Replace an alias: ``{"alias": ..., "generation": N}``.

    ``generation`` (optional) must be the one last read; a stale one is a
    409 placement.concurrent_update.  The name cannot change.
    """
    body = routes.validated_body()
    stored = pci_config.update_alias(util.database(), name, body["alias"],
                                     body.get("generation"))
    return util.json_response(_view(stored))


@routes.route(blueprint, "/pci/aliases/<path:name>", methods=["DELETE"],
              policy="placement_pci:aliases:delete", responses={204: None})
def delete_alias(name: str) -> flask.Response:
    """Delete an alias (``?generation=N`` to guard against lost updates)."""
    pci_config.delete_object(util.database(), pci_config.KIND_ALIAS, name,
                             util.generation_query())
    return util.no_content()
