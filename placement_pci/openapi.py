"""The OpenAPI 3 document of the running API, built from the app's routes.

Every route registered on the app appears with its methods, path
parameters, the summary/description from the handler's docstring, and what
its ``@routes.route`` declaration states: the query and body schemas the
service validates with (turned into JSON Schema by apispec's marshmallow
plugin and the fields' own ``json_schema``), the answers per status, the
policy (public routes need no token).  So the document cannot drift from
what is implemented; ``api-ref/openapi.json`` is this document committed
(a test checks they are equal) and the test suite checks every answer it
receives against it.

The document describes the newest microversion; an operation whose body
differs at older ones lists them all under ``x-microversions``.
"""
from __future__ import annotations

import copy
import inspect
import re
from http import HTTPStatus
from typing import Any

import flask
import marshmallow
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from marshmallow import fields

from placement_pci import __version__
from placement_pci.http import microversion, routes
from placement_pci.schemas import base, responses

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
DOCUMENT_KEY = "openapi_document"

MICROVERSION_HEADER = "OpenStack-API-Version"
MICROVERSION_PARAMETER = {
    "name": MICROVERSION_HEADER, "in": "header", "required": False,
    "description": (
        f"`placement 1.N` or `placement latest` ({microversion.MIN_VERSION} to "
        f"{microversion.MAX_VERSION}; {microversion.MIN_VERSION} when absent). "
        "The answer repeats it, with `Vary: OpenStack-API-Version`."),
    "schema": {"type": "string", "pattern": r"^placement (latest|1\.[0-9]+)$",
               "example": f"placement {microversion.MAX_VERSION}"},
}
SECURITY_SCHEME = {
    "type": "apiKey", "in": "header", "name": "X-Auth-Token",
    "description": ("A Keystone token; under `auth_strategy = noauth2` "
                    "`user[:project]` (`admin` is an administrator)."),
}
# Error answers every operation may give, and the ones that depend on what
# it declares (the "default" answer covers any other status).
ALWAYS = (400, 404, 406)
AUTHENTICATED = (401, 403)
WRITING = (409,)
WITH_BODY = (413, 415)
WRITE_METHODS = {"PUT", "POST", "DELETE", "PATCH"}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def build_document(app: flask.Flask) -> dict:
    """The document of ``app`` (built once per app: routes do not change)."""
    document = app.extensions.get(DOCUMENT_KEY)
    if document is None:
        document = _Builder(app).build()
        app.extensions[DOCUMENT_KEY] = document
    return copy.deepcopy(document)


def _json_field(converter: Any, field: fields.Field, **kwargs: Any) -> dict:
    """apispec attribute function: our fields describe themselves."""
    if isinstance(field, base.JsonField):
        return field.json_schema(converter.resolve_nested_schema)
    return {}


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


class _Builder:
    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self.plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
        self.spec = APISpec(
            title="placement_pci",
            version=__version__,
            openapi_version="3.0.3",
            plugins=[self.plugin],
            info={"description": (
                "OpenStack Placement API (microversions "
                f"{microversion.MIN_VERSION} to {microversion.MAX_VERSION}, chosen "
                f"with the {MICROVERSION_HEADER} header) plus placement_pci's PCI "
                "device model under /pci. Errors use Placement's JSON error format. "
                "Schemas describe the newest microversion; request bodies of older "
                "ones are listed under x-microversions.")},
            security=[{"token": []}],
        )
        self.converter.add_attribute_function(_json_field)
        self.answers: set[str] = set()

    @property
    def converter(self) -> OpenAPIConverter:
        """The plugin's converter (set once the plugin is initialised)."""
        converter = self.plugin.converter
        if converter is None:
            raise RuntimeError("apispec's marshmallow plugin is not initialised")
        return converter

    # --- components ---------------------------------------------------------

    def _components(self) -> None:
        self.spec.components.security_scheme("token", SECURITY_SCHEME)
        self.spec.components.parameter("microversion", "header", MICROVERSION_PARAMETER)
        self._answer_schema(responses.ERROR)
        for status in (*ALWAYS, *AUTHENTICATED, *WRITING, *WITH_BODY):
            self.spec.components.response(_error_name(status), {
                "description": HTTPStatus(status).phrase,
                "content": self._content(responses.ERROR)})
        self.spec.components.response("Error", {
            "description": "Any other error", "content": self._content(responses.ERROR)})

    def _answer_schema(self, answer: responses.Answer) -> dict:
        if answer.name not in self.answers:
            self.answers.add(answer.name)
            self.spec.components.schema(answer.name, copy.deepcopy(answer.schema))
        return {"$ref": f"#/components/schemas/{answer.name}"}

    def _content(self, answer: responses.Answer) -> dict:
        content = {answer.media_type: {"schema": self._answer_schema(answer)}}
        for media_type in answer.alternatives:
            content[media_type] = {"schema": {"type": "string"}}
        return content

    # --- schemas ------------------------------------------------------------

    def _describe(self, schema: routes.SchemaLike) -> dict:
        resolve = self.converter.resolve_nested_schema
        if isinstance(schema, base.JsonField):
            return schema.json_schema(resolve)
        return resolve(schema)

    def _query_parameters(self, declared: routes.Route) -> list[dict]:
        schema = declared.query_schema(microversion.MAX_VERSION.minor)
        if schema is None:
            return []
        assert isinstance(schema, type) and issubclass(schema, marshmallow.Schema)
        parameters = []
        for name, field in sorted(schema._declared_fields.items()):
            assert isinstance(field, base.JsonField), (declared.path, name)
            described = field.json_schema(self.converter.resolve_nested_schema)
            parameter = {"name": field.data_key or name, "in": "query",
                         "required": bool(field.required), "schema": described}
            description = field.metadata.get("description")
            if description:
                parameter["description"] = description
            parameters.append(parameter)
        return parameters

    def _request_body(self, declared: routes.Route) -> dict | None:
        """The body at the newest microversion (None: it takes none)."""
        current = routes.schema_at(declared.body, microversion.MAX_VERSION.minor)
        if current is None:
            return None
        return {"required": declared.body_required,
                "content": {"application/json": {"schema": self._describe(current)}}}

    def _older_bodies(self, declared: routes.Route) -> list[dict] | None:
        """Every microversion's body, when they differ."""
        if len(declared.body) < 2:
            return None
        return [{"since": f"1.{since}",
                 "schema": None if schema is None else self._describe(schema)}
                for since, schema in sorted(declared.body.items())]

    def _responses(self, declared: routes.Route | None, method: str) -> dict:
        answers: dict[str, Any] = {}
        for status, answer in sorted((declared.responses if declared else {}).items()):
            entry: dict[str, Any] = {"description": HTTPStatus(status).phrase}
            if answer is not None:
                entry["description"] = answer.description
                entry["content"] = self._content(answer)
            answers[str(status)] = entry
        if not answers:
            answers["2XX"] = {"description": "success (not documented yet)"}
        errors = list(ALWAYS)
        if declared is None or not declared.is_public:
            errors += AUTHENTICATED
        if method in WRITE_METHODS:
            errors += WRITING
        if declared is not None and declared.body:
            errors += WITH_BODY
        for status in sorted(errors):
            answers.setdefault(str(status), _error_name(status))
        answers["default"] = "Error"
        return answers

    # --- operations ---------------------------------------------------------

    def _operation(self, rule: Any, method: str) -> dict:
        view = self.app.view_functions[rule.endpoint]
        declared = routes.declared(self.app, rule.endpoint)
        doc = inspect.getdoc(view) or ""
        summary, _, description = doc.partition("\n")
        operation: dict[str, Any] = {
            "operationId": f"{rule.endpoint}.{method.lower()}",
            "summary": summary.strip() or rule.endpoint,
            "tags": [rule.endpoint.split(".")[0]],
            "parameters": [
                {"name": name, "in": "path", "required": True,
                 "schema": {"type": "string"}}
                for name in sorted(rule.arguments)],
        }
        # apispec turns a component's name into its $ref.
        operation["parameters"].append("microversion")
        if declared is not None:
            operation["parameters"] += self._query_parameters(declared)
            body = self._request_body(declared)
            if body:
                operation["requestBody"] = body
            older = self._older_bodies(declared)
            if older:
                operation["x-microversions"] = older
            if declared.is_public:
                operation["security"] = []
        operation["responses"] = self._responses(declared, method)
        if description.strip():
            operation["description"] = description.strip()
        return operation

    def build(self) -> dict:
        self._components()
        operations: dict[str, dict] = {}
        for rule in sorted(self.app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint == "static":
                continue
            path = openapi_path(rule.rule)
            for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                operations.setdefault(path, {})[method.lower()] = self._operation(
                    rule, method)
        for path, methods in operations.items():
            self.spec.path(path=path, operations=methods)
        return self.spec.to_dict()


def _error_name(status: int) -> str:
    return HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
