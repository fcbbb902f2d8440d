"""The OpenAPI 3 document of the running API, built from the app's routes.

Every route registered on the app appears with its methods, path
parameters and the summary/description from the handler's docstring, so
the document cannot drift from what is implemented.  ``api-ref/openapi.json``
is this document committed (a test checks they are equal).
"""
from __future__ import annotations

import inspect
import re

import flask
from apispec import APISpec

from placement_pci import __version__
from placement_pci.http import microversion

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
IGNORED_METHODS = {"HEAD", "OPTIONS"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "items": {
        "type": "object",
        "properties": {
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "from microversion 1.23"},
            "request_id": {"type": "string"},
        }}}},
}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def build_document(app: flask.Flask) -> dict:
    spec = APISpec(
        title="placement_pci",
        version=__version__,
        openapi_version="3.0.3",
        info={"description": (
            "OpenStack Placement API (microversions "
            f"{microversion.MIN_VERSION} to {microversion.MAX_VERSION}, chosen "
            "with the OpenStack-API-Version header) plus placement_pci's PCI "
            "device model under /pci. Errors use Placement's JSON error format.")},
    )
    spec.components.schema("Error", ERROR_SCHEMA)
    operations: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        doc = inspect.getdoc(view) or ""
        summary, _, description = doc.partition("\n")
        path = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            operation: dict = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": summary.strip() or rule.endpoint,
                "tags": [rule.endpoint.split(".")[0]],
                "parameters": [
                    {"name": name, "in": "path", "required": True,
                     "schema": {"type": "string"}}
                    for name in sorted(rule.arguments)],
                "responses": {
                    "default": {"description": "Placement JSON error",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "2XX": {"description": "success"},
                },
            }
            if description.strip():
                operation["description"] = description.strip()
            operations.setdefault(path, {})[method.lower()] = operation
    for path, methods in operations.items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()
