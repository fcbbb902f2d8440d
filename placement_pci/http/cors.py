"""CORS, answered the way Placement's oslo.middleware CORS filter does.

Off unless ``cors_allowed_origin`` lists an origin (``*`` allows any).
When on, it wraps every response, outside authentication and routing:

- an OPTIONS request always gets 200 with an empty body (Placement
  routes no OPTIONS, so without this it would be 401/404/405); when it is
  a preflight from an allowed origin asking for an allowed method and
  allowed headers, it also carries Access-Control-Allow-Origin, -Methods,
  -Headers, -Credentials and -Max-Age;
- any other request from an allowed origin gets Access-Control-Allow-Origin,
  -Credentials and -Expose-Headers, and ``Vary: Origin``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import flask

from placement_pci.settings import Settings

# Headers a browser may always send; preflights need not list them.
SIMPLE_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Cache-Control",
                  "Content-Language", "Expires", "Last-Modified", "Pragma")
ANY_ORIGIN = "*"


@dataclass(frozen=True)
class CorsPolicy:
    allowed_origins: tuple[str, ...]
    allow_credentials: bool
    expose_headers: tuple[str, ...]
    max_age: int
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> CorsPolicy | None:
        """The settings' CORS policy, None when no origin is allowed."""
        origins = _as_tuple(settings.cors_allowed_origin)
        if not origins:
            return None
        return cls(allowed_origins=origins,
                   allow_credentials=settings.cors_allow_credentials,
                   expose_headers=_as_tuple(settings.cors_expose_headers),
                   max_age=settings.cors_max_age,
                   allow_methods=_as_tuple(settings.cors_allow_methods),
                   allow_headers=_as_tuple(settings.cors_allow_headers))

    def allowed_origin(self, origin: str | None) -> str | None:
        """The origin to echo back (``*`` when only the wildcard allows
        it), None when the origin is not allowed."""
        if origin is None:
            return None
        if origin in self.allowed_origins:
            return origin
        return ANY_ORIGIN if ANY_ORIGIN in self.allowed_origins else None

    def preflight_headers(self, origin: str | None, method: str | None,
                          requested_headers: list[str]) -> dict[str, str]:
        """Headers granting a preflight; empty when it is refused."""
        echoed = self.allowed_origin(origin)
        if echoed is None or method is None or method not in self.allow_methods:
            return {}
        permitted = {h.upper() for h in (*self.allow_headers, *SIMPLE_HEADERS)}
        if any(h.upper() not in permitted for h in requested_headers):
            return {}
        headers = {"Vary": "Origin", "Access-Control-Allow-Origin": echoed,
                   "Access-Control-Allow-Methods": method}
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.max_age:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        if requested_headers:
            headers["Access-Control-Allow-Headers"] = ",".join(requested_headers)
        return headers

    def actual_request_headers(self, origin: str | None) -> dict[str, str]:
        """Headers for a non-preflight response; empty for other origins."""
        echoed = self.allowed_origin(origin)
        if echoed is None:
            return {}
        headers = {"Access-Control-Allow-Origin": echoed}
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return headers


def install(app: flask.Flask, settings: Settings) -> None:
    """Register the CORS after_request hook when CORS is configured.
    Register it before the app's other after_request hooks: Flask runs
    them in reverse, so this one sees the final response."""
    cors_policy = CorsPolicy.from_settings(settings)
    if cors_policy is None:
        return

    def apply_cors(response: flask.Response) -> flask.Response:
        return decorate(cors_policy, flask.request, response)

    app.after_request(apply_cors)


def decorate(cors_policy: CorsPolicy, request: flask.Request,
             response: flask.Response) -> flask.Response:
    """``response`` with the CORS answer for ``request``."""
    if "Access-Control-Allow-Origin" in response.headers:
        return response
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        if not 200 <= response.status_code < 300:
            response.status_code = 200
            response.set_data(b"")
            response.headers.pop("Content-Type", None)
        requested = [h.strip() for h in
                     request.headers.get("Access-Control-Request-Headers", "").split(",")
                     if h.strip()]
        response.headers.update(cors_policy.preflight_headers(
            origin, request.headers.get("Access-Control-Request-Method"), requested))
        return response
    headers = cors_policy.actual_request_headers(origin)
    if headers:
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary},Origin" if vary else "Origin"
        response.headers.update(headers)
    return response


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    # Settings built in code may pass a list or a comma-separated string.
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return tuple(value)
