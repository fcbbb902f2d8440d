"""``placement-pci pci sync`` from files, nova.conf and a fake sysfs."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from placement_pci.cli import main
from tests.conftest import ApiClient, make_app
from tests.functional.test_pci_hosts import A16_SPEC, PF, VF4, X520, X520_SPEC
from tests.unit.host_agent.test_sysfs import link, make_device

HOST = "compute1"
EXPECTED = {"compute1", "compute1_0000:25:00.0", "compute1_0000:41:00.0"}
NOVA_CONF = """\
[DEFAULT]
debug = true

[pci]
report_in_placement = true
device_spec = {"vendor_id": "10de", "product_id": "25b6",
    "address": "0000:25:00.4", "resource_class": "CUSTOM_A16_16A",
    "managed": "no"}
device_spec = {"vendor_id": "8086", "product_id": "154d",
               "address": "0000:41:00.0"}

[devices]
enabled_mdev_types = mlx5_core-local

[mdev_mlx5_core-local]
device_addresses = 0000:86:00.0
mdev_class = CUSTOM_MLX5
"""


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def local_env(database, monkeypatch):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL",
                       database.url.render_as_string(hide_password=False))
    return database


def provider_names(database):
    api = ApiClient(make_app(database).test_client())
    response = api.get("/resource_providers")
    assert response.status_code == 200
    return {p["name"] for p in response.get_json()["resource_providers"]}


def run(*args):
    return CliRunner().invoke(main, ["-f", "json", "pci", "sync", "--hostname", HOST,
                                     *args])


@pytest.fixture
def files(tmp_path):
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps([A16_SPEC, json.dumps(X520_SPEC)]))
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([PF, VF4, X520]))
    conf = tmp_path / "nova.conf"
    conf.write_text(NOVA_CONF)
    return {"specs": str(specs), "devices": str(devices), "conf": str(conf)}


@pytest.fixture
def fake_sysfs(tmp_path):
    root = tmp_path / "sys"
    pf = make_device(root, "0000:25:00.0", "0x10de", "0x25b6",
                     sriov_totalvfs="16")
    vf = make_device(root, "0000:25:00.4", "0x10de", "0x25b6")
    link(vf, "physfn", "0000:25:00.0")
    link(pf, "virtfn0", "0000:25:00.4")
    make_device(root, "0000:41:00.0", "0x8086", "0x154d",
                pci_class="0x020000")
    parent = make_device(root, "0000:86:00.0", "0x15b3", "0x101d",
                         pci_class="0x020000")
    type_dir = parent / "mdev_supported_types" / "mlx5_core-local"
    type_dir.mkdir(parents=True)
    (type_dir / "available_instances").write_text("4\n")
    return str(root)


def test_sync_from_files_locally(local_env, files):
    result = run("--local", "--device-spec", files["specs"],
                 "--devices", files["devices"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["changed"] is True
    assert provider_names(local_env) == EXPECTED


def test_dry_run_locally_changes_nothing(local_env, files):
    result = run("--local", "--dry-run", "--device-spec", files["specs"],
                 "--devices", files["devices"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dry_run"] is True
    assert provider_names(local_env) == set()


def test_sync_from_nova_conf_and_fake_sysfs(local_env, files, fake_sysfs):
    result = run("--local", "--device-spec", files["conf"], "--from-sysfs",
                 "--sysfs-root", fake_sysfs, "--viommu-model", "intel")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["root_traits"] == ["COMPUTE_VIOMMU_MODEL_AUTO",
                                       "COMPUTE_VIOMMU_MODEL_INTEL", "OWNER_NOVA"]
    assert provider_names(local_env) == EXPECTED | {
        "compute1_pci_0000_86_00_0"}
    a16 = {p["name"]: p for p in document["providers"]}[
        "compute1_0000:25:00.0"]
    assert list(a16["inventories"]) == ["CUSTOM_A16_16A"]
    assert a16["devices"][0]["managed"] is False


def test_print_body_from_sysfs(fake_sysfs, files):
    result = run("--print-body", "--device-spec", files["specs"],
                 "--from-sysfs", "--sysfs-root", fake_sysfs)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [d["address"] for d in body["devices"]] == [
        "0000:25:00.0", "0000:25:00.4", "0000:41:00.0", "0000:86:00.0"]
    assert body["mdev"]["devices"][0]["available_instances"] == 4


def test_refusal_exits_non_zero(local_env, tmp_path, files):
    specs = tmp_path / "bad.json"
    specs.write_text(json.dumps([{"vendor_id": "10de"}]))
    result = run("--local", "--device-spec", str(specs),
                 "--devices", files["devices"])
    assert result.exit_code == 1
    assert "either the parent PF or its VFs" in result.stderr
    assert provider_names(local_env) == set()


def test_needs_a_target(files):
    result = run("--device-spec", files["specs"])
    assert result.exit_code == 2


def test_sync_to_a_running_service(database, files):
    server = make_server("127.0.0.1", 0, make_app(database), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = run("--url", url, "--token", "admin",
                     "--device-spec", files["specs"],
                     "--devices", files["devices"])
        assert result.exit_code == 0, result.output
        assert provider_names(database) == EXPECTED
        again = run("--url", url, "--token", "admin",
                    "--device-spec", files["specs"],
                    "--devices", files["devices"])
        assert json.loads(again.stdout)["changed"] is False
        refused = run("--url", url, "--token", "nobody",
                      "--device-spec", files["specs"],
                      "--devices", files["devices"])
        assert refused.exit_code == 1
    finally:
        server.shutdown()


def test_no_progress_when_stderr_is_not_a_terminal(fake_sysfs, files):
    result = run("--print-body", "--device-spec", files["specs"],
                 "--from-sysfs", "--sysfs-root", fake_sysfs)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert len(json.loads(result.stdout)["devices"]) == 4


def test_progress_on_a_terminal_stderr(fake_sysfs, files):
    """stderr on a pseudo-terminal gets the progress bar; stdout (a pipe)
    still holds only the JSON body."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", "from placement_pci.cli import main; main()",
             "-f", "json", "pci", "sync",
             "--hostname", HOST, "--print-body", "--device-spec", files["specs"],
             "--from-sysfs", "--sysfs-root", fake_sysfs],
            stdout=subprocess.PIPE, stderr=terminal, env={**os.environ, "TERM": "xterm"})
        os.close(terminal)
        terminal = -1
        stdout, _ = process.communicate(timeout=60)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    assert process.returncode == 0, drawn
    assert b"Reading PCI devices from sysfs" in drawn
    assert b"4/4" in drawn   # four device directories
    assert len(json.loads(stdout)["devices"]) == 4
