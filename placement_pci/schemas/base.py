"""Marshmallow building blocks that validate JSON the way Placement does.

Placement validates bodies with JSON Schema and clients (and upstream's own
tests) look for the JSON Schema wording in error details: "'total' is a
required property", "0 is less than the minimum of 1", "Failed validating
'maxLength' in schema['properties']['name']", "Additional properties are
not allowed".  The fields here are strict (no coercion: "5" is not an
integer, true is not an integer) and report failures in that wording;
``load`` turns the first failure into a 400 with that detail.
"""
from __future__ import annotations

import re
import uuid as uuid_module
from typing import Any, ClassVar

import marshmallow
from marshmallow import fields

from placement_pci import errors

MAX_INT = 2147483647
# Largest single-precision float; allocation ratios are stored as floats.
MAX_FLOAT = 3.40282e+38

_SEPARATOR = "\x1f"


def _fail(keyword: str, text: str) -> marshmallow.ValidationError:
    """An error that remembers which JSON Schema keyword failed."""
    return marshmallow.ValidationError(f"{keyword}{_SEPARATOR}{text}")


def _type_name(value: Any) -> str:
    return repr(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(value: Any, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise _fail("minimum", f"{value!r} is less than the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise _fail("maximum", f"{value!r} is greater than the maximum of {maximum}")


def is_uuid_like(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid_module.UUID(value)
    except ValueError:
        return False
    # uuid.UUID also accepts braces and urn: prefixes; Placement does not.
    return parsed.hex == value.replace("-", "").lower()


class Integer(fields.Field):
    """A JSON integer (not a boolean, not a string), optionally bounded."""

    def __init__(self, *, minimum: int | None = None, maximum: int | None = MAX_INT,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not _is_integer(value):
            raise _fail("type", f"{_type_name(value)} is not of type 'integer'")
        _check_range(value, self.minimum, self.maximum)
        return value


class Number(fields.Field):
    """A JSON number (integer or float, not a boolean)."""

    def __init__(self, *, minimum: float | None = None, maximum: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not _is_number(value):
            raise _fail("type", f"{_type_name(value)} is not of type 'number'")
        _check_range(value, self.minimum, self.maximum)
        return float(value)


class String(fields.Field):
    """A JSON string with optional maxLength, pattern and uuid format.

    UUIDs are returned in canonical dashed lower-case form.
    """

    def __init__(self, *, max_length: int | None = None, min_length: int | None = None,
                 pattern: str | None = None, uuid: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.pattern = re.compile(pattern) if pattern else None
        self.uuid = uuid

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise _fail("type", f"{_type_name(value)} is not of type 'string'")
        if self.max_length is not None and len(value) > self.max_length:
            raise _fail("maxLength", f"{value!r} is too long")
        if self.min_length is not None and len(value) < self.min_length:
            raise _fail("minLength", f"{value!r} is too short")
        if self.pattern is not None and not self.pattern.search(value):
            raise _fail("pattern",
                        f"{value!r} does not match {self.pattern.pattern!r}")
        if self.uuid:
            if not is_uuid_like(value):
                raise _fail("format", f"{value!r} is not a 'uuid'")
            return str(uuid_module.UUID(value))
        return value


class NullableUuid(String):
    """A uuid string or JSON null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(uuid=True, allow_none=True, **kwargs)


class Array(fields.Field):
    """A JSON array of ``item`` values, optionally with unique items."""

    def __init__(self, item: fields.Field, *, unique: bool = False,
                 max_items: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item
        self.unique = unique
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list):
            raise _fail("type", f"{_type_name(value)} is not of type 'array'")
        if self.max_items is not None and len(value) > self.max_items:
            raise _fail("maxItems", f"list is too long (at most {self.max_items} items)")
        result = [self.item.deserialize(item) for item in value]
        if self.unique and len({repr(v) for v in result}) != len(result):
            raise _fail("uniqueItems", f"{value!r} has non-unique elements")
        return result


class Mapping(fields.Field):
    """A JSON object whose keys match ``key_pattern`` and whose values are
    loaded with ``value_schema`` (keys not matching are kept unvalidated,
    as JSON Schema's patternProperties does)."""

    def __init__(self, value_schema: type[marshmallow.Schema], *,
                 key_pattern: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_schema = value_schema
        self.key_pattern = re.compile(key_pattern) if key_pattern else None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if not isinstance(value, dict):
            raise _fail("type", f"{_type_name(value)} is not of type 'object'")
        result = {}
        for key, item in value.items():
            if self.key_pattern is None or self.key_pattern.search(key):
                try:
                    result[key] = self.value_schema().load(item)
                except marshmallow.ValidationError as error:
                    raise marshmallow.ValidationError({key: error.messages}) from None
            else:
                result[key] = item
        return result


class StrictSchema(marshmallow.Schema):
    """Unknown keys are refused; required keys say so in JSON Schema words."""

    class Meta:
        unknown = marshmallow.RAISE

    error_messages: ClassVar[dict[str, str]] = {
        "unknown": f"additionalProperties{_SEPARATOR}Additional properties are not allowed",
        "type": f"type{_SEPARATOR}is not of type 'object'",
    }

    @marshmallow.pre_load
    def _object_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail("type", f"{_type_name(data)} is not of type 'object'")
        return data


def required(field: fields.Field) -> fields.Field:
    """Mark ``field`` required with JSON Schema's wording."""
    field.required = True
    return field


def _first_failure(messages: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str]:
    if isinstance(messages, dict):
        # Unknown fields are reported first, as JSON Schema does.
        for key, value in messages.items():
            if isinstance(value, list) and any(
                    isinstance(m, str) and m.startswith("additionalProperties")
                    for m in value):
                return path, (f"additionalProperties{_SEPARATOR}Additional properties "
                              f"are not allowed ({key!r} was unexpected)")
        for key, value in messages.items():
            sub_path = path if key == "_schema" else path + (str(key),)
            return _first_failure(value, sub_path)
    if isinstance(messages, list) and messages:
        return _first_failure(messages[0], path)
    return path, str(messages)


def describe(error: marshmallow.ValidationError) -> str:
    """One JSON-Schema-style sentence for the first validation failure."""
    path, message = _first_failure(error.messages)
    if _SEPARATOR in message:
        keyword, text = message.split(_SEPARATOR, 1)
    elif message == "Missing data for required field.":
        keyword, text = "required", f"{path[-1]!r} is a required property"
        path = path[:-1]
    else:
        keyword, text = "type", message
    if keyword == "type" and text.startswith("is not"):
        text = f"input {text}"
    location = "".join(f"['properties'][{part!r}]" for part in path)
    return f"{text}\n\nFailed validating '{keyword}' in schema{location}"


def load(schema: marshmallow.Schema | fields.Field, data: Any) -> Any:
    """Validate ``data``; a 400 "JSON does not validate: ..." on failure."""
    try:
        if isinstance(schema, fields.Field):
            return schema.deserialize(data)
        return schema.load(data)
    except marshmallow.ValidationError as error:
        raise errors.BadRequest(f"JSON does not validate: {describe(error)}") from None
