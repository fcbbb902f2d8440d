"""The snapshot cache: a refreshed graph equals a freshly loaded one after
every kind of write, and nothing is reloaded while nothing changed."""
from __future__ import annotations

import uuid

import pytest

from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.store import provider_graph as snapshot
from placement_pci.store.provider_graph import (
    changed_sections,
    load_graph,
    read_fingerprint,
    refresh_graph,
)
from tests.conftest import ApiClient, make_app
from tests.functional.test_allocation_candidates import add_provider, provider_uuid

AGG = "5f1b9bd4-3b0c-4f5e-9d1e-3c1a7e0a0a02"


def content(graph):
    return ({pid: (p.uuid, p.name, p.generation, p.parent_id, p.root_id, p.traits,
                   p.aggregates, dict(p.inventories), dict(p.usages))
             for pid, p in graph.providers.items()},
            graph.trait_names, graph.resource_classes)


def _generation(api, rp):
    return api.get(f"/resource_providers/{rp}").get_json()["generation"]


def _claim(api, rp, amount):
    consumer = str(uuid.uuid4())
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": {"VCPU": amount}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None},
        version="1.36")
    assert response.status_code == 204, response.get_json()
    return consumer


def _set_traits(api, rp, traits):
    api.put(f"/resource_providers/{rp}/traits", json={
        "resource_provider_generation": _generation(api, rp), "traits": traits})


def _set_inventory(api, rp, total):
    api.put(f"/resource_providers/{rp}/inventories", json={
        "resource_provider_generation": _generation(api, rp),
        "inventories": {"VCPU": {"total": total}}})


WRITES = {
    "claim": lambda api, state: state.setdefault("consumer", _claim(api, state["cn1"], 1)),
    "release": lambda api, state: api.delete(
        f"/allocations/{state.get('consumer') or _claim(api, state['cn1'], 1)}"),
    "traits": lambda api, state: _set_traits(api, state["cn1"], ["HW_CPU_X86_AVX2"]),
    "custom trait": lambda api, state: (api.put("/traits/CUSTOM_NEW"),
                                        _set_traits(api, state["cn2"], ["CUSTOM_NEW"])),
    "inventory": lambda api, state: _set_inventory(api, state["cn1"], 16),
    "old aggregates": lambda api, state: api.put(
        f"/resource_providers/{state['cn2']}/aggregates", json=[AGG], version="1.18"),
    "new child": lambda api, state: add_provider(api, "child", "cn1", {"VCPU": 1}),
    "delete provider": lambda api, state: api.delete(f"/resource_providers/{state['cn2']}"),
    "rename": lambda api, state: api.put(f"/resource_providers/{state['cn2']}",
                                         json={"name": "renamed"}),
    "custom class": lambda api, state: api.put("/resource_classes/CUSTOM_X"),
}


@pytest.mark.parametrize("with_fingerprints", [False, True],
                         ids=["by sections", "by fingerprints"])
@pytest.mark.parametrize("write", sorted(WRITES))
def test_refresh_equals_full_load_after(database, write, with_fingerprints):
    api = ApiClient(make_app(database).test_client())
    state = {"cn1": add_provider(api, "cn1", inventory={"VCPU": 8}),
             "cn2": add_provider(api, "cn2", inventory={"VCPU": 4})}
    with database.read() as connection:
        before = read_fingerprint(connection)
        old = load_graph(connection)
    WRITES[write](api, state)
    with database.read() as connection:
        after = read_fingerprint(connection)
        sections = changed_sections(before, after)
        assert sections, f"{write} left the fingerprint unchanged"
        fingerprints = (before, after) if with_fingerprints else None
        assert content(refresh_graph(connection, old, sections, fingerprints)
                       ) == content(load_graph(connection))


def _move(api, consumer, rp):
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": {"VCPU": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": 1},
        version="1.36")
    assert response.status_code == 204, response.get_json()


# Writes after which only generations or allocations moved, made on a graph
# with a tree and an existing claim: the refresh re-reads just the bumped
# trees (and the usages).
GENERATION_WRITES = {
    "claim on a child": lambda api, state: _claim(api, state["child"], 1),
    "claim on a root": lambda api, state: _claim(api, state["cn2"], 2),
    "move a consumer": lambda api, state: _move(api, state["consumer"], state["cn2"]),
    "release": lambda api, state: api.delete(f"/allocations/{state['consumer']}"),
    "traits on a child": lambda api, state: _set_traits(api, state["child"],
                                                        ["HW_CPU_X86_AVX2"]),
    "inventory": lambda api, state: _set_inventory(api, state["cn2"], 16),
}


@pytest.mark.parametrize("write", sorted(GENERATION_WRITES))
def test_generation_only_refresh_equals_full_load_after(database, write, monkeypatch):
    api = ApiClient(make_app(database).test_client())
    state = {"cn1": add_provider(api, "cn1", inventory={"VCPU": 8}),
             "cn2": add_provider(api, "cn2", inventory={"VCPU": 4})}
    state["child"] = add_provider(api, "child", "cn1", {"VCPU": 2})
    state["consumer"] = _claim(api, state["cn1"], 1)
    with database.read() as connection:
        before = read_fingerprint(connection)
        old = load_graph(connection)
    GENERATION_WRITES[write](api, state)
    with database.read() as connection:
        after = read_fingerprint(connection)
        sections = changed_sections(before, after)
        full = content(load_graph(connection))
        # The point of this path: no read of every provider row.
        monkeypatch.setattr(snapshot, "_provider_rows", None)
        assert content(refresh_graph(connection, old, sections, (before, after))
                       ) == full


def test_cache_reloads_only_after_a_write(database):
    api = ApiClient(make_app(database).test_client())
    cn1 = add_provider(api, "cn1", inventory={"VCPU": 8})
    cache = SnapshotCache()
    first = cache.graph(database)
    assert cache.graph(database) is first and cache.loads == 1
    _claim(api, cn1, 2)
    refreshed = cache.graph(database)
    assert cache.loads == 2
    assert refreshed.by_uuid[provider_uuid("cn1")].used("VCPU") == 2


# Claims and releases between two snapshots read by ``snapshot_read``: on
# PostgreSQL they are applied as deltas (no tree or usage re-read for a
# claim); everywhere the result equals a full load.
DELTA_WRITES = {
    "claim on a root": (lambda api, state: _claim(api, state["cn2"], 2), True),
    "claim on a child": (lambda api, state: _claim(api, state["child"], 1), True),
    "two claims": (lambda api, state: (_claim(api, state["cn1"], 1),
                                       _claim(api, state["cn2"], 1)), True),
    "release": (lambda api, state: api.delete(f"/allocations/{state['consumer']}"),
                True),
    "move a consumer": (lambda api, state: _move(api, state["consumer"], state["cn2"]),
                        False),
    "claim and release": (lambda api, state: (
        _claim(api, state["cn2"], 1),
        api.delete(f"/allocations/{state['consumer']}")), False),
}


@pytest.mark.parametrize("write", sorted(DELTA_WRITES))
def test_claims_and_releases_applied_as_deltas_equal_a_full_load(
        database, write, monkeypatch):
    api = ApiClient(make_app(database).test_client())
    state = {"cn1": add_provider(api, "cn1", inventory={"VCPU": 8}),
             "cn2": add_provider(api, "cn2", inventory={"VCPU": 4})}
    state["child"] = add_provider(api, "child", "cn1", {"VCPU": 2})
    state["consumer"] = _claim(api, state["cn1"], 1)
    with snapshot.snapshot_read(database) as connection:
        before = read_fingerprint(connection)
        old = load_graph(connection)
    apply, as_delta = DELTA_WRITES[write]
    apply(api, state)
    with snapshot.snapshot_read(database) as connection:
        after = read_fingerprint(connection)
        full = content(load_graph(connection))
        if as_delta and database.backend == "postgresql":
            # Nothing but the delta path may answer.
            monkeypatch.setattr(snapshot, "_refresh_bumped", None)
            monkeypatch.setattr(snapshot, "_provider_rows", None)
        refreshed = refresh_graph(connection, old, changed_sections(before, after),
                                  (before, after))
        assert content(refreshed) == full


def solver_content(graph):
    """What answers are computed from: everything but generations, which a
    snapshot only uses to find the providers a structural write changed."""
    providers, trait_names, resource_classes = content(graph)
    return ({pid: (uuid_, name, *rest) for pid, (uuid_, name, _generation, *rest)
             in providers.items()}, trait_names, resource_classes)


def test_claims_and_releases_follow_the_ledger(database, monkeypatch):
    """Allocation writes are followed through the ledger: no fingerprint,
    no refresh transaction, the snapshot answers like a full load; the
    next structural write brings generations back too."""
    from placement_pci.services import snapshot_cache

    api = ApiClient(make_app(database).test_client())
    cn1 = add_provider(api, "cn1", inventory={"VCPU": 8})
    child = add_provider(api, "child", "cn1", {"VCPU": 2})
    cache = SnapshotCache()
    cache.graph(database)

    def no_refresh(*_args, **_kwargs):
        raise AssertionError("claims and releases should not need a refresh transaction")

    with monkeypatch.context() as patched:
        patched.setattr(snapshot_cache, "refresh_graph", no_refresh)
        patched.setattr(snapshot_cache, "read_fingerprint", no_refresh)
        consumers = [_claim(api, cn1, 2), _claim(api, child, 1), _claim(api, cn1, 1)]
        for consumer in [None, *consumers]:
            if consumer is not None:
                assert api.delete(f"/allocations/{consumer}").status_code == 204
            graph = cache.graph(database)
            with database.read() as connection:
                assert solver_content(graph) == solver_content(load_graph(connection))
    assert cache.loads == 1 + 1 + len(consumers)   # the claims at once, each release
    _claim(api, cn1, 3)
    assert api.put(f"/resource_providers/{child}/inventories", json={
        "resource_provider_generation": _generation(api, child),
        "inventories": {"VCPU": {"total": 4}}}).status_code == 200
    graph = cache.graph(database)
    with database.read() as connection:
        assert content(graph) == content(load_graph(connection))
