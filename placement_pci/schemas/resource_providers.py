"""Bodies of POST /resource_providers and PUT /resource_providers/{uuid}."""
from __future__ import annotations

from placement_pci.schemas.base import NullableUuid, StrictSchema, String, required

MAX_NAME_LENGTH = 200


class CreateProvider(StrictSchema):
    name = required(String(max_length=MAX_NAME_LENGTH))
    uuid = String(uuid=True)


class CreateProviderV1_14(CreateProvider):
    parent_provider_uuid = NullableUuid()


class UpdateProvider(StrictSchema):
    name = required(String(max_length=MAX_NAME_LENGTH))


class UpdateProviderV1_14(UpdateProvider):
    parent_provider_uuid = NullableUuid()


CREATE_PROVIDER = {0: CreateProvider, 14: CreateProviderV1_14}
UPDATE_PROVIDER = {0: UpdateProvider, 14: UpdateProviderV1_14}
