"""The policy engine: check-string language, Placement's defaults with
enforce_new_defaults and enforce_scope, and operator policy files."""
import re

import pytest

from placement_pci import policy
from placement_pci.policy import Credentials, PolicyError

ALICE = Credentials(user_id="alice", project_id="p1", roles=frozenset({"reader"}))


def creds(*roles: str, project: str | None = "p1", system: bool = False,
          user: str = "alice") -> Credentials:
    return Credentials(user_id=user, project_id=None if system else project,
                       roles=frozenset(roles), system_scoped=system)


def evaluate(check_string: str, credentials: Credentials, target=None,
             rules: dict[str, str] | None = None) -> bool:
    named = {name: policy.parse_check_string(text) for name, text in (rules or {}).items()}
    return policy.parse_check_string(check_string).matches(
        target or {}, credentials.as_mapping(), named)


@pytest.mark.parametrize("check_string,credentials,target,expected", [
    ("@", creds(), {}, True),
    ("!", creds("admin"), {}, False),
    ("", creds(), {}, True),
    ("role:admin", creds("admin"), {}, True),
    ("role:admin", creds("reader"), {}, False),
    ("role:ADMIN", creds("admin"), {}, True),
    ("role:%(wanted)s", creds("service"), {"wanted": "service"}, True),
    ("role:%(wanted)s", creds("service"), {}, False),
    ("project_id:%(project_id)s", creds(), {"project_id": "p1"}, True),
    ("project_id:%(project_id)s", creds(), {"project_id": "p2"}, False),
    ("project_id:%(project_id)s", creds(), {}, False),
    ("project_id:%(project_id)s", creds(system=True), {"project_id": None}, False),
    ("user_id:alice", creds(), {}, True),
    ("user_id:%(user_id)s", creds(user="bob"), {"user_id": "alice"}, False),
    ("system_scope:all", creds("admin", system=True), {}, True),
    ("system_scope:all", creds("admin"), {}, False),
    ("roles:reader", creds("member", "reader"), {}, True),
    ("'p1':%(project_id)s", creds(), {"project_id": "p1"}, True),
    ("True:%(enabled)s", creds(), {"enabled": True}, True),
    ("True:%(enabled)s", creds(), {"enabled": False}, False),
    ("role:admin or role:service", creds("service"), {}, True),
    ("role:admin and role:service", creds("service"), {}, False),
    ("not role:admin", creds("reader"), {}, True),
    ("not role:admin", creds("admin"), {}, False),
    ("NOT role:admin AND role:reader", creds("reader"), {}, True),
    # "and" binds tighter than "or".
    ("role:admin or role:reader and role:member", creds("admin"), {}, True),
    ("role:admin or role:reader and role:member", creds("reader"), {}, False),
    ("(role:admin or role:reader) and role:member", creds("admin"), {}, False),
    ("((role:admin or role:reader)) and (role:member)", creds("reader", "member"), {}, True),
    ("not (role:admin or role:service)", creds("reader"), {}, True),
    ("not not role:reader", creds("reader"), {}, True),
])
def test_check_strings(check_string, credentials, target, expected):
    assert evaluate(check_string, credentials, target) is expected


@pytest.mark.parametrize("rules,check_string,expected", [
    ({"is_reader": "role:reader"}, "rule:is_reader", True),
    ({"is_reader": "role:reader"}, "not rule:is_reader", False),
    ({"is_admin": "role:admin"}, "rule:is_admin or rule:is_reader_alias", False),
    ({}, "rule:missing", False),
])
def test_rule_references_evaluate_named_rules(rules, check_string, expected):
    assert evaluate(check_string, ALICE, rules=rules) is expected


@pytest.mark.parametrize("check_string,complaint", [
    ("role:admin or", "ends too early"),
    ("role:admin role:service", "unexpected 'role:service'"),
    ("(role:admin", "missing ')'"),
    ("role:admin)", "unexpected ')'"),
    ("and role:admin", "unexpected 'and'"),
    ("()", "unexpected ')'"),
    ("admin", "'admin' is not a check"),
    (":admin", "':admin' is not a check"),
    ("project_id:%(project_id", "malformed"),
    ("role:100%", "malformed"),
    ("http://policy.example.com/check:x", "not supported"),
    ("'unterminated:x", "unterminated"),
])
def test_malformed_check_strings_say_what_is_wrong(check_string, complaint):
    with pytest.raises(PolicyError, match=re.escape(complaint)):
        policy.parse_check_string(check_string)


# --------------------------------------------------------------------------
# Placement's defaults

UPSTREAM_RULE_NAMES = {
    "admin_api", "service_api", "admin_or_service_api", "project_reader_api",
    "admin_or_project_reader_or_service_api",
    "placement:resource_providers:list", "placement:resource_providers:create",
    "placement:resource_providers:show", "placement:resource_providers:update",
    "placement:resource_providers:delete",
    "placement:resource_providers:inventories:list",
    "placement:resource_providers:inventories:create",
    "placement:resource_providers:inventories:show",
    "placement:resource_providers:inventories:update",
    "placement:resource_providers:inventories:delete",
    "placement:resource_providers:aggregates:list",
    "placement:resource_providers:aggregates:update",
    "placement:resource_providers:traits:list",
    "placement:resource_providers:traits:update",
    "placement:resource_providers:traits:delete",
    "placement:resource_providers:allocations:list",
    "placement:resource_providers:usages", "placement:usages",
    "placement:resource_classes:list", "placement:resource_classes:create",
    "placement:resource_classes:show", "placement:resource_classes:update",
    "placement:resource_classes:delete",
    "placement:traits:list", "placement:traits:show", "placement:traits:update",
    "placement:traits:delete",
    "placement:allocations:manage", "placement:allocations:list",
    "placement:allocations:update", "placement:allocations:delete",
    "placement:allocation_candidates:list", "placement:reshaper:reshape",
}


def test_every_placement_rule_name_is_defined_once():
    names = [rule.name for rule in policy.DEFAULT_RULES]
    assert len(names) == len(set(names))
    assert set(names) >= UPSTREAM_RULE_NAMES
    extra = set(names) - UPSTREAM_RULE_NAMES
    assert all(name.startswith("placement_pci:") for name in extra), extra


ADMIN = creds("admin")
SERVICE = creds("service")
PROJECT_ADMIN = creds("admin", "member", "reader")
MEMBER = creds("member", "reader")
READER = creds("reader")
NOBODY = creds()
SYSTEM_ADMIN = creds("admin", "member", "reader", system=True)
OWN_PROJECT = {"project_id": "p1"}
OTHER_PROJECT = {"project_id": "p2"}

# rule, credentials, target, allowed with legacy defaults, with new defaults only
DEFAULTS = [
    ("admin_api", ADMIN, {}, True, True),
    ("admin_api", SERVICE, {}, False, False),
    ("service_api", SERVICE, {}, True, True),
    ("service_api", ADMIN, {}, True, False),
    ("admin_or_service_api", ADMIN, {}, True, True),
    ("admin_or_service_api", SERVICE, {}, True, True),
    ("admin_or_service_api", MEMBER, {}, False, False),
    ("project_reader_api", READER, OWN_PROJECT, True, True),
    ("project_reader_api", READER, OTHER_PROJECT, False, False),
    ("project_reader_api", ADMIN, OTHER_PROJECT, True, False),
    ("placement:resource_providers:list", PROJECT_ADMIN, {}, True, True),
    ("placement:resource_providers:list", SERVICE, {}, True, True),
    ("placement:resource_providers:list", MEMBER, {}, False, False),
    ("placement:resource_providers:list", NOBODY, {}, False, False),
    ("placement:allocations:manage", SERVICE, {}, True, True),
    ("placement:allocations:manage", READER, {}, False, False),
    ("placement:reshaper:reshape", SERVICE, {}, True, True),
    ("placement:reshaper:reshape", ADMIN, {}, True, False),
    ("placement:reshaper:reshape", PROJECT_ADMIN, {}, True, False),
    ("placement:usages", READER, OWN_PROJECT, True, True),
    ("placement:usages", MEMBER, OWN_PROJECT, True, True),
    ("placement:usages", READER, OTHER_PROJECT, False, False),
    ("placement:usages", READER, {"project_id": None}, False, False),
    ("placement:usages", ADMIN, OTHER_PROJECT, True, True),
    ("placement:usages", SERVICE, OTHER_PROJECT, True, True),
    ("placement:usages", NOBODY, OWN_PROJECT, False, False),
    ("placement_pci:claims:update", SERVICE, {}, True, True),
    ("placement_pci:claims:update", MEMBER, {}, False, False),
    # Project-scoped rules refuse system-scoped tokens (enforce_scope).
    ("placement:resource_providers:list", SYSTEM_ADMIN, {}, False, False),
    ("placement:usages", creds("reader", system=True), OWN_PROJECT, False, False),
]


@pytest.mark.parametrize("rule,credentials,target,legacy,new", DEFAULTS)
def test_defaults_with_and_without_deprecated_rules(rule, credentials, target, legacy, new):
    legacy_enforcer = policy.build_enforcer(enforce_new_defaults=False)
    new_enforcer = policy.build_enforcer(enforce_new_defaults=True)
    assert legacy_enforcer.authorize(rule, credentials, target) is legacy
    assert new_enforcer.authorize(rule, credentials, target) is new


@pytest.mark.parametrize("rule,credentials,allowed", [
    ("placement:resource_providers:list", SYSTEM_ADMIN, True),
    ("placement:resource_providers:list", creds("reader", system=True), False),
    # project_reader_api has no scope of its own: it never refused one.
    ("project_reader_api", creds("admin", system=True), True),
])
def test_without_enforce_scope_system_tokens_are_judged_by_roles(rule, credentials, allowed):
    enforcer = policy.build_enforcer(enforce_scope=False)
    assert enforcer.authorize(rule, credentials, {}) is allowed


def test_a_rule_the_code_does_not_define_is_a_programming_error():
    with pytest.raises(KeyError):
        policy.build_enforcer().authorize("placement:no_such_rule", ADMIN, {})


# --------------------------------------------------------------------------
# Overrides

@pytest.mark.parametrize("overrides,rule,credentials,target,allowed", [
    # An overridden rule means what the file says: no deprecated role:admin.
    ({"service_api": "role:service"}, "placement:reshaper:reshape", ADMIN, {}, False),
    ({"service_api": "role:service"}, "placement:reshaper:reshape", SERVICE, {}, True),
    # Rules that refer to an overridden rule follow it.
    ({"admin_or_service_api": "@"}, "placement:traits:list", NOBODY, {}, True),
    ({"admin_or_service_api": "@"}, "placement:traits:list", SYSTEM_ADMIN, {}, False),
    ({"placement:traits:list": "role:member"}, "placement:traits:list", MEMBER, {}, True),
    ({"placement:traits:list": "role:member"}, "placement:traits:list", ADMIN, {}, False),
    ({"placement:traits:list": "role:member"}, "placement:traits:show", MEMBER, {}, False),
    ({"placement:usages": "project_id:%(project_id)s"}, "placement:usages", NOBODY,
     OWN_PROJECT, True),
    ({"placement:usages": "project_id:%(project_id)s"}, "placement:usages", NOBODY,
     OTHER_PROJECT, False),
    # Operators' helper rules.
    ({"is_ops": "role:ops", "placement:resource_providers:list": "rule:is_ops"},
     "placement:resource_providers:list", creds("ops"), {}, True),
    ({"placement:resource_providers:delete": "!"}, "placement:resource_providers:delete",
     ADMIN, {}, False),
])
def test_overrides_replace_defaults(overrides, rule, credentials, target, allowed):
    enforcer = policy.build_enforcer(overrides)
    assert enforcer.authorize(rule, credentials, target) is allowed


def test_the_effective_check_shows_the_deprecated_alternative():
    assert (policy.build_enforcer().check_string("service_api")
            == "(role:service or role:admin)")
    assert (policy.build_enforcer(enforce_new_defaults=True).check_string("service_api")
            == "role:service")


@pytest.mark.parametrize("overrides,complaint", [
    ({"placement:usages": "role:reader and"},
     r"rule 'placement:usages': cannot parse 'role:reader and': ends too early"),
    ({"placement:traits:list": "rule:nope"},
     r"rule 'placement:traits:list' refers to undefined rule 'nope'"),
    ({"a": "rule:b", "b": "rule:a"}, r"cycle: (a -> b -> a|b -> a -> b)"),
    ({"admin_api": "rule:admin_api"}, r"cycle: admin_api -> admin_api"),
])
def test_bad_overrides_name_the_rule(overrides, complaint):
    with pytest.raises(PolicyError, match=complaint):
        policy.build_enforcer(overrides)


# --------------------------------------------------------------------------
# Policy files

@pytest.mark.parametrize("file_name,text,expected", [
    ("policy.yaml", '"placement:traits:list": "@"\nadmin_api: role:admin\n',
     {"placement:traits:list": "@", "admin_api": "role:admin"}),
    ("policy.yaml", "# every rule at its default\n", {}),
    ("policy.json", '{"placement:traits:list": "role:reader"}',
     {"placement:traits:list": "role:reader"}),
    ("policy.yml", '{"placement:traits:list": ""}', {"placement:traits:list": ""}),
])
def test_policy_files_in_yaml_or_json(tmp_path, file_name, text, expected):
    path = tmp_path / file_name
    path.write_text(text)
    assert policy.load_policy_file(path) == expected


@pytest.mark.parametrize("file_name,text,complaint", [
    ("policy.yaml", "- role:admin\n", "expected a mapping"),
    ("policy.yaml", '"placement:traits:list": [role:admin]\n',
     "rule 'placement:traits:list': the check must be a string"),
    ("policy.yaml", '"a": "b\n', "not valid YAML"),
    ("policy.json", '{"a": }', "not valid JSON"),
])
def test_unusable_policy_files_are_refused(tmp_path, file_name, text, complaint):
    path = tmp_path / file_name
    path.write_text(text)
    with pytest.raises(PolicyError, match=complaint):
        policy.load_policy_file(path)


def test_missing_policy_file_is_refused(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        policy.enforcer_from_settings(tmp_path / "absent.yaml", enforce_new_defaults=False,
                                      enforce_scope=True)


def test_enforcer_from_settings_names_the_file_and_rule(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"placement:usages": "role:reader or or"\n')
    with pytest.raises(PolicyError, match=rf"policy file {path}: rule 'placement:usages'"):
        policy.enforcer_from_settings(path, enforce_new_defaults=False, enforce_scope=True)


def test_example_open_policy_file_opens_every_rule_but_admin_api():
    from pathlib import Path
    example = Path(__file__).resolve().parents[2] / "etc" / "placement-pci" / "open-policy.yaml"
    enforcer = policy.enforcer_from_settings(example, enforce_new_defaults=True,
                                             enforce_scope=True)
    for rule in policy.DEFAULT_RULES:
        assert enforcer.authorize(rule.name, NOBODY, {}) is (rule.name != "admin_api"), rule.name


def test_api_ref_lists_every_rule_with_its_default():
    from pathlib import Path
    page = (Path(__file__).resolve().parents[2] / "api-ref" / "policy.md").read_text()
    for rule in policy.DEFAULT_RULES:
        assert f"`{rule.name}`" in page and f"`{rule.check_string}`" in page, rule.name
