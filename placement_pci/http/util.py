"""Helpers every handler uses: JSON bodies, query strings, UUIDs, responses."""
from __future__ import annotations

import datetime
import json
import uuid as uuid_module
from collections.abc import Iterable
from typing import Any

import flask
import marshmallow

from placement_pci import errors
from placement_pci.context import RequestContext, global_request_id_from
from placement_pci.http import microversion

# Inbound, this header carries the caller's global request id (oslo's
# convention); outbound it is our own request id.
REQUEST_ID_HEADER = "X-OpenStack-Request-ID"


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
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.BadRequest(f"Malformed JSON: {error}") from None


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
    try:
        return str(uuid_module.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise errors.BadRequest(f"Malformed {what}: {value!r} is not a valid UUID.") from None


def is_uuid_like(value: object) -> bool:
    try:
        uuid_module.UUID(str(value))
        return True
    except ValueError:
        return False


def check_accept_json() -> None:
    """406 when an Accept header is given that excludes application/json."""
    if flask.request.headers.get("Accept") and flask.request.accept_mimetypes.best_match(
            ["application/json"]) is None:
        raise errors.NotAcceptable("Only application/json is provided")


def absolute_url(path: str) -> str:
    """``path`` (starting with /) as an absolute URL of this service."""
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
        request_id=flask.g.get("request_id", ""),
        global_request_id=global_request_id_from(
            flask.request.headers.get(REQUEST_ID_HEADER)))
