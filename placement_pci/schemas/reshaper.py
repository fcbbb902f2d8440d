"""Body of POST /reshaper (1.30): every provider's new inventories plus
the allocations of every consumer involved (1.34 mappings, 1.38 types)."""
from __future__ import annotations

import marshmallow

from placement_pci.schemas import base
from placement_pci.schemas.allocations import UUID_KEY_PATTERN, KeyedObject, post_allocations_field
from placement_pci.schemas.inventories import ReplaceInventories


def reshaper_schema(minor: int) -> marshmallow.Schema:
    """The POST /reshaper body schema at microversion 1.minor."""

    class Reshape(base.StrictSchema):
        # At least one provider: otherwise there is nothing to reshape.
        inventories = KeyedObject(ReplaceInventories, key_pattern=UUID_KEY_PATTERN,
                                  min_properties=1, required=True)
        allocations = post_allocations_field(max(minor, 28), min_properties=0)

    return Reshape()
