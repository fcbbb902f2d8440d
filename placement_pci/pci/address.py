"""PCI addresses: exact addresses, glob patterns and regex patterns.

An exact address is ``dddd:bb:ss.f`` (domain, bus, slot, function), always
rendered zero-padded and lower-case.  Device specs select devices with a
glob (``[[[domain:]bus:]slot][.function]``, ``*`` or empty = any) or with a
dict of regexes per field matched at the start of the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DOMAIN = 0xFFFF
MAX_BUS = 0xFF
MAX_SLOT = 0x1F
MAX_FUNCTION = 0x7

ANY = "*"
REGEX_ANY = ".*"

# (name, maximum, width of the rendered hex field)
_FIELDS = (
    ("domain", MAX_DOMAIN, 4),
    ("bus", MAX_BUS, 2),
    ("slot", MAX_SLOT, 2),
    ("function", MAX_FUNCTION, 1),
)
_LIMITS = {name: (maximum, width) for name, maximum, width in _FIELDS}
_HEX_FIELD = re.compile(r"^(0[xX])?[0-9a-fA-F]+$")
_EXACT_ADDRESS = re.compile(
    r"^([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.([0-9a-fA-F]+)$")


class AddressError(ValueError):
    """The text is not a valid PCI address or address pattern."""


class AddressOutOfRange(AddressError):
    """Syntactically fine, but a field is above the PCI limit."""


@dataclass(frozen=True, order=True)
class PciAddress:
    """One exact PCI address."""

    domain: int
    bus: int
    slot: int
    function: int

    def __str__(self) -> str:
        return (f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}"
                f".{self.function:x}")

    def field_text(self, name: str) -> str:
        """The zero-padded hex text of one field, as patterns see it."""
        _, width = _LIMITS[name]
        return f"{getattr(self, name):0{width}x}"


def _check_range(name: str, value: int) -> int:
    maximum, _ = _LIMITS[name]
    if value > maximum:
        raise AddressOutOfRange(
            f"{name} 0x{value:x} is greater than the maximum 0x{maximum:x}")
    return value


def parse_address(text: object) -> PciAddress:
    """Parse an exact ``dddd:bb:ss.f`` address (any case, any padding).

    Raises AddressOutOfRange when a field exceeds its PCI limit and
    AddressError for anything that is not an address at all.
    """
    if not isinstance(text, str):
        raise AddressError(f"expected a string like '0000:25:00.4', "
                           f"got {text!r}")
    match = _EXACT_ADDRESS.match(text.strip())
    if not match:
        raise AddressError(
            f"'{text}' is not a PCI address of the form dddd:bb:ss.f")
    values = [_check_range(name, int(part, 16))
              for (name, _, _), part in zip(_FIELDS, match.groups())]
    return PciAddress(*values)


def normalize_address(text: object) -> str:
    """Return the canonical text form of an exact address."""
    return str(parse_address(text))


def _refuse_blank_or_padded(name: str, text: str) -> None:
    """Nova refuses address fields that are blank (only whitespace) or
    padded with whitespace; an empty field still means any."""
    if text != text.strip():
        what = "blank" if not text.strip() else "padded with whitespace"
        raise AddressError(f"{name} {text!r} is {what}; give '*', a hex "
                           f"number or leave the field empty")


def _parse_glob_field(name: str, text: str) -> int | None:
    _refuse_blank_or_padded(name, text)
    if text in ("", ANY):
        return None
    if not _HEX_FIELD.match(text):
        raise AddressError(
            f"{name} '{text}' must be '*' or a hex number")
    return _check_range(name, int(text, 16))


@dataclass(frozen=True)
class AddressGlob:
    """A glob address pattern; ``None`` in a field means any value."""

    domain: int | None = None
    bus: int | None = None
    slot: int | None = None
    function: int | None = None

    def matches(self, address: PciAddress) -> bool:
        return all(
            wanted is None or wanted == getattr(address, name)
            for name, wanted in (("domain", self.domain), ("bus", self.bus),
                                 ("slot", self.slot),
                                 ("function", self.function)))

    def single_address(self) -> PciAddress | None:
        """The one address this pattern names, if it has no wildcard."""
        if (self.domain is None or self.bus is None or self.slot is None
                or self.function is None):
            return None
        return PciAddress(self.domain, self.bus, self.slot, self.function)

    def __str__(self) -> str:
        def render(value: int | None, width: int) -> str:
            return ANY if value is None else f"{value:0{width}x}"
        return (f"{render(self.domain, 4)}:{render(self.bus, 2)}:"
                f"{render(self.slot, 2)}.{render(self.function, 1)}")


def parse_address_glob(text: str) -> AddressGlob:
    """Parse ``[[[domain:]bus:]slot][.function]`` with ``*`` wildcards.

    Missing leading fields and empty fields mean any; no ``.`` means any
    function.  Raises AddressError (or AddressOutOfRange) when invalid.
    """
    location, _, function_text = text.partition(".")
    function = _parse_glob_field("function", function_text)
    fields = location.split(":") if location else []
    if len(fields) > 3:
        raise AddressError(
            f"'{text}' has more than three ':'-separated fields")
    fields = [ANY] * (3 - len(fields)) + fields
    domain, bus, slot = (
        _parse_glob_field(name, part)
        for name, part in zip(("domain", "bus", "slot"), fields))
    return AddressGlob(domain, bus, slot, function)


@dataclass(frozen=True)
class AddressRegex:
    """Regexes per field, each matched at the start of the field's text."""

    domain: str = REGEX_ANY
    bus: str = REGEX_ANY
    slot: str = REGEX_ANY
    function: str = REGEX_ANY

    def matches(self, address: PciAddress) -> bool:
        return all(
            re.match(pattern, address.field_text(name)) is not None
            for name, pattern in (("domain", self.domain), ("bus", self.bus),
                                  ("slot", self.slot),
                                  ("function", self.function)))

    def single_address(self) -> PciAddress | None:
        """The one address named when every field is a plain hex number.

        Nova treats such a regex spec like an exact address (it then also
        matches the VFs of a PF at that address), so we do too.
        """
        values = []
        for name, pattern in (("domain", self.domain), ("bus", self.bus),
                              ("slot", self.slot),
                              ("function", self.function)):
            if not re.fullmatch(r"[0-9a-fA-F]+", pattern):
                return None
            maximum, _ = _LIMITS[name]
            value = int(pattern, 16)
            if value > maximum:
                return None
            values.append(value)
        return PciAddress(*values)

    def __str__(self) -> str:
        return (f"{{domain: {self.domain}, bus: {self.bus}, "
                f"slot: {self.slot}, function: {self.function}}}")


def parse_address_regex(fields: dict) -> AddressRegex:
    """Build an AddressRegex from a dict; keys other than the four fields
    are ignored.  Raises AddressError for a non-string or invalid regex."""
    patterns = {}
    for name, _, _ in _FIELDS:
        if name not in fields:
            continue
        pattern = fields[name]
        if not isinstance(pattern, str):
            raise AddressError(
                f"{name} must be a regular expression string, "
                f"got {pattern!r}")
        _refuse_blank_or_padded(name, pattern)
        try:
            re.compile(pattern)
        except re.error as error:
            raise AddressError(
                f"{name} '{pattern}' is not a valid regular expression: "
                f"{error}") from None
        patterns[name] = pattern
    return AddressRegex(**patterns)


AddressPattern = AddressGlob | AddressRegex
