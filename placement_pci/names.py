"""Resource class and trait names: validation and normalisation.

Standard names come from os-resource-classes and os-traits; everything else
must be a ``CUSTOM_`` name of upper-case letters, digits and underscores.
"""
from __future__ import annotations

import re

import os_resource_classes
import os_traits

CUSTOM_PREFIX = "CUSTOM_"
MAX_NAME_LENGTH = 255
_CUSTOM_NAME = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
_OUTSIDE_ALLOWED = re.compile(r"[^A-Z0-9_]+")

STANDARD_RESOURCE_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)
STANDARD_TRAITS: frozenset[str] = frozenset(os_traits.get_traits())
_STANDARD_RESOURCE_CLASS_SET = frozenset(STANDARD_RESOURCE_CLASSES)


def is_custom_name(name: str) -> bool:
    """True for a syntactically valid ``CUSTOM_*`` class or trait name."""
    return len(name) <= MAX_NAME_LENGTH and bool(_CUSTOM_NAME.match(name))


def is_standard_resource_class(name: str) -> bool:
    return name in _STANDARD_RESOURCE_CLASS_SET


def is_standard_trait(name: str) -> bool:
    return name in STANDARD_TRAITS


def normalize_custom_name(raw: str, *, standard: frozenset[str]) -> str:
    """Apply the project's naming rule to one operator-given name.

    Upper-case it, turn each run of characters outside ``[A-Z0-9_]`` into a
    single ``_`` and add the ``CUSTOM_`` prefix, unless the upper-cased name
    is already a standard one.  Raises ValueError when the result cannot be
    a valid name (empty or too long).
    """
    upper = raw.strip().upper()
    if not upper:
        raise ValueError("name is empty")
    if upper in standard:
        return upper
    cleaned = _OUTSIDE_ALLOWED.sub("_", upper)
    if not cleaned.startswith(CUSTOM_PREFIX):
        cleaned = CUSTOM_PREFIX + cleaned
    if not is_custom_name(cleaned):
        raise ValueError(f"'{raw}' does not give a valid name ({cleaned!r})")
    return cleaned


def normalize_resource_class(raw: str) -> str:
    """Normalise a resource class name (standard classes kept as they are)."""
    return normalize_custom_name(raw, standard=_STANDARD_RESOURCE_CLASS_SET)


def normalize_trait(raw: str) -> str:
    """Normalise a trait name (standard os-traits names kept as they are)."""
    return normalize_custom_name(raw, standard=STANDARD_TRAITS)
