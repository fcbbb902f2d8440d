"""A real headless Chromium (Debian's package) driven by Playwright, and the
service running on a real socket for it.

Chromium comes from the distribution: when /usr/bin/chromium is missing
and we run as root (CI does) the session installs it with apt-get, once,
under a lock shared by the xdist workers; otherwise the tests fail saying
how to install it.  Playwright never downloads a browser of its own.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-driver")
INSTALL_LOCK = Path("/tmp/placement-pci-chromium-install.lock")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _install_chromium() -> None:
    if os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is missing and the tests do not run as root: install it "
                    f"with `apt-get install -y {' '.join(PACKAGES)}`", pytrace=False)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` failed:\n{done.stdout}\n{done.stderr}",
                        pytrace=False)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The distribution's Chromium, installed first if it is missing."""
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
            _install_chromium()
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is still missing after installing {PACKAGES}",
                    pytrace=False)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path,
                                              args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def browser_app(sqlite_database):
    """The app the browser talks to (one backend is enough for a page)."""
    return make_app(sqlite_database)


@pytest.fixture
def served_app(browser_app):
    """The app on a real socket (127.0.0.1, a free port): its base URL."""
    server = make_server("127.0.0.1", 0, browser_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
