"""Query string of GET /usages (1.9; ``consumer_type`` from 1.38)."""
from __future__ import annotations

from placement_pci.schemas import base

CONSUMER_TYPE_QUERY_PATTERN = r"^[A-Z0-9_]+$|^all$|^unknown$"


class UsagesQuery(base.StrictSchema):
    project_id = base.String(min_length=1, max_length=255, required=True)
    user_id = base.String(min_length=1, max_length=255)


class UsagesQueryV1_38(UsagesQuery):
    consumer_type = base.String(min_length=1, max_length=255,
                                pattern=CONSUMER_TYPE_QUERY_PATTERN)


USAGES_QUERY = {9: UsagesQuery, 38: UsagesQueryV1_38}
