"""Inventory bodies: one record (POST, PUT .../{class}) and the whole set
(PUT .../inventories)."""
from __future__ import annotations

from placement_pci.schemas.base import (
    MAX_FLOAT,
    Integer,
    KeyedObject,
    Number,
    StrictSchema,
    String,
    required,
)

RESOURCE_CLASS_PATTERN = r"^[A-Z0-9_]+$"


class InventoryRecord(StrictSchema):
    """One inventory inside PUT .../inventories (no generation of its own)."""

    total = required(Integer(minimum=1))
    reserved = Integer(minimum=0)
    min_unit = Integer(minimum=1)
    max_unit = Integer(minimum=1)
    step_size = Integer(minimum=1)
    # Placement sets no lower bound; a negative ratio is meaningless.
    allocation_ratio = Number(minimum=0, maximum=MAX_FLOAT)


class UpdateInventory(InventoryRecord):
    """PUT .../inventories/{resource_class}."""

    resource_provider_generation = required(Integer())


class CreateInventory(InventoryRecord):
    """POST .../inventories."""

    resource_class = required(String(pattern=RESOURCE_CLASS_PATTERN))
    # Accepted and ignored, as Placement does.
    resource_provider_generation = Integer()


class ReplaceInventories(StrictSchema):
    """PUT .../inventories."""

    resource_provider_generation = required(Integer())
    inventories = required(KeyedObject(InventoryRecord, key_pattern=RESOURCE_CLASS_PATTERN,
                                       refuse_other_keys=False))
