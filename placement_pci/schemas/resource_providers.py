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


# --- GET /resource_providers query string -----------------------------------
# The structure (which parameters a microversion knows, uuids) is checked
# here; the values of member_of, resources and required are parsed by
# query_params / candidates.query, which keep their semantic rules.

class ListProvidersQuery(StrictSchema):
    name = String(metadata={"description": "Exact provider name."})
    uuid = String(uuid=True, metadata={"description": "Exact provider uuid."})


class ListProvidersQueryV1_3(ListProvidersQuery):
    member_of = String(metadata={"description": (
        "An aggregate uuid or `in:` uuids; `!` forbids (1.32); repeatable (1.24).")})


class ListProvidersQueryV1_4(ListProvidersQueryV1_3):
    resources = String(metadata={"description": "`CLASS:amount,...` that must fit."})


class ListProvidersQueryV1_14(ListProvidersQueryV1_4):
    in_tree = String(uuid=True, metadata={"description": "Providers in this one's tree."})


class ListProvidersQueryV1_18(ListProvidersQueryV1_14):
    required = String(metadata={"description": (
        "Traits, `!` forbids (1.22), `in:` any-of and repeatable (1.39).")})


LIST_PROVIDERS_QUERY = {0: ListProvidersQuery, 3: ListProvidersQueryV1_3,
                        4: ListProvidersQueryV1_4, 14: ListProvidersQueryV1_14,
                        18: ListProvidersQueryV1_18}
