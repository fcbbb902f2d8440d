"""``placement-pci scheduling ...``: the seed walkthrough from a shell."""
from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from placement_pci.cli import main
from placement_pci.cli.output import render_table
from tests.seeds import A16_ALIAS, A16_DEVICES, A16_SPEC

NO_RESOURCES = ["--vcpus", "0", "--memory-mb", "0", "--root-gb", "0"]


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


@pytest.fixture
def run(database_url, monkeypatch):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", database_url)
    monkeypatch.delenv("PLACEMENT_PCI_URL", raising=False)
    # Wide enough that no table cell wraps inside the strings looked for.
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args: str, status: int = 0) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == status, result.output
        return result.output
    return invoke


def local(*args: str) -> list[str]:
    return ["scheduling", "--local", *args]


def test_seed_walkthrough(run, tmp_path, database_url):
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(A16_DEVICES))
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps([A16_SPEC]))
    run("pci", "sync", "--local", "--hostname", "compute1",
        "--device-spec", str(specs), "--devices", str(devices))

    created = run(*local("alias", "create", json.dumps(A16_ALIAS)))
    assert "CUSTOM_A16_16A" in created
    listed = run(*local("alias", "list"))
    assert "A16_16A" in listed and "type-VF" in listed
    as_json = json.loads(run(*local("-f", "json", "alias", "list")))
    assert as_json["aliases"][0]["name"] == "A16_16A"

    groups = run(*local("request-groups", *NO_RESOURCES, "--extra-spec",
                        "pci_passthrough:alias=A16_16A:1"))
    assert "_A16_16A-0" in groups and "alias A16_16A item 0 #0" in groups
    assert "query:" in groups and "resources_A16_16A-0=CUSTOM_A16_16A:1" in groups

    found = run(*local("candidates", *NO_RESOURCES, "--extra-spec",
                       "pci_passthrough:alias=A16_16A:1"))
    assert "compute1" in found and "compute1_0000:25:00.0" in found

    consumer = str(uuid.uuid4())
    claimed = run(*local("claim", consumer, *NO_RESOURCES, "--extra-spec",
                         "pci_passthrough:alias=A16_16A:1",
                         "--project-id", "p1", "--user-id", "u1"))
    assert "0000:25:00.4" in claimed and "type-VF" in claimed

    xml = run(*local("hostdev-xml", consumer))
    assert "managed='no'" in xml
    assert "bus='0x25' slot='0x00' function='0x4'" in xml
    assert consumer in run(*local("claims"))

    why = run(*local("why", *NO_RESOURCES, "--extra-spec",
                     "pci_passthrough:alias=A16_16A:1"))
    assert "CUSTOM_A16_16A: 1 requested, 0 free" in why

    refused = run(*local("live-migration", "check", consumer), status=1)
    assert "not live-migratable" in refused

    run(*local("release", consumer))
    assert consumer not in run(*local("claims"))


def test_device_spec_sets_and_preview(run, tmp_path):
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(A16_DEVICES))
    run(*local("device-spec", "create", "gpu", json.dumps([A16_SPEC])))
    assert "gpu" in run(*local("device-spec", "list"))
    preview = run(*local("device-spec", "preview", "--hostname", "h1",
                         "--devices", f"@{devices}", "--set", "gpu"))
    assert "h1_0000:25:00.0" in preview and "CUSTOM_A16_16A=1" in preview
    run(*local("device-spec", "delete", "gpu"))


def test_errors_are_readable(run):
    output = run(*local("alias", "create", '{"name": "x"}'), status=1)
    assert "HTTP 400" in output and "placement_pci.alias.invalid" in output
    output = run("scheduling", "alias", "list", status=2)
    assert "--local" in output


def test_render_table():  # noqa: D103
    table = render_table(["A", "B"], [["x", ["p", "q"]], [None, True]])
    assert table.splitlines()[1] == "| A | B    |"
    assert "| x | p, q |" in table and "| - | yes  |" in table
