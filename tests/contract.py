"""Every answer the tests receive is checked against the OpenAPI document.

``check_responses(app)`` wraps the app's WSGI callable: each answer is
matched to its operation (path template and method), its status to a
documented answer (the exact status, else ``default``), and its JSON body
to that answer's schema with an OpenAPI 3.0 validator.  A mismatch raises
``ContractViolation`` in the request that got it, so the test that made
the request fails and says what differs.  The functional tests' app
fixture and the gabbi runner both install it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import flask
import werkzeug.exceptions
from openapi_schema_validator import OAS30Validator

from placement_pci.openapi import build_document, openapi_path


class ContractViolation(AssertionError):
    """An answer the OpenAPI document does not describe."""


class ResponseChecker:
    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self.document = build_document(app)
        self.validators: dict[str, OAS30Validator] = {}
        self.checked = 0

    def _validator(self, schema: dict) -> OAS30Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            # The components travel with the schema so its $refs resolve.
            root = {"allOf": [schema], "components": self.document["components"]}
            self.validators[key] = OAS30Validator(root)
        return self.validators[key]

    def _resolve(self, item: dict) -> dict:
        while "$ref" in item:
            _, section, kind, name = item["$ref"].split("/")
            item = self.document[section][kind][name]
        return item

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        adapter = self.app.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except werkzeug.exceptions.HTTPException:
            return None  # no route: the answer is an error, checked as "default"
        template = openapi_path(rule.rule)
        method_key = "get" if method == "HEAD" else method.lower()
        return template, self.document["paths"][template][method_key]

    def check(self, method: str, path: str, status: int, content_type: str,
              body: bytes) -> None:
        if method == "OPTIONS":
            return  # CORS preflights: answered by the CORS layer, not an operation
        found = self.operation(method, path)
        where = f"{method} {path} -> {status}"
        if found is None:
            answers = {"default": {"$ref": "#/components/responses/Error"}}
        else:
            answers = found[1]["responses"]
        if str(status) not in answers and f"{str(status)[0]}XX" in answers:
            # A route that declares no answers yet: test_openapi names it.
            return
        answer = answers.get(str(status)) or answers.get("default")
        if answer is None:
            raise ContractViolation(f"{where}: status not documented")
        answer = self._resolve(answer)
        content = answer.get("content")
        if not body or method == "HEAD":
            if content and status != 204 and method != "HEAD":
                raise ContractViolation(f"{where}: documented with a body, got none")
            return
        if not content:
            raise ContractViolation(f"{where}: documented without a body, got {body[:200]!r}")
        media_type = content_type.split(";")[0].strip()
        if media_type not in content:
            raise ContractViolation(
                f"{where}: media type {media_type!r} not documented ({sorted(content)})")
        if media_type != "application/json":
            return
        document = json.loads(body)
        errors = sorted(self._validator(content[media_type]["schema"]).iter_errors(document),
                        key=lambda e: list(e.absolute_path))
        if errors:
            shown = "\n".join(f"  at {list(e.absolute_path)}: {e.message}" for e in errors[:5])
            raise ContractViolation(f"{where}: answer violates the document:\n{shown}")
        self.checked += 1


def check_responses(app: flask.Flask) -> ResponseChecker:
    """Validate every answer of ``app`` against its OpenAPI document."""
    checker = ResponseChecker(app)
    wsgi_app = app.wsgi_app

    def checked_app(environ: dict, start_response: Any) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = wsgi_app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = dict((k.lower(), v) for k, v in captured["headers"])
        checker.check(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"),
                      int(captured["status"].split()[0]), headers.get("content-type", ""),
                      body)
        return [body]

    app.wsgi_app = checked_app  # type: ignore[method-assign]
    app.extensions["response_checker"] = checker
    return checker
