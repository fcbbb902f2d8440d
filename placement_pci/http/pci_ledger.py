"""GET /pci/ledger: who changed which consumer's allocations (pci-api.md).

See api-ref/audit-ledger-headroom.md.
"""
from __future__ import annotations

import flask

from placement_pci import errors, identifiers
from placement_pci.http import routes, util
from placement_pci.schemas import responses
from placement_pci.store import ledger

blueprint = flask.Blueprint("pci_ledger", __name__)

KNOWN_PARAMETERS = ("consumer_uuid", "hostname", "since", "limit")
DEFAULT_LIMIT = 100


def _integer(name: str, default: int, lowest: int, highest: int) -> int:
    value = util.single_query_value(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not lowest <= number <= highest:
        raise errors.BadRequest(
            f"Invalid query parameter {name}: {value!r} is not an integer "
            f"from {lowest} to {highest}", code=errors.QUERY_BAD_VALUE)
    return number


@routes.route(blueprint, "/pci/ledger", methods=["GET"], policy="placement_pci:ledger:list",
              responses={200: responses.LEDGER})
def list_entries() -> flask.Response:
    """Page through the allocation ledger, oldest first.

    Every write of allocations (allocations API, reshaper, PCI claims and
    releases, host-sync healing, audit heals) left one entry per consumer:
    sequence number, time, consumer, action, allocations before and after,
    request ids, user and project.  Filter with ``consumer_uuid`` and
    ``hostname``; ``since`` is the first sequence number wanted and
    ``limit`` (1-1000, default 100) the page size; ``next_since`` in the
    answer is where the next page starts.
    """
    util.check_accept_json()
    unknown = sorted(set(flask.request.args) - set(KNOWN_PARAMETERS))
    if unknown:
        raise errors.BadRequest(
            f"Invalid query parameter(s) {', '.join(unknown)}; accepted: "
            f"{', '.join(KNOWN_PARAMETERS)}", code=errors.QUERY_BAD_VALUE)
    consumer = util.single_query_value("consumer_uuid")
    if consumer is not None:
        if not identifiers.is_uuid_like(consumer):
            raise errors.BadRequest(f"Invalid query parameter consumer_uuid: "
                                    f"{consumer!r} is not a UUID",
                                    code=errors.QUERY_BAD_VALUE)
        consumer = util.normalize_uuid(consumer, "consumer_uuid")
    hostname = util.single_query_value("hostname")
    if hostname is not None and not 1 <= len(hostname) <= 200:
        raise errors.BadRequest("Invalid query parameter hostname: 1 to 200 "
                                "characters", code=errors.QUERY_BAD_VALUE)
    page = ledger.list_entries(
        util.database(), consumer_uuid=consumer, hostname=hostname,
        since=_integer("since", 1, 1, 2 ** 62),
        limit=_integer("limit", DEFAULT_LIMIT, 1, ledger.MAX_PAGE))
    return util.json_response({"entries": page.entries,
                               "next_since": page.next_since})
