"""Helpers every handler uses: JSON bodies, query strings, UUIDs, responses."""
from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from typing import Any

import flask
import marshmallow

from placement_pci import errors, identifiers
from placement_pci.context import RequestContext
from placement_pci.http import microversion

# The generation columns are 32-bit integers.
MAX_GENERATION = 2147483647


def json_body() -> Any:
    """The request body as JSON; 415/400/413 errors for anything else."""
    request = flask.request
    max_bytes = flask.current_app.config["SETTINGS"].max_body_bytes
    require_json_content()
    if request.content_length is not None and request.content_length > max_bytes:
        raise errors.PayloadTooLarge(
            f"Request body is larger than the limit of {max_bytes} bytes.")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise errors.PayloadTooLarge(
            f"Request body is larger than the limit of {max_bytes} bytes.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise errors.BadRequest(
            f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.BadRequest(f"Malformed JSON: {error}") from None
    check_json_text(data)
    return data


# Deeper than any body of this API; checked before anything walks the body.
MAX_JSON_DEPTH = 100


def _no_constant(name: str) -> None:
    # json accepts NaN and Infinity, which are not JSON and fit no column.
    raise ValueError(f"{name} is not a JSON number")


def check_json_text(data: Any) -> None:
    """400 for a body nested deeper than MAX_JSON_DEPTH or holding a string
    (or key) with a NUL or a lone UTF-16 surrogate: no database stores
    those, and PostgreSQL refuses NUL outright."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            check_text(value, "JSON string")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise errors.BadRequest(
                    f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str, where: str) -> None:
    """400 when ``value`` holds a NUL or a lone surrogate."""
    if _UNSTORABLE.search(value):
        raise errors.BadRequest(
            f"Invalid {where}: NUL characters and lone surrogates are not allowed")


def require_json_content() -> None:
    """415 unless the request says its body is JSON (400 when a body comes
    without any content-type).  Placement checks this before looking up
    the resource, so handlers call it first."""
    request = flask.request
    mimetype = request.mimetype
    if not mimetype and request.content_length:
        raise errors.BadRequest("content-type header required")
    if mimetype != "application/json":
        shown = mimetype or "None"
        raise errors.UnsupportedMediaType(
            f"The media type {shown} is not supported, use application/json")


def load_body(schema: marshmallow.Schema) -> Any:
    """Parse and validate the JSON body with a marshmallow schema."""
    return load_with(schema, json_body())


def load_with(schema: marshmallow.Schema, data: Any) -> Any:
    try:
        return schema.load(data)
    except marshmallow.ValidationError as error:
        raise errors.BadRequest(
            f"JSON does not validate: {format_validation_messages(error.messages)}"
        ) from None


def format_validation_messages(messages: Any, path: str = "") -> str:
    """Flatten marshmallow's nested messages into one readable line."""
    parts: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "_schema":
                where = path
            parts.append(format_validation_messages(value, where))
    elif isinstance(messages, list):
        text = "; ".join(str(m) if not isinstance(m, (dict, list))
                         else format_validation_messages(m, path) for m in messages)
        parts.append(f"{path}: {text}" if path else text)
    else:
        parts.append(f"{path}: {messages}" if path else str(messages))
    return "; ".join(parts)


def query_args() -> dict[str, list[str]]:
    return flask.request.args.to_dict(flat=False)


def single_query_value(name: str) -> str | None:
    values = flask.request.args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise errors.BadRequest(f"Query parameter {name} given more than once.",
                                code=errors.QUERY_DUPLICATE_KEY)
    return values[0]


def normalize_uuid(value: str, what: str = "uuid") -> str:
    """Canonical lower-case dashed UUID; 400 for anything else."""
    if not identifiers.is_uuid_like(value):
        raise errors.BadRequest(f"Malformed {what}: {value!r} is not a valid UUID.")
    return identifiers.canonical_uuid(value)


def generation_query() -> int | None:
    """The optional ``?generation=N`` guard of a DELETE."""
    value = single_query_value("generation")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_GENERATION:
        raise errors.BadRequest("Invalid query parameter generation: must be "
                                f"an integer from 0 to {MAX_GENERATION}",
                                code=errors.QUERY_BAD_VALUE)
    return int(value)


def timestamp(value: datetime.datetime | None) -> str | None:
    """An ISO 8601 UTC time to the second (``...Z``)."""
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def check_accept_json() -> None:
    """406 when an Accept header is given that excludes application/json."""
    if flask.request.headers.get("Accept") and flask.request.accept_mimetypes.best_match(
            ["application/json"]) is None:
        raise errors.NotAcceptable("Only application/json is provided")


def absolute_url(path: str) -> str:
    """``path`` (starting with /) as an absolute URL of this service: under
    the ``public_url`` setting, else the request's (checked) Host."""
    public_url = settings().public_url
    if public_url:
        return public_url.rstrip("/") + path
    return flask.request.url_root.rstrip("/") + path


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> flask.Response:
    response = flask.Response(json.dumps(data), status=status,
                              mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def no_content() -> flask.Response:
    response = flask.Response(status=204)
    response.headers.pop("Content-Type", None)
    return response


def with_cache_headers(response: flask.Response,
                       timestamps: Iterable[datetime.datetime | None]) -> flask.Response:
    """From 1.15 GET responses carry last-modified and cache-control."""
    if microversion.is_at_least(15):
        stamps = [t for t in timestamps if t is not None]
        newest = max(stamps) if stamps else datetime.datetime.now(datetime.UTC)
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=datetime.UTC)
        response.last_modified = newest
        response.headers["Cache-Control"] = "no-cache"
    return response


def settings():
    """The Settings of the running app."""
    return flask.current_app.config["SETTINGS"]


def database():
    """The Database of the running app."""
    return flask.current_app.config["DATABASE"]


def snapshots():
    """The app's candidate snapshot cache (one per app, so per worker)."""
    return flask.current_app.extensions["snapshot_cache"]


def request_context() -> RequestContext:
    """The caller of this request, as services and the store record it."""
    caller = flask.g.get("context")
    return RequestContext(
        user_id=getattr(caller, "user_id", None),
        project_id=getattr(caller, "project_id", None),
        # Both ids are set by request_log for every request.
        request_id=flask.g.get("request_id", ""),
        global_request_id=flask.g.get("global_request_id"))
