"""The policy engine: the check-string language of Placement's policy
files and the enforcer that decides one request (the rules themselves,
names and defaults, are in ``placement_pci.policy.rules``).

Pure Python: no Flask, no I/O except reading the operator's policy file.

The language is the one Placement operators write in ``policy.yaml``:
``@`` (always), ``!`` (never), ``role:NAME``, ``rule:NAME``,
``KEY:VALUE`` matches where VALUE may name a target attribute as
``%(project_id)s`` and KEY is a credential (``project_id``, ``user_id``,
``system_scope``, ``roles``) or a quoted literal, joined with ``and``,
``or``, ``not`` and parentheses (``not`` binds tightest, then ``and``).
An empty check string allows everything, as in Placement.
"""
from __future__ import annotations

import ast
import collections
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_SCOPE = ("project",)


class PolicyError(ValueError):
    """A policy file or check string that cannot be used."""


# --------------------------------------------------------------------------
# Credentials and the shape of a rule default

@dataclass(frozen=True)
class Credentials:
    """Who is asking: what a token says about its holder."""
    user_id: str | None
    project_id: str | None
    roles: frozenset[str] = frozenset()
    system_scoped: bool = False

    def as_mapping(self) -> dict[str, object]:
        """The names a ``KEY:VALUE`` check can compare against."""
        return {"user_id": self.user_id, "project_id": self.project_id,
                "roles": sorted(self.roles),
                "system_scope": "all" if self.system_scoped else None}


@dataclass(frozen=True)
class RuleDefault:
    """A rule as the code defines it, before any policy file."""
    name: str
    check_string: str
    description: str
    # Token scopes the rule accepts when enforce_scope is on; empty: any.
    scope_types: tuple[str, ...] = PROJECT_SCOPE
    # Still OR-ed in while enforce_new_defaults is off.
    deprecated_check_string: str | None = None


# --------------------------------------------------------------------------
# Checks: the parsed form of a check string

Target = Mapping[str, object]
RuleMap = Mapping[str, "Check"]


class Check:
    """One node of a parsed check string."""

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        """Whether the check holds; ``rules`` resolves ``rule:NAME``."""
        raise NotImplementedError

    def referenced_rules(self) -> Iterable[str]:
        return ()


@dataclass(frozen=True)
class Constant(Check):
    allowed: bool

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        return self.allowed

    def __str__(self) -> str:
        return "@" if self.allowed else "!"


def _substitute(pattern: str, target: Mapping[str, object]) -> str | None:
    """``pattern`` with its ``%(name)s`` filled from the target; None when
    the target lacks a name (the check then fails)."""
    try:
        return pattern % target
    except KeyError:
        return None


@dataclass(frozen=True)
class RoleCheck(Check):
    role: str

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        wanted = _substitute(self.role, target)
        roles = credentials.get("roles") or ()
        return (wanted is not None and isinstance(roles, Iterable)
                and wanted.lower() in {r.lower() for r in roles})

    def __str__(self) -> str:
        return f"role:{self.role}"


@dataclass(frozen=True)
class RuleReference(Check):
    name: str

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        check = rules.get(self.name)
        return check is not None and check.matches(target, credentials, rules)

    def referenced_rules(self) -> Iterable[str]:
        return (self.name,)

    def __str__(self) -> str:
        return f"rule:{self.name}"


@dataclass(frozen=True)
class AttributeCheck(Check):
    """``KEY:VALUE``: a credential (dotted path) or a quoted literal KEY
    equal to VALUE after target substitution."""
    key: str
    value: str

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        wanted = _substitute(self.value, target)
        if wanted is None:
            return False
        literal = _literal(self.key)
        if literal is not None:
            return wanted == str(literal[0])
        return _found_at(credentials, self.key.split("."), wanted)

    def __str__(self) -> str:
        return f"{self.key}:{self.value}"


def _literal(key: str) -> tuple[object] | None:
    try:
        return (ast.literal_eval(key),)
    except (ValueError, SyntaxError):
        return None


def _found_at(value: object, path: list[str], wanted: str) -> bool:
    """Whether the credential at ``path`` is ``wanted``; a list matches
    when any item does.  An absent (None) credential matches nothing."""
    if not path:
        return value is not None and str(value) == wanted
    if not isinstance(value, Mapping) or path[0] not in value:
        return False
    inner = value[path[0]]
    if isinstance(inner, (list, tuple)):
        return any(_found_at(item, path[1:], wanted) for item in inner)
    return _found_at(inner, path[1:], wanted)


@dataclass(frozen=True)
class Not(Check):
    check: Check

    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        return not self.check.matches(target, credentials, rules)

    def referenced_rules(self) -> Iterable[str]:
        return self.check.referenced_rules()

    def __str__(self) -> str:
        return f"not {self.check}"


@dataclass(frozen=True)
class _Combination(Check):
    """Checks joined by ``and`` or ``or``."""
    checks: tuple[Check, ...]

    def referenced_rules(self) -> Iterable[str]:
        return [name for c in self.checks for name in c.referenced_rules()]


@dataclass(frozen=True)
class AllOf(_Combination):
    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        return all(c.matches(target, credentials, rules) for c in self.checks)

    def __str__(self) -> str:
        return "(" + " and ".join(map(str, self.checks)) + ")"


@dataclass(frozen=True)
class AnyOf(_Combination):
    def matches(self, target: Target, credentials: Target, rules: RuleMap) -> bool:
        return any(c.matches(target, credentials, rules) for c in self.checks)

    def __str__(self) -> str:
        return "(" + " or ".join(map(str, self.checks)) + ")"


# --------------------------------------------------------------------------
# Parser

KEYWORDS = ("and", "or", "not")


def _tokens(text: str) -> list[str]:
    """Words split on white space, with parentheses at either end of a
    word as tokens of their own (``(role:a`` -> ``(``, ``role:a``)."""
    tokens: list[str] = []
    for word in text.split():
        stripped = word.lstrip("(")
        tokens.extend("(" * (len(word) - len(stripped)))
        body = stripped.rstrip(")")
        if body:
            tokens.append(body.lower() if body.lower() in KEYWORDS else body)
        tokens.extend(")" * (len(stripped) - len(body)))
    return tokens


class _Parser:
    """Recursive descent: or-expression of and-expressions of
    (possibly negated) checks or parenthesised expressions."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def parse(self) -> Check:
        if not self.tokens:
            return Constant(True)
        check = self._any_of()
        if self.position != len(self.tokens):
            raise PolicyError(f"unexpected {self.tokens[self.position]!r}")
        return check

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise PolicyError("ends too early")
        self.position += 1
        return token

    def _any_of(self) -> Check:
        checks = [self._all_of()]
        while self._peek() == "or":
            self._take()
            checks.append(self._all_of())
        return checks[0] if len(checks) == 1 else AnyOf(tuple(checks))

    def _all_of(self) -> Check:
        checks = [self._negation()]
        while self._peek() == "and":
            self._take()
            checks.append(self._negation())
        return checks[0] if len(checks) == 1 else AllOf(tuple(checks))

    def _negation(self) -> Check:
        if self._peek() == "not":
            self._take()
            return Not(self._negation())
        return self._operand()

    def _operand(self) -> Check:
        token = self._take()
        if token == "(":
            check = self._any_of()
            if self._peek() != ")":
                raise PolicyError("missing ')'")
            self._take()
            return check
        if token in (")", *KEYWORDS):
            raise PolicyError(f"unexpected {token!r}")
        return parse_single_check(token)


def parse_single_check(token: str) -> Check:
    """``@``, ``!`` or ``KIND:MATCH``."""
    if token == "@":
        return Constant(True)
    if token == "!":
        return Constant(False)
    kind, separator, match = token.partition(":")
    if not separator or not kind:
        raise PolicyError(f"{token!r} is not a check (expected KIND:VALUE, @ or !)")
    if kind in ("http", "https"):
        raise PolicyError(f"{token!r}: remote http checks are not supported")
    try:
        match % collections.defaultdict(str)
    except (ValueError, TypeError):
        raise PolicyError(f"{token!r}: malformed %(name)s substitution") from None
    if kind == "role":
        return RoleCheck(match)
    if kind == "rule":
        return RuleReference(match)
    if kind[0] in "'\"" and _literal(kind) is None:
        raise PolicyError(f"{token!r}: unterminated quoted literal")
    return AttributeCheck(kind, match)


def parse_check_string(text: str) -> Check:
    """The check tree of a check string; PolicyError says what is wrong."""
    if not isinstance(text, str):
        raise PolicyError(f"a check string must be text, got {type(text).__name__}")
    return _Parser(text).parse()


# --------------------------------------------------------------------------
# Policy files

def load_policy_file(path: str | Path) -> dict[str, str]:
    """``name: check string`` pairs from a YAML or JSON policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"policy file {path}: cannot read it: {error.strerror}") from None
    try:
        content = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise PolicyError(f"policy file {path}: not valid "
                          f"{'JSON' if path.suffix == '.json' else 'YAML'}: {error}") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise PolicyError(f"policy file {path}: expected a mapping of rule names "
                          "to check strings")
    for name, check_string in content.items():
        if not isinstance(check_string, str):
            raise PolicyError(f"policy file {path}: rule {name!r}: the check must be "
                              f"a string, got {check_string!r}")
    return {str(name): check for name, check in content.items()}


# --------------------------------------------------------------------------
# The enforcer

@dataclass(frozen=True)
class Enforcer:
    """Decides whether credentials may use a rule on a target.

    Built once at start-up: every check string is parsed then, so a bad
    policy file stops the service instead of failing requests.
    """
    rules: Mapping[str, Check]
    scope_types: Mapping[str, tuple[str, ...]]
    enforce_scope: bool = True
    # Where each rule came from, for messages: "default" or the file.
    sources: Mapping[str, str] = field(default_factory=dict)

    def authorize(self, rule_name: str, credentials: Credentials,
                  target: Mapping[str, object]) -> bool:
        """True when ``credentials`` satisfy ``rule_name`` on ``target``.

        A rule the code does not define is a programming error (KeyError).
        """
        check = self.rules[rule_name]
        scopes = self.scope_types.get(rule_name, ())
        if self.enforce_scope and scopes:
            token_scope = "system" if credentials.system_scoped else "project"
            if token_scope not in scopes:
                return False
        return check.matches(target, credentials.as_mapping(), self.rules)

    def check_string(self, rule_name: str) -> str:
        """The effective check of a rule, written back as text."""
        return str(self.rules[rule_name])


def build_enforcer(overrides: Mapping[str, str] | None = None, *,
                   enforce_new_defaults: bool = False,
                   enforce_scope: bool = True,
                   defaults: Sequence[RuleDefault],
                   source: str = "policy file") -> Enforcer:
    """An enforcer of ``defaults`` with ``overrides`` (name -> check string).

    A rule the overrides leave alone gets its default check; while
    ``enforce_new_defaults`` is off, a default with a deprecated check is
    the new check OR the deprecated one. An overridden rule means exactly
    what the override says. Raises PolicyError naming the rule for a check
    string that does not parse, a reference to an undefined rule, or rules
    that refer to each other in a cycle.
    """
    overrides = dict(overrides or {})
    rules: dict[str, Check] = {}
    sources: dict[str, str] = {}
    for default in defaults:
        check = _parse_named(default.name, default.check_string, "default")
        if (default.deprecated_check_string is not None and not enforce_new_defaults
                and default.deprecated_check_string != default.check_string):
            deprecated = _parse_named(default.name, default.deprecated_check_string,
                                      "deprecated default")
            check = AnyOf((check, deprecated))
        rules[default.name] = check
        sources[default.name] = "default"
    for name, check_string in overrides.items():
        rules[name] = _parse_named(name, check_string, source)
        sources[name] = source
    _check_references(rules, sources)
    return Enforcer(rules=rules,
                    scope_types={d.name: d.scope_types for d in defaults},
                    enforce_scope=enforce_scope, sources=sources)


def enforcer_from_settings(policy_file: str | Path | None, *,
                           enforce_new_defaults: bool,
                           enforce_scope: bool,
                           defaults: Sequence[RuleDefault]) -> Enforcer:
    """The enforcer a service starts with: defaults plus the policy file
    (none when ``policy_file`` is empty)."""
    overrides = load_policy_file(policy_file) if policy_file else {}
    return build_enforcer(overrides, enforce_new_defaults=enforce_new_defaults,
                          enforce_scope=enforce_scope, defaults=defaults,
                          source=f"policy file {policy_file}")


def _parse_named(name: str, check_string: str, source: str) -> Check:
    try:
        return parse_check_string(check_string)
    except PolicyError as error:
        raise PolicyError(f"{source}: rule {name!r}: cannot parse "
                          f"{check_string!r}: {error}") from None


def _check_references(rules: Mapping[str, Check], sources: Mapping[str, str]) -> None:
    for name, check in rules.items():
        for referenced in check.referenced_rules():
            if referenced not in rules:
                raise PolicyError(f"{sources[name]}: rule {name!r} refers to "
                                  f"undefined rule {referenced!r}")
    finished: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in finished:
            return
        if name in path:
            cycle = " -> ".join([*path[path.index(name):], name])
            raise PolicyError(f"{sources[name]}: rules refer to each other in a "
                              f"cycle: {cycle}")
        for referenced in rules[name].referenced_rules():
            visit(referenced, [*path, name])
        finished.add(name)

    for name in rules:
        visit(name, [])
