import pytest

from pyconvex.database.field_paths import get_field, validate_field_path
from pyconvex.errors import QueryError, SchemaError
from pyconvex.values.model import UNDEFINED, Int64

DOC = {
    "a": 1.0,
    "n": None,
    "o": {"b": {"c": "deep"}, "arr": [{"x": 1.0}], "s": "text"},
    "_id": "abc",
}


def test_top_level_fields():
    assert get_field(DOC, "a") == 1.0
    assert get_field(DOC, "_id") == "abc"
    assert get_field(DOC, "n") is None
    assert get_field(DOC, "missing") is UNDEFINED


def test_nested_fields():
    assert get_field(DOC, "o.b.c") == "deep"
    assert get_field(DOC, "o.b") == {"c": "deep"}
    assert get_field(DOC, "o.b.missing") is UNDEFINED
    assert get_field(DOC, "missing.b") is UNDEFINED


def test_only_objects_are_traversed():
    # Arrays, strings, numbers and null part way along all read as missing.
    assert get_field(DOC, "o.arr.x") is UNDEFINED
    assert get_field(DOC, "o.arr.0") is UNDEFINED
    assert get_field(DOC, "o.s.length") is UNDEFINED
    assert get_field(DOC, "a.b") is UNDEFINED
    assert get_field(DOC, "n.b") is UNDEFINED


def test_values_are_returned_as_stored():
    doc = {"i": Int64(3), "f": {"g": Int64(-1)}}
    assert type(get_field(doc, "i")) is Int64
    assert type(get_field(doc, "f.g")) is Int64


def test_valid_paths_are_returned_trimmed():
    assert validate_field_path("a") == "a"
    assert validate_field_path("a.b_2.C") == "a.b_2.C"
    assert validate_field_path("_creationTime") == "_creationTime"
    assert validate_field_path(".a.b.") == "a.b"
    assert validate_field_path("x" * 64) == "x" * 64


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "Empty path "),
        ("..", "Empty path .."),
        ("a..b", "Identifier cannot be empty"),
        ("$a", "Field name $a starts with '$', which is reserved."),
        (
            "a.é",
            "Field name é has invalid character 'é': Field names can only contain "
            "non-control ASCII characters",
        ),
        (
            "a\tb",
            "Field name a\tb has invalid character '\\t': Field names can only contain "
            "non-control ASCII characters",
        ),
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
        ("x" * 65, "Identifier is too long (65 > maximum 64)"),
        ("x" * 1025, "Field name is too long (1025 > maximum 1024)"),
        ("___", "Identifier ___ cannot have exclusively underscores"),
    ],
)
def test_invalid_paths_use_convex_messages(path, message):
    with pytest.raises(QueryError) as caught:
        validate_field_path(path)
    assert caught.value.message == message


def test_non_string_path():
    with pytest.raises(QueryError, match="Field paths must be strings"):
        validate_field_path(3)  # type: ignore[arg-type]


def test_error_class_can_be_chosen():
    with pytest.raises(SchemaError, match="Identifier cannot be empty"):
        validate_field_path("a..b", error=SchemaError)
