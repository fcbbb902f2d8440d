"""The one way the CLI talks to a running service: a JSON request over
HTTP with the standard library, answering (status, decoded body)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click


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
