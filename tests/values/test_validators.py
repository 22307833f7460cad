"""Validators: acceptance, coercion, Convex's exact messages, descriptions and JSON forms."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pyconvex.errors import InvalidValueError, SchemaError, ValidationError
from pyconvex.values.ids import encode_id
from pyconvex.values.model import UNDEFINED, Int64
from pyconvex.values.validators import (
    ObjectValidator,
    TableNumberContext,
    Validator,
    display_value,
    v,
    validator_from_json,
)

USERS = encode_id(10001, bytes(range(16)))
MESSAGES = encode_id(10002, bytes(16))
STORAGE = encode_id(7, bytes(16))
UNKNOWN_TABLE = encode_id(20000, bytes(16))
CTX = TableNumberContext({10001: "users", 10002: "messages", 7: "_storage"})


def message_of(validator: Validator, value: Any, ctx: Any = None, path: str = "") -> str:
    with pytest.raises(ValidationError) as info:
        validator.validate(value, path, ctx)
    return info.value.message


def no_match(value: str, validator: str, path: str = "") -> str:
    context = f"Path: {path}" if path else ""
    return f"Value does not match validator.\n{context}\nValue: {value}\nValidator: {validator}"


# ---------------------------------------------------------------- leaves


def test_string() -> None:
    assert v.string().validate("hi") == "hi"
    assert message_of(v.string(), 1.5) == no_match("1.5", "v.string()")
    assert message_of(v.string(), None) == no_match("null", "v.string()")


def test_numbers_accept_floats_and_plain_ints() -> None:
    for validator in (v.number(), v.float64()):
        assert validator.validate(1.5) == 1.5
        converted = validator.validate(3)
        assert converted == 3.0 and type(converted) is float
        assert math.isnan(validator.validate(float("nan")))
    assert message_of(v.number(), "1") == no_match('"1"', "v.float64()")


def test_booleans_are_not_numbers() -> None:
    assert message_of(v.number(), True) == no_match("true", "v.float64()")
    assert message_of(v.int64(), False) == no_match("false", "v.int64()")


def test_int64_is_not_a_float64_and_vice_versa() -> None:
    assert message_of(v.float64(), Int64(5)) == no_match("5", "v.float64()")
    assert message_of(v.int64(), 5.0) == no_match("5.0", "v.int64()")


def test_float64_refuses_ints_it_cannot_hold_exactly() -> None:
    assert message_of(v.float64(), 2**60) == no_match("1152921504606846976", "v.float64()")


def test_int64_converts_plain_ints() -> None:
    converted = v.int64().validate(7)
    assert type(converted) is Int64 and converted == 7
    assert v.int64().validate(Int64(-1)) == -1
    with pytest.raises(InvalidValueError, match="does not fit into a 64-bit signed integer"):
        v.int64().validate(2**63)


def test_boolean_null_bytes() -> None:
    assert v.boolean().validate(False) is False
    assert message_of(v.boolean(), 0.0) == no_match("0.0", "v.boolean()")
    assert v.null().validate(None) is None
    assert message_of(v.null(), False) == no_match("false", "v.null()")
    assert v.bytes().validate(b"\x01") == b"\x01"
    assert v.bytes().validate(bytearray(b"ab")) == b"ab"
    assert message_of(v.bytes(), "AQ==") == no_match('"AQ=="', "v.bytes()")


def test_any_normalizes() -> None:
    assert v.any().validate({"n": 1, "t": (1, "x")}) == {"n": 1.0, "t": [1.0, "x"]}
    with pytest.raises(InvalidValueError, match="not a supported Convex type"):
        v.any().validate({1, 2})


# ---------------------------------------------------------------- ids


def test_id_without_context_only_checks_for_a_string() -> None:
    assert v.id("users").validate("anything") == "anything"
    assert message_of(v.id("users"), 5.0) == no_match("5.0", 'v.id("users")')


def test_id_with_context_checks_the_table() -> None:
    assert v.id("users").validate(USERS, "", CTX) == USERS
    assert message_of(v.id("users"), MESSAGES, CTX) == (
        f'Found ID "{MESSAGES}" from table `messages`, which does not match the table name '
        'in validator `v.id("users")`.'
    )
    assert message_of(v.object({"u": v.id("users")}), {"u": MESSAGES}, CTX) == (
        f'Found ID "{MESSAGES}" from table `messages`, which does not match the table name '
        'in validator `v.id("users")`.Path: .u'
    )


def test_id_from_a_system_table() -> None:
    assert message_of(v.id("users"), STORAGE, CTX) == (
        f'Found ID "{STORAGE}" from a system table, which does not match the table name in '
        'validator `v.id("users")`.'
    )
    assert v.id("_storage").validate(STORAGE, "", CTX) == STORAGE


@pytest.mark.parametrize("value", ["not-an-id", UNKNOWN_TABLE, USERS.upper()])
def test_strings_that_are_not_ids_of_existing_tables(value: str) -> None:
    assert message_of(v.id("users"), value, CTX) == no_match(f'"{value}"', 'v.id("users")')


def test_id_table_name_must_be_an_identifier() -> None:
    with pytest.raises(SchemaError, match="Identifier a-b has invalid character '-'"):
        v.id("a-b")
    with pytest.raises(TypeError):
        v.id(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- literals


def test_literals_of_each_type() -> None:
    assert v.literal("a").validate("a") == "a"
    assert v.literal(True).validate(True) is True
    converted = v.literal(5).validate(5)
    assert converted == 5.0 and type(converted) is float
    assert v.literal(5).validate(5.0) == 5.0
    int64 = v.literal(Int64(5)).validate(5)
    assert type(int64) is Int64 and int64 == 5


def test_literal_mismatch_messages() -> None:
    assert (
        message_of(v.literal("a"), "b")
        == '`"b"` does not match literal validator `v.literal("a")`.'
    )
    assert (
        message_of(v.literal(5), Int64(5))
        == "`5` does not match literal validator `v.literal(5.0)`."
    )
    assert message_of(v.literal(Int64(5)), 5.0) == (
        "`5.0` does not match literal validator `v.literal(<bigint>)`."
    )
    assert (
        message_of(v.literal(True), 1.0)
        == "`1.0` does not match literal validator `v.literal(true)`."
    )
    assert message_of(v.object({"k": v.literal("a")}), {"k": "b"}) == (
        '`"b"` does not match literal validator `v.literal("a")`.Path: .k'
    )


def test_literal_floats_compare_by_bits() -> None:
    assert message_of(v.literal(0.0), -0.0) == (
        "`-0.0` does not match literal validator `v.literal(0.0)`."
    )
    assert math.isnan(v.literal(float("nan")).validate(float("nan")))
    assert v.literal(float("nan")).describe() == "v.literal(<number>)"


def test_literal_values_are_checked() -> None:
    with pytest.raises(TypeError, match="must be a string, number, or boolean"):
        v.literal(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not exactly representable"):
        v.literal(2**60)


# ---------------------------------------------------------------- arrays


def test_array() -> None:
    assert v.array(v.number()).validate([1, 2.5]) == [1.0, 2.5]
    assert v.array(v.string()).validate(("a", "b")) == ["a", "b"]
    assert v.array(v.string()).validate([]) == []
    assert message_of(v.array(v.string()), ["a", 1.0]) == no_match("1.0", "v.string()", "[1]")
    assert message_of(v.array(v.string()), "abc") == no_match('"abc"', "v.array(v.string())")


def test_array_of_exact_types_is_returned_as_is() -> None:
    value = ["a", "b"]
    assert v.array(v.string()).validate(value) is value


# ---------------------------------------------------------------- objects


MESSAGE = v.object(
    {
        "body": v.string(),
        "author": v.object({"name": v.string(), "age": v.optional(v.number())}),
        "tags": v.array(v.string()),
    }
)


def test_object_accepts_and_returns_canonical_values() -> None:
    value = {"body": "hi", "author": {"name": "Ann", "age": 30}, "tags": ("a",)}
    assert MESSAGE.validate(value) == {
        "body": "hi",
        "author": {"name": "Ann", "age": 30.0},
        "tags": ["a"],
    }
    assert value["tags"] == ("a",)  # input untouched


def test_nested_paths_in_messages() -> None:
    assert message_of(MESSAGE, {"body": "hi", "author": {"name": 5.0}, "tags": []}) == no_match(
        "5.0", "v.string()", ".author.name"
    )
    assert message_of(MESSAGE, {"body": "hi", "author": {"name": "A"}, "tags": ["x", None]}) == (
        no_match("null", "v.string()", ".tags[1]")
    )


def test_path_prefix() -> None:
    assert message_of(v.string(), 1.0, path=".args") == no_match("1.0", "v.string()", ".args")


def test_missing_required_field() -> None:
    assert message_of(v.object({"a": v.string(), "b": v.number()}), {"b": 1.0}) == (
        "Object is missing the required field `a`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected.\n\nObject: {b: 1.0}\n"
        "Validator: v.object({a: v.string(), b: v.float64()})"
    )
    assert message_of(MESSAGE, {"body": "x", "author": {}, "tags": []}).startswith(
        "Object is missing the required field `name`. Consider wrapping the field validator in "
        "`v.optional(...)` if this is expected.\nPath: .author\nObject: {}\n"
    )


def test_extra_field() -> None:
    assert message_of(v.object({"a": v.string()}), {"a": "x", "z": 1.0, "c": b"\x01"}) == (
        "Object contains extra field `c` that is not in the validator.\n\n"
        'Object: {a: "x", c: b"AQ==", z: 1.0}\nValidator: v.object({a: v.string()})'
    )


def test_fields_are_checked_in_name_order() -> None:
    validator = v.object({"z": v.string(), "a": v.string()})
    assert "missing the required field `a`" in message_of(validator, {"z": 1.0})
    assert message_of(validator, {"z": 1.0, "a": 1.0}) == no_match("1.0", "v.string()", ".a")


def test_optional_fields() -> None:
    validator = v.object({"a": v.optional(v.string())})
    assert validator.validate({}) == {}
    assert validator.validate({"a": UNDEFINED}) == {}
    assert validator.validate({"a": "x"}) == {"a": "x"}
    assert message_of(validator, {"a": None}) == no_match("null", "v.string()", ".a")


def test_undefined_fields_count_as_missing() -> None:
    assert "missing the required field `a`" in message_of(
        v.object({"a": v.string()}), {"a": UNDEFINED}
    )
    assert v.object({}).validate({"extra": UNDEFINED}) == {}


def test_object_refuses_non_objects() -> None:
    assert message_of(v.object({}), [1.0]) == no_match("[1.0]", "v.object({})")


def test_object_field_names_must_be_identifiers() -> None:
    with pytest.raises(SchemaError, match="Identifier a-b has invalid character"):
        v.object({"a-b": v.string()})
    with pytest.raises(SchemaError, match=r"starts with '\$'"):
        v.object({"$a": v.string()})
    with pytest.raises(TypeError, match="must be a validator"):
        v.object({"a": "string"})  # type: ignore[dict-item]


def test_object_keyword_form() -> None:
    assert v.object(a=v.string()) == v.object({"a": v.string()})


def test_object_helpers() -> None:
    base = v.object({"a": v.string(), "b": v.number(), "c": v.optional(v.boolean())})
    assert base.pick("a", "c").describe() == "v.object({a: v.string(), c: v.optional(v.boolean())})"
    assert (
        base.omit("b", "nope").describe() == "v.object({a: v.string(), c: v.optional(v.boolean())})"
    )
    extended = base.extend({"d": v.null(), "a": v.int64()})
    assert extended.describe() == (
        "v.object({a: v.int64(), b: v.float64(), c: v.optional(v.boolean()), d: v.null()})"
    )
    partial = base.partial()
    assert partial.validate({}) == {}
    assert all(field.is_optional for field in partial.fields.values())
    with pytest.raises(SchemaError, match='field "zz"'):
        base.pick("zz")
    assert list(base.fields) == ["a", "b", "c"]


# ---------------------------------------------------------------- records


def test_record() -> None:
    validator = v.record(v.string(), v.number())
    assert validator.validate({"x": 1, "y": 2.5}) == {"x": 1.0, "y": 2.5}
    assert message_of(validator, {"b": 1.0, "a": "no"}) == no_match(
        '"no"', "v.float64()", ".values()"
    )
    assert validator.describe() == "v.record(v.string(), v.float64())"


def test_record_with_id_keys() -> None:
    validator = v.record(v.id("users"), v.boolean())
    assert validator.validate({USERS: True}, "", CTX) == {USERS: True}
    assert message_of(validator, {MESSAGES: True}, CTX).endswith("Path: .keys()")


@pytest.mark.parametrize(
    ("keys", "values", "message"),
    [
        (v.optional(v.string()), v.string(), "Record validator cannot have optional keys"),
        (v.string(), v.optional(v.string()), "Record validator cannot have optional values"),
        (
            v.number(),
            v.string(),
            "Records can only have string keys. Your validator contains a record with key "
            "typed as `v.float64()`, which is not a subtype of `v.string()`",
        ),
        (v.any(), v.string(), "Records can only have string keys"),
        (
            v.union(v.literal("a"), v.literal("b")),
            v.string(),
            "Records cannot have string literal keys",
        ),
    ],
)
def test_record_definition_rules(keys: Validator, values: Validator, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        v.record(keys, values)
    assert info.value.message.startswith(message)


def test_record_with_union_of_string_like_keys_is_allowed() -> None:
    v.record(v.union(v.id("users"), v.string()), v.any())


# ---------------------------------------------------------------- unions


def test_union() -> None:
    validator = v.union(v.string(), v.null())
    assert validator.validate(None) is None
    assert validator.validate("x") == "x"
    assert message_of(validator, 1.0) == no_match("1.0", "v.union(v.string(), v.null())")
    assert v.nullable(v.string()) == validator


def test_single_member_union_reports_the_member_error() -> None:
    assert message_of(v.union(v.object({"a": v.string()})), {"a": 1.0}) == no_match(
        "1.0", "v.string()", ".a"
    )


def test_empty_union_matches_nothing() -> None:
    assert message_of(v.union(), None) == no_match("null", "v.union()")


def test_plain_int_prefers_float64_in_unions() -> None:
    for validator in (v.union(v.int64(), v.number()), v.union(v.number(), v.int64())):
        result = validator.validate(5)
        assert type(result) is float and result == 5.0
    only_int64 = v.union(v.string(), v.int64()).validate(5)
    assert type(only_int64) is Int64
    big = v.union(v.number(), v.int64()).validate(2**60)
    assert type(big) is Int64


def test_plain_int_coercion_inside_union_of_objects() -> None:
    validator = v.union(
        v.object({"kind": v.literal("a"), "n": v.int64()}),
        v.object({"kind": v.literal("b"), "n": v.number()}),
    )
    a = validator.validate({"kind": "a", "n": 3})
    b = validator.validate({"kind": "b", "n": 3})
    assert type(a["n"]) is Int64 and type(b["n"]) is float


def test_union_of_literals_keeps_the_literal() -> None:
    validator = v.union(v.literal(1), v.literal(Int64(2)))
    assert type(validator.validate(1)) is float
    assert type(validator.validate(2)) is Int64


# ---------------------------------------------------------------- optional at the top


def test_top_level_undefined() -> None:
    assert v.optional(v.string()).validate(UNDEFINED) is UNDEFINED
    assert message_of(v.string(), UNDEFINED) == no_match("undefined", "v.string()")


def test_optional_flag_is_ignored_inside_arrays() -> None:
    validator = v.array(v.optional(v.string()))
    assert validator.describe() == "v.array(v.string())"
    assert message_of(validator, [UNDEFINED]) == no_match("undefined", "v.string()", "[0]")


# ---------------------------------------------------------------- describe and JSON


@pytest.mark.parametrize(
    ("validator", "text", "json"),
    [
        (v.string(), "v.string()", {"type": "string"}),
        (v.number(), "v.float64()", {"type": "number"}),
        (v.float64(), "v.float64()", {"type": "number"}),
        (v.int64(), "v.int64()", {"type": "bigint"}),
        (v.bigint(), "v.int64()", {"type": "bigint"}),
        (v.boolean(), "v.boolean()", {"type": "boolean"}),
        (v.null(), "v.null()", {"type": "null"}),
        (v.bytes(), "v.bytes()", {"type": "bytes"}),
        (v.any(), "v.any()", {"type": "any"}),
        (v.id("users"), 'v.id("users")', {"type": "id", "tableName": "users"}),
        (v.literal("a"), 'v.literal("a")', {"type": "literal", "value": "a"}),
        (v.literal(1e20), "v.literal(1e20)", {"type": "literal", "value": 1e20}),
        (
            v.literal(Int64(5)),
            "v.literal(<bigint>)",
            {"type": "literal", "value": {"$integer": "BQAAAAAAAAA="}},
        ),
        (v.literal(False), "v.literal(false)", {"type": "literal", "value": False}),
        (
            v.array(v.null()),
            "v.array(v.null())",
            {"type": "array", "value": {"type": "null"}},
        ),
        (
            v.record(v.string(), v.any()),
            "v.record(v.string(), v.any())",
            {
                "type": "record",
                "keys": {"type": "string"},
                "values": {"fieldType": {"type": "any"}, "optional": False},
            },
        ),
        (
            v.object({"b": v.string(), "a": v.optional(v.number())}),
            "v.object({a: v.optional(v.float64()), b: v.string()})",
            {
                "type": "object",
                "value": {
                    "b": {"fieldType": {"type": "string"}, "optional": False},
                    "a": {"fieldType": {"type": "number"}, "optional": True},
                },
            },
        ),
        (
            v.union(v.literal("a"), v.null()),
            'v.union(v.literal("a"), v.null())',
            {"type": "union", "value": [{"type": "literal", "value": "a"}, {"type": "null"}]},
        ),
        (v.optional(v.string()), "v.optional(v.string())", {"type": "string"}),
    ],
)
def test_describe_and_json(validator: Validator, text: str, json: dict[str, Any]) -> None:
    assert validator.describe() == text
    assert repr(validator) == text
    assert validator.to_json() == json
    rebuilt = validator_from_json(json)
    assert rebuilt.to_json() == json
    if not validator.is_optional:
        assert rebuilt == validator


def test_validator_from_json_rules() -> None:
    assert validator_from_json({"type": "map"}) == v.any()
    with pytest.raises(SchemaError, match="Records cannot have optional values"):
        validator_from_json(
            {
                "type": "record",
                "keys": {"type": "string"},
                "values": {"fieldType": {"type": "any"}, "optional": True},
            }
        )
    with pytest.raises(SchemaError, match="Identifier a-b"):
        validator_from_json(
            {"type": "object", "value": {"a-b": {"fieldType": {"type": "any"}, "optional": False}}}
        )
    with pytest.raises(SchemaError, match="Invalid validator for key `a`: "):
        validator_from_json(
            {"type": "object", "value": {"a": {"fieldType": {"type": "nope"}, "optional": False}}}
        )
    with pytest.raises(SchemaError, match="is not a valid literal"):
        validator_from_json({"type": "literal", "value": None})
    with pytest.raises(SchemaError):
        validator_from_json({"type": "array"})
    with pytest.raises(SchemaError):
        validator_from_json("string")


def test_equality_and_hashing() -> None:
    assert v.object({"a": v.string()}) == v.object({"a": v.string()})
    assert v.object({"a": v.string()}) != v.object({"a": v.optional(v.string())})
    assert v.literal(0.0) != v.literal(-0.0)
    assert len({v.string(), v.string(), v.number()}) == 2
    assert v.string() != "v.string()"


def test_field_validator() -> None:
    doc = v.object({"a": v.object({"b": v.optional(v.int64())}), "c": v.string()})
    assert doc.field_validator("c") == v.string()
    assert doc.field_validator("a.b") == v.int64()
    assert doc.field_validator("a.x") is None
    assert doc.field_validator("zz") is None
    union = v.union(v.object({"n": v.int64()}), v.object({"n": v.int64(), "m": v.null()}))
    assert union.field_validator("n") == v.int64()
    conflicting = v.union(v.object({"n": v.int64()}), v.object({"n": v.string()}))
    assert conflicting.field_validator("n") is None
    assert v.string().field_validator("x") is None


def test_validators_are_the_exported_classes() -> None:
    assert isinstance(v.object({}), ObjectValidator)
    with pytest.raises(TypeError):
        v.array("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.union(v.string(), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.optional(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------- value display


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (Int64(-7), "-7"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.5e-7, "1.5e-7"),
        (0.0001, "0.0001"),
        (float("nan"), "NaN"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (3, "3.0"),
        ('a"b\\c\nd\te\x00', '"a\\"b\\\\c\\nd\\te\\0"'),
        ("é😀", '"é😀"'),
        ("\x01", '"\\u{1}"'),
        (b"\x01\x02", 'b"AQI="'),
        ([1.0, [None]], "[1.0, [null]]"),
        ({"b": 1.0, "a": "x", "u": UNDEFINED}, '{a: "x", b: 1.0}'),
        ({}, "{}"),
        (UNDEFINED, "undefined"),
    ],
)
def test_display_value_matches_rust_display(value: Any, text: str) -> None:
    assert display_value(value) == text


def test_display_value_refuses_unsupported_values() -> None:
    with pytest.raises(InvalidValueError):
        display_value({1, 2})
    with pytest.raises(InvalidValueError):
        display_value({1: 2})


def test_table_number_context() -> None:
    assert CTX.table_name_for_id(USERS) == "users"
    assert CTX.table_name_for_id(UNKNOWN_TABLE) is None
    assert CTX.table_name_for_id("garbage") is None
