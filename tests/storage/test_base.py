"""The persistence interface's records (storage/base.py)."""

from __future__ import annotations

import pytest

from pyconvex.storage.base import DocumentRevision, IndexEntry


def test_records_are_immutable_values() -> None:
    revision = DocumentRevision(b"id", 5, b"{}", None)
    entry = IndexEntry(1, b"key", 5, b"id")
    assert revision == DocumentRevision(b"id", 5, b"{}", None)
    assert entry.doc_id == b"id" and IndexEntry(1, b"key", 6, None).doc_id is None
    with pytest.raises(AttributeError):
        revision.ts = 6  # type: ignore[misc]
    # Tuples in column order: the SQLite backend binds them as rows directly.
    assert tuple(revision) == (b"id", 5, b"{}", None)
    assert tuple(entry) == (1, b"key", 5, b"id")
