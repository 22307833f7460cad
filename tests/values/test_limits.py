"""Sizes, limits and name rules, with Convex's numbers and messages."""

from __future__ import annotations

from typing import Any

import pytest

from pyconvex import knobs
from pyconvex.errors import InvalidValueError
from pyconvex.values.limits import (
    check_document,
    check_field_names,
    check_function_value,
    check_identifier,
    convex_size,
    field_name_error,
    format_size,
    identifier_error,
    is_valid_field_name,
    is_valid_identifier,
    nesting,
)
from pyconvex.values.model import UNDEFINED, Int64


def nested_objects(depth: int) -> dict[str, Any]:
    """An object nested ``depth`` levels deep: {"a": {"a": ... {}}}."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_arrays(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def error_of(check: Any, value: Any) -> str:
    with pytest.raises(InvalidValueError) as info:
        check(value)
    return info.value.message


# ---------------------------------------------------------------- size


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (None, 1),
        (True, 1),
        (Int64(5), 9),
        (1.5, 9),
        ("", 2),
        ("abc", 5),
        ("é", 4),  # two UTF-8 bytes
        ("😀", 6),
        (b"", 2),
        (b"\x00\x01\x02", 5),
        ([], 2),
        ([1.0, None], 12),
        ({}, 2),
        ({"a": 1.0}, 13),  # 2 + len("a") + 1 + 9
        ({"_creationTime": 1.0}, 2 + 14 + 9),
        ({"a": [{"bc": "x"}]}, 2 + 2 + (2 + (2 + 3 + 3))),
        ({"a": UNDEFINED, "b": None}, 2 + 2 + 1),
        (UNDEFINED, 0),
    ],
)
def test_convex_size(value: Any, size: int) -> None:
    assert convex_size(value) == size


def test_size_of_non_canonical_forms() -> None:
    assert convex_size(3) == 9
    assert convex_size((1.0, 2.0)) == 20
    assert convex_size(bytearray(b"ab")) == 4
    with pytest.raises(InvalidValueError):
        convex_size({1, 2})


def test_checks_return_the_size() -> None:
    doc = {"a": "xyz", "_id": "id"}
    assert check_document(doc) == convex_size(doc) == 2 + (2 + 5) + (4 + 4)
    assert check_function_value([doc]) == 2 + convex_size(doc)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (500, "500 B"),
        (1024, "1 KiB"),
        (1536, "1.50 KiB"),
        (1 << 20, "1 MiB"),
        ((1 << 20) + 1, "1.00 MiB"),
        (16 << 20, "16 MiB"),
        (3 << 30, "3 GiB"),
    ],
)
def test_format_size_is_humansize_binary(size: int, text: str) -> None:
    assert format_size(size) == text


def test_nesting() -> None:
    assert nesting(1.0) == 0
    assert nesting({}) == 1
    assert nesting({"a": [[], 1.0]}) == 3
    assert nesting(nested_objects(5)) == 5


# ---------------------------------------------------------------- documents


def test_document_size_limit_is_exact() -> None:
    # {"a": "x" * n} measures 2 + (1 + 1) + (2 + n) = n + 6 bytes.
    limit = knobs.VALUE_MAX_BYTES
    check_document({"a": "x" * (limit - 6)})
    assert error_of(check_document, {"a": "x" * (limit - 5)}) == (
        "Value is too large (1.00 MiB > maximum size 1 MiB)"
    )


def test_document_nesting() -> None:
    check_document(nested_objects(16))
    assert error_of(check_document, nested_objects(17)) == (
        "Document is too nested (nested 17 levels deep > maximum nesting 16)"
    )
    assert error_of(check_document, {"a": nested_arrays(17)}) == (
        "Document is too nested (nested 18 levels deep > maximum nesting 16)"
    )
    # Beyond the value limit Convex fails while building the value.
    assert error_of(check_document, nested_objects(70)) == (
        "Value is too nested (nested 65 levels deep > maximum nesting 64)"
    )


def test_array_length_limit() -> None:
    check_document({"a": [None] * 8192})
    assert error_of(check_document, {"a": [None] * 8193}) == (
        "Array length is too long (8193 > maximum length 8192)"
    )


def test_field_count_limit() -> None:
    check_document({f"f{i}": None for i in range(1024)})
    assert error_of(check_document, {"n": {f"f{i}": None for i in range(1025)}}) == (
        "Object has too many fields (1025 > maximum number 1024)"
    )


def test_top_level_underscore_fields() -> None:
    check_document({"_id": "x", "_creationTime": 1.0, "a": {"_nested": 1.0}})
    assert error_of(check_document, {"_secret": 1.0}) == (
        "Field '_secret' starts with an underscore, which is only allowed for system fields "
        "like '_id'"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("$a", "Field name $a starts with '$', which is reserved."),
        (
            "a\n",
            "Field name a\n has invalid character '\\n': Field names can only contain "
            "non-control ASCII characters",
        ),
        (
            "\x7f",
            "Field name \x7f has invalid character '\\u{7f}': Field names can only contain "
            "non-control ASCII characters",
        ),
        (
            "é",
            "Field name é has invalid character 'é': Field names can only contain "
            "non-control ASCII characters",
        ),
        ("a" * 1025, "Field name is too long (1025 > maximum 1024)"),
    ],
)
def test_invalid_field_names(key: str, message: str) -> None:
    assert field_name_error(key) == message
    assert not is_valid_field_name(key)
    assert error_of(check_document, {"ok": {key: 1.0}}) == message
    assert error_of(check_function_value, {key: 1.0}) == message


@pytest.mark.parametrize("key", ["a", "a b", "a$b", "~!@#", "a" * 1024, "", "_x", "A-9"])
def test_valid_field_names(key: str) -> None:
    assert is_valid_field_name(key)
    assert check_field_names({key: 1, "other": 2}) == len(key) + 5
    check_document({"x": {key: 1.0}})


def test_non_string_keys_are_refused() -> None:
    assert error_of(check_document, {"a": {1: "x"}}).startswith("Object keys must be strings")


def test_document_must_be_an_object() -> None:
    assert "must be an object" in error_of(check_document, [1.0])


def test_lone_surrogates_are_refused() -> None:
    assert "lone surrogate" in error_of(check_document, {"a": ["\ud800"]})


def test_undefined_fields_do_not_count() -> None:
    assert check_document({"a": UNDEFINED, "b": 1.0}) == convex_size({"b": 1.0})
    with pytest.raises(InvalidValueError, match="undefined"):
        check_document({"a": [UNDEFINED]})


def test_limits_are_read_from_knobs_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knobs, "VALUE_MAX_BYTES", 100)
    monkeypatch.setattr(knobs, "DOCUMENT_MAX_NESTING", 2)
    monkeypatch.setattr(knobs, "ARRAY_MAX_ELEMENTS", 3)
    assert "Value is too large (106 B > maximum size 100 B)" == error_of(
        check_document, {"a": "x" * 100}
    )
    assert "maximum nesting 2" in error_of(check_document, nested_objects(3))
    assert "maximum length 3" in error_of(check_function_value, [1.0] * 4)


# ---------------------------------------------------------------- function values


def test_function_value_nesting() -> None:
    check_function_value(nested_arrays(64))
    assert error_of(check_function_value, nested_arrays(65)) == (
        "Value is too nested (nested 65 levels deep > maximum nesting 64)"
    )
    assert error_of(check_function_value, nested_objects(200)) == (
        "Value is too nested (nested 65 levels deep > maximum nesting 64)"
    )


def test_function_value_size() -> None:
    limit = knobs.FUNCTION_ARGS_MAX_BYTES
    check_function_value("x" * (limit - 2))
    assert error_of(check_function_value, "x" * (limit - 1)) == (
        "Value is too large (16.00 MiB > maximum size 16 MiB)"
    )
    with pytest.raises(InvalidValueError, match=r"\(12 B > maximum size 10 B\)"):
        check_function_value("x" * 10, max_bytes=10)


def test_function_values_may_use_underscore_keys_and_scalars() -> None:
    assert check_function_value({"_private": None}) == 2 + 9 + 1
    assert check_function_value(Int64(1)) == 9


# ---------------------------------------------------------------- identifiers


@pytest.mark.parametrize("name", ["a", "users", "A_1", "_storage", "a" * 64, "x__"])
def test_valid_identifiers(name: str) -> None:
    assert is_valid_identifier(name)
    check_identifier(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Identifier cannot be empty"),
        (
            "1a",
            "Invalid first character '1' in 1a: Identifiers must start with an alphabetic "
            "character or underscore",
        ),
        (
            "a-b",
            "Identifier a-b has invalid character '-': Identifiers can only contain "
            "alphanumeric characters or underscores",
        ),
        (
            "é",
            "Invalid first character 'é' in é: Identifiers must start with an alphabetic "
            "character or underscore",
        ),
        ("a" * 65, "Identifier is too long (65 > maximum 64)"),
        ("___", "Identifier ___ cannot have exclusively underscores"),
    ],
)
def test_invalid_identifiers(name: str, message: str) -> None:
    assert identifier_error(name) == message
    assert not is_valid_identifier(name)
    with pytest.raises(InvalidValueError) as info:
        check_identifier(name)
    assert info.value.message == message
