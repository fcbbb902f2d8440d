"""What the API answers: one JSON Schema (OpenAPI 3.0 dialect) per answer.

Routes declare their answers with ``responses={status: Answer | None}``
(None: no body) and the OpenAPI document publishes them.  The test suite
checks every answer the functional, gabbi and schemathesis tests receive
against the document, so a schema here that drifts from the handlers
fails the suite.

Placement's answers change with the microversion: a key added at 1.N is
documented but not required; a key removed later is documented the same
way.  The Placement routes' objects refuse undocumented keys; the /pci
routes' deeper structures (trees, candidates, diagnoses) document their
top level and are described in api-ref/pci-*.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """One documented answer: a named schema and its media type."""
    name: str
    schema: dict[str, Any]
    description: str
    media_type: str = JSON
    # Other media types the same answer may come in (content negotiation).
    alternatives: tuple[str, ...] = field(default=())


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None, *,
        closed: bool = True) -> dict[str, Any]:
    """An object with ``required`` and ``optional`` properties; ``closed``:
    no other key."""
    described: dict[str, Any] = {"type": "object",
                                 "properties": {**required, **(optional or {})}}
    if required:
        described["required"] = sorted(required)
    if closed:
        described["additionalProperties"] = False
    return described


def mapping(values: dict[str, Any]) -> dict[str, Any]:
    """An object keyed by names or uuids, every value of one shape."""
    return {"type": "object", "additionalProperties": values}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def nullable(described: dict[str, Any]) -> dict[str, Any]:
    return {**described, "nullable": True}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NATURAL = {"type": "integer", "minimum": 0}
BOOLEAN = {"type": "boolean"}
NUMBER = {"type": "number"}
OBJECT = {"type": "object"}
UUID = {"type": "string", "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time"}
AMOUNTS = mapping(NATURAL)
LINKS = array(obj({"rel": STRING, "href": STRING}))

# --- errors ------------------------------------------------------------------

ERROR = Answer("Error", obj({"errors": {
    "type": "array", "minItems": 1,
    "items": obj(
        {"status": {"type": "integer", "minimum": 400, "maximum": 599},
         "title": STRING,
         "detail": {"type": "string", "description": (
             "The status's explanation, a blank line, then what went wrong "
             "on one line (Placement's layout; clients show the last line).")},
         "request_id": STRING},
        {"code": {"type": "string", "description": "From microversion 1.23."},
         # A 406 for an unsupported microversion says which are.
         "max_version": STRING, "min_version": STRING})}}),
    "Placement's JSON error (HTML or plain text when Accept asks for it).",
    alternatives=("text/html", "text/plain"))

# --- Placement ---------------------------------------------------------------

VERSIONS = Answer("Versions", obj({"versions": array(obj({
    "id": STRING, "max_version": STRING, "min_version": STRING, "status": STRING,
    "links": LINKS}))}), "The version document.")

_PROVIDER = obj(
    {"uuid": UUID, "name": STRING, "generation": NATURAL, "links": LINKS},
    {"parent_provider_uuid": nullable(UUID), "root_provider_uuid": UUID})
PROVIDER = Answer("ResourceProvider", _PROVIDER, "A resource provider.")
PROVIDERS = Answer("ResourceProviders", obj({"resource_providers": array(_PROVIDER)}),
                   "Resource providers.")

_INVENTORY_FIELDS = {"total": NATURAL, "reserved": NATURAL, "min_unit": NATURAL,
                     "max_unit": NATURAL, "step_size": NATURAL,
                     "allocation_ratio": NUMBER}
INVENTORY = Answer("Inventory", obj({"resource_provider_generation": NATURAL,
                                     **_INVENTORY_FIELDS}),
                   "One inventory of a provider.")
INVENTORIES = Answer("Inventories", obj({
    "resource_provider_generation": NATURAL,
    "inventories": mapping(obj(_INVENTORY_FIELDS))}),
    "A provider's inventories by resource class.")

PROVIDER_USAGES = Answer("ProviderUsages", obj({
    "resource_provider_generation": NATURAL, "usages": AMOUNTS}),
    "A provider's usage by resource class.")
TOTAL_USAGES = Answer("Usages", obj({"usages": {
    "type": "object", "description": (
        "{resource class: amount}; from 1.38 {consumer type: "
        "{resource class: amount, consumer_count: N}}"),
    "additionalProperties": {"oneOf": [NATURAL, AMOUNTS]}}}),
    "A project's (and user's) usage.")

_TRAITS = array(STRING)
TRAITS = Answer("Traits", obj({"traits": _TRAITS}), "Trait names.")
PROVIDER_TRAITS = Answer("ProviderTraitList", obj({
    "traits": _TRAITS, "resource_provider_generation": NATURAL}),
    "A provider's traits.")

AGGREGATES = Answer("ProviderAggregates", obj(
    {"aggregates": array(UUID)}, {"resource_provider_generation": NATURAL}),
    "A provider's aggregates (its generation from 1.19).")

_RESOURCE_CLASS = obj({"name": STRING, "links": LINKS})
RESOURCE_CLASS = Answer("ResourceClass", _RESOURCE_CLASS, "A resource class.")
RESOURCE_CLASSES = Answer("ResourceClasses", obj({
    "resource_classes": array(_RESOURCE_CLASS)}), "Resource classes.")

_RESOURCES = obj({"resources": AMOUNTS}, {"generation": NATURAL})
CONSUMER_ALLOCATIONS = Answer("ConsumerAllocations", obj(
    {"allocations": mapping(_RESOURCES)},
    {"project_id": STRING, "user_id": STRING, "consumer_generation": nullable(NATURAL),
     # "unknown" for consumers created before 1.38.
     "consumer_type": STRING}),
    "One consumer's allocations by provider (owner from 1.12, generation "
    "from 1.28, type from 1.38).")
PROVIDER_ALLOCATIONS = Answer("ProviderAllocations", obj({
    "allocations": mapping(obj({"resources": AMOUNTS},
                               {"consumer_generation": nullable(NATURAL)})),
    "resource_provider_generation": NATURAL}),
    "The allocations against one provider, by consumer.")

_ALLOCATION_REQUEST = obj(
    {"allocations": {"description": "by provider uuid (a list before 1.12)",
                     "oneOf": [mapping(obj({"resources": AMOUNTS})),
                               array(obj({"resource_provider": obj({"uuid": UUID}),
                                          "resources": AMOUNTS}))]}},
    {"mappings": mapping(array(UUID))})
_SUMMARY = obj(
    {"resources": mapping(obj({"capacity": NATURAL, "used": NATURAL}))},
    {"traits": _TRAITS, "parent_provider_uuid": nullable(UUID),
     "root_provider_uuid": UUID})
ALLOCATION_CANDIDATES = Answer("AllocationCandidates", obj({
    "allocation_requests": array(_ALLOCATION_REQUEST),
    "provider_summaries": mapping(_SUMMARY)}),
    "Allocation candidates and the providers they use.")

# --- operations --------------------------------------------------------------

HEALTH = Answer("Health", obj({"detailed": BOOLEAN}, {
    "reasons": _TRAITS, "healthy": BOOLEAN, "checks": array(OBJECT),
    "hostname": STRING, "python_version": STRING, "platform": STRING}),
    "Health of this server: text/plain reasons unless JSON is preferred.",
    alternatives=("text/plain",))
METRICS = Answer("Metrics", STRING, "Prometheus text exposition format.",
                 media_type="text/plain")
OPENAPI = Answer("OpenApiDocument", obj({"openapi": STRING, "info": OBJECT,
                                         "paths": OBJECT}, closed=False),
                 "This document.")

# --- /pci ----------------------------------------------------------------------

_CONFIG_OBJECT = {"name": STRING, "generation": NATURAL,
                  "created_at": nullable(TIMESTAMP), "updated_at": nullable(TIMESTAMP)}
_ALIAS = obj({**_CONFIG_OBJECT, "entry": {}, "alias": OBJECT, "resource_class": STRING,
              "required_traits": _TRAITS, "forbidden_traits": _TRAITS})
ALIAS = Answer("PciAlias", _ALIAS, "An API-managed PCI alias.")
ALIASES = Answer("PciAliases", obj({"aliases": array(_ALIAS)}), "API-managed PCI aliases.")
ALIAS_PREVIEW = Answer("PciAliasPreview", obj({
    "aliases": array(OBJECT), "request_groups": nullable(OBJECT)}),
    "A proposed alias set, and a flavor's request groups under it.")

_DEVICE_SPEC_SET = obj({**_CONFIG_OBJECT, "device_spec": array({}), "warnings": _TRAITS})
DEVICE_SPEC_SET = Answer("PciDeviceSpecSet", _DEVICE_SPEC_SET, "A device spec set.")
DEVICE_SPEC_SETS = Answer("PciDeviceSpecSets", obj({
    "device_spec_sets": array(_DEVICE_SPEC_SET)}), "Device spec sets.")

_HOST_TREE = {"hostname": STRING, "root_provider": nullable(OBJECT),
              "providers": array(OBJECT), "root_traits": _TRAITS,
              "devices_without_provider": array(OBJECT)}
HOST_SYNC = Answer("PciHostSync", obj({
    **_HOST_TREE, "dry_run": BOOLEAN, "changed": BOOLEAN,
    "healed_allocations": array(OBJECT), "warnings": _TRAITS}, closed=False),
    "The provider tree applied (or previewed) for a host.")
HOST = Answer("PciHost", obj(_HOST_TREE, closed=False),
              "A host's stored provider tree and device metadata.")

REQUEST_GROUPS = Answer("PciRequestGroups", obj({
    "groups": array(OBJECT), "group_policy": nullable(STRING),
    "root_required": _TRAITS, "root_forbidden": _TRAITS,
    "same_subtree": array(_TRAITS), "query": STRING}, closed=False),
    "A flavor's request groups and the equivalent candidates query.")
PCI_CANDIDATES = Answer("PciCandidates", obj({
    "request_groups": OBJECT, "candidates": array(OBJECT),
    "provider_summaries": OBJECT}, closed=False),
    "Request groups, candidates and the device each alias item gets.")
DIAGNOSIS = Answer("PciDiagnosis", obj({"hosts": array(OBJECT)}, closed=False),
                   "Per host, why it is or is not a candidate.")
HEADROOM = Answer("PciHeadroom", obj({"total": NATURAL}, closed=False),
                  "How many more instances fit: in total, per host and per aggregate.")

_FINDING = obj({"kind": STRING, "consumer_uuid": nullable(STRING),
                "hostname": nullable(STRING), "provider_uuid": nullable(STRING),
                "address": nullable(STRING), "resource_class": nullable(STRING),
                "detail": STRING})
AUDIT = Answer("PciAuditFindings", obj({"findings": array(_FINDING)}),
               "Every disagreement between allocations, claims and devices.")
HEAL = Answer("PciAuditHeal", obj({"dry_run": BOOLEAN, "actions": array(OBJECT)}),
              "What the heal did (or, in a dry run, would do) per finding.")
LEDGER = Answer("PciLedger", obj({"entries": array(OBJECT), "next_since": NATURAL}),
                "A page of allocation ledger entries, oldest first.")
DASHBOARD = Answer("Dashboard", STRING, "The operator dashboard page.",
                   media_type="text/html")

_DEVICE = obj({"group": STRING, "alias": nullable(STRING), "hostname": STRING,
               "address": STRING}, closed=False)
_CLAIM = obj({"consumer_uuid": UUID, "consumer_generation": nullable(NATURAL),
              "allocations": mapping(obj({"resources": AMOUNTS})),
              "devices": array(_DEVICE), "hostnames": _TRAITS,
              "request": OBJECT, "request_groups": OBJECT, "hostdev_xml": STRING},
             closed=False)
CLAIM = Answer("PciClaim", _CLAIM, "A consumer's claim and its devices.")
CLAIMS = Answer("PciClaims", obj({"claims": array(_CLAIM)}), "Every PCI claim.")
HOSTDEV_XML = Answer("PciHostdevXml", obj({
    "consumer_uuid": UUID, "hostnames": _TRAITS, "devices": array(_DEVICE),
    "xml": STRING}), "The libvirt <hostdev> elements of a consumer's devices.")
MIGRATION_CHECK = Answer("PciLiveMigrationCheck", obj({
    "consumer_uuid": UUID, "live_migratable": BOOLEAN, "devices": array(_DEVICE)}),
    "Whether a consumer may be live migrated.")
MIGRATION_PLAN = Answer("PciLiveMigrationPlan", obj({
    "consumer_uuid": UUID, "destination_devices_claimed": BOOLEAN,
    "address_map": array(OBJECT), "xml": STRING}, closed=False),
    "Source to destination device addresses and the rewritten XML.")
