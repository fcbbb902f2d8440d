"""Placement's policy rules: every rule name, its default check string,
the scopes it accepts and the deprecated check honoured until
enforce_new_defaults is on.  Routes name these rules where they are
declared (http.routes); the engine that evaluates them is
``placement_pci.policy.engine``.
"""
from __future__ import annotations

from collections.abc import Iterable

from placement_pci.policy.engine import RuleDefault

# The legacy rule every Placement default still honours unless
# enforce_new_defaults is on.
DEPRECATED_ADMIN_CHECK = "role:admin"


def _api_rules(prefix: str, check_string: str,
               actions: Iterable[tuple[str, str]]) -> list[RuleDefault]:
    return [RuleDefault(f"{prefix}:{action}", check_string, description)
            for action, description in actions]


ADMIN_OR_SERVICE = "rule:admin_or_service_api"

BASE_RULES = [
    RuleDefault("admin_api", "role:admin", "Administrators."),
    RuleDefault("service_api", "role:service",
                "Other OpenStack services (nova, neutron, ...).",
                deprecated_check_string=DEPRECATED_ADMIN_CHECK),
    RuleDefault("admin_or_service_api", "role:admin or role:service",
                "Administrators or services: most of the API.",
                deprecated_check_string=DEPRECATED_ADMIN_CHECK),
    RuleDefault("project_reader_api", "role:reader and project_id:%(project_id)s",
                "A reader of the project the request is about.",
                scope_types=(), deprecated_check_string=DEPRECATED_ADMIN_CHECK),
    RuleDefault("admin_or_project_reader_or_service_api",
                "role:admin or rule:project_reader_api or role:service",
                "Administrators, services, or a reader of the project concerned.",
                deprecated_check_string=DEPRECATED_ADMIN_CHECK),
]

PLACEMENT_RULES = [
    *_api_rules("placement:resource_providers", ADMIN_OR_SERVICE, [
        ("list", "GET /resource_providers"),
        ("create", "POST /resource_providers"),
        ("show", "GET /resource_providers/{uuid}"),
        ("update", "PUT /resource_providers/{uuid}"),
        ("delete", "DELETE /resource_providers/{uuid}"),
    ]),
    *_api_rules("placement:resource_providers:inventories", ADMIN_OR_SERVICE, [
        ("list", "GET /resource_providers/{uuid}/inventories"),
        ("create", "POST /resource_providers/{uuid}/inventories"),
        ("show", "GET /resource_providers/{uuid}/inventories/{resource_class}"),
        ("update", "PUT /resource_providers/{uuid}/inventories[/{resource_class}]"),
        ("delete", "DELETE /resource_providers/{uuid}/inventories[/{resource_class}]"),
    ]),
    *_api_rules("placement:resource_providers:aggregates", ADMIN_OR_SERVICE, [
        ("list", "GET /resource_providers/{uuid}/aggregates"),
        ("update", "PUT /resource_providers/{uuid}/aggregates"),
    ]),
    *_api_rules("placement:resource_providers:traits", ADMIN_OR_SERVICE, [
        ("list", "GET /resource_providers/{uuid}/traits"),
        ("update", "PUT /resource_providers/{uuid}/traits"),
        ("delete", "DELETE /resource_providers/{uuid}/traits"),
    ]),
    *_api_rules("placement:resource_providers", ADMIN_OR_SERVICE, [
        ("allocations:list", "GET /resource_providers/{uuid}/allocations"),
        ("usages", "GET /resource_providers/{uuid}/usages"),
    ]),
    RuleDefault("placement:usages", "rule:admin_or_project_reader_or_service_api",
                "GET /usages (target: the project_id query parameter)"),
    *_api_rules("placement:resource_classes", ADMIN_OR_SERVICE, [
        ("list", "GET /resource_classes"),
        ("create", "POST /resource_classes"),
        ("show", "GET /resource_classes/{name}"),
        ("update", "PUT /resource_classes/{name}"),
        ("delete", "DELETE /resource_classes/{name}"),
    ]),
    *_api_rules("placement:traits", ADMIN_OR_SERVICE, [
        ("list", "GET /traits"),
        ("show", "GET /traits/{name}"),
        ("update", "PUT /traits/{name}"),
        ("delete", "DELETE /traits/{name}"),
    ]),
    *_api_rules("placement:allocations", ADMIN_OR_SERVICE, [
        ("manage", "POST /allocations"),
        ("list", "GET /allocations/{consumer_uuid}"),
        ("update", "PUT /allocations/{consumer_uuid}"),
        ("delete", "DELETE /allocations/{consumer_uuid}"),
    ]),
    RuleDefault("placement:allocation_candidates:list", ADMIN_OR_SERVICE,
                "GET /allocation_candidates"),
    RuleDefault("placement:reshaper:reshape", "rule:service_api", "POST /reshaper"),
]

PCI_RULES = [
    *_api_rules("placement_pci:hosts", ADMIN_OR_SERVICE, [
        ("show", "GET /pci/hosts/{hostname}"),
        ("update", "PUT /pci/hosts/{hostname}"),
    ]),
    *_api_rules("placement_pci:device_specs", ADMIN_OR_SERVICE, [
        ("list", "GET /pci/device-specs"),
        ("show", "GET /pci/device-specs/{name}"),
        ("create", "POST /pci/device-specs"),
        ("update", "PUT /pci/device-specs/{name}"),
        ("delete", "DELETE /pci/device-specs/{name}"),
        ("preview", "POST /pci/device-specs/preview"),
    ]),
    *_api_rules("placement_pci:aliases", ADMIN_OR_SERVICE, [
        ("list", "GET /pci/aliases"),
        ("show", "GET /pci/aliases/{name}"),
        ("create", "POST /pci/aliases"),
        ("update", "PUT /pci/aliases/{name}"),
        ("delete", "DELETE /pci/aliases/{name}"),
        ("preview", "POST /pci/aliases/preview"),
    ]),
    RuleDefault("placement_pci:request_groups:create", ADMIN_OR_SERVICE,
                "POST /pci/request-groups"),
    RuleDefault("placement_pci:candidates:list", ADMIN_OR_SERVICE, "POST /pci/candidates"),
    RuleDefault("placement_pci:diagnosis:create", ADMIN_OR_SERVICE, "POST /pci/diagnosis"),
    *_api_rules("placement_pci:claims", ADMIN_OR_SERVICE, [
        ("list", "GET /pci/claims"),
        ("show", "GET /pci/claims/{consumer_uuid}"),
        ("update", "PUT /pci/claims/{consumer_uuid}"),
        ("delete", "DELETE /pci/claims/{consumer_uuid}"),
        ("hostdev_xml", "GET /pci/claims/{consumer_uuid}/hostdev-xml"),
    ]),
    *_api_rules("placement_pci:live_migration", ADMIN_OR_SERVICE, [
        ("check", "POST /pci/claims/{consumer_uuid}/live-migration/check"),
        ("destinations", "POST /pci/claims/{consumer_uuid}/live-migration/destinations"),
        ("plan", "POST /pci/claims/{consumer_uuid}/live-migration/plan"),
    ]),
    RuleDefault("placement_pci:headroom:create", ADMIN_OR_SERVICE, "POST /pci/headroom"),
    RuleDefault("placement_pci:audit:list", ADMIN_OR_SERVICE,
                "GET /pci/audit, POST /pci/audit"),
    RuleDefault("placement_pci:audit:heal", ADMIN_OR_SERVICE, "POST /pci/audit/heal"),
    RuleDefault("placement_pci:ledger:list", ADMIN_OR_SERVICE, "GET /pci/ledger"),
    RuleDefault("placement_pci:ui:view", "rule:admin_api", "GET /ui/ (the dashboard)"),
]

OPERATIONS_RULES = [
    RuleDefault("placement_pci:metrics", "rule:admin_api", "GET /metrics"),
    RuleDefault("placement_pci:healthcheck:detailed", "rule:admin_api",
                "GET /healthcheck?detailed"),
]

DEFAULT_RULES: tuple[RuleDefault, ...] = (
    *BASE_RULES, *PLACEMENT_RULES, *PCI_RULES, *OPERATIONS_RULES)
