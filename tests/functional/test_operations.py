"""Healthcheck, request ids and the request log line, and /metrics, through
the app (the multi-worker server is tested in test_serve.py)."""
from __future__ import annotations

import json
import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from placement_pci.app import create_app
from placement_pci.db.engine import Database
from placement_pci.settings import Settings
from tests.conftest import ApiClient, make_app
from tests.db.test_claim_concurrency import make_provider


@pytest.fixture
def backend():
    """None of this depends on the backend: SQLite is enough."""
    return "sqlite"


# --- healthcheck -----------------------------------------------------------

def test_healthcheck_needs_no_token_and_answers_ok(api):
    api.token = None
    response = api.get("/healthcheck", version="", headers={"Accept": "text/plain"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "OK"
    assert api.request("HEAD", "/healthcheck").status_code == 204
    as_json = api.get("/healthcheck", headers={"Accept": "application/json"})
    assert as_json.get_json() == {"detailed": False, "reasons": ["OK"]}


@pytest.fixture
def unreachable_app():
    """An app on a PostgreSQL port where nothing listens."""
    database = Database("postgresql://placement:secret@127.0.0.1:9/placement")
    app = create_app(Settings(database_url="sqlite://"), database=database, migrate=False)
    yield app
    database.dispose()


def test_healthcheck_is_503_when_the_database_is_unreachable(unreachable_app):
    client = ApiClient(unreachable_app.test_client(), token=None)
    response = client.get("/healthcheck")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unreachable"
    assert client.request("HEAD", "/healthcheck").status_code == 503
    detailed = ApiClient(unreachable_app.test_client()).get("/healthcheck?detailed")
    assert detailed.status_code == 503
    check = detailed.get_json()["checks"][0]
    assert check["available"] is False and "OperationalError" in check["details"]
    assert "secret" not in detailed.get_data(as_text=True)


def test_detailed_healthcheck_is_for_admins(api):
    detailed = api.get("/healthcheck?detailed")
    assert detailed.status_code == 200
    body = detailed.get_json()
    assert body["detailed"] is True and body["healthy"] is True
    assert body["checks"][0]["check"] == "database"
    api.token = "someone:p1"
    assert api.get("/healthcheck?detailed").status_code == 403
    assert api.get("/healthcheck").status_code == 200
    api.token = None
    assert api.get("/healthcheck?detailed").status_code == 401


# --- request ids and the request line ------------------------------------

def _request_records(caplog):
    return [r for r in caplog.records if r.name == "placement_pci.requests"]


def test_valid_incoming_request_id_is_logged_as_global(api, caplog):
    incoming = f"req-{uuid.uuid4()}"
    with caplog.at_level(logging.INFO, logger="placement_pci.requests"):
        response = api.get("/resource_providers",
                           headers={"X-OpenStack-Request-ID": incoming})
    local = response.headers["x-openstack-request-id"]
    assert local.startswith("req-") and local != incoming
    [record] = _request_records(caplog)
    assert record.request_id == local
    assert record.global_request_id == incoming
    assert (record.user_id, record.project_id) == ("admin", "admin")
    assert (record.method, record.route, record.status) == (
        "GET", "/resource_providers", 200)
    assert record.duration_ms >= 0


@pytest.mark.parametrize("incoming", ["not-a-request-id", "req-1234",
                                      "REQ-5CD3A5AB-5B0B-4D0F-9B53-62F0B6A7A0A1"])
def test_malformed_incoming_request_id_is_ignored(api, caplog, incoming):
    with caplog.at_level(logging.INFO, logger="placement_pci.requests"):
        api.get("/resource_providers", headers={"X-OpenStack-Request-ID": incoming})
    [record] = _request_records(caplog)
    assert record.global_request_id is None


def test_error_answers_carry_the_local_request_id(api, caplog):
    with caplog.at_level(logging.INFO, logger="placement_pci.requests"):
        response = api.get(f"/resource_providers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["request_id"] == \
        response.headers["x-openstack-request-id"]
    [record] = _request_records(caplog)
    assert record.status == 404 and record.route == "/resource_providers/<uuid>"


def test_json_log_format_writes_one_json_object_per_line(database, capsys):
    app = make_app(database, log_format="json")
    client = ApiClient(app.test_client())
    incoming = f"req-{uuid.uuid4()}"
    response = client.get("/resource_providers", headers={"X-OpenStack-Request-ID": incoming})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    [line] = [entry for entry in lines if entry["logger"] == "placement_pci.requests"]
    assert line["request_id"] == response.headers["x-openstack-request-id"]
    assert line["global_request_id"] == incoming
    assert line["user_id"] == "admin" and line["project_id"] == "admin"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/resource_providers", 200)
    assert line["level"] == "INFO" and "duration_ms" in line


def test_text_log_format_names_both_request_ids(database, capsys):
    client = ApiClient(make_app(database).test_client())
    incoming = f"req-{uuid.uuid4()}"
    response = client.get("/resource_providers", headers={"X-OpenStack-Request-ID": incoming})
    [line] = [line for line in capsys.readouterr().err.splitlines()
              if "placement_pci.requests" in line]
    assert f"[{response.headers['x-openstack-request-id']} {incoming}]" in line
    assert '"GET /resource_providers"' in line and "status=200" in line


def test_unknown_log_format_is_refused(database):
    with pytest.raises(ValueError, match="log_format"):
        make_app(database, log_format="xml")


# --- metrics ---------------------------------------------------------------

def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_need_the_metrics_policy(api):
    response = api.get("/metrics", headers={"Accept": "text/plain"})
    assert response.status_code == 200
    assert "placement_pci_http_requests_total" in response.get_data(as_text=True)
    api.token = "someone:p1"
    assert api.get("/metrics").status_code == 403
    api.token = None
    assert api.get("/metrics").status_code == 401


def test_requests_are_counted_by_route_template_method_and_status(api):
    labels = {"route": "/resource_providers/<uuid>", "method": "GET", "status": "404"}
    before = _value("placement_pci_http_requests_total", **labels)
    for _ in range(3):
        api.get(f"/resource_providers/{uuid.uuid4()}")
    assert _value("placement_pci_http_requests_total", **labels) == before + 3
    latency = _value("placement_pci_http_request_duration_seconds_count",
                     route="/resource_providers/<uuid>", method="GET")
    assert latency >= 3
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    before = _value("placement_pci_http_requests_total", **unmatched)
    api.get(f"/no/such/{uuid.uuid4()}")
    assert _value("placement_pci_http_requests_total", **unmatched) == before + 1


def test_claims_count_generation_and_capacity_conflicts(api, database):
    provider = make_provider(database, "metered", {"VCPU": 2})

    def claim(consumer, vcpus, generation):
        return api.put(f"/allocations/{consumer}", json={
            "allocations": {provider: {"resources": {"VCPU": vcpus}}},
            "project_id": "p", "user_id": "u", "consumer_generation": generation,
            "consumer_type": "INSTANCE"})

    def outcome(name):
        return _value("placement_pci_claims_total", api="allocations", outcome=name)

    before = {name: outcome(name) for name in
              ("ok", "generation_conflict", "capacity_conflict")}
    consumer = str(uuid.uuid4())
    assert claim(consumer, 1, None).status_code == 204
    assert claim(consumer, 1, 7).status_code == 409          # stale generation
    assert claim(str(uuid.uuid4()), 5, None).status_code == 409  # too many VCPU
    # Before 1.23 the error code is not shown, but still told apart.
    assert api.put(f"/allocations/{uuid.uuid4()}", version="1.12", json={
        "allocations": {provider: {"resources": {"VCPU": 9}}},
        "project_id": "p", "user_id": "u"}).status_code == 409
    assert outcome("ok") == before["ok"] + 1
    assert outcome("generation_conflict") == before["generation_conflict"] + 1
    assert outcome("capacity_conflict") == before["capacity_conflict"] + 2


def test_candidate_requests_and_snapshot_refreshes_are_measured(api, database):
    make_provider(database, "cn1", {"VCPU": 4})
    make_provider(database, "cn2", {"VCPU": 4})
    computed = _value("placement_pci_candidate_requests_total",
                      api="allocation_candidates", source="computed")
    returned = _value("placement_pci_candidates_returned_sum", api="allocation_candidates")
    full = _value("placement_pci_snapshot_refresh_seconds_count", kind="full")
    response = api.get("/allocation_candidates?resources=VCPU:1")
    assert len(response.get_json()["allocation_requests"]) == 2
    assert _value("placement_pci_candidate_requests_total", api="allocation_candidates",
                  source="computed") == computed + 1
    assert _value("placement_pci_candidates_returned_sum",
                  api="allocation_candidates") == returned + 2
    assert _value("placement_pci_snapshot_refresh_seconds_count", kind="full") == full + 1
    cached = _value("placement_pci_candidate_requests_total",
                    api="allocation_candidates", source="cached")
    api.get("/allocation_candidates?resources=VCPU:1")
    assert _value("placement_pci_candidate_requests_total", api="allocation_candidates",
                  source="cached") == cached + 1
    incremental = _value("placement_pci_snapshot_refresh_seconds_count", kind="incremental")
    make_provider(database, "cn3", {"VCPU": 4})
    assert len(api.get("/allocation_candidates?resources=VCPU:1")
               .get_json()["allocation_requests"]) == 3
    assert _value("placement_pci_snapshot_refresh_seconds_count",
                  kind="incremental") == incremental + 1


def test_pool_use_is_reported(api):
    api.get("/resource_providers")
    text = api.get("/metrics").get_data(as_text=True)
    assert "placement_pci_db_pool_checked_out" in text
    assert _value("placement_pci_db_pool_connections") >= 1
