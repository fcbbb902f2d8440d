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

import re
from typing import Any

import marshmallow
from marshmallow import fields

from placement_pci.schemas import base
from placement_pci.schemas.base import _fail

RESOURCE_CLASS_PATTERN = r"^[A-Z0-9_]+$"
UUID_KEY_PATTERN = r"^[0-9a-fA-F-]{36}$"
CONSUMER_TYPE_PATTERN = r"^[A-Z0-9_]+$"
EXTERNAL_ID_MAX_LENGTH = 255


class KeyedObject(fields.Field):
    """A JSON object whose every key must match ``key_pattern`` (JSON
    Schema's patternProperties with additionalProperties false) and whose
    values are loaded by ``value`` (a Field or a Schema class)."""

    def __init__(self, value: fields.Field | type[marshmallow.Schema], *,
                 key_pattern: str, min_properties: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.key_pattern = re.compile(key_pattern)
        self.min_properties = min_properties

    def _load_value(self, item: Any) -> Any:
        if isinstance(self.value, fields.Field):
            return self.value.deserialize(item)
        return self.value().load(item)

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dict:
        if not isinstance(value, dict):
            raise _fail("type", f"{value!r} is not of type 'object'")
        if len(value) < self.min_properties:
            raise _fail("minProperties", f"{value!r} does not have enough properties")
        result = {}
        for key, item in value.items():
            if not self.key_pattern.search(key):
                raise _fail("patternProperties",
                            f"{key!r} does not match any of the regexes: "
                            f"{self.key_pattern.pattern!r}")
            try:
                result[key] = self._load_value(item)
            except marshmallow.ValidationError as error:
                raise marshmallow.ValidationError({key: error.messages}) from None
        return result


class NonEmptyArray(base.Array):
    """An array with at least one item."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list:
        if isinstance(value, list) and not value:
            raise _fail("minItems", "[] is too short")
        return super()._deserialize(value, attr, data, **kwargs)


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
    resource_provider = fields.Nested(ProviderReference, required=True)
    resources = _resources()


class PutAllocationsV1_0(base.StrictSchema):
    allocations = NonEmptyArray(fields.Nested(ListedAllocation), required=True)


class PutAllocationsV1_8(PutAllocationsV1_0):
    project_id = _external_id()
    user_id = _external_id()


# --- dict form (1.12 and later) ---------------------------------------------

class ProviderAllocation(base.StrictSchema):
    # Accepted (GET output can be sent back as is) but not checked, as upstream.
    generation = base.Integer(maximum=None)
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
    consumer_generation = base.Integer(maximum=None, allow_none=True, required=True)


class PutAllocationsV1_34(PutAllocationsV1_28):
    # Placement's patternProperties here do not refuse other keys (the
    # unsuffixed group is the empty string), so neither do we.
    mappings = KeyedObject(NonEmptyArray(base.String(uuid=True)),
                           key_pattern="", min_properties=1)


class PutAllocationsV1_38(PutAllocationsV1_34):
    consumer_type = base.String(min_length=1, max_length=255,
                                pattern=CONSUMER_TYPE_PATTERN, required=True)


def put_allocations_schema(minor: int) -> marshmallow.Schema:
    """The PUT /allocations/{consumer} body schema at microversion 1.minor."""
    for since, schema in ((38, PutAllocationsV1_38), (34, PutAllocationsV1_34),
                          (28, PutAllocationsV1_28), (12, PutAllocationsV1_12),
                          (8, PutAllocationsV1_8)):
        if minor >= since:
            return schema()
    return PutAllocationsV1_0()


def consumer_entry_schema(minor: int) -> type[marshmallow.Schema]:
    """The schema of one consumer's entry in POST /allocations (and in the
    reshaper's ``allocations``) at microversion 1.minor."""
    if minor >= 38:
        return PutAllocationsV1_38
    if minor >= 34:
        return PutAllocationsV1_34
    if minor >= 28:
        return PutAllocationsV1_28
    return DeletableAllocationsV1_12


def post_allocations_field(minor: int, *, min_properties: int = 1) -> KeyedObject:
    """POST /allocations: {consumer uuid: consumer entry}."""
    return KeyedObject(consumer_entry_schema(minor), key_pattern=UUID_KEY_PATTERN,
                       min_properties=min_properties, required=True)
