"""Schema definitions and their checks (database/schema.py)."""

from __future__ import annotations

import pytest

from pyconvex.database.schema import define_schema, define_table, document_validator
from pyconvex.errors import SchemaError
from pyconvex.values.validators import v


def test_a_schema_lists_tables_indexes_and_search_declarations() -> None:
    table = (
        define_table({"body": v.string(), "channel": v.string()})
        .index("by_channel", ["channel"])
        .search_index("search_body", search_field="body", filter_fields=["channel"])
        .vector_index("by_embedding", vector_field="embedding", dimensions=3)
    )
    schema = define_schema({"messages": table})
    assert schema.validator_for("messages") is table.validator
    assert schema.validator_for("other") is None
    exported = schema.to_json()["tables"][0]
    assert exported["indexes"] == [{"indexDescriptor": "by_channel", "fields": ["channel"]}]
    assert exported["searchIndexes"][0]["searchField"] == "body"
    assert define_schema({"m": table}, schema_validation=False).validator_for("m") is None


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("by_id", ["a"], "reserved"),
        ("_x", ["a"], "reserved"),
        ("a-b", ["a"], "Invalid index name"),
        ("ok", ["_id"], "`_id` is not a valid index field"),
        ("ok", ["_creationTime"], "automatically added"),
        ("ok", ["_other"], "Reserved fields"),
        ("ok", ["a", "a"], "Duplicate field a"),
        ("ok", [], "at least one field"),
        ("ok", [f"f{i}" for i in range(16)], "up to 16 fields"),
    ],
)
def test_bad_indexes_are_refused(name: str, fields: list[str], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        define_table({"a": v.string()}).index(name, fields)


def test_bad_tables_are_refused() -> None:
    for name in ("_private", "a-b", "1x"):
        with pytest.raises(SchemaError, match="Invalid table name"):
            define_schema({name: define_table({})})
    same = define_table({"a": v.string()}).index("x", ["a"]).index("y", ["a"])
    with pytest.raises(SchemaError, match="have the same fields"):
        define_schema({"t": same})
    twice = define_table({"a": v.string()}).index("x", ["a"]).search_index("x", search_field="a")
    with pytest.raises(SchemaError, match="two or more definitions"):
        define_schema({"t": twice})


def test_doc_is_the_document_as_read_with_system_fields() -> None:
    schema = define_schema(
        {
            "users": define_table({"name": v.string()}),
            "pets": define_table(v.union(v.object({"a": v.string()}), v.object({"b": v.null()}))),
        }
    )
    assert schema.doc("users") == v.object(
        {"name": v.string(), "_id": v.id("users"), "_creationTime": v.number()}
    )
    assert document_validator("pets", schema.tables["pets"].validator) == v.union(
        v.object({"a": v.string(), "_id": v.id("pets"), "_creationTime": v.number()}),
        v.object({"b": v.null(), "_id": v.id("pets"), "_creationTime": v.number()}),
    )
    assert document_validator("any", v.any()) == v.any()
    with pytest.raises(SchemaError, match='Table "nope" is not in the schema'):
        schema.doc("nope")
    with pytest.raises(SchemaError, match="not one object shape"):
        schema.doc("pets")
