"""/pci/hosts/{hostname}: a host reports its PCI devices (pci-api.md).

PUT applies the provider tree planned from the host's device specs and
devices (or previews it with ``?dry_run=true``); GET shows what is stored.
"""
from __future__ import annotations

import flask

from placement_pci import errors
from placement_pci.http import routes, util
from placement_pci.pci.device_spec import parse_strict_boolean
from placement_pci.pci.provider_tree import HOST_INVALID
from placement_pci.schemas import base, responses
from placement_pci.schemas import pci as schemas
from placement_pci.services import host_sync as pci_hosts

blueprint = flask.Blueprint("pci_hosts", __name__)


def _dry_run() -> bool:
    value = util.single_query_value("dry_run")
    if value is None:
        return False
    try:
        return parse_strict_boolean(value)
    except ValueError as error:
        raise errors.BadRequest(f"Invalid query parameter dry_run: {error}",
                                code=errors.QUERY_BAD_VALUE) from None


def _hostname(value: str) -> str:
    """The {hostname} path segment: one line, not "." or "..", at most 200
    characters (the provider name column)."""
    return base.load(schemas.HOSTNAME, value, failure="Invalid hostname")


@routes.route(blueprint, "/pci/hosts/<hostname>", methods=["PUT"],
              policy="placement_pci:hosts:update",
              body=schemas.HostReport, body_error_code=HOST_INVALID,
              responses={200: responses.HOST_SYNC})
def put_host(hostname: str) -> flask.Response:
    """Report a host's PCI devices and apply its provider tree.

    The body holds the host's device_spec entries, its devices, optional
    mdev types and capabilities.  The tree (root provider named by the
    hostname, one child per PF or PCI device, mdev parents) is applied in
    one transaction; ``?dry_run=true`` only returns it.  See
    api-ref/pci-hosts.md.
    """
    hostname = _hostname(hostname)
    dry_run = _dry_run()
    body = routes.validated_body()
    tree = pci_hosts.sync_host(util.database(), hostname, body,
                               context=util.request_context(), dry_run=dry_run)
    return util.json_response(tree.as_dict())


@routes.route(blueprint, "/pci/hosts/<hostname>", methods=["GET"],
              policy="placement_pci:hosts:show", responses={200: responses.HOST})
def get_host(hostname: str) -> flask.Response:
    """Show a host's stored PCI provider tree and device metadata."""
    tree = pci_hosts.get_host(util.database(), _hostname(hostname))
    document = tree.as_dict()
    for key in ("dry_run", "changed", "healed_allocations", "warnings"):
        document.pop(key)
    return util.json_response(document)
