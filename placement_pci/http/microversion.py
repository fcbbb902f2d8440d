"""Microversion negotiation: the ``OpenStack-API-Version`` header.

The version of the current request lives on ``flask.g.microversion``;
handlers ask ``is_at_least(N)`` for the minor version they depend on.
"""
from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import NamedTuple

import flask
import microversion_parse

from placement_pci import errors

SERVICE_TYPE = "placement"
HEADER = "OpenStack-API-Version"


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN_VERSION = Version(1, 0)
MAX_VERSION = Version(1, 39)


def parse_request_version(headers: Iterable[tuple[str, str]] | MutableMapping[str, str]
                          ) -> Version:
    """The requested version; raises NotAcceptable / BadRequest."""
    try:
        text = microversion_parse.get_version(headers, service_type=SERVICE_TYPE)
    except ValueError as error:
        raise errors.BadRequest(f"invalid version header: {error}") from None
    if text is None:
        return MIN_VERSION
    if text.strip().lower() == "latest":
        return MAX_VERSION
    try:
        major_text, minor_text = text.strip().split(".")
        if not (major_text.isdigit() and minor_text.isdigit()):
            raise ValueError(text)
        version = Version(int(major_text), int(minor_text))
    except ValueError:
        raise errors.BadRequest(
            f"invalid version string: {text}",
        ) from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise errors.NotAcceptable(f"Unacceptable version header: {text}")
    return version


def current() -> Version:
    return flask.g.get("microversion", MIN_VERSION)


def is_at_least(minor: int) -> bool:
    return current() >= Version(1, minor)


def require(minor: int) -> None:
    """Routes that do not exist before 1.minor answer 404, as upstream."""
    if not is_at_least(minor):
        raise errors.NotFound("The resource could not be found.")


def response_headers(version: Version) -> dict[str, str]:
    return {HEADER: f"{SERVICE_TYPE} {version}", "Vary": HEADER.lower()}
