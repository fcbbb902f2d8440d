"""``placement_pci.wsgi:application`` (uWSGI, mod_wsgi) follows the rule of
``placement-pci serve``: it migrates the embedded SQLite database and
refuses to load on a PostgreSQL or MariaDB schema behind the code's.
Each case imports the module in a fresh interpreter, as a WSGI server
would."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests import databases

# Load the module, then answer one request through it.
LOAD_AND_ASK = """
from werkzeug.test import Client
from placement_pci.wsgi import application
response = Client(application).get("/resource_providers",
                                    headers={"X-Auth-Token": "admin"})
print(response.status_code, response.get_data(as_text=True))
"""


def _load(url: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PLACEMENT_PCI_DATABASE_URL": url,
                   "PLACEMENT_PCI_LOG_LEVEL": "WARNING"}
    environment.pop("PLACEMENT_PCI_CONFIG", None)
    return subprocess.run([sys.executable, "-c", LOAD_AND_ASK], env=environment,
                          capture_output=True, text=True, timeout=120)


def test_loading_migrates_an_embedded_sqlite_database(tmp_path):
    result = _load(f"sqlite:///{tmp_path / 'wsgi.sqlite'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('200 {"resource_providers": []}')


@pytest.mark.parametrize("server_backend", ["postgresql", "mysql"])
def test_loading_refuses_a_server_schema_behind_the_code(tmp_path, server_backend):
    url, drop = databases.create_database_for_test(server_backend, str(tmp_path))
    try:
        result = _load(url)
        assert result.returncode != 0
        assert "SchemaBehind" in result.stderr
        assert "schema is at empty" in result.stderr
        assert "placement-pci db upgrade" in result.stderr
    finally:
        drop()
