"""Convex's total order over values, through the sort-key encoding (semantics.md 1.2)."""

from __future__ import annotations

import functools
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pyconvex.errors import InvalidValueError
from pyconvex.values.model import INT64_MAX, INT64_MIN, UNDEFINED, Int64, Undefined
from pyconvex.values.ordering import compare_values, encode_key, encode_value, prefix_successor

NAN = float("nan")
INF = float("inf")

# ---------------------------------------------------------------- strategies

_texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6)
_scalars: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(INT64_MIN, INT64_MAX).map(Int64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, NAN, -NAN, INF, -INF])
    | _texts
    | st.binary(max_size=6)
)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_texts, children, max_size=3),
    max_leaves=8,
)

# ---------------------------------------------------------------- a reference comparator

_RANK = {
    Undefined: 0,
    type(None): 1,
    Int64: 2,
    float: 3,
    bool: 4,
    str: 5,
    bytes: 6,
    list: 7,
    dict: 8,
}


def _float_key(value: float) -> int:
    # IEEE-754 totalOrder as a signed integer: flip the magnitude bits of negatives.
    bits: int = struct.unpack(">q", struct.pack(">d", value))[0]
    return bits ^ 0x7FFF_FFFF_FFFF_FFFF if bits < 0 else bits


def _sign(number: int) -> int:
    return (number > 0) - (number < 0)


def _cmp_sequences(left: list[Any], right: list[Any], compare: Any) -> int:
    for a, b in zip(left, right):
        result = compare(a, b)
        if result:
            return int(result)
    return _sign(len(left) - len(right))


def reference_compare(left: Any, right: Any) -> int:
    """Convex's order written out directly from semantics.md 1.2."""
    rank_left, rank_right = _RANK[type(left)], _RANK[type(right)]
    if rank_left != rank_right:
        return _sign(rank_left - rank_right)
    kind = type(left)
    if kind is float:
        return _sign(_float_key(left) - _float_key(right))
    if kind is str:
        a: bytes = left.encode()
        b: bytes = right.encode()
        return (a > b) - (a < b)
    if kind in (Int64, bool, bytes):
        return int((left > right) - (left < right))
    if kind is list:
        return _cmp_sequences(left, right, reference_compare)
    if kind is dict:

        def field_compare(a: tuple[str, Any], b: tuple[str, Any]) -> int:
            return reference_compare(a[0], b[0]) or reference_compare(a[1], b[1])

        def fields(obj: dict[str, Any]) -> list[tuple[str, Any]]:
            return sorted(obj.items(), key=lambda item: item[0].encode())

        return _cmp_sequences(fields(left), fields(right), field_compare)
    return 0  # undefined and null


# ---------------------------------------------------------------- cross-type order


def test_full_cross_type_order() -> None:
    ascending = [
        UNDEFINED,
        None,
        Int64(INT64_MIN),
        Int64(34),
        Int64(INT64_MAX),
        -INF,
        34.0,
        35.0,
        INF,
        False,
        True,
        "",
        "stringValue",
        "xFactor",
        b"",
        b"\x00",
        [],
        ["a"],
        {},
        {"a": 1.0},
    ]
    keys = [encode_value(value) for value in ascending]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_int64_and_float64_never_compare_equal() -> None:
    assert compare_values(Int64(1), 1.0) < 0
    assert compare_values(Int64(35), 34.0) < 0  # every int64 sorts before every float64


def test_float_total_order_with_zeroes_and_nans() -> None:
    negative_nan = struct.unpack(">d", bytes.fromhex("fff8000000000000"))[0]
    ascending = [negative_nan, -INF, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, INF, NAN]
    keys = [encode_value(value) for value in ascending]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)  # -0.0 and 0.0 are distinct index keys
    assert compare_values(NAN, NAN) == 0


def test_strings_sort_bytewise_on_utf8_with_embedded_nul() -> None:
    ascending = ["", "a", "a\x00", "a\x00\x00", "a\x01", "ab", "b", "z", "é", "\uffff", "😀"]
    keys = [encode_value(value) for value in ascending]
    assert keys == sorted(keys)
    # UTF-16 code-unit order would put the emoji (a surrogate pair) before U+FFFF.
    assert compare_values("\uffff", "😀") < 0


def test_bytes_sort_bytewise() -> None:
    ascending = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"\x01", b"\xff", b"\xff\x00"]
    keys = [encode_value(value) for value in ascending]
    assert keys == sorted(keys)


def test_array_prefix_sorts_first() -> None:
    assert compare_values([1.0], [1.0, 2.0]) < 0
    assert compare_values([1.0, 2.0], [2.0]) < 0
    assert compare_values([], [None]) < 0
    assert compare_values([[]], [[None]]) < 0


def test_objects_compare_key_first_then_value_then_length() -> None:
    assert compare_values({"a": 1.0}, {"a": 1.0, "b": 1.0}) < 0
    assert compare_values({"a": 2.0}, {"a": 1.0, "b": 1.0}) > 0
    assert compare_values({"b": 1.0}, {"a": 1.0, "c": 2.0}) > 0  # key "a" < "b" decides
    assert compare_values({"a": 1.0, "b": 2.0}, {"b": 2.0, "a": 1.0}) == 0  # order-insensitive


def test_encode_key_is_the_concatenation_of_values() -> None:
    assert encode_key(["a", 1.0]) == encode_value("a") + encode_value(1.0)
    assert encode_key(["a"]) < encode_key(["a", None]) < encode_key(["a", 0.0])


def test_non_canonical_values_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        encode_value(1)


# ---------------------------------------------------------------- prefix successor


def test_prefix_successor() -> None:
    assert prefix_successor(b"\x06ab") == b"\x06ac"
    assert prefix_successor(b"\x01\xff\xff") == b"\x02"
    assert prefix_successor(b"\xff\xff") is None
    assert prefix_successor(b"") is None


@given(st.lists(_values, min_size=1, max_size=3), _values)
@settings(max_examples=200, deadline=None)
def test_prefix_successor_bounds_exactly_the_keys_with_that_prefix(
    prefix_values: list[Any], extra: Any
) -> None:
    prefix = encode_key(prefix_values)
    end = prefix_successor(prefix)
    assert end is not None
    inside = encode_key([*prefix_values, extra])
    assert prefix <= inside < end
    # A key that differs in the last prefix value falls outside [prefix, end).
    other = encode_key([*prefix_values[:-1], [prefix_values[-1]]])
    assert not prefix <= other < end


# ---------------------------------------------------------------- property test


@given(st.lists(_values, max_size=8))
@settings(max_examples=300, deadline=None)
def test_sorting_by_encoding_matches_the_reference_comparator(items: list[Any]) -> None:
    by_encoding = [encode_value(item) for item in sorted(items, key=encode_value)]
    by_reference = [
        encode_value(item) for item in sorted(items, key=functools.cmp_to_key(reference_compare))
    ]
    assert by_encoding == by_reference


@given(_values, _values)
@settings(max_examples=500, deadline=None)
def test_pairwise_comparison_matches_the_reference_comparator(left: Any, right: Any) -> None:
    assert compare_values(left, right) == reference_compare(left, right)


@given(_values, _values)
@settings(max_examples=200, deadline=None)
def test_encoding_is_prefix_free(left: Any, right: Any) -> None:
    # A whole value's key is never a proper prefix of another value's key, so
    # concatenated keys compare value by value.
    a, b = encode_value(left), encode_value(right)
    if a != b:
        assert not b.startswith(a) and not a.startswith(b)


def test_float_keys_are_monotonic_over_a_sweep() -> None:
    sweep = sorted(
        {math.ldexp(m, e) for m in (-3.0, -1.0, 1.0, 3.0) for e in range(-1074, 1024, 97)}
    )
    keys = [encode_value(value) for value in sweep]
    assert keys == sorted(keys)
