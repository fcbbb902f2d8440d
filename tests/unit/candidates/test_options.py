"""Operator settings and microversion -> solver options."""
from __future__ import annotations

import pytest

from placement_pci.candidates.solver import BREADTH_FIRST, DEPTH_FIRST
from placement_pci.services.allocation_candidates import solver_options
from placement_pci.settings import Settings


@pytest.mark.parametrize("settings, version, expected", [
    ({}, (1, 39), dict(randomize=False, max_candidates=None, order=BREADTH_FIRST,
                        nested_aware=True)),
    ({}, (1, 28), dict(nested_aware=False)),
    (dict(max_allocation_candidates=1000), (1, 39), dict(max_candidates=1000)),
    (dict(max_allocation_candidates=-1), (1, 39), dict(max_candidates=None)),
    (dict(allocation_candidates_generation_strategy="depth-first"), (1, 39),
     dict(order=DEPTH_FIRST)),
    (dict(randomize_allocation_candidates=True), (1, 39), dict(randomize=True)),
])
def test_solver_options(settings, version, expected):
    options = solver_options(Settings(database_url="sqlite://", **settings), version)
    for name, value in expected.items():
        assert getattr(options, name) == value
