"""Domain errors: what went wrong, independent of HTTP.

Every error carries the HTTP status it maps to and a Placement error code so
the HTTP edge can render it in Placement's JSON error format without
knowing the domain.  Domain and pure code raise these; nothing else is
allowed to escape as a 500.
"""
from __future__ import annotations


class PlacementError(Exception):
    """Base class: an error the API reports to its caller."""

    status = 400
    code = "placement.undefined_code"

    def __init__(self, detail: str, *, code: str | None = None,
                 status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(PlacementError):
    status = 400


class Unauthorized(PlacementError):
    status = 401


class Forbidden(PlacementError):
    status = 403


class NotFound(PlacementError):
    status = 404


class MethodNotAllowed(PlacementError):
    status = 405


class NotAcceptable(PlacementError):
    status = 406


class Conflict(PlacementError):
    status = 409


class PayloadTooLarge(PlacementError):
    status = 413


class UnsupportedMediaType(PlacementError):
    status = 415


class ServiceUnavailable(PlacementError):
    status = 503


# Placement's error codes, named once so handlers and tests agree.
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
INVENTORY_INUSE = "placement.inventory.inuse"
PROVIDER_INUSE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERY_DUPLICATE_KEY = "placement.query.duplicate_key"
QUERY_BAD_VALUE = "placement.query.bad_value"
QUERY_MISSING_VALUE = "placement.query.missing_value"
UNDEFINED_CODE = "placement.undefined_code"
DATABASE_UNAVAILABLE = "placement_pci.database_unavailable"
