"""A small Placement REST client for the benchmark: one requests.Session
per thread, noauth2 token, a fixed microversion, and errors that say which
request failed and what the service answered."""
from __future__ import annotations

import threading
import time
from typing import Any

import requests

DEFAULT_MICROVERSION = "1.39"
DEFAULT_TOKEN = "admin"
# Connection-level failures (a worker restarting, a full accept queue) are
# retried; an HTTP error answer never is, it is reported.
CONNECT_RETRIES = 3


class PlacementError(Exception):
    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status


class PlacementClient:
    def __init__(self, base_url: str, *, token: str = DEFAULT_TOKEN,
                 microversion: str = DEFAULT_MICROVERSION,
                 timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {
            "X-Auth-Token": token,
            "OpenStack-API-Version": f"placement {microversion}",
            "Accept": "application/json",
        }
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            self._local.session = session
        return session

    def request(self, method: str, path: str, *, json: Any = None,
                expected: tuple[int, ...] = (200,),
                timeout: float | None = None) -> requests.Response:
        url = self.base_url + path
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                response = self.session.request(
                    method, url, json=json,
                    timeout=self.timeout if timeout is None else timeout)
                break
            except requests.ConnectionError:
                if attempt == CONNECT_RETRIES:
                    raise
                time.sleep(0.5 * (attempt + 1))
        if response.status_code not in expected:
            raise PlacementError(method, path, response.status_code,
                                 response.text)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)
