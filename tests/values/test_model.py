"""The value model: Int64's range, value types, and normalize_value's conversions."""

from __future__ import annotations

import pickle

import pytest

from pyconvex.errors import InvalidValueError
from pyconvex.values.model import (
    INT64_MAX,
    INT64_MIN,
    MAX_SAFE_INTEGER,
    UNDEFINED,
    Int64,
    Undefined,
    ValueType,
    normalize_value,
    value_type,
)


def test_int64_accepts_its_whole_range() -> None:
    assert Int64(INT64_MIN) == -(2**63)
    assert Int64(INT64_MAX) == 2**63 - 1
    assert isinstance(Int64(5), int)
    assert repr(Int64(-3)) == "Int64(-3)"


@pytest.mark.parametrize("out_of_range", [INT64_MAX + 1, INT64_MIN - 1, 2**100])
def test_int64_rejects_values_outside_64_bits(out_of_range: int) -> None:
    with pytest.raises(InvalidValueError) as info:
        Int64(out_of_range)
    assert info.value.message == (
        f"BigInt {out_of_range} does not fit into a 64-bit signed integer."
    )


def test_value_type_follows_the_cross_type_order() -> None:
    samples: list[object] = [UNDEFINED, None, Int64(1), 1.0, True, "s", b"b", [], {}]
    types = [value_type(sample) for sample in samples]
    assert types == sorted(types)
    assert types[0] is ValueType.UNDEFINED and types[-1] is ValueType.OBJECT
    assert value_type(False) is ValueType.BOOLEAN  # not mistaken for an int


def test_value_type_refuses_non_canonical_forms() -> None:
    for value in (1, (1.0,), bytearray(b"x")):
        with pytest.raises(InvalidValueError):
            value_type(value)


def test_plain_ints_become_float64() -> None:
    assert normalize_value(3) == 3.0 and type(normalize_value(3)) is float
    assert normalize_value(MAX_SAFE_INTEGER) == float(2**53)
    assert normalize_value([1, {"a": -2}]) == [1.0, {"a": -2.0}]


def test_plain_ints_beyond_2_53_are_refused() -> None:
    with pytest.raises(InvalidValueError, match="not exactly representable as a float64"):
        normalize_value(MAX_SAFE_INTEGER + 1)


def test_booleans_and_int64_keep_their_types() -> None:
    assert normalize_value(True) is True
    value = normalize_value(Int64(7))
    assert type(value) is Int64 and value == 7


def test_containers_and_bytes_like_are_converted() -> None:
    assert normalize_value((1, "a")) == [1.0, "a"]
    assert normalize_value(bytearray(b"ab")) == b"ab"
    assert type(normalize_value(memoryview(b"xy"))) is bytes


def test_canonical_input_is_returned_as_is() -> None:
    value = {"a": [1.0, "x", {"b": None}], "c": b"z"}
    assert normalize_value(value) is value


def test_undefined_fields_are_dropped() -> None:
    assert normalize_value({"a": UNDEFINED, "b": 1}) == {"b": 1.0}


@pytest.mark.parametrize("value", [UNDEFINED, [UNDEFINED], {"a": [1.0, UNDEFINED]}])
def test_undefined_outside_an_object_field_is_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="undefined is not a valid Convex value"):
        normalize_value(value)


@pytest.mark.parametrize("value", ["\ud800", ["ok", "x\udfffy"], {"a": "\udc00"}])
def test_lone_surrogates_are_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="lone surrogate"):
        normalize_value(value)


def test_valid_surrogate_pairs_are_fine() -> None:
    assert normalize_value("emoji 😀") == "emoji 😀"


@pytest.mark.parametrize("value", [{"bla"}, frozenset({1})])
def test_sets_are_refused(value: object) -> None:
    with pytest.raises(InvalidValueError) as info:
        normalize_value(value)
    assert info.value.message.startswith("Set[")
    assert info.value.message.endswith("is not a supported Convex type.")


def test_other_objects_and_non_string_keys_are_refused() -> None:
    with pytest.raises(InvalidValueError, match="not a supported Convex type"):
        normalize_value(object())
    with pytest.raises(InvalidValueError, match="Object keys must be strings"):
        normalize_value({1: "a"})


def test_undefined_is_a_falsy_picklable_singleton() -> None:
    assert Undefined() is UNDEFINED
    assert not UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"
