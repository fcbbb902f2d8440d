"""Drive every tests/gabbits/*.yaml file through gabbi, in process.

gabbi gives each YAML file its own random host name; the intercepted WSGI
app below keys on it, so every file gets a fresh app on a fresh database
(a SQLite file by default; PLACEMENT_PCI_GABBI_BACKEND=postgresql or mysql
runs the same files against a throwaway database on that server).  Tests
inside one file build on each other, so run this module without xdist
splitting files (``-p no:xdist`` or ``--dist loadfile``).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from gabbi import driver
from gabbi.driver import test_pytest  # noqa: F401 - gabbi's pytest entry point

from placement_pci.app import create_app
from placement_pci.settings import Settings
from tests import databases

GABBITS = Path(__file__).resolve().parents[1] / "gabbits"
BACKEND = os.environ.get("PLACEMENT_PCI_GABBI_BACKEND", "sqlite")


class _AppPerYamlFile:
    """A WSGI app that builds (once) a separate app per gabbi host name."""

    def __init__(self) -> None:
        self.apps: dict[str, object] = {}
        self.cleanups: list = []
        self.workdir = tempfile.mkdtemp(prefix="ppci-gabbi-")
        atexit.register(self.close)

    def _app_for(self, host: str):  # type: ignore[no-untyped-def]
        if host not in self.apps:
            url, drop = databases.create_database(BACKEND, self.workdir)
            self.cleanups.append(drop)
            database = databases.migrated_database(url)
            self.cleanups.append(database.dispose)
            self.apps[host] = create_app(Settings(database_url=url), database=database,
                                         migrate=False)
        return self.apps[host]

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        host = environ.get("HTTP_HOST", "").split(":")[0]
        return self._app_for(host)(environ, start_response)

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


_DISPATCHER = _AppPerYamlFile()


def pytest_generate_tests(metafunc):  # type: ignore[no-untyped-def]
    driver.py_test_generator(
        str(GABBITS), intercept=lambda: _DISPATCHER, test_loader_name=__name__,
        metafunc=metafunc, fixture_module=None)
