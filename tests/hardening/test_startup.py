"""What ``placement-pci serve`` refuses, and what it warns about, at start."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from placement_pci.http import auth
from placement_pci.settings import Settings
from tests.serving import Server, free_port

PLACEMENT_PCI = str(Path(sys.executable).with_name("placement-pci"))


def _serve(tmp_path, *args, env=None) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin",
                   "PLACEMENT_PCI_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
                   **(env or {})}
    return subprocess.run([PLACEMENT_PCI, *args], env=environment, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("setting,value", [
    ("AUTH_STRATEGY", "keystne"),
    ("AUTH_STRATEGY", "keystone_authtoken"),
    ("WORKER_CLASS", "sync"),
    ("ALLOCATION_CANDIDATES_GENERATION_STRATEGY", "random"),
    ("LOG_LEVEL", "LOUD"),
])
def test_unknown_enum_values_refuse_to_start_with_one_line(tmp_path, setting, value):
    result = _serve(tmp_path, "serve", "--bind", f"127.0.0.1:{free_port()}",
                    env={f"PLACEMENT_PCI_{setting}": value})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: setting '{setting.lower()}' must be one of ")
    assert repr(value) in result.stderr


def test_keystone_without_its_section_refuses_to_start(tmp_path):
    ini = tmp_path / "placement.ini"
    ini.write_text("[placement_pci]\nauth_strategy = keystone\n")
    result = _serve(tmp_path, "--config", str(ini), "serve",
                    "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "[keystone_authtoken]" in result.stderr


def test_noauth2_beyond_loopback_warns_loudly(tmp_path, sqlite_database):
    url = sqlite_database.url.render_as_string(hide_password=False)
    # Listening on every address; the test only talks to it on loopback.
    server = Server(tmp_path, database_url=url, args=("--workers", "1"), host="0.0.0.0")
    with server:
        pass
    assert "THERE IS NO AUTHENTICATION" in server.log()


@pytest.mark.parametrize("bind,warned", [
    ("127.0.0.1:8778", False), ("localhost:8778", False), ("[::1]:8778", False),
    ("unix:/run/placement.sock", False), ("0.0.0.0:8778", True),
    ("10.1.2.3:8778", True), ("[::]:8778", True), ("controller:8778", True),
])
def test_noauth2_warning_only_beyond_loopback(caplog, bind, warned):
    with caplog.at_level(logging.WARNING, logger=auth.LOG.name):
        auth.warn_if_exposed(Settings(database_url="sqlite://", bind=bind))
    assert ("THERE IS NO AUTHENTICATION" in caplog.text) is warned
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=auth.LOG.name):
        auth.warn_if_exposed(Settings(database_url="sqlite://", bind=bind,
                                      auth_strategy="keystone"))
    assert caplog.text == ""


def test_the_shipped_keystone_example_loads():
    example = Path(__file__).resolve().parents[2] / "etc/placement-pci/keystone.ini"
    settings = Settings.load(example, environ={})
    assert settings.auth_strategy == "keystone"
    conf = auth.keystone_config(settings)
    # What auth_token will read: the section as written.
    conf.register_opts([cfg.StrOpt("username"), cfg.StrOpt("auth_url")],
                       group="keystone_authtoken")
    assert conf.keystone_authtoken.username == "placement"
    assert conf.keystone_authtoken.auth_url == "http://keystone.example.org/v3"
