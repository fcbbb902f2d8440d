"""Every route, every hostile input: a 4xx in Placement's error format and
an unchanged database, on each backend.

The hostile inputs are those that reach a database or a recursive parser
unless the edge refuses them: JSON nested 60,000 levels deep, NUL
characters and lone UTF-16 surrogates (in bodies, paths and query
strings), NaN/Infinity, integers beyond the 32-bit columns, strings longer
than their column, inventory keys that are not resource class names,
deeply nested or entity-laden XML, hostnames with control characters or
path segments, and a Host header that must not reach a Location header.
"""
from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from placement_pci.db import tables
from placement_pci.http import routes
from tests.seeds import A16_ALIAS, A16_DEVICES, A16_SPEC

BIG = 2 ** 31  # one more than the 32-bit integer columns hold
DEEP_ARRAY = "[" * 60000 + "]" * 60000
DEEP_OBJECT = '{"a":' * 60000 + "1" + "}" * 60000

# Raw bodies every PUT/POST route must refuse before anything reads them.
BODIES = {
    "deep array": DEEP_ARRAY,
    "deep object": DEEP_OBJECT,
    "NUL in a string": '{"name": "a\\u0000b"}',
    "NUL in a key": '{"a\\u0000": 1}',
    "NUL deep inside": '{"a": [{"b": ["ok", "\\u0000"]}]}',
    "lone surrogate": '{"name": "\\ud800"}',
    "lone surrogate key": '{"\\udc00": 1}',
    "NaN": '{"total": NaN}',
    "Infinity": '{"limit": Infinity}',
    "-Infinity": '[-Infinity]',
}
# Replacements of each path parameter.
# (Control characters and long values matter where a path segment is
# stored, the hostname of /pci/hosts: see TARGETED.)
PATH_VALUES = {"NUL": "a%00b", "NUL only": "%00"}
# Query strings every route must refuse (routes ignore parameters they do
# not read, as Placement's do, so only what is refused centrally is here;
# the parameters particular routes read are in TARGETED).
QUERIES = {
    "NUL in a value": "name=a%00b",
    "NUL in a name": "a%00=1",
    "NUL project": "project_id=%00",
    "NUL trait": "required=%00",
}


def rows(database) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with database.engine.connect() as connection:
        return {table.name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
                for table in tables.metadata.sorted_tables}


def seed(api) -> dict[str, str]:
    """One of everything, so each route has something to change."""
    provider, consumer = str(uuid.uuid4()), str(uuid.uuid4())
    assert api.post("/resource_providers", json={"name": "rp", "uuid": provider}
                    ).status_code == 200
    assert api.put(f"/resource_providers/{provider}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8}}}).status_code == 200
    assert api.put(f"/allocations/{consumer}", json={
        "allocations": {provider: {"resources": {"VCPU": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None,
        "consumer_type": "INSTANCE"}).status_code == 204
    assert api.put("/traits/CUSTOM_T").status_code == 201
    assert api.put("/resource_classes/CUSTOM_C").status_code == 201
    assert api.post("/pci/aliases", json={"alias": A16_ALIAS}).status_code == 201
    assert api.post("/pci/device-specs", json={"name": "set1", "device_spec": [A16_SPEC]}
                    ).status_code == 201
    assert api.put("/pci/hosts/compute1", json={
        "device_spec": [A16_SPEC], "devices": A16_DEVICES}).status_code == 200
    return {"uuid": provider, "consumer_uuid": consumer, "resource_class": "VCPU",
            "hostname": "compute1"}


def path_names(app, rule) -> dict[str, str]:
    """A real value for each parameter of a route."""
    return {"name": {"traits": "CUSTOM_T", "resource_classes": "CUSTOM_C",
                     "pci_aliases": "A16_16A", "pci_device_specs": "set1"
                     }.get(rule.endpoint.split(".")[0], "x")}


def concrete(rule, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)


def cases_for(app, rule, method: str, values: dict[str, str]):
    """(label, path, raw body or None, extra headers) for one route."""
    path = concrete(rule, values)
    declared = routes.declared(app, rule.endpoint)
    sends_body = method in ("PUT", "POST")
    # Hostile bodies go to every route that reads one (some PUTs, such as
    # PUT /traits/{name}, take none and ignore what is sent, as Placement).
    reads_body = declared.body_schema(39) is not None
    for label, body in BODIES.items() if reads_body else ():
        yield f"body: {label}", path, body, {}
    for name in rule.arguments:
        for label, value in PATH_VALUES.items():
            yield (f"path {name}: {label}", concrete(rule, {**values, name: value}),
                   "{}" if sends_body else None, {})
    for label, query in QUERIES.items():
        yield f"query: {label}", f"{path}?{query}", "{}" if sends_body else None, {}
    for host in ("evil.example/x", "a b", "evil.example@x"):
        yield f"Host {host!r}", path, "{}" if sends_body else None, {"Host": host}


# Requests well-formed except for one value (None: no body).
TARGETED = [
    ("GET", f"/allocation_candidates?resources=VCPU:1&limit={2 ** 70}", None),
    # (Huge amounts in resources= are answered with no match: see
    # test_providers_bad_input.)
    ("GET", "/pci/hosts/a%01b", None),
    ("GET", "/resource_providers?name=" + "n" * 300 + "%00", None),
    ("GET", "/usages?project_id=" + "p" * 256, None),
    ("DELETE", f"/pci/aliases/A16_16A?generation={2 ** 70}", None),
    ("DELETE", f"/pci/device-specs/set1?generation={2 ** 31}", None),
    ("PUT", "/pci/hosts/compute1?dry_run=%00", {"device_spec": [A16_SPEC],
                                                "devices": A16_DEVICES}),
    ("PUT", "/resource_providers/{uuid}/inventories", {
        "resource_provider_generation": 1,
        "inventories": {"VCPU": {"total": BIG}}}),
    ("PUT", "/resource_providers/{uuid}/inventories", {
        "resource_provider_generation": BIG, "inventories": {"VCPU": {"total": 4}}}),
    ("PUT", "/resource_providers/{uuid}/inventories", {
        "resource_provider_generation": 1,
        "inventories": {"not a class": {"total": 4}}}),
    ("PUT", "/resource_providers/{uuid}/inventories", {
        "resource_provider_generation": 1,
        "inventories": {"CUSTOM_" + "X" * 300: {"total": 4}}}),
    ("POST", "/resource_providers/{uuid}/inventories", {
        "resource_class": "VCPU", "total": BIG}),
    ("PUT", "/resource_providers/{uuid}/inventories/VCPU", {
        "resource_provider_generation": 1, "total": 4, "reserved": BIG}),
    ("PUT", "/resource_providers/{uuid}/traits", {
        "resource_provider_generation": BIG, "traits": []}),
    ("PUT", "/resource_providers/{uuid}/aggregates", {
        "resource_provider_generation": BIG, "aggregates": []}),
    ("POST", "/resource_providers", {"name": "x" * 201}),
    ("PUT", "/resource_providers/{uuid}", {"name": "x" * 201}),
    ("PUT", "/allocations/{consumer_uuid}", {
        "allocations": {"{uuid}": {"resources": {"VCPU": BIG}}},
        "project_id": "p", "user_id": "u", "consumer_generation": 1,
        "consumer_type": "INSTANCE"}),
    ("PUT", "/allocations/{consumer_uuid}", {
        "allocations": {"{uuid}": {"resources": {"VCPU": 1}}},
        "project_id": "p" * 256, "user_id": "u", "consumer_generation": 1,
        "consumer_type": "INSTANCE"}),
    ("PUT", "/allocations/{consumer_uuid}", {
        "allocations": {"{uuid}": {"resources": {"VCPU": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": BIG,
        "consumer_type": "INSTANCE"}),
    ("PUT", "/allocations/{consumer_uuid}", {
        "allocations": {"{uuid}": {"resources": {"VCPU": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": 1,
        "consumer_type": "X" * 256}),
    ("PUT", "/pci/hosts/compute1", {
        "device_spec": [A16_SPEC],
        "devices": [{**A16_DEVICES[0], "numa_node": BIG}, *A16_DEVICES[1:]]}),
    ("PUT", "/pci/hosts/compute1", {
        "device_spec": [A16_SPEC],
        "devices": [{**A16_DEVICES[0], "vendor_id": "\u0000"}, *A16_DEVICES[1:]]}),
    ("PUT", "/pci/hosts/a%01b", {"device_spec": [A16_SPEC], "devices": A16_DEVICES}),
    ("PUT", "/pci/hosts/..", {"device_spec": [A16_SPEC], "devices": A16_DEVICES}),
    ("PUT", "/pci/hosts/" + "h" * 201, {"device_spec": [A16_SPEC], "devices": A16_DEVICES}),
    ("PUT", "/pci/aliases/A16_16A", {"alias": A16_ALIAS, "generation": BIG}),
    ("PUT", "/pci/device-specs/set1", {"device_spec": [A16_SPEC], "generation": BIG}),
    ("POST", "/pci/device-specs", {"name": "s" * 256, "device_spec": [A16_SPEC]}),
    ("POST", "/pci/candidates", {"flavor": {"vcpus": 1}, "limit": BIG}),
    ("POST", "/pci/candidates", {"flavor": {"vcpus": BIG}}),
    ("POST", "/pci/candidates", {"flavor": {"vcpus": 1}, "hostname": "a\u0001b"}),
    ("PUT", "/pci/claims/{consumer_uuid}", {
        "flavor": {"vcpus": 1}, "allocation_request": {
            "allocations": {"{uuid}": {"resources": {"VCPU": 1}}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None,
        "consumer_type": "X" * 256}),
    ("PUT", "/pci/claims/{consumer_uuid}", {
        "flavor": {"vcpus": 1}, "allocation_request": {
            "allocations": {"{uuid}": {"resources": {"VCPU": BIG}}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None}),
    ("POST", "/pci/claims/{consumer_uuid}/live-migration/plan", {
        "destination_consumer": "{consumer_uuid}",
        "xml": "<a>" * 10000 + "</a>" * 10000}),
    ("POST", "/pci/claims/{consumer_uuid}/live-migration/plan", {
        "destination_consumer": "{consumer_uuid}",
        "xml": '<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><d>&b;</d>'}),
    ("POST", "/pci/claims/{consumer_uuid}/live-migration/destinations", {"limit": BIG}),
    ("POST", "/reshaper", {
        "inventories": {"{uuid}": {"resource_provider_generation": BIG,
                                   "inventories": {}}},
        "allocations": {}}),
]


def check_error(response, label: str, failures: list[str]) -> None:
    status = response.status_code
    if not 400 <= status < 500:
        failures.append(f"{label}: {status} {response.get_data(as_text=True)[:200]}")
        return
    body = response.get_json(silent=True)
    entry = (body or {}).get("errors", [{}])[0]
    if (entry.get("status") != status or not entry.get("title")
            or not entry.get("detail") or "request_id" not in entry
            or not entry.get("code", "").startswith("placement")):
        failures.append(f"{label}: {status} not in Placement's error format: {body}")


def test_hostile_inputs_get_4xx_and_change_nothing(app, api, database):
    values = seed(api)
    before = rows(database)
    failures: list[str] = []
    routes_seen = 0
    for rule in app.url_map.iter_rules():
        params = {**values, **path_names(app, rule)}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes_seen += 1
            for label, path, body, headers in cases_for(app, rule, method, params):
                response = api.request(method, path, data=body, headers=headers,
                                       content_type="application/json")
                check_error(response, f"{method} {rule.rule} {label}", failures)
                location = response.headers.get("Location", "")
                if "evil" in location or "\n" in location:
                    failures.append(f"{method} {rule.rule} {label}: Location {location!r}")
    for method, template, body in TARGETED:
        path = template.format(**values)
        payload = eval_placeholders(body, values)
        check_error(api.request(method, path, json=payload), f"{method} {template:.80} "
                    f"{body!s:.80}", failures)
    assert routes_seen == len([1 for r in app.url_map.iter_rules()
                               for m in (r.methods or set()) - {"HEAD", "OPTIONS"}])
    assert not failures, "\n".join(failures)
    assert rows(database) == before


def eval_placeholders(value, values: dict[str, str]):
    """``{uuid}``-style placeholders in keys and strings of a body."""
    if isinstance(value, dict):
        return {eval_placeholders(k, values): eval_placeholders(v, values)
                for k, v in value.items()}
    if isinstance(value, list):
        return [eval_placeholders(v, values) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return values[value[1:-1]]
    return value


def test_location_uses_public_url_when_set(database):
    from tests.conftest import ApiClient, make_app
    api = ApiClient(make_app(database, public_url="https://placement.example.org/").test_client())
    response = api.post("/resource_providers", json={"name": "rp"},
                        headers={"Host": "attacker.example"})
    assert response.status_code == 200
    assert response.headers["Location"].startswith(
        "https://placement.example.org/resource_providers/")


@pytest.mark.parametrize("host", ["evil.example/x", "a b", "a@b", "x:99999999"])
def test_malformed_host_is_refused(api, host):
    response = api.post("/resource_providers", json={"name": "rp"}, headers={"Host": host})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["detail"].splitlines()[-1] == "Invalid Host header"
