"""UUID helpers: what counts as a uuid and its canonical form."""
import pytest

from placement_pci import identifiers

DASHED = "6a9b5d3c-0a8e-4f7c-9e1d-2b3c4d5e6f70"


# given, canonical form, accepted in a path, accepted by a JSON Schema "uuid"
@pytest.mark.parametrize("given, parsed, path_form, schema_form", [
    (DASHED, DASHED, True, True),
    (DASHED.upper(), DASHED, True, True),
    (DASHED.replace("-", ""), DASHED, True, True),
    ("{" + DASHED + "}", DASHED, True, False),
    ("urn:uuid:" + DASHED, DASHED, True, False),
    ("not-a-uuid", None, False, False),
    ("", None, False, False),
    (None, None, False, False),
    (12, None, False, False),
])
def test_parse_path_and_schema_forms(given, parsed, path_form, schema_form):
    assert identifiers.parse_uuid(given) == parsed
    assert identifiers.is_uuid_like(given) is path_form
    assert identifiers.is_canonical_uuid(given) is schema_form


def test_canonical_leaves_non_uuids_alone():
    assert identifiers.canonical_uuid(DASHED.upper()) == DASHED
    assert identifiers.canonical_uuid("compute1") == "compute1"


def test_generated_uuids_are_canonical_and_distinct():
    first, second = identifiers.generate_uuid(), identifiers.generate_uuid()
    assert first != second
    assert identifiers.parse_uuid(first) == first
