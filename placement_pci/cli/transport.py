"""The one way the client commands talk to the service: ``Api``.

``remote`` sends JSON over HTTP with the standard library; ``in_process``
runs the same handlers in this process on the configured database (the
``--local`` flag).  Both answer (status, decoded body); ``Api.call`` turns
an unexpected status into a readable error.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import click

from placement_pci.cli import output
from placement_pci.cli.context import settings_from
from placement_pci.cli.output import TOKEN_ENV, URL_ENV

__all__ = ["TOKEN_ENV", "URL_ENV", "Api", "api_from", "in_process", "remote"]
API_VERSION_HEADER = {"OpenStack-API-Version": "placement 1.39"}

Send = Callable[[str, str, Any], tuple[int, Any]]


class Api:
    """Sends requests to the service; returns (status, JSON body)."""

    def __init__(self, send: Send) -> None:
        self.send = send

    def call(self, method: str, path: str, body: Any = None,
             expect: Iterable[int] = (200, 201, 204)) -> Any:
        status, document = self.send(method, path, body)
        if status not in tuple(expect):
            errors = (document or {}).get("errors") if isinstance(document, dict) \
                else None
            if errors:
                # As osc-placement: the last line of detail says what went wrong
                # (the first is what the status means).
                detail = "; ".join(
                    f"{last_line(e.get('detail'))} ({e.get('code', 'no code')})"
                    for e in errors)
            else:
                detail = json.dumps(document)
            raise click.ClickException(f"HTTP {status}: {detail}")
        return document


def last_line(detail: object) -> str:
    """The line of a Placement error detail that says what went wrong."""
    lines = str(detail or "").splitlines()
    return lines[-1] if lines else ""


def call_service(url: str, method: str, path: str, body: Any = None, *,
                 token: str | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 120) -> tuple[int, Any]:
    """Send ``body`` as JSON to ``url + path``; error statuses are returned,
    not raised, so callers can render Placement's error documents.  An
    unreachable service is a ClickException."""
    all_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if token:
        all_headers["X-Auth-Token"] = token
    request = urllib.request.Request(url.rstrip("/") + path, data=data,
                                     method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"errors": [{"detail": raw.decode(errors="replace")}]}
    except urllib.error.URLError as error:
        raise click.ClickException(f"cannot reach {url}: {error.reason}") from None


def remote(url: str, token: str | None) -> Api:
    """The service at ``url``."""
    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        return call_service(url, method, path, body, token=token,
                            headers=API_VERSION_HEADER)
    return Api(send)


def in_process(context: click.Context) -> Api:
    """The API handlers in this process, on the configured database
    (migrated first), with no authentication: the operator already holds
    the database credentials."""
    from placement_pci.app import create_app

    # WARNING: the request lines of a server would only clutter a command.
    settings = settings_from(context, auth_strategy="none", log_level="WARNING")
    client = create_app(settings).test_client()

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        response = client.open(path, method=method, json=body,
                               headers=API_VERSION_HEADER)
        return response.status_code, response.get_json(silent=True)
    return Api(send)


def api_from(context: click.Context) -> Api:
    """The service the global options name: ``--local`` or ``--url``."""
    chosen = output.options(context)
    if chosen.local:
        return in_process(context)
    if not chosen.url:
        raise click.UsageError(f"give --url (or {URL_ENV}) or --local")
    return remote(chosen.url, chosen.token)
