"""Body of POST /reshaper (1.30): every provider's new inventories plus
the allocations of every consumer involved (1.34 mappings, 1.38 types)."""
from __future__ import annotations

from placement_pci.schemas import base
from placement_pci.schemas.allocations import (
    CONSUMER_ENTRIES,
    UUID_KEY_PATTERN,
    KeyedObject,
    allocations_by_consumer,
)
from placement_pci.schemas.inventories import ReplaceInventories


class ReshapeV1_30(base.StrictSchema):
    # At least one provider: otherwise there is nothing to reshape.
    inventories = KeyedObject(ReplaceInventories, key_pattern=UUID_KEY_PATTERN,
                              min_properties=1, required=True)
    allocations = allocations_by_consumer(CONSUMER_ENTRIES[28], min_properties=0)


class ReshapeV1_34(ReshapeV1_30):
    allocations = allocations_by_consumer(CONSUMER_ENTRIES[34], min_properties=0)


class ReshapeV1_38(ReshapeV1_30):
    allocations = allocations_by_consumer(CONSUMER_ENTRIES[38], min_properties=0)


# {first microversion minor: body schema}
RESHAPE = {30: ReshapeV1_30, 34: ReshapeV1_34, 38: ReshapeV1_38}
