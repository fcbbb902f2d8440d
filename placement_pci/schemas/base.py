"""Marshmallow building blocks that validate JSON the way Placement does.

Placement validates bodies with JSON Schema, and clients (and upstream's
own tests) read the jsonschema wording in error details: "'total' is a
required property", "0 is less than the minimum of 1", "Failed validating
'maxLength' in schema['properties']['name']", "Additional properties are
not allowed".  The fields here are strict (no coercion: "5" is not an
integer, true is not an integer).

How a failure becomes that wording, in one place:

- every check raises ``invalid(keyword, message)``: a marshmallow
  ValidationError whose message is a ``Violation`` (the JSON Schema
  keyword and jsonschema's sentence), not text;
- the failures marshmallow itself detects (a missing required field, null,
  an unknown key) are turned into Violations by ``JsonField.make_error``
  and ``StrictSchema.error_messages``;
- ``describe`` picks the first Violation out of marshmallow's nested
  error dict (unknown keys first, as jsonschema reports them) and renders
  it; ``load`` raises that as a 400.

Every field also describes itself in JSON Schema (``json_schema``), which
the OpenAPI document is built from: what is documented is what is checked.
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import marshmallow
from marshmallow import fields

from placement_pci import errors, identifiers

LOG = logging.getLogger(__name__)

# Largest value of the 32-bit integer columns (totals, amounts, generations).
MAX_INT = 2147483647
# Largest single-precision float; allocation ratios are stored as floats.
MAX_FLOAT = 3.40282e+38


@dataclass(frozen=True)
class Violation:
    """One failed JSON Schema keyword, worded as jsonschema words it.

    ``at_parent``: the failure belongs to the object that holds the field
    (JSON Schema's ``required`` is a keyword of the parent object).
    """
    keyword: str
    message: str
    at_parent: bool = False


def invalid(keyword: str, message: str, *, at_parent: bool = False
            ) -> marshmallow.ValidationError:
    """The error a field raises when ``keyword`` fails."""
    return marshmallow.ValidationError([Violation(keyword, message, at_parent)])


# Gives the JSON Schema (usually a $ref) of a nested Schema class.
NestedResolver = Callable[[type[marshmallow.Schema]], dict]


# Marshmallow stores this under each key a StrictSchema does not know.
UNEXPECTED_KEY = Violation("additionalProperties", "Additional properties are not allowed")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and not math.isfinite(value)))


def _check_range(value: Any, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise invalid("minimum", f"{value!r} is less than the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise invalid("maximum", f"{value!r} is greater than the maximum of {maximum}")


class JsonField(fields.Field):
    """A field of one JSON type; marshmallow's own failures (required,
    null) are reported as JSON Schema does."""

    json_type: ClassVar[str] = "object"

    def json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        """This field in JSON Schema (the OpenAPI 3.0 dialect: ``nullable``)."""
        described = self._json_schema(nested)
        if self.allow_none:
            if "$ref" in described:
                return {"allOf": [described], "nullable": True}
            described["nullable"] = True
        return described

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        return {"type": self.json_type}

    def make_error(self, key: str, **kwargs: Any) -> marshmallow.ValidationError:
        if key == "required":
            return invalid("required", f"{self.name!r} is a required property",
                           at_parent=True)
        if key == "null":
            return invalid("type", f"None is not of type '{self.json_type}'")
        return super().make_error(key, **kwargs)

    def _wrong_type(self, value: Any) -> marshmallow.ValidationError:
        return invalid("type", f"{value!r} is not of type '{self.json_type}'")


class Integer(JsonField):
    """A JSON integer (not a boolean, not a string), bounded by the 32-bit
    columns it is stored in unless ``maximum`` says otherwise."""

    json_type = "integer"

    def __init__(self, *, minimum: int | None = None, maximum: int | None = MAX_INT,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        return _with_range({"type": "integer"}, self.minimum, self.maximum)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not _is_integer(value):
            raise self._wrong_type(value)
        _check_range(value, self.minimum, self.maximum)
        return value


class Number(JsonField):
    """A finite JSON number (integer or float, not a boolean)."""

    json_type = "number"

    def __init__(self, *, minimum: float | None = None, maximum: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        return _with_range({"type": "number"}, self.minimum, self.maximum)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not _is_number(value):
            raise self._wrong_type(value)
        _check_range(value, self.minimum, self.maximum)
        return float(value)


class Boolean(JsonField):
    """A JSON true or false."""

    json_type = "boolean"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self._wrong_type(value)
        return value


class String(JsonField):
    """A JSON string with optional length bounds, pattern and uuid format.

    UUIDs are returned in canonical dashed lower-case form.
    """

    json_type = "string"

    def __init__(self, *, max_length: int | None = None, min_length: int | None = None,
                 pattern: str | None = None, uuid: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.pattern = re.compile(pattern) if pattern is not None else None
        self.uuid = uuid

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        described: dict[str, Any] = {"type": "string"}
        if self.max_length is not None:
            described["maxLength"] = self.max_length
        if self.min_length is not None:
            described["minLength"] = self.min_length
        if self.pattern is not None:
            described["pattern"] = self.pattern.pattern
        if self.uuid:
            described["format"] = "uuid"
        return described

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self._wrong_type(value)
        if self.max_length is not None and len(value) > self.max_length:
            raise invalid("maxLength", f"{value!r} is too long")
        if self.min_length is not None and len(value) < self.min_length:
            raise invalid("minLength", f"{value!r} is too short")
        if self.pattern is not None and not self.pattern.search(value):
            raise invalid("pattern", f"{value!r} does not match {self.pattern.pattern!r}")
        if self.uuid:
            if not identifiers.is_canonical_uuid(value):
                raise invalid("format", f"{value!r} is not a 'uuid'")
            return identifiers.canonical_uuid(value)
        return value


class NullableUuid(String):
    """A uuid string or JSON null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(uuid=True, allow_none=True, **kwargs)


class JsonValue(JsonField):
    """Any JSON value: the structure is checked by the pure parser the
    value is given to (aliases, device specs, flavors)."""

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        return {}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return value


class Array(JsonField):
    """A JSON array of ``item`` values, optionally unique, bounded in size."""

    json_type = "array"

    def __init__(self, item: fields.Field, *, unique: bool = False,
                 min_items: int = 0, max_items: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item
        self.unique = unique
        self.min_items = min_items
        self.max_items = max_items

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        described: dict[str, Any] = {"type": "array", "items": _describe(self.item, nested)}
        if self.unique:
            described["uniqueItems"] = True
        if self.min_items:
            described["minItems"] = self.min_items
        if self.max_items is not None:
            described["maxItems"] = self.max_items
        return described

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list):
            raise self._wrong_type(value)
        if len(value) < self.min_items:
            raise invalid("minItems", f"{value!r} is too short")
        if self.max_items is not None and len(value) > self.max_items:
            raise invalid("maxItems", f"list is too long (at most {self.max_items} items)")
        result = [self.item.deserialize(item) for item in value]
        if self.unique and len({repr(v) for v in result}) != len(result):
            raise invalid("uniqueItems", f"{value!r} has non-unique elements")
        return result


def _describe(value_type: fields.Field | type[marshmallow.Schema],
              nested: NestedResolver) -> dict[str, Any]:
    if isinstance(value_type, JsonField):
        return value_type.json_schema(nested)
    if isinstance(value_type, type):
        return nested(value_type)
    raise TypeError(f"no JSON Schema for {value_type!r}")


def _with_range(described: dict[str, Any], minimum: float | None,
                maximum: float | None) -> dict[str, Any]:
    if minimum is not None:
        described["minimum"] = minimum
    if maximum is not None:
        described["maximum"] = maximum
    return described


def _load_value(value_type: fields.Field | type[marshmallow.Schema], item: Any) -> Any:
    if isinstance(value_type, fields.Field):
        return value_type.deserialize(item)
    return value_type().load(item)


class Object(JsonField):
    """A JSON object loaded with a nested StrictSchema."""

    def __init__(self, schema: type[marshmallow.Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        return nested(self.schema)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        return self.schema().load(value)


class KeyedObject(JsonField):
    """A JSON object whose values are loaded by ``value`` (a Field or a
    Schema class) and whose keys match ``key_pattern``.

    A key not matching the pattern fails (patternProperties with
    additionalProperties false) unless ``refuse_other_keys`` is off: then
    it is kept unvalidated (patternProperties alone).
    """

    def __init__(self, value: fields.Field | type[marshmallow.Schema], *,
                 key_pattern: str, min_properties: int = 0, refuse_other_keys: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.key_pattern = re.compile(key_pattern)
        self.min_properties = min_properties
        self.refuse_other_keys = refuse_other_keys

    def _json_schema(self, nested: NestedResolver) -> dict[str, Any]:
        described: dict[str, Any] = {
            "type": "object",
            "additionalProperties": _describe(self.value, nested)}
        if self.key_pattern.pattern:
            # OpenAPI 3.0 has no patternProperties: the key pattern is
            # documented where tools that know the extension find it.
            described["x-key-pattern"] = self.key_pattern.pattern
        if self.min_properties:
            described["minProperties"] = self.min_properties
        return described

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if not isinstance(value, dict):
            raise self._wrong_type(value)
        if len(value) < self.min_properties:
            raise invalid("minProperties", f"{value!r} does not have enough properties")
        result = {}
        for key, item in value.items():
            if not self.key_pattern.search(key):
                if self.refuse_other_keys:
                    raise invalid("patternProperties",
                                  f"{key!r} does not match any of the regexes: "
                                  f"{self.key_pattern.pattern!r}")
                result[key] = item
                continue
            try:
                result[key] = _load_value(self.value, item)
            except marshmallow.ValidationError as error:
                raise marshmallow.ValidationError({key: error.messages}) from None
        return result


class StrictSchema(marshmallow.Schema):
    """A JSON object: unknown keys are refused, as additionalProperties
    false does."""

    class Meta:
        unknown = marshmallow.RAISE

    # marshmallow declares error_messages as an instance attribute (the
    # class-level dict is its default).
    error_messages: dict[str, Any] = {
        "unknown": UNEXPECTED_KEY,
        "type": Violation("type", "input is not of type 'object'"),
    }

    @marshmallow.pre_load
    def _object_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            raise invalid("type", f"{data!r} is not of type 'object'")
        return data


def required(field: fields.Field) -> fields.Field:
    """Mark ``field`` required."""
    field.required = True
    return field


def _first_violation(messages: Any, path: tuple[str, ...] = ()
                     ) -> tuple[tuple[str, ...], Violation]:
    if isinstance(messages, dict):
        # jsonschema reports unknown keys before the known keys' failures.
        for key, value in messages.items():
            if isinstance(value, list) and UNEXPECTED_KEY in value:
                return path, Violation(
                    "additionalProperties",
                    f"{UNEXPECTED_KEY.message} ({key!r} was unexpected)")
        for key, value in messages.items():
            return _first_violation(value, path if key == "_schema" else (*path, str(key)))
    if isinstance(messages, list) and messages:
        return _first_violation(messages[0], path)
    if isinstance(messages, Violation):
        return (path[:-1] if messages.at_parent else path), messages
    # A check that raised plain text: a bug of this module, never shown.
    LOG.error("validation message without a JSON Schema keyword: %r", messages)
    return path, Violation("type", "input is not valid")


def describe(error: marshmallow.ValidationError) -> str:
    """The first failure in jsonschema's layout: the sentence, a blank line,
    then which keyword failed where."""
    path, violation = _first_violation(error.messages)
    location = "".join(f"['properties'][{part!r}]" for part in path)
    return f"{violation.message}\n\nFailed validating '{violation.keyword}' in schema{location}"


BODY_INVALID = "JSON does not validate"
QUERY_INVALID = "Invalid query string parameters"


def load(schema: type[marshmallow.Schema] | marshmallow.Schema | fields.Field, data: Any,
         *, code: str = errors.UNDEFINED_CODE, failure: str = BODY_INVALID) -> Any:
    """Validate ``data``; a 400 "``failure``: <describe>" when it fails."""
    try:
        if isinstance(schema, fields.Field):
            return schema.deserialize(data)
        if isinstance(schema, type):
            schema = schema()
        return schema.load(data)
    except marshmallow.ValidationError as error:
        raise errors.BadRequest(f"{failure}: {describe(error)}",
                                code=code) from None
