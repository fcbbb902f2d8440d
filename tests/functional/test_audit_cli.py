"""The audit scenario from a shell, on every backend: claim a VF, delete
its allocation behind the service's back, `audit` reports it, `audit heal
--dry-run` proposes re-creating it, `audit heal` applies it, `audit` is
clean, `ledger list` shows the writes."""
from __future__ import annotations

import json
import uuid

from click.testing import CliRunner

from placement_pci.cli import main
from tests.seeds import A16_ALIAS, A16_DEVICES, A16_SPEC


def test_the_scenario_in_the_cli(api, database, tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL",
                       database.url.render_as_string(hide_password=False))
    monkeypatch.delenv("PLACEMENT_PCI_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(A16_DEVICES))
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps([A16_SPEC]))
    run("pci", "sync", "--local", "--hostname", "compute1",
        "--device-spec", str(specs), "--devices", str(devices))
    consumer = str(uuid.uuid4())
    run("scheduling", "--local", "claim", consumer, "--alias", json.dumps(A16_ALIAS),
        "--vcpus", "0", "--memory-mb", "0", "--root-gb", "0",
        "--extra-spec", "pci_passthrough:alias=A16_16A:1",
        "--project-id", "p1", "--user-id", "u1")
    assert "no findings" in run("audit", "--local")

    # Behind the service's back: the plain Placement API.
    assert api.delete(f"/allocations/{consumer}").status_code == 204

    listed = run("audit", "--local", "list", "--hostname", "compute1")
    assert "Kind" in listed and "Detail" in listed
    listed = run("audit", "--local", "list", "--hostname", "compute1",
                 "-f", "value", "-c", "Kind", "-c", "Consumer")
    assert sorted(listed.splitlines()) == [f"claim_without_allocation {consumer}",
                                           f"device_without_allocation {consumer}"]
    found = json.loads(run("audit", "--local", "-f", "json"))["findings"]
    assert sorted(f["kind"] for f in found) == ["claim_without_allocation",
                                                "device_without_allocation"]

    proposed = run("audit", "--local", "heal", "--dry-run")
    assert "dry run: nothing was changed" in proposed
    proposed = run("audit", "--local", "heal", "--dry-run", "-f", "value",
                   "-c", "Action", "-c", "Applied")
    assert proposed.splitlines() == ["re-create allocations no"] * 2
    assert api.get(f"/allocations/{consumer}").get_json()["allocations"] == {}

    applied = json.loads(run("audit", "--local", "-f", "json", "heal"))
    assert applied["dry_run"] is False
    assert [a["applied"] for a in applied["actions"]] == [True, True]
    assert "no findings" in run("audit", "--local")
    held = api.get(f"/allocations/{consumer}").get_json()["allocations"]
    assert [entry["resources"] for entry in held.values()] == [{"CUSTOM_A16_16A": 1}]

    assert "next since: 4" in run("ledger", "--local", "list", "--consumer", consumer)
    ledger = run("ledger", "--local", "list", "--consumer", consumer,
                 "-f", "value", "-c", "Seq", "-c", "Action", "-c", "Consumer")
    assert ledger.splitlines() == [f"1 pci.claim {consumer}",
                                   f"2 allocations.delete {consumer}",
                                   f"3 pci.audit.heal {consumer}"]
