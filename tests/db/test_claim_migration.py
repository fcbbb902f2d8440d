"""Revision 0002 moves the claims stored as JSON rows of
pci_config_objects into the claims tables, on every backend."""
from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa

from alembic import command
from placement_pci.db import migrations, tables
from placement_pci.db.engine import Database
from placement_pci.services import pci_claims
from tests import databases

CONSUMER = "0b7c2f4e-1111-4a2b-9c3d-000000000001"
OTHER = "0b7c2f4e-1111-4a2b-9c3d-000000000002"
PROVIDER = "0b7c2f4e-2222-4a2b-9c3d-000000000003"
REQUEST = {"alias": [{"name": "a1", "product_id": "154d", "vendor_id": "8086"}],
           "flavor": {"vcpus": 0, "memory_mb": 0, "root_gb": 0,
                      "extra_specs": {"pci_passthrough:alias": "a1:2"}}}


@pytest.fixture
def database_at_0001(backend, tmp_path):
    url, drop = databases.create_database_for_test(backend, str(tmp_path))
    database = Database(url)
    with database.engine.begin() as connection:
        config = migrations.alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    yield database
    database.dispose()
    drop()


def _device(address: str, assigned_to: str | None) -> dict:
    return {"hostname": "compute1", "address": address, "vendor_id": "8086",
            "product_id": "154d", "dev_type": "type-PCI", "provider_uuid": PROVIDER,
            "resource_class": "CUSTOM_PCI_8086_154D", "tags": "{}",
            "assigned_to": assigned_to}


def _claim_row(consumer: str, addresses: list[str], second: int) -> dict:
    """A claim as revision 0001 stored it, last updated at ``second``."""
    body = {"request": REQUEST, "devices": [
        {"group": f"_a1-{i}", "alias": "a1", "item": 0, "index": i, "hostname": "compute1",
         "address": address, "provider_uuid": PROVIDER}
        for i, address in enumerate(addresses)]}
    when = datetime.datetime(2026, 1, 1, 0, 0, second)
    return {"kind": "claim", "name": consumer, "body": json.dumps(body), "generation": 0,
            "created_at": when, "updated_at": when}


def test_upgrade_moves_claim_rows_into_the_claims_tables(database_at_0001):
    database = database_at_0001
    metadata = sa.MetaData()
    config = sa.Table("pci_config_objects", metadata, autoload_with=database.engine)
    devices = sa.Table("pci_devices", metadata, autoload_with=database.engine)
    with database.engine.begin() as connection:
        # 41:00.0 is held by CONSUMER (its row says so); 41:00.1 had been
        # shown as free by a host re-sync although CONSUMER holds it;
        # 41:00.2 was taken over by OTHER from an older claim of CONSUMER.
        connection.execute(devices.insert(), [
            _device("0000:41:00.0", CONSUMER), _device("0000:41:00.1", None),
            _device("0000:41:00.2", OTHER)])
        connection.execute(config.insert(), [
            _claim_row(CONSUMER, ["0000:41:00.0", "0000:41:00.1", "0000:41:00.2"], 2),
            _claim_row(OTHER, ["0000:41:00.2"], 1),
            {"kind": "alias", "name": "a1", "body": json.dumps(REQUEST["alias"][0]),
             "generation": 0, "created_at": None, "updated_at": None}])

    migrations.upgrade(database)

    with database.engine.connect() as connection:
        kinds = connection.execute(sa.select(tables.pci_config_objects.c.kind)).scalars().all()
        reported = dict(connection.execute(sa.select(
            tables.pci_devices.c.address, tables.pci_devices.c.assigned_to)).all())
    assert kinds == ["alias"]
    # The claims are the holders now; the column keeps host reports only.
    assert reported == {"0000:41:00.0": None, "0000:41:00.1": None, "0000:41:00.2": None}

    claims = {claim.consumer_uuid: claim for claim in pci_claims.list_claims(database)}
    assert set(claims) == {CONSUMER, OTHER}
    mine = claims[CONSUMER]
    assert mine.request == REQUEST
    assert [(d.group, d.address, d.assigned) for d in mine.devices] == [
        ("_a1-0", "0000:41:00.0", True), ("_a1-1", "0000:41:00.1", True),
        ("_a1-2", "0000:41:00.2", False)]
    assert [(d.address, d.assigned) for d in claims[OTHER].devices] == [
        ("0000:41:00.2", True)]
    assert migrations.is_current(database)
