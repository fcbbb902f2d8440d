"""Body of POST /resource_classes and PUT /resource_classes/{name} (1.2-1.6)."""
from __future__ import annotations

from placement_pci.schemas.base import StrictSchema, String, required

CUSTOM_PATTERN = r"^CUSTOM_[A-Z0-9_]+$"
MAX_NAME_LENGTH = 255


class ResourceClassName(StrictSchema):
    name = required(String(pattern=CUSTOM_PATTERN, max_length=MAX_NAME_LENGTH))
