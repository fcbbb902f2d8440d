"""The placement-pci command: db upgrade and the OpenAPI printer."""
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from placement_pci.cli import main
from tests import databases


@pytest.mark.parametrize("backend", databases.BACKENDS)
def test_db_upgrade_migrates_a_fresh_database(backend, tmp_path, monkeypatch):
    url, drop = databases.create_database_for_test(backend, str(tmp_path))
    try:
        monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", url)
        result = CliRunner().invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            count = connection.execute(sa.text(
                "SELECT count(*) FROM traits WHERE name = 'HW_PCI_LIVE_MIGRATABLE'")).scalar()
        engine.dispose()
        assert count == 1
    finally:
        drop()


def test_openapi_command_prints_the_document():
    result = CliRunner().invoke(main, ["openapi"])
    assert result.exit_code == 0
    assert json.loads(result.output)["paths"]["/"]["get"]["summary"]


def test_bad_config_file_setting_is_a_usage_error(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[placement_pci]\nworkers = lots\n")
    result = CliRunner().invoke(main, ["--config", str(ini), "db", "upgrade"])
    assert result.exit_code == 2
    assert "workers" in result.output


def test_serve_refuses_a_broken_policy_file_before_starting(tmp_path, monkeypatch):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"placement:resource_providers:list": "role:admin or"\n')
    monkeypatch.setenv("PLACEMENT_PCI_POLICY_FILE", str(policy_file))
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite")
    result = CliRunner().invoke(main, ["serve", "--bind", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "placement:resource_providers:list" in result.output
