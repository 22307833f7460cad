"""The JSON encodings: convex_encoded_json (wire and storage), clean JSON, export JSON."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pyconvex.errors import InvalidValueError
from pyconvex.values.json import (
    b64decode,
    b64encode,
    decode_export_json,
    decode_json,
    dumps,
    dumps_bytes,
    dumps_export,
    encode_clean_json,
    encode_export_json,
    encode_json,
    format_json_float,
    loads,
    loads_bytes,
    loads_export,
)
from pyconvex.values.model import INT64_MAX, INT64_MIN, UNDEFINED, Int64
from pyconvex.values.ordering import encode_value

NAN = float("nan")
INF = float("inf")

# ---------------------------------------------------------------- strategies

_texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=10)
_field_names = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8
).filter(lambda name: not name.startswith("$"))
_scalars: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(INT64_MIN, INT64_MAX).map(Int64)
    | st.sampled_from([Int64(INT64_MIN), Int64(INT64_MAX), Int64(0), Int64(-1)])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, NAN, -NAN, INF, -INF, 1e20, 5e-324, 1e-5])
    | _texts
    | st.binary(max_size=10)
)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_field_names, children, max_size=4)
    ),
    max_leaves=10,
)


def same(left: Any, right: Any) -> bool:
    """Convex equality: types kept (Int64 vs float), floats by bits (NaN, -0.0)."""
    return encode_value(left) == encode_value(right)


def _float_b64(value: float) -> str:
    return b64encode(struct.pack("<d", value))


# ---------------------------------------------------------------- protocol.md examples


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (NAN, "AAAAAAAA+H8="),
        (INF, "AAAAAAAA8H8="),
        (-INF, "AAAAAAAA8P8="),
        (-0.0, "AAAAAAAAAIA="),
    ],
)
def test_special_floats(value: float, encoded: str) -> None:
    assert encode_json(value) == {"$float": encoded}
    assert dumps(value) == f'{{"$float":"{encoded}"}}'
    assert same(loads(dumps(value)), value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "AAAAAAAAAAA="), (1, "AQAAAAAAAAA="), (5, "BQAAAAAAAAA="), (-1, "//////////8=")],
)
def test_int64_examples(value: int, encoded: str) -> None:
    assert encode_json(Int64(value)) == {"$integer": encoded}
    decoded = decode_json({"$integer": encoded})
    assert type(decoded) is Int64 and decoded == value


def test_int64_extremes() -> None:
    assert decode_json(encode_json(Int64(INT64_MIN))) == INT64_MIN
    assert decode_json(encode_json(Int64(INT64_MAX))) == INT64_MAX
    assert encode_json(Int64(INT64_MIN)) == {"$integer": "AAAAAAAAAIA="}


def test_ordinary_values_are_plain_json() -> None:
    value = {"b": [1.5, "x", True, None], "a": 0.0, "c": b"\x00\x01"}
    assert dumps(value) == '{"a":0.0,"b":[1.5,"x",true,null],"c":{"$bytes":"AAE="}}'
    assert encode_json(value) == {
        "a": 0.0,
        "b": [1.5, "x", True, None],
        "c": {"$bytes": "AAE="},
    }
    assert list(encode_json(value)) == ["a", "b", "c"]  # keys sorted


def test_bare_json_numbers_are_float64() -> None:
    for text in ("1", "1.0", "-0", "1e3", "12345678901234567890"):
        decoded = loads(text)
        assert type(decoded) is float, text
    assert loads("1") == 1.0
    assert math.copysign(1.0, loads("-0")) < 0
    assert decode_json([1, {"a": 2}]) == [1.0, {"a": 2.0}]
    assert type(decode_json([1])[0]) is float


def test_non_ascii_text_is_written_raw() -> None:
    assert dumps("é😀") == '"é😀"'
    assert dumps_bytes({"k": "é"}) == '{"k":"é"}'.encode()
    assert loads_bytes('"é😀"'.encode()) == "é😀"


def test_undefined_fields_are_left_out() -> None:
    assert dumps({"a": UNDEFINED, "b": 1.0}) == '{"b":1.0}'
    assert encode_json({"a": UNDEFINED}) == {}
    with pytest.raises(InvalidValueError, match="undefined"):
        dumps([UNDEFINED])


def test_plain_ints_encode_as_float64() -> None:
    assert dumps({"n": 3}) == '{"n":3.0}'
    assert encode_json(3) == 3.0
    with pytest.raises(InvalidValueError):
        dumps(2**60)


def test_unsupported_values_are_refused() -> None:
    for value in ({1, 2}, object(), {"a": {1}}):
        with pytest.raises(InvalidValueError):
            dumps(value)
        with pytest.raises(InvalidValueError):
            encode_json(value)


def test_dumps_does_not_modify_its_input() -> None:
    value = {"n": Int64(1), "list": [b"x", -0.0]}
    dumps(value)
    assert value == {"n": Int64(1), "list": [b"x", -0.0]}
    assert type(value["n"]) is Int64


# ---------------------------------------------------------------- decoding rules


def test_float_wrapper_for_an_ordinary_number_is_refused() -> None:
    with pytest.raises(InvalidValueError) as info:
        decode_json({"$float": _float_b64(1.5)})
    assert info.value.message == "Float64 1.5 should be encoded as a number"
    with pytest.raises(InvalidValueError, match="Float64 1 should be encoded as a number"):
        loads(f'{{"$float":"{_float_b64(1.0)}"}}')
    with pytest.raises(InvalidValueError, match="Float64 0 should be"):
        loads(f'{{"$float":"{_float_b64(0.0)}"}}')


@pytest.mark.parametrize("size", [0, 4, 7, 9])
def test_integer_must_be_eight_bytes(size: int) -> None:
    payload = b64encode(bytes(size))
    with pytest.raises(InvalidValueError, match="Int64 must be exactly eight bytes"):
        decode_json({"$integer": payload})
    with pytest.raises(InvalidValueError, match="Float64 must be exactly eight bytes"):
        loads(json.dumps({"$float": payload}))


@pytest.mark.parametrize(
    "text",
    [
        '{"$foo":1}',
        '{"$set":[]}',
        '{"$map":[]}',
        '{"$undefined":null}',
        '{"a":1,"$b":2}',
        '[{"x":{"$nope":"AAAA"}}]',
    ],
)
def test_other_dollar_keys_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError, match=r"starts with '\$', which is reserved"):
        loads(text)
    with pytest.raises(InvalidValueError, match=r"starts with '\$', which is reserved"):
        decode_json(json.loads(text))


def test_dollar_inside_a_key_is_fine() -> None:
    assert loads('{"a$b":1}') == {"a$b": 1.0}


@pytest.mark.parametrize("payload", ['{"$bytes":5}', '{"$integer":null}', '{"$float":[1]}'])
def test_malformed_wrappers_are_refused(payload: str) -> None:
    with pytest.raises(InvalidValueError, match="Malformed"):
        loads(payload)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("a\n", "Field name a\n has invalid character '\\n': Field names can only contain"),
        ("é", "Field name é has invalid character 'é'"),
        ("a" * 1025, "Field name is too long (1025 > maximum 1024)"),
    ],
)
def test_field_names_are_checked(key: str, message: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        loads(json.dumps({key: 1}))
    assert info.value.message.startswith(message)


def test_base64_is_tolerant_on_input() -> None:
    assert decode_json({"$integer": "__________8="}) == -1  # URL-safe alphabet
    assert decode_json({"$integer": "AQAAAAAAAAA"}) == 1  # missing padding
    assert decode_json({"$bytes": "-_8="}) == b"\xfb\xff"
    assert b64decode("") == b""


@pytest.mark.parametrize("text", ["A", "AA*=", "ÿÿÿÿ"])
def test_invalid_base64_is_refused(text: str) -> None:
    with pytest.raises(InvalidValueError, match="Invalid base64"):
        decode_json({"$bytes": text})


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a":-Infinity}'])
def test_json_constants_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        loads(text)


@pytest.mark.parametrize("text", ["", "{", "[1,]", "1 2", "nul", '{"a" 1}'])
def test_invalid_json_is_refused(text: str) -> None:
    with pytest.raises(InvalidValueError, match="Invalid JSON"):
        loads(text)


def test_surrounding_whitespace_is_fine() -> None:
    assert loads('  {"a": [1, 2]} \n') == {"a": [1.0, 2.0]}


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="UTF-8"):
        loads_bytes(b'"\xff"')


def test_decode_json_refuses_non_json_objects() -> None:
    with pytest.raises(InvalidValueError):
        decode_json({"a": (1, 2)})


# ---------------------------------------------------------------- round trips


@given(_values)
@settings(max_examples=400, deadline=None)
def test_dumps_loads_round_trip(value: Any) -> None:
    text = dumps(value)
    assert same(loads(text), value)
    assert same(loads_bytes(dumps_bytes(value)), value)
    # The text is standard JSON with sorted keys, like the Convex server writes.
    assert (
        json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        == text
    )


@given(_values)
@settings(max_examples=300, deadline=None)
def test_encode_decode_json_round_trip(value: Any) -> None:
    encoded = encode_json(value)
    assert same(decode_json(json.loads(json.dumps(encoded, allow_nan=False))), value)
    assert encode_json(value) == json.loads(dumps(value))


@given(_values)
@settings(max_examples=300, deadline=None)
def test_export_round_trip(value: Any) -> None:
    text = dumps_export(value)
    assert same(loads_export(text), value)
    assert same(decode_export_json(json.loads(json.dumps(encode_export_json(value)))), value)


# ---------------------------------------------------------------- clean and export JSON


def test_clean_json() -> None:
    value = {
        "i": Int64(-12),
        "b": b"\x01\x02",
        "n": NAN,
        "p": INF,
        "m": -INF,
        "z": -0.0,
        "f": 1.5,
        "s": "x",
        "l": [Int64(1), None, True],
    }
    clean = encode_clean_json(value)
    assert clean == {
        "b": "AQI=",
        "f": 1.5,
        "i": "-12",
        "l": ["1", None, True],
        "m": "-Infinity",
        "n": "NaN",
        "p": "Infinity",
        "s": "x",
        "z": -0.0,
    }
    assert math.copysign(1.0, clean["z"]) < 0
    assert json.dumps(clean, allow_nan=False)  # always plain JSON


def test_export_json_text_matches_convex() -> None:
    value = {
        "i": Int64(5),
        "f": 1.0,
        "z": -0.0,
        "big": 1e20,
        "tiny": 1e-5,
        "b": b"\x01",
        "n": NAN,
        "s": "é",
        "l": [Int64(-9223372036854775808)],
    }
    assert dumps_export(value) == (
        '{"b":{"$bytes":"AQ=="},"big":1e20,"f":1.0,"i":5,"l":[-9223372036854775808],'
        '"n":{"$float":"AAAAAAAA+H8="},"s":"é","tiny":0.00001,"z":-0.0}'
    )
    exported = encode_export_json(value)
    assert exported["i"] == 5 and type(exported["i"]) is int
    assert exported["n"] == {"$float": "AAAAAAAA+H8="}


def test_export_json_decoding_distinguishes_integers_and_floats() -> None:
    decoded = loads_export('{"a":5,"b":5.0,"c":1e2,"d":18446744073709551615,"e":{"$bytes":"AQ=="}}')
    assert type(decoded["a"]) is Int64 and decoded["a"] == 5
    assert type(decoded["b"]) is float
    assert type(decoded["c"]) is float and decoded["c"] == 100.0
    assert type(decoded["d"]) is float  # beyond int64: a float, as serde_json reads it
    assert decoded["e"] == b"\x01"
    with pytest.raises(InvalidValueError):
        loads_export("NaN")
    with pytest.raises(InvalidValueError):
        loads_export('{"$nope": 1}')


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (123.0, "123.0"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.5e16, "1.5e16"),
        (1e-4, "0.0001"),
        (1e-5, "0.00001"),
        (1.5e-5, "0.000015"),
        (1e-6, "1e-6"),
        (1.23e-7, "1.23e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (123456.789, "123456.789"),
    ],
)
def test_format_json_float_matches_serde_json(value: float, text: str) -> None:
    assert format_json_float(value) == text
    assert float(text) == value


def test_format_json_float_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        format_json_float(NAN)
