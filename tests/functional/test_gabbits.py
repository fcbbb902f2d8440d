"""Drive every tests/gabbits/*.yaml file through gabbi, in process.

Each YAML file is one pytest test: its gabbi tests build on each other, so
they run in order, in one process, against a fresh app on a fresh database
(SQLite by default; PLACEMENT_PCI_GABBI_BACKEND=postgresql or mysql runs
the same files against a throwaway database on that server).  Running a
file as a unit keeps this safe under pytest-xdist, which would otherwise
split a file's dependent steps across workers.  A failure reports every
failing gabbi step with gabbi's own message.  Every answer is also checked
against the OpenAPI document (tests/contract.py).
"""
from __future__ import annotations

import io
import os
import unittest
from pathlib import Path

import pytest
from gabbi import handlers, suitemaker, utils

from placement_pci.app import create_app
from placement_pci.settings import Settings
from tests import databases
from tests.contract import check_responses

GABBITS = Path(__file__).resolve().parents[1] / "gabbits"
BACKEND = os.environ.get("PLACEMENT_PCI_GABBI_BACKEND", "sqlite")
YAML_FILES = sorted(GABBITS.glob("*.yaml"))


def _response_handlers() -> list:
    return [handler() for handler in handlers.RESPONSE_HANDLERS]


@pytest.mark.parametrize("yaml_file", YAML_FILES, ids=[f.stem for f in YAML_FILES])
def test_gabbi_file(yaml_file: Path, tmp_path) -> None:
    url, drop = databases.create_database_for_test(BACKEND, str(tmp_path))
    database = databases.migrated_database(url)
    try:
        app = create_app(Settings(database_url=url), database=database, migrate=False)
        # Every answer is checked against the OpenAPI document as it is made.
        check_responses(app)
        with yaml_file.open(encoding="utf-8") as handle:
            suite_dict = utils.load_yaml(handle)
        suite = suitemaker.test_suite_from_dict(
            unittest.defaultTestLoader, yaml_file.stem.replace("-", "_"), suite_dict,
            str(GABBITS), f"{yaml_file.stem}.gabbi", 8001, None, lambda: app,
            handlers=_response_handlers())
        output = io.StringIO()
        result = unittest.TextTestRunner(stream=output, verbosity=2).run(suite)
    finally:
        database.dispose()
        drop()
    problems = result.failures + result.errors
    assert result.testsRun > 0, f"{yaml_file.name} ran no gabbi test"
    assert not problems, "\n\n".join(
        f"{test.id()}\n{trace}" for test, trace in problems)
