"""GET /pci/ledger and `placement-pci ledger`: every allocation write leaves
an entry with the caller, in the same transaction, on every backend."""
from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from click.testing import CliRunner

from placement_pci.cli import main
from placement_pci.db import tables
from placement_pci.store import ledger
from tests.db.test_claim_concurrency import make_provider, put_body
from tests.functional.test_pci_hosts import PF, VF4, X520, X520_PROVIDER, body
from tests.functional.test_pci_scheduling_claims import claim_body, put_host
from tests.seeds import A16_ALIAS, A16_DEVICES, A16_SPEC

GLOBAL_ID = "req-7d4c1a8e-2f3b-4c5d-8e9f-0a1b2c3d4e5f"


def entries(api, query=""):
    response = api.get("/pci/ledger" + query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_put_post_delete_are_recorded_with_the_caller(api, database):
    provider = make_provider(database, "ledgered", {"VCPU": 8})
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    put = api.put(f"/allocations/{first}", json=put_body({provider: {"VCPU": 2}}),
                  headers={"X-OpenStack-Request-ID": GLOBAL_ID})
    assert put.status_code == 204
    post = api.post("/allocations", json={
        first: put_body({provider: {"VCPU": 3}}, generation=1),
        second: put_body({provider: {"VCPU": 1}})})
    assert post.status_code == 204, post.get_json()
    assert api.delete(f"/allocations/{first}").status_code == 204

    document = entries(api)
    got = [(e["seq"], e["consumer_uuid"], e["action"], e["before"], e["after"])
           for e in document["entries"]]
    two, three, one = ({provider: {"resources": {"VCPU": n}}} for n in (2, 3, 1))
    # One write's entries are in consumer uuid order.
    posted = sorted([(first, "allocations.post", two, three),
                     (second, "allocations.post", {}, one)])
    assert got == [
        (1, first, "allocations.put", {}, two),
        (2, *posted[0]), (3, *posted[1]),
        (4, first, "allocations.delete", three, {}),
    ]
    assert document["next_since"] == 5
    put_entry, post_first, post_second, _ = document["entries"]
    assert put_entry["request_id"] == put.headers["x-openstack-request-id"]
    assert put_entry["global_request_id"] == GLOBAL_ID
    assert (put_entry["user_id"], put_entry["project_id"]) == ("admin", "admin")
    assert post_first["request_id"] == post_second["request_id"] == \
        post.headers["x-openstack-request-id"]
    assert post_first["global_request_id"] is None
    assert datetime.datetime.fromisoformat(put_entry["time"]).tzinfo is not None

    assert [e["action"] for e in entries(api, f"?consumer_uuid={second}")["entries"]] == [
        "allocations.post"]


def _child_provider(database, root: str, name: str, inventories: dict[str, int]) -> str:
    """A provider under ``root`` (its root) with ``{class: total}``."""
    child = make_provider(database, name, inventories)
    providers = tables.resource_providers
    with database.write() as connection:
        root_id = connection.execute(
            sa.select(providers.c.id).where(providers.c.uuid == root)).scalar_one()
        connection.execute(sa.update(providers).where(providers.c.uuid == child).values(
            parent_provider_id=root_id, root_provider_id=root_id))
    return child


def test_entries_show_what_a_fresh_read_shows(api, database):
    """The claim works out an entry's "after" and hostnames from what it
    wrote; they must be what reading the consumer back shows, for new,
    moved, shrunk, emptied and never-existing consumers."""
    host1 = make_provider(database, "host1", {"VCPU": 8, "MEMORY_MB": 4096})
    disk1 = _child_provider(database, host1, "host1-disk", {"DISK_GB": 100})
    host2 = make_provider(database, "host2", {"VCPU": 8, "MEMORY_MB": 4096})
    first, second, ghost = (str(uuid.uuid4()) for _ in range(3))
    writes = [
        ("PUT", first, put_body({host1: {"VCPU": 2, "MEMORY_MB": 512},
                                 disk1: {"DISK_GB": 10}})),
        ("PUT", first, put_body({host2: {"VCPU": 1}}, generation=1)),
        ("POST", None, {first: put_body({host1: {"VCPU": 1}, host2: {"MEMORY_MB": 64}},
                                        generation=2),
                        second: put_body({disk1: {"DISK_GB": 5}})}),
        ("POST", None, {first: {**put_body({}, generation=3), "allocations": {}},
                        second: put_body({disk1: {"DISK_GB": 6}, host2: {"VCPU": 2}},
                                         generation=1)}),
        ("PUT", ghost, {**put_body({}), "allocations": {}}),
    ]
    seen = 0
    for method, consumer, request in writes:
        touched = sorted(request) if consumer is None else [consumer]
        with database.read() as connection:
            before = ledger.read_holdings(connection, touched)
        if method == "PUT":
            response = api.put(f"/allocations/{consumer}", json=request)
        else:
            response = api.post("/allocations", json=request)
        assert response.status_code == 204, response.get_json()
        new = entries(api, f"?since={seen + 1}")["entries"]
        seen += len(new)
        with database.read() as connection:
            after = ledger.read_holdings(connection, touched)
            hosts = connection.execute(sa.select(
                tables.allocation_ledger_hosts.c.seq,
                tables.allocation_ledger_hosts.c.hostname)).all()
        assert [e["consumer_uuid"] for e in new] == touched
        for entry in new:
            uuid_ = entry["consumer_uuid"]
            assert (entry["before"], entry["after"]) == (
                before[uuid_].allocations, after[uuid_].allocations)
            assert sorted(h for s, h in hosts if s == entry["seq"]) == sorted(
                before[uuid_].hostnames | after[uuid_].hostnames)
    assert [e["seq"] for e in entries(api)["entries"]] == list(range(1, seen + 1))


def test_refused_write_leaves_no_entry(api, database):
    provider = make_provider(database, "small", {"VCPU": 1})
    response = api.put(f"/allocations/{uuid.uuid4()}",
                       json=put_body({provider: {"VCPU": 2}}))
    assert response.status_code == 409
    assert entries(api) == {"entries": [], "next_since": 1}


def test_paging_with_since_and_limit(api, database):
    provider = make_provider(database, "paged", {"VCPU": 8})
    consumers = [str(uuid.uuid4()) for _ in range(5)]
    for consumer in consumers:
        api.put(f"/allocations/{consumer}", json=put_body({provider: {"VCPU": 1}}))
    page = entries(api, "?limit=2")
    assert [e["consumer_uuid"] for e in page["entries"]] == consumers[:2]
    page = entries(api, f"?limit=2&since={page['next_since']}")
    assert [e["consumer_uuid"] for e in page["entries"]] == consumers[2:4]
    page = entries(api, f"?limit=2&since={page['next_since']}")
    assert [e["consumer_uuid"] for e in page["entries"]] == consumers[4:]
    # A reader that is up to date keeps its place.
    assert entries(api, f"?since={page['next_since']}") == {
        "entries": [], "next_since": page["next_since"]}


def test_reshaper_is_recorded(api, database):
    provider = make_provider(database, "reshaped", {"VCPU": 8})
    consumer = str(uuid.uuid4())
    api.put(f"/allocations/{consumer}", json=put_body({provider: {"VCPU": 2}}))
    generation = api.get(f"/resource_providers/{provider}").get_json()["generation"]
    response = api.post("/reshaper", json={
        "inventories": {provider: {"resource_provider_generation": generation,
                                   "inventories": {"VCPU": {"total": 8}}}},
        "allocations": {consumer: {**put_body({provider: {"VCPU": 4}}, generation=1)}}})
    assert response.status_code == 204, response.get_json()
    last = entries(api)["entries"][-1]
    assert (last["action"], last["before"], last["after"]) == (
        "reshaper", {provider: {"resources": {"VCPU": 2}}},
        {provider: {"resources": {"VCPU": 4}}})


def test_claims_releases_and_host_heals_are_recorded_by_host(api):
    providers = put_host(api, "compute1", [A16_SPEC], A16_DEVICES)
    pf = providers["compute1_0000:25:00.0"]["uuid"]
    consumer = str(uuid.uuid4())
    claimed = api.put(f"/pci/claims/{consumer}", json=claim_body(
        [A16_ALIAS], "A16_16A:1", {pf: {"CUSTOM_A16_16A": 1}}, {"_A16_16A-0": [pf]}))
    assert claimed.status_code == 200, claimed.get_json()
    assert api.delete(f"/pci/claims/{consumer}").status_code == 204
    # Another host reports a device assigned to an instance the service
    # has no allocation for: the sync heals it.
    healed_consumer = str(uuid.uuid4())
    response = api.put("/pci/hosts/compute2", json=body(
        devices=[PF, VF4, dict(X520, assigned_to=healed_consumer)]))
    assert response.status_code == 200, response.get_json()
    x520 = {p["name"]: p for p in response.get_json()["providers"]}[
        X520_PROVIDER.replace("compute1", "compute2")]["uuid"]

    vf = {pf: {"resources": {"CUSTOM_A16_16A": 1}}}
    assert [(e["consumer_uuid"], e["action"], e["before"], e["after"])
            for e in entries(api, "?hostname=compute1")["entries"]] == [
        (consumer, "pci.claim", {}, vf), (consumer, "pci.release", vf, {})]
    assert [(e["consumer_uuid"], e["action"], e["before"], e["after"])
            for e in entries(api, "?hostname=compute2")["entries"]] == [
        (healed_consumer, "pci.host_sync.heal", {},
         {x520: {"resources": {"CUSTOM_PCI_8086_154D": 1}}})]
    assert entries(api, "?hostname=compute3")["entries"] == []


def test_bad_queries_are_400(api):
    for query in ("?since=0", "?since=x", "?limit=0", "?limit=1001",
                  "?consumer_uuid=nope", "?limit=1&limit=2", "?colour=red"):
        response = api.get("/pci/ledger" + query)
        assert response.status_code == 400, query
        assert response.get_json()["errors"][0]["code"].startswith("placement.query")


def _age_entries(database, seqs, days):
    with database.write() as connection:
        connection.execute(
            sa.update(tables.allocation_ledger)
            .where(tables.allocation_ledger.c.seq.in_(seqs))
            .values(logged_at=datetime.datetime(2020, 1, 1)
                    - datetime.timedelta(days=days)))


def test_prune_by_age_and_by_count(api, database, tmp_path, monkeypatch):
    provider = make_provider(database, "pruned", {"VCPU": 8})
    for _ in range(6):
        api.put(f"/allocations/{uuid.uuid4()}", json=put_body({provider: {"VCPU": 1}}))
    _age_entries(database, [1, 2], days=0)
    assert ledger.prune(database, older_than_days=30) == 2
    assert [e["seq"] for e in entries(api)["entries"]] == [3, 4, 5, 6]

    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL",
                       database.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PLACEMENT_PCI_LEDGER_RETENTION_ENTRIES", "3")
    result = CliRunner().invoke(main, ["ledger", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned 1 ledger entries" in result.output
    assert [e["seq"] for e in entries(api)["entries"]] == [4, 5, 6]
    result = CliRunner().invoke(main, ["ledger", "prune", "--entries", "1"])
    assert [e["seq"] for e in entries(api)["entries"]] == [6]
    # Numbering continues after pruning.
    api.put(f"/allocations/{uuid.uuid4()}", json=put_body({provider: {"VCPU": 1}}))
    assert [e["seq"] for e in entries(api)["entries"]] == [6, 7]


def test_prune_without_retention_is_a_usage_error(database, monkeypatch):
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL",
                       database.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(main, ["ledger", "prune"])
    assert result.exit_code == 2
    assert "no retention" in result.output


def test_ledger_list_in_the_cli(api, database, monkeypatch):
    provider = make_provider(database, "listed", {"VCPU": 8})
    consumer = str(uuid.uuid4())
    api.put(f"/allocations/{consumer}", json=put_body({provider: {"VCPU": 1}}))
    monkeypatch.setenv("PLACEMENT_PCI_DATABASE_URL",
                       database.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(main, ["ledger", "--local", "list",
                                       "--consumer", consumer])
    assert result.exit_code == 0, result.output
    assert "next since: 2" in result.output
    result = CliRunner().invoke(main, ["ledger", "list", "--local", "--consumer", consumer,
                                       "-f", "value", "-c", "Consumer", "-c", "Action",
                                       "-c", "After"])
    assert result.output.splitlines() == [f"{consumer} allocations.put "
                                          f"{provider[:8]}: VCPU=1"]
