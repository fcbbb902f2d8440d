"""Two syncs of the same host racing: each succeeds or gets a 409, and
the stored tree is always exactly what one of them asked for."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from placement_pci.context import internal
from placement_pci.db import tables
from tests.conftest import ApiClient
from tests.functional.test_pci_hosts import PF, SEED_BODY, URL, VF4, body

ROUNDS = 4


def _race(app, payloads):
    barrier = threading.Barrier(len(payloads))
    results = [None] * len(payloads)

    def run(index, payload):
        client = ApiClient(app.test_client())
        barrier.wait()
        response = client.put(URL, json=payload)
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(index, payload))
               for index, payload in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_syncs_leave_a_consistent_tree(app, api, database):
    payloads = [SEED_BODY, body(devices=[PF, VF4])]
    for _ in range(ROUNDS):
        results = _race(app, payloads * 2)
        for status, document in results:
            assert status in (200, 409), document
            if status == 409:
                [error] = document["errors"]
                assert error["code"] == "placement.concurrent_update"
        assert any(status == 200 for status, _ in results)
        # The stored tree is exactly one of the requested ones: re-applying
        # that request (as a dry run) changes nothing.
        unchanged = [
            api.put(URL + "?dry_run=true", json=payload).get_json()["changed"]
            is False for payload in payloads]
        assert unchanged.count(True) == 1
    with database.engine.connect() as connection:
        names = connection.execute(
            sa.select(tables.resource_providers.c.name)).scalars().all()
        device_rows = connection.execute(
            sa.select(tables.pci_devices.c.address)).scalars().all()
    assert len(names) == len(set(names))
    assert len(device_rows) == len(set(device_rows))


def test_provider_changed_after_the_read_is_a_409(database):
    """The compare-and-swap catches a writer that committed between the
    sync's read and its write (here simulated inside one transaction)."""
    from placement_pci import errors
    from placement_pci.pci import provider_tree
    from placement_pci.services import host_sync as pci_hosts

    pci_hosts.sync_host(database, "compute1", SEED_BODY, context=internal())
    planned = provider_tree.plan_host_request(
        "compute1", body(devices=[PF, VF4]))
    with pytest.raises(errors.Conflict) as caught, database.write() as connection:
        plan = pci_hosts._plan(connection, planned)
        connection.execute(
            sa.update(tables.resource_providers)
            .where(tables.resource_providers.c.name
                   == "compute1_0000:41:00.0")
            .values(generation=tables.resource_providers.c.generation
                    + 1))
        pci_hosts._apply(connection, plan, internal())
    assert caught.value.code == "placement.concurrent_update"
    stored = pci_hosts.get_host(database, "compute1")
    assert "compute1_0000:41:00.0" in {p["name"] for p in stored.providers}
