"""Bodies of PUT /allocations/{consumer} and POST /allocations, per
microversion, in Placement's shapes:

- 1.0-1.7: ``{"allocations": [{"resource_provider": {"uuid"}, "resources"}]}``
- 1.8: plus required ``project_id`` and ``user_id``
- 1.12: ``allocations`` becomes a dict keyed by provider uuid
- 1.13: POST /allocations takes a dict of those bodies keyed by consumer
- 1.28: required ``consumer_generation`` (null for a new consumer); an
  empty ``allocations`` dict deletes the consumer's allocations
- 1.34: optional ``mappings`` (request group -> provider uuids)
- 1.38: required ``consumer_type``
"""
from __future__ import annotations

import marshmallow

from placement_pci.schemas import base
from placement_pci.schemas.base import KeyedObject

RESOURCE_CLASS_PATTERN = r"^[A-Z0-9_]+$"
UUID_KEY_PATTERN = r"^[0-9a-fA-F-]{36}$"
CONSUMER_TYPE_PATTERN = r"^[A-Z0-9_]+$"
EXTERNAL_ID_MAX_LENGTH = 255


def _resources() -> KeyedObject:
    """{resource class: amount >= 1}, at least one class."""
    return KeyedObject(base.Integer(minimum=1), key_pattern=RESOURCE_CLASS_PATTERN,
                       min_properties=1, required=True)


def _external_id() -> base.String:
    return base.String(min_length=1, max_length=EXTERNAL_ID_MAX_LENGTH, required=True)


# --- list form (before 1.12) ------------------------------------------------

class ProviderReference(base.StrictSchema):
    uuid = base.String(uuid=True, required=True)


class ListedAllocation(base.StrictSchema):
    resource_provider = base.Object(ProviderReference, required=True)
    resources = _resources()


class PutAllocationsV1_0(base.StrictSchema):
    allocations = base.Array(base.Object(ListedAllocation), min_items=1, required=True)


class PutAllocationsV1_8(PutAllocationsV1_0):
    project_id = _external_id()
    user_id = _external_id()


# --- dict form (1.12 and later) ---------------------------------------------

class ProviderAllocation(base.StrictSchema):
    # Accepted (GET output can be sent back as is) but not checked, as upstream.
    generation = base.Integer()
    resources = _resources()


def _allocations_by_provider(min_properties: int) -> KeyedObject:
    return KeyedObject(ProviderAllocation, key_pattern=UUID_KEY_PATTERN,
                       min_properties=min_properties, required=True)


class PutAllocationsV1_12(base.StrictSchema):
    allocations = _allocations_by_provider(1)
    project_id = _external_id()
    user_id = _external_id()


class DeletableAllocationsV1_12(PutAllocationsV1_12):
    """One consumer's entry in POST /allocations: may be empty."""
    allocations = _allocations_by_provider(0)


class PutAllocationsV1_28(DeletableAllocationsV1_12):
    consumer_generation = base.Integer(allow_none=True, required=True)


class PutAllocationsV1_34(PutAllocationsV1_28):
    # Placement's patternProperties here do not refuse other keys (the
    # unsuffixed group is the empty string), so neither do we.
    mappings = KeyedObject(base.Array(base.String(uuid=True), min_items=1),
                           key_pattern="", min_properties=1)


class PutAllocationsV1_38(PutAllocationsV1_34):
    consumer_type = base.String(min_length=1, max_length=255,
                                pattern=CONSUMER_TYPE_PATTERN, required=True)


# PUT /allocations/{consumer}: {first microversion minor: body schema}
PUT_ALLOCATIONS = {0: PutAllocationsV1_0, 8: PutAllocationsV1_8, 12: PutAllocationsV1_12,
                   28: PutAllocationsV1_28, 34: PutAllocationsV1_34, 38: PutAllocationsV1_38}

# One consumer's entry in POST /allocations and in the reshaper's
# ``allocations``, by first microversion minor.
CONSUMER_ENTRIES: dict[int, type[marshmallow.Schema]] = {
    12: DeletableAllocationsV1_12, 28: PutAllocationsV1_28,
    34: PutAllocationsV1_34, 38: PutAllocationsV1_38}


def allocations_by_consumer(entry: type[marshmallow.Schema], *,
                            min_properties: int = 1) -> KeyedObject:
    """{consumer uuid: consumer entry}."""
    return KeyedObject(entry, key_pattern=UUID_KEY_PATTERN,
                       min_properties=min_properties, required=True)


# POST /allocations (1.13): {first microversion minor: body field}
POST_ALLOCATIONS = {max(since, 13): allocations_by_consumer(entry)
                    for since, entry in CONSUMER_ENTRIES.items()}
