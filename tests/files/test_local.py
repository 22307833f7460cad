"""The local directory file store (files/local.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pyconvex.files.local import LocalFileStore


def test_bytes_are_placed_by_key_and_read_back(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    pending = store.begin()
    for chunk in (b"hello ", b"world"):
        pending.write(chunk)
    size, digest = pending.finish()
    assert size == 11 and digest == hashlib.sha256(b"hello world").digest()
    store.place(pending, "abc123")
    with store.open("abc123") as handle:
        assert handle.read() == b"hello world"
    assert list(store.keys()) == ["abc123"]
    store.delete("abc123")
    store.delete("abc123")  # already gone: no error
    assert store.path("abc123") is None
    with pytest.raises(FileNotFoundError):
        store.open("abc123")


def test_aborted_and_interrupted_uploads_leave_nothing(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    pending = store.begin()
    pending.write(b"partial")
    pending.abort()
    leftover = store.begin()
    leftover.write(b"crash")
    leftover.finish()  # received but never placed: as if the process died here
    reopened = LocalFileStore(tmp_path / "files")  # a restart clears temporary files
    assert list(reopened.keys()) == []
    assert not any((tmp_path / "files" / ".tmp").iterdir())


def test_keys_cannot_escape_the_directory(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            store.path(bad)
