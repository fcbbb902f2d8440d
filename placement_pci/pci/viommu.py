"""Host vIOMMU capabilities -> ``COMPUTE_VIOMMU_MODEL_*`` root traits.

A host that supports any model also reports ``COMPUTE_VIOMMU_MODEL_AUTO``
(the guest may then ask for ``auto``).  Trait names come from os-traits.
"""
from __future__ import annotations

import os_traits

from placement_pci import errors

CAPABILITIES_INVALID = "placement_pci.capabilities.invalid"
TRAIT_PREFIX = "COMPUTE_VIOMMU_MODEL_"

# model name (as libvirt and image properties spell it) -> trait
MODEL_TRAITS: dict[str, str] = {
    name[len(TRAIT_PREFIX):].lower(): name
    for name in os_traits.get_traits(prefix=TRAIT_PREFIX)
}
AUTO_TRAIT = MODEL_TRAITS["auto"]


def is_viommu_trait(trait: str) -> bool:
    return trait.startswith(TRAIT_PREFIX)


def viommu_traits(capabilities: object) -> frozenset[str] | None:
    """The vIOMMU traits the root provider should carry.

    ``None`` means the host did not report capabilities, so the root's
    vIOMMU traits are left as they are.
    """
    if capabilities is None:
        return None
    if not isinstance(capabilities, dict):
        raise errors.BadRequest(
            f"capabilities must be an object, got {capabilities!r}",
            code=CAPABILITIES_INVALID)
    models = capabilities.get("viommu_models")
    if models is None:
        return None
    if not isinstance(models, list):
        raise errors.BadRequest(
            "capabilities: field 'viommu_models' must be a list of model "
            f"names, got {models!r}", code=CAPABILITIES_INVALID)
    traits = set()
    for model in models:
        trait = MODEL_TRAITS.get(model.strip().lower()) \
            if isinstance(model, str) else None
        if trait is None:
            raise errors.BadRequest(
                f"capabilities: field 'viommu_models': unknown model "
                f"{model!r}; expected one of {', '.join(sorted(MODEL_TRAITS))}",
                code=CAPABILITIES_INVALID)
        traits.add(trait)
    if traits:
        traits.add(AUTO_TRAIT)
    return frozenset(traits)
