"""UUID helpers: what counts as a uuid and its canonical form."""
import pytest

from placement_pci import identifiers

DASHED = "6a9b5d3c-0a8e-4f7c-9e1d-2b3c4d5e6f70"


@pytest.mark.parametrize("given, parsed, placement_form", [
    (DASHED, DASHED, True),
    (DASHED.upper(), DASHED, True),
    (DASHED.replace("-", ""), DASHED, True),
    ("{" + DASHED + "}", DASHED, False),
    ("urn:uuid:" + DASHED, DASHED, False),
    ("not-a-uuid", None, False),
    ("", None, False),
    (None, None, False),
    (12, None, False),
])
def test_parse_and_placement_form(given, parsed, placement_form):
    assert identifiers.parse_uuid(given) == parsed
    assert identifiers.is_uuid_like(given) is placement_form


def test_canonical_leaves_non_uuids_alone():
    assert identifiers.canonical_uuid(DASHED.upper()) == DASHED
    assert identifiers.canonical_uuid("compute1") == "compute1"


def test_generated_uuids_are_canonical_and_distinct():
    first, second = identifiers.generate_uuid(), identifiers.generate_uuid()
    assert first != second
    assert identifiers.parse_uuid(first) == first
