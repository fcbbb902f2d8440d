"""The placement-pci CLI's global options and output formats, status, db
current/check and the one-line database errors."""
from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from placement_pci import __version__
from placement_pci.cli import main
from placement_pci.db import migrations
from placement_pci.db.engine import Database
from tests.seeds import A16_ALIAS

UNREACHABLE = "postgresql://placement:s3cret@127.0.0.1:9/placement"


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", url)
    monkeypatch.delenv("PLACEMENT_PCI_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return url


def run(*args, status=0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == status, result.output
    return result


def test_version():
    assert __version__ in run("--version").output


@pytest.fixture
def with_alias(database_url):
    run("--local", "scheduling", "alias", "create", json.dumps(A16_ALIAS))


@pytest.mark.parametrize("placement", ["before", "after"])
def test_global_options_work_before_or_after_the_command(with_alias, placement):
    options = ["--local", "-f", "value", "-c", "Name", "-c", "resource class"]
    command = ["scheduling", "alias", "list"]
    args = options + command if placement == "before" else command + options
    assert run(*args).output == "A16_16A CUSTOM_A16_16A\n"


def test_output_formats(with_alias):
    table = run("--local", "scheduling", "alias", "list").output
    assert table.splitlines()[1].startswith("| Name")
    assert "| A16_16A" in table
    document = json.loads(run("--local", "-f", "json", "scheduling", "alias", "list").output)
    assert document["aliases"][0]["name"] == "A16_16A"
    as_yaml = yaml.safe_load(run("--local", "-f", "yaml", "scheduling", "alias", "list").output)
    assert as_yaml == document
    picked = json.loads(run("--local", "-f", "json", "-c", "Name",
                            "scheduling", "alias", "list").output)
    assert picked == [{"Name": "A16_16A"}]
    shown = run("--local", "-f", "value", "-c", "resource_class",
                "scheduling", "alias", "show", "A16_16A").output
    assert shown == "CUSTOM_A16_16A\n"


def test_unknown_column_is_a_usage_error(with_alias):
    result = run("--local", "-c", "Colour", "scheduling", "alias", "list", status=2)
    assert "no column 'Colour'" in result.output and "Name" in result.output


def test_client_commands_need_a_target(database_url):
    result = run("scheduling", "alias", "list", status=2)
    assert "--url" in result.output and "--local" in result.output


def test_pci_sync_prints_a_summary_unless_json(database_url, tmp_path):
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps([{"address": "0000:41:00.0", "vendor_id": "8086",
                                    "product_id": "154d", "dev_type": "type-PF",
                                    "numa_node": 0}]))
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps([{"vendor_id": "8086", "product_id": "154d"}]))
    args = ["pci", "sync", "--hostname", "c1", "--devices", str(devices),
            "--device-spec", str(specs), "--local"]
    summary = run(*args).output
    assert "host tree changed; providers: 1" in summary
    assert "c1_0000:41:00.0" in summary
    document = json.loads(run("-f", "json", *args).output)
    assert document["changed"] is False


# --- db and status ---------------------------------------------------------

def test_db_check_and_current_follow_the_schema(database_url):
    result = run("db", "check", status=1)
    assert "migrations pending" in result.output
    assert "none (empty database)" in run("db", "current").output
    run("db", "upgrade")
    head = ", ".join(sorted(migrations.head_revisions()))
    assert f"schema is at head ({head})" in run("db", "check").output
    assert f"current: {head}" in run("db", "current").output


def test_status_reports_a_pending_migration(database_url):
    run("db", "upgrade")
    assert run("status").exit_code == 0
    # One revision back, whichever revision is head.
    database = Database(database_url)
    migrations.downgrade(database, "-1")
    database.dispose()
    result = run("-f", "json", "status", status=1)   # SQLite: serve migrates it
    document = json.loads(result.output)
    schema = {c["check"]: c for c in document["checks"]}["Schema"]
    assert schema["result"] == "Warning" and "migrations pending" in schema["details"]
    assert document["result"] == "Warning"


def test_status_fails_on_a_bad_policy_file(database_url, tmp_path, monkeypatch):
    run("db", "upgrade")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"placement:traits:list": "role:admin or"\n')
    monkeypatch.setenv("PLACEMENT_PCI_POLICY_FILE", str(policy_file))
    result = run("status", status=2)
    assert "Policy file" in result.output and "Failure" in result.output


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "check"],
                                     ["serve", "--bind", "127.0.0.1:1"]])
def test_unreachable_database_is_one_clear_line(monkeypatch, command):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", UNREACHABLE)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith(
        "Error: cannot open the database at postgresql://placement:***@127.0.0.1:9/placement")
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_status_names_an_unreachable_database(monkeypatch):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", UNREACHABLE)
    result = run("status", status=2)
    assert "cannot open the database" in result.output and "s3cret" not in result.output


# SQLite is migrated by serve itself: only the server backends refuse.
@pytest.mark.parametrize("server_backend", ["postgresql", "mysql"])
def test_serve_refuses_a_server_schema_behind_head(server_backend, tmp_path, monkeypatch):
    from tests import databases

    url, drop = databases.create_database_for_test(server_backend, str(tmp_path))
    try:
        monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", url)
        result = CliRunner().invoke(main, ["serve", "--bind", "127.0.0.1:1"])
        assert result.exit_code == 1, result.output
        assert "placement-pci db upgrade" in result.output
        assert "schema is at empty" in result.output
    finally:
        drop()
