"""The local directory file store (files/local.py): its layout on disk and crash recovery."""

from __future__ import annotations

import math
import time
from pathlib import Path

from pyconvex.files.local import LocalFileStore


def test_files_live_under_a_two_letter_folder(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    pending = store.begin("abc123")
    pending.write(b"hello")
    assert store.path("abc123") is None  # still in .tmp/
    pending.finish()
    store.place(pending)
    assert store.path("abc123") == str(tmp_path / "files" / "ab" / "abc123")
    assert (tmp_path / "files" / "ab" / "abc123").read_bytes() == b"hello"
    assert not any((tmp_path / "files" / ".tmp").iterdir())


def test_recovery_clears_temporary_files_and_keeps_the_owner(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    store.claim("me")
    assert (tmp_path / ".owner").read_text() == "me\n"
    leftover = store.begin("k1")
    leftover.write(b"crash")
    leftover.finish()  # received but never placed: as if the process died here
    LocalFileStore(tmp_path).recover(time.time() - 3600)  # another process, starting
    assert len(list((tmp_path / ".tmp").iterdir())) == 1  # too young: may be in progress
    LocalFileStore(tmp_path).recover(math.inf)  # a restart
    assert not any((tmp_path / ".tmp").iterdir())
    assert list(LocalFileStore(tmp_path).keys()) == []
