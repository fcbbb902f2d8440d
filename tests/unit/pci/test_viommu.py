"""Host vIOMMU capabilities -> root traits (spec §6, pci-api.md)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci import viommu


@pytest.mark.parametrize("capabilities, expected", [
    (None, None),
    ({}, None),
    ({"viommu_models": []}, set()),
    ({"viommu_models": ["intel", "virtio"]},
     {"COMPUTE_VIOMMU_MODEL_AUTO", "COMPUTE_VIOMMU_MODEL_INTEL",
      "COMPUTE_VIOMMU_MODEL_VIRTIO"}),
    ({"viommu_models": ["SMMUv3"]},
     {"COMPUTE_VIOMMU_MODEL_AUTO", "COMPUTE_VIOMMU_MODEL_SMMUV3"}),
    ({"viommu_models": ["auto"]}, {"COMPUTE_VIOMMU_MODEL_AUTO"}),
])
def test_viommu_traits(capabilities, expected):
    got = viommu.viommu_traits(capabilities)
    assert got == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize("capabilities", [
    {"viommu_models": ["amd"]}, {"viommu_models": "intel"},
    {"viommu_models": [1]}, ["intel"],
])
def test_invalid_capabilities(capabilities):
    with pytest.raises(errors.BadRequest) as caught:
        viommu.viommu_traits(capabilities)
    assert caught.value.code == "placement_pci.capabilities.invalid"
