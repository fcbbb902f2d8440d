"""Query-string parsing for GET /resource_providers (no database)."""
import pytest

from placement_pci import errors, query_params

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


@pytest.mark.parametrize("values,forbidden_ok,any_ok,required,forbidden", [
    (["A,B"], False, False, [{"A"}, {"B"}], set()),
    (["A,!B"], True, False, [{"A"}], {"B"}),
    (["A", "B"], True, False, [{"B"}], set()),            # last value wins < 1.39
    (["A", "B"], True, True, [{"A"}, {"B"}], set()),      # AND from 1.39
    (["in:A,B", "!C"], True, True, [{"A", "B"}], {"C"}),
])
def test_parse_required(values, forbidden_ok, any_ok, required, forbidden):
    got_required, got_forbidden = query_params.parse_required(
        values, allow_forbidden=forbidden_ok, allow_any_of=any_ok)
    assert [set(s) for s in got_required] == required
    assert set(got_forbidden) == forbidden


@pytest.mark.parametrize("values,forbidden_ok,any_ok,message", [
    (["!A"], False, False, "HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !A"),
    (["A,,B"], True, False, "Got an empty trait"),
    (["in:A,B"], True, False, "only supported since microversion 1.39"),
    (["in:A,!B"], True, True, "does not support forbidden traits"),
])
def test_parse_required_errors(values, forbidden_ok, any_ok, message):
    with pytest.raises(errors.BadRequest, match=message.replace("(", r"\(")):
        query_params.parse_required(values, allow_forbidden=forbidden_ok,
                                    allow_any_of=any_ok)


@pytest.mark.parametrize("values,required,forbidden", [
    ([A], [{A}], set()),
    ([f"in:{A},{B}"], [{A, B}], set()),
    ([A, B], [{A}, {B}], set()),
    ([f"!{A}"], [], {A}),
    ([f"!in:{A},{B}"], [], {A, B}),
    ([A.replace("-", "")], [{A}], set()),                  # canonical form
])
def test_parse_member_of(values, required, forbidden):
    got_required, got_forbidden = query_params.parse_member_of(
        values, allow_multiple=True, allow_forbidden=True)
    assert [set(s) for s in got_required] == required
    assert set(got_forbidden) == forbidden


@pytest.mark.parametrize("values,multiple,forbidden_ok,message", [
    ([A, B], False, True, "Multiple member_of parameters are not supported"),
    ([f"!{A}"], True, False, "Forbidden member_of parameters are not supported"),
    ([f"{A},{B}"], True, True, "must be prefixed with the 'in:' or '!in:'"),
    (["in:frog"], True, True, "contain valid UUID"),
])
def test_parse_member_of_errors(values, multiple, forbidden_ok, message):
    with pytest.raises(errors.BadRequest, match=message):
        query_params.parse_member_of(values, allow_multiple=multiple,
                                     allow_forbidden=forbidden_ok)


