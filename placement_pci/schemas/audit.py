"""The body of POST /pci/audit and POST /pci/audit/heal."""
from __future__ import annotations

from placement_pci.schemas import base

MAX_LIVE_CONSUMERS = 100_000
HOSTNAME_LENGTH = 200


class AuditBodySchema(base.StrictSchema):
    hostname = base.String(min_length=1, max_length=HOSTNAME_LENGTH, allow_none=True)
    live_consumers = base.Array(base.String(uuid=True), max_items=MAX_LIVE_CONSUMERS,
                                allow_none=True)
