"""Body of PUT /resource_providers/{uuid}/aggregates: a bare list of uuids
before 1.19, an object with the provider generation from 1.19."""
from __future__ import annotations

from placement_pci.schemas.base import Array, Integer, StrictSchema, String, required

MAX_AGGREGATES = 10000


def aggregate_list() -> Array:
    return Array(String(uuid=True), unique=True, max_items=MAX_AGGREGATES)


class AggregatesV1_19(StrictSchema):
    aggregates = required(aggregate_list())
    resource_provider_generation = required(Integer())


# Before 1.19 the body is the bare list.
SET_AGGREGATES: dict[int, Array | type[StrictSchema]] = {0: aggregate_list(), 19: AggregatesV1_19}
