"""Render every error, ours or Werkzeug's, in Placement's JSON format:
``{"errors": [{"status", "title", "detail", "code", "request_id"}]}``.

``detail`` has Placement's layout: what the status means, a blank line,
then what went wrong on one line.  Clients such as osc-placement show only
the last line of ``detail``, so a multi-line message (jsonschema's wording
of a body that does not validate: the reason, a blank line, which keyword
failed where) is joined onto that line and nothing of it is lost.
"""
from __future__ import annotations

import html
import json
import logging
import re
from http import HTTPStatus

import flask
import werkzeug.exceptions

from placement_pci import errors
from placement_pci.http import microversion

LOG = logging.getLogger(__name__)


# What each status means: the first line of every error's detail.
EXPLANATIONS = {
    400: "The request is malformed or otherwise incorrect.",
    401: "This resource requires authentication.",
    403: "Access to this resource is denied.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    406: "The resource cannot answer in a form the request accepts.",
    409: "The request conflicts with the current state of the resource.",
    413: "The request body is too large.",
    415: "The request body's media type is not supported.",
    500: "The server met an unexpected condition.",
    503: "The service is unavailable.",
}
_LINE_BREAKS = re.compile(r"\s*\n\s*")


def laid_out(status: int, detail: str) -> str:
    """``detail`` in Placement's layout (see the module docstring)."""
    explanation = EXPLANATIONS.get(status) or f"{HTTPStatus(status).description}."
    message = _LINE_BREAKS.sub(" ", detail).strip()
    if not message or message == explanation:
        return explanation
    return f"{explanation}\n\n{message}"


def error_response(status: int, detail: str, code: str = errors.UNDEFINED_CODE,
                   headers: dict[str, str] | None = None) -> flask.Response:
    entry: dict[str, object] = {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "detail": laid_out(status, detail),
        "request_id": flask.g.get("request_id", ""),
    }
    if microversion.is_at_least(23):
        entry["code"] = code
    # Metrics tell conflicts apart by code, at every microversion.
    flask.g.error_code = code
    response = _render(entry)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _render(entry: dict) -> flask.Response:
    """JSON unless the client's Accept header rules it out (as webob does
    for Placement, browsers asking for HTML get a small HTML page)."""
    accept = flask.request.accept_mimetypes
    if not flask.request.headers.get("Accept") or accept.accept_json:
        return flask.Response(json.dumps({"errors": [entry]}),
                              status=entry["status"], mimetype="application/json")
    title = html.escape(str(entry["title"]))
    detail = html.escape(str(entry["detail"]))
    if accept.accept_html:
        body = (f"<html><head><title>{entry['status']} {title}</title></head>"
                f"<body><h1>{entry['status']} {title}</h1>{detail}</body></html>")
        return flask.Response(body, status=entry["status"], mimetype="text/html")
    return flask.Response(f"{entry['status']} {entry['title']}\n\n{entry['detail']}",
                          status=entry["status"], mimetype="text/plain")


def register(app: flask.Flask) -> None:
    @app.errorhandler(errors.PlacementError)
    def _placement_error(error: errors.PlacementError) -> flask.Response:
        return error_response(error.status, error.detail, error.code, error.headers)

    @app.errorhandler(werkzeug.exceptions.HTTPException)
    def _http_error(error: werkzeug.exceptions.HTTPException) -> flask.Response:
        headers = {}
        if isinstance(error, werkzeug.exceptions.MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(set(error.valid_methods) - {"HEAD", "OPTIONS"}))
        detail = error.description or HTTPStatus(error.code or 500).phrase
        if isinstance(error, werkzeug.exceptions.NotFound):
            detail = "The resource could not be found."
        elif isinstance(error, werkzeug.exceptions.MethodNotAllowed):
            detail = f"The method {flask.request.method} is not allowed for this resource."
        return error_response(error.code or 500, detail, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> flask.Response:
        LOG.exception("unexpected error serving %s %s", flask.request.method,
                      flask.request.path)
        return error_response(500, "An unexpected error occurred.")
