"""Schemathesis fuzzes every operation of the served OpenAPI document.

Requests are generated from the document itself (bodies from the same
schemas the service validates with, query parameters, path parameters)
and sent in process to a fresh app on SQLite as the noauth2 admin at the
newest microversion.  Any 5xx fails, and so does any answer whose status,
media type or body the document does not describe (schemathesis' checks,
and tests/contract.py's check installed on every test app).  Bounded:
FUZZ_EXAMPLES examples per operation (64 operations: about 5,000
requests).
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from placement_pci.app import create_app
from placement_pci.http import microversion
from placement_pci.settings import Settings
from tests.conftest import make_app

FUZZ_EXAMPLES = int(os.environ.get("PLACEMENT_PCI_FUZZ_EXAMPLES", "30"))
HEADERS = {"X-Auth-Token": "admin",
           "OpenStack-API-Version": f"placement {microversion.MAX_VERSION}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


class CurrentApp:
    """The WSGI app schemathesis calls: each test case's fresh app."""

    def __init__(self) -> None:
        # The document is read once, from an app on a private in-memory
        # database (the document does not depend on the data).
        self.app = create_app(Settings(database_url="sqlite://"))

        # Status class -> requests answered (printed at the end with -s).
        self.answered: Counter[str] = Counter()

    def __call__(self, environ, start_response):
        def counted(status, headers, exc_info=None):
            self.answered[f"{status[0]}xx"] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)


CURRENT = CurrentApp()
schema = schemathesis.openapi.from_wsgi("/openapi.json", CURRENT)


@pytest.fixture(scope="module", autouse=True)
def _report_requests():
    yield
    print(f"\nschemathesis: {sum(CURRENT.answered.values())} requests answered "
          f"{dict(sorted(CURRENT.answered.items()))}")


@pytest.fixture
def fresh_app(sqlite_database):
    """A fresh app on an emptied SQLite database for every operation."""
    CURRENT.app = make_app(sqlite_database)
    return CURRENT.app


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(fresh_app, case):
    case.call_and_validate(headers=HEADERS, checks=CHECKS)
