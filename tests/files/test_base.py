"""The file-store interface (files/base.py): the local store satisfies it."""

from __future__ import annotations

from pathlib import Path

from pyconvex.files.base import FileStore
from pyconvex.files.local import LocalFileStore


def test_the_local_store_is_a_file_store(tmp_path: Path) -> None:
    store: FileStore = LocalFileStore(tmp_path)
    pending = store.begin()
    pending.write(b"x")
    assert pending.finish() == (
        1,
        bytes.fromhex("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
    )
    store.place(pending, "k1")
    assert store.path("k1") is not None
