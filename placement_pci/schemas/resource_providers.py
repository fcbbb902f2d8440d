"""Bodies of POST /resource_providers and PUT /resource_providers/{uuid}."""
from __future__ import annotations

import marshmallow

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


def create_schema(nested_providers: bool) -> marshmallow.Schema:
    return CreateProviderV1_14() if nested_providers else CreateProvider()


def update_schema(nested_providers: bool) -> marshmallow.Schema:
    return UpdateProviderV1_14() if nested_providers else UpdateProvider()
