"""Documents: system fields, index keys and safe copies.

A stored document is a ``dict`` with the user's fields plus ``_id`` (a string
ID) and ``_creationTime`` (float milliseconds). Its key in an index is the
encoding of its values for the index's key fields, which always end with the
document's ``_id`` so that keys are unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyconvex.database.catalog import IndexInfo
from pyconvex.database.field_paths import get_field
from pyconvex.values.model import Value
from pyconvex.values.ordering import encode_key, encode_value

__all__ = [
    "SYSTEM_FIELDS",
    "copy_value",
    "document_key",
    "document_keys",
    "id_key",
    "strip_system_fields",
]

SYSTEM_FIELDS = frozenset({"_id", "_creationTime"})
# How every index key but ``by_id`` ends (see catalog.py).
_TIE_BREAKS = ("_creationTime", "_id")


def document_key(index: IndexInfo, document: dict[str, Value]) -> bytes:
    """The key of ``document`` in ``index``."""
    fields = index.key_fields
    if len(fields) == 1:
        return encode_value(document["_id"])
    if len(fields) == 2 and fields[0] == "_creationTime":
        return encode_key((document["_creationTime"], document["_id"]))
    return encode_key([get_field(document, path) for path in fields])


def document_keys(indexes: Iterable[IndexInfo], document: dict[str, Value]) -> list[bytes]:
    """``document_key(index, document)`` for each of ``indexes``, in order.

    Every key ends with the encoded ``_id``; it is encoded once for all of them.
    """
    document_id = encode_value(document["_id"])
    creation_time: bytes | None = None
    keys = []
    for index in indexes:
        fields = index.key_fields
        if len(fields) == 1:
            keys.append(document_id)
            continue
        if fields[-2:] != _TIE_BREAKS:  # pragma: no cover - every index ends so (catalog.py)
            keys.append(document_key(index, document))
            continue
        if creation_time is None:
            creation_time = encode_value(document["_creationTime"])
        if len(fields) == 2:
            keys.append(creation_time + document_id)
        else:
            values = [get_field(document, path) for path in fields[:-2]]
            keys.append(encode_key(values) + creation_time + document_id)
    return keys


def id_key(document_id: str) -> bytes:
    """The key of a document in its table's ``by_id`` index."""
    return encode_value(document_id)


def strip_system_fields(document: dict[str, Value]) -> dict[str, Value]:
    """A shallow copy of ``document`` without ``_id`` and ``_creationTime``."""
    return {k: v for k, v in document.items() if k not in SYSTEM_FIELDS}


def copy_value(value: Any) -> Any:
    """A deep copy of a canonical value (dicts and lists are copied, scalars shared)."""
    kind = type(value)
    if kind is dict:
        return {k: copy_value(v) for k, v in value.items()}
    if kind is list:
        return [copy_value(v) for v in value]
    return value
