"""Capacity arithmetic and inventory capacity rules (no database)."""
import pytest

from placement_pci import errors
from placement_pci import inventory as capacity
from placement_pci.inventory import Inventory
from placement_pci.store.inventories import check_capacity


@pytest.mark.parametrize("total,reserved,ratio,expected", [
    (8, 0, 1.0, 8),
    (8, 2, 1.0, 6),
    (8, 2, 16.0, 96),
    (10, 0, 1.5, 15),
    (3, 0, 0.5, 1),   # rounded down
    (4, 4, 2.0, 0),
])
def test_capacity(total, reserved, ratio, expected):
    assert capacity.capacity(total, reserved, ratio) == expected


@pytest.mark.parametrize("amount,min_unit,max_unit,step,fits", [
    (4, 1, 8, 1, True),
    (8, 1, 8, 1, True),
    (9, 1, 8, 1, False),
    (1, 2, 8, 1, False),
    (6, 2, 8, 2, True),
    (5, 2, 8, 2, False),
    (20, 10, 100, 10, True),
    (15, 10, 100, 10, False),
])
def test_amount_fits_units(amount, min_unit, max_unit, step, fits):
    assert capacity.amount_fits_units(amount, min_unit, max_unit, step) is fits


@pytest.mark.parametrize("total,reserved,may_equal,ok", [
    (10, 0, False, True),
    (10, 9, False, True),
    (10, 10, False, False),
    (10, 10, True, True),
    (10, 11, True, False),
])
def test_reserved_against_total(total, reserved, may_equal, ok):
    inventory = Inventory.from_fields("VCPU", {"total": total, "reserved": reserved})
    if ok:
        check_capacity(inventory, "rp", reserved_may_equal_total=may_equal)
    else:
        with pytest.raises(errors.BadRequest, match="The reserved value is greater than"):
            check_capacity(inventory, "rp", reserved_may_equal_total=may_equal)


def test_inventory_defaults():
    inventory = Inventory.from_fields("DISK_GB", {"total": 5})
    assert inventory.as_dict() == {"total": 5, "reserved": 0, "min_unit": 1,
                                   "max_unit": 2147483647, "step_size": 1,
                                   "allocation_ratio": 1.0}
