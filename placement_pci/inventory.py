"""One inventory record and Placement's capacity arithmetic (pure).

The store reads and writes these records, the candidate engine keeps them
in its snapshot and the PCI planner computes them, so all three agree on
the defaults and on the one formula:

    capacity = (total - reserved) * allocation_ratio   (rounded down)

A request of ``amount`` fits an inventory when usage + amount <= capacity
and the amount respects min_unit, max_unit and step_size.  The SQL form of
the same formula is ``store.capacity.capacity_expression``.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

# Placement's largest amount (a signed 32-bit integer column).
MAX_UNIT = 2147483647
FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def capacity(total: int, reserved: int, allocation_ratio: float) -> int:
    """Usable amount of one inventory (rounded down, as Placement does)."""
    return int((total - reserved) * allocation_ratio)


def amount_fits_units(amount: int, min_unit: int, max_unit: int, step_size: int) -> bool:
    """Whether one allocation of ``amount`` respects the unit constraints."""
    return min_unit <= amount <= max_unit and amount % step_size == 0


@dataclass(frozen=True, slots=True)
class Inventory:
    """The inventory of one resource class on one provider, with
    Placement's defaults.

    ``resource_class`` and ``updated_at`` describe where the record comes
    from; equality compares the amounts only (inventories are kept in maps
    keyed by class name, and a planned record equals the stored one when
    the numbers agree).
    """

    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_UNIT
    step_size: int = 1
    allocation_ratio: float = 1.0
    resource_class: str = field(default="", compare=False)
    updated_at: datetime.datetime | None = field(default=None, compare=False)

    @classmethod
    def from_fields(cls, resource_class: str, values: Mapping[str, object]) -> Inventory:
        """A record from an API body (missing fields take the defaults)."""
        given = {name: values[name] for name in FIELDS if name in values}
        return cls(resource_class=resource_class, **given)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FIELDS}

    @property
    def capacity(self) -> int:
        """What can ever be allocated from this inventory."""
        return capacity(self.total, self.reserved, self.allocation_ratio)

    def fits(self, amount: int, used: int) -> bool:
        """Whether one request of ``amount`` fits on top of ``used``."""
        return (used + amount <= self.capacity
                and amount_fits_units(amount, self.min_unit, self.max_unit,
                                      self.step_size))
