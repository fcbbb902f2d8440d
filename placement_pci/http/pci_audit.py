"""/pci/audit and /pci/audit/heal: what disagrees between allocations,
claims and device assignments, and its repair (pci-api.md).

See api-ref/audit-ledger-headroom.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import flask

from placement_pci import errors
from placement_pci.http import routes, util
from placement_pci.pci.audit import Finding
from placement_pci.pci.device_spec import parse_strict_boolean
from placement_pci.schemas import responses
from placement_pci.schemas.audit import HOSTNAME_LENGTH, AuditBodySchema
from placement_pci.services import audit

blueprint = flask.Blueprint("pci_audit", __name__)


def _body() -> dict[str, Any]:
    """The optional JSON body (an empty POST means: everything, no list)."""
    if not flask.request.get_data(cache=True):
        return {}
    return routes.validated_body()


def _hostname(body: dict[str, Any]) -> str | None:
    hostname = util.single_query_value("hostname")
    if hostname is not None and not 1 <= len(hostname) <= HOSTNAME_LENGTH:
        raise errors.BadRequest(
            f"Invalid query parameter hostname: 1 to {HOSTNAME_LENGTH} characters",
            code=errors.QUERY_BAD_VALUE)
    if hostname is not None and body.get("hostname") not in (None, hostname):
        raise errors.BadRequest("hostname given twice (query and body) with "
                                "different values")
    return hostname or body.get("hostname")


def _findings_view(findings: Iterable[Finding]) -> flask.Response:
    return util.json_response({"findings": [f.as_dict() for f in findings]})


@routes.route(blueprint, "/pci/audit", methods=["GET"], policy="placement_pci:audit:list",
              responses={200: responses.AUDIT})
def get_audit() -> flask.Response:
    """Every disagreement between allocations, claims and device
    assignments (optionally on ``?hostname=`` only), one finding each with
    its kind, consumer, host, provider, device address and a sentence."""
    util.check_accept_json()
    return _findings_view(audit.find(util.database(), hostname=_hostname({})))


@routes.route(blueprint, "/pci/audit", methods=["POST"], policy="placement_pci:audit:list",
              body=AuditBodySchema, responses={200: responses.AUDIT})
def post_audit() -> flask.Response:
    """The audit with the caller's list of live consumers: body
    ``{"hostname": ..., "live_consumers": [...]}`` (both optional); the
    allocations of consumers not in the list are ``orphan_consumer``."""
    body = _body()
    return _findings_view(audit.find(
        util.database(), hostname=_hostname(body),
        live_consumers=body.get("live_consumers")))


@routes.route(blueprint, "/pci/audit/heal", methods=["POST"],
              policy="placement_pci:audit:heal", body=AuditBodySchema,
              responses={200: responses.HEAL})
def post_heal() -> flask.Response:
    """Repair what the audit finds, one transaction per consumer, or with
    ``?dry_run=true`` only say how.  Same optional body as POST
    /pci/audit.  A finding whose consumer or providers changed since the
    audit is skipped and reported; over capacity and host/service
    assignment conflicts are reported for an operator to decide."""
    dry_run = False
    value = util.single_query_value("dry_run")
    if value is not None:
        try:
            dry_run = parse_strict_boolean(value)
        except ValueError as error:
            raise errors.BadRequest(f"Invalid query parameter dry_run: {error}",
                                    code=errors.QUERY_BAD_VALUE) from None
    body = _body()
    actions = audit.heal(util.database(), context=util.request_context(),
                         hostname=_hostname(body),
                         live_consumers=body.get("live_consumers"), dry_run=dry_run)
    return util.json_response({"dry_run": dry_run, "actions": actions})
