"""Index keys and copies of documents (database/documents.py)."""

from __future__ import annotations

from pyconvex.database.catalog import IndexInfo
from pyconvex.database.documents import (
    copy_value,
    document_key,
    document_keys,
    id_key,
    strip_system_fields,
)
from pyconvex.values.model import UNDEFINED
from pyconvex.values.ordering import encode_key


def test_keys_use_the_index_fields_with_missing_as_undefined() -> None:
    index = IndexInfo(7, "by_a_b", ("a", "b.c"), ("a", "b.c", "_creationTime", "_id"))
    document = {"a": "x", "_creationTime": 1.5, "_id": "id1"}
    assert document_key(index, document) == encode_key(["x", UNDEFINED, 1.5, "id1"])
    assert document_key(IndexInfo(1, "by_id", (), ("_id",)), document) == id_key("id1")


def test_document_keys_equal_each_index_key() -> None:
    indexes = [
        IndexInfo(1, "by_id", (), ("_id",)),
        IndexInfo(2, "by_creation_time", (), ("_creationTime", "_id")),
        IndexInfo(7, "by_a_b", ("a", "b.c"), ("a", "b.c", "_creationTime", "_id")),
        IndexInfo(8, "by_list", ("l",), ("l", "_creationTime", "_id")),
    ]
    document = {"a": "x", "b": {"c": -0.0}, "l": [1.0, None], "_creationTime": 1.5, "_id": "id1"}
    assert document_keys(indexes, document) == [document_key(i, document) for i in indexes]


def test_copy_value_is_deep_and_strip_removes_system_fields() -> None:
    original = {"a": [{"b": 1.0}], "_id": "x", "_creationTime": 1.0}
    copied = copy_value(original)
    copied["a"][0]["b"] = 2.0
    assert original["a"][0]["b"] == 1.0
    assert strip_system_fields(original) == {"a": [{"b": 1.0}]}
