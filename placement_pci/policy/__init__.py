"""Policy: Placement's rules (``rules``) and the engine that evaluates
them against an operator's policy file (``engine``).

The engine is our own rather than oslo.policy: it is the part of
oslo.policy Placement's policy files use (the check-string language,
deprecated defaults, enforce_new_defaults, enforce_scope) without
oslo.config's global option registry, which our one Settings object
replaces.  This module binds the engine to Placement's rules.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from placement_pci.policy import engine
from placement_pci.policy.engine import (
    Check,
    Credentials,
    Enforcer,
    PolicyError,
    RuleDefault,
    load_policy_file,
    parse_check_string,
)
from placement_pci.policy.rules import DEFAULT_RULES

__all__ = ["DEFAULT_RULES", "Check", "Credentials", "Enforcer", "PolicyError",
           "RuleDefault", "build_enforcer", "enforcer_from_settings",
           "load_policy_file", "parse_check_string"]


def build_enforcer(overrides: Mapping[str, str] | None = None, *,
                   enforce_new_defaults: bool = False, enforce_scope: bool = True,
                   source: str = "policy file") -> Enforcer:
    """An enforcer of Placement's rules with ``overrides`` (name -> check)."""
    return engine.build_enforcer(overrides, enforce_new_defaults=enforce_new_defaults,
                                 enforce_scope=enforce_scope, defaults=DEFAULT_RULES,
                                 source=source)


def enforcer_from_settings(policy_file: str | Path | None, *, enforce_new_defaults: bool,
                           enforce_scope: bool) -> Enforcer:
    """Placement's rules plus the operator's policy file (if any)."""
    return engine.enforcer_from_settings(policy_file,
                                         enforce_new_defaults=enforce_new_defaults,
                                         enforce_scope=enforce_scope,
                                         defaults=DEFAULT_RULES)
