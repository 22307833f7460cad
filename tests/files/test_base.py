"""The file-store interface (files/base.py): key rules and chunked reading.

The promises every store keeps are checked against each backend by
tests/files/test_conformance.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyconvex.files.base import FileStore, check_key, iter_chunks
from pyconvex.files.local import LocalFileStore


def test_keys_are_plain_names() -> None:
    assert check_key("kg2abc_DEF-9") == "kg2abc_DEF-9"
    for bad in ("", ".hidden", "-x", "a/b", "a\\b", "a.b", "é", "x" * 129):
        with pytest.raises(ValueError):
            check_key(bad)


def test_iter_chunks_reads_to_the_end_and_closes(tmp_path: Path) -> None:
    store: FileStore = LocalFileStore(tmp_path)
    pending = store.begin("k1")
    pending.write(b"0123456789")
    pending.finish()
    store.place(pending)
    assert list(iter_chunks(store.open("k1", 2, 9), 3)) == [b"234", b"567", b"8"]
    chunks = iter_chunks(store.open("k1"), 4)
    assert next(chunks) == b"0123"
    chunks.close()  # stopping early closes the reader too
