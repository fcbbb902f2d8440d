"""Body of PUT /resource_providers/{uuid}/traits."""
from __future__ import annotations

from placement_pci.schemas.base import Array, Integer, StrictSchema, String, required

TRAIT_NAME_PATTERN = r"^[A-Z0-9_]+$"


class ProviderTraits(StrictSchema):
    traits = required(Array(String(pattern=TRAIT_NAME_PATTERN, max_length=255), unique=True))
    resource_provider_generation = required(Integer())


class ListTraitsQuery(StrictSchema):
    """GET /traits: which parameters exist (their values are parsed by the handler)."""
    name = String(metadata={"description": "`in:NAME,...` or `startswith:PREFIX`."})
    associated = String(metadata={"description": "`true` or `false`."})
