"""PCI addresses, glob patterns and regex patterns (spec §1)."""
from __future__ import annotations

import pytest

from placement_pci.pci import address as pci_address
from placement_pci.pci.address import PciAddress


@pytest.mark.parametrize("text, expected", [
    ("0000:25:00.4", "0000:25:00.4"),
    ("0000:AF:00.0", "0000:af:00.0"),
    ("0:81:0.0", "0000:81:00.0"),
    ("ffff:ff:1f.7", "ffff:ff:1f.7"),
    (" 0000:41:00.0 ", "0000:41:00.0"),
])
def test_exact_address_is_normalised(text, expected):
    assert pci_address.normalize_address(text) == expected


@pytest.mark.parametrize("text", [
    "10000:00:00.0", "0000:100:00.0", "0000:00:20.0", "0000:00:00.8",
])
def test_exact_address_beyond_pci_limits(text):
    with pytest.raises(pci_address.AddressOutOfRange):
        pci_address.parse_address(text)


@pytest.mark.parametrize("text", [
    "", "0000:25:00", "25:00.4", "0000:25:00.4.1", "zz:25:00.4",
    "0000:25:0g.4", None, 42,
])
def test_malformed_exact_address(text):
    with pytest.raises(pci_address.AddressError):
        pci_address.parse_address(text)


ADDR = PciAddress(0, 0x81, 0x00, 0x1)


@pytest.mark.parametrize("pattern, address, matches", [
    ("", ADDR, True),
    ("*", ADDR, True),
    ("*:*:*.*", ADDR, True),
    ("0000:81:00.1", ADDR, True),
    ("0:81:0.1", ADDR, True),
    ("81:00", ADDR, True),               # no '.' = any function
    ("81:00.", ADDR, True),              # empty function = any
    (":00.1", ADDR, True),               # empty leading fields = any
    ("00.1", ADDR, True),                # slot only
    (".1", ADDR, True),
    (".2", ADDR, False),
    ("0001:81:00.1", ADDR, False),
    ("*:82:*.*", ADDR, False),
    ("0x81:00.1", ADDR, True),
])
def test_glob_matching(pattern, address, matches):
    assert pci_address.parse_address_glob(pattern).matches(address) is matches


@pytest.mark.parametrize("pattern, reason", [
    ("0000:8*:00.0", "hex"),             # partial wildcard
    ("0000:81:00.*1", "hex"),
    ("1:0000:81:00.0", "three"),         # too many ':' fields
    ("10000:81:00.0", "maximum"),
    ("0000:100:00.0", "maximum"),
    ("0000:81:20.0", "maximum"),
    ("0000:81:00.8", "maximum"),
    ("0000:81:00.0.0", "hex"),
])
def test_glob_errors(pattern, reason):
    with pytest.raises(pci_address.AddressError, match=reason):
        pci_address.parse_address_glob(pattern)


@pytest.mark.parametrize("pattern, single", [
    ("0000:81:00.1", "0000:81:00.1"),
    ("0:81:0.1", "0000:81:00.1"),
    ("81:00.1", None),
    ("0000:81:00", None),
    ("*:81:00.1", None),
])
def test_glob_single_address(pattern, single):
    found = pci_address.parse_address_glob(pattern).single_address()
    assert (str(found) if found else None) == single


@pytest.mark.parametrize("fields, matches", [
    ({}, True),
    ({"bus": "8"}, True),                # anchored at the start only
    ({"bus": "1"}, False),
    ({"bus": "81", "function": "[0-2]"}, True),
    ({"function": "[2-7]"}, False),
    ({"domain": "0000", "bus": "81", "slot": "00", "function": "1"}, True),
    ({"bus": "81", "unknown": "ignored"}, True),
])
def test_regex_matching(fields, matches):
    assert pci_address.parse_address_regex(fields).matches(ADDR) is matches


@pytest.mark.parametrize("fields", [
    {"bus": "[0-"}, {"slot": 1}, {"function": None}, {"domain": ["0"]},
])
def test_regex_errors(fields):
    with pytest.raises(pci_address.AddressError):
        pci_address.parse_address_regex(fields)


@pytest.mark.parametrize("fields, single", [
    ({"domain": "0000", "bus": "81", "slot": "00", "function": "1"},
     "0000:81:00.1"),
    ({"domain": "0000", "bus": "8.", "slot": "00", "function": "1"}, None),
    ({"bus": "81", "slot": "00", "function": "1"}, None),
])
def test_regex_single_address(fields, single):
    found = pci_address.parse_address_regex(fields).single_address()
    assert (str(found) if found else None) == single
