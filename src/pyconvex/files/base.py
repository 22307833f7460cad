"""The file-store interface: stream bytes in under a key, make them durable, read ranges.

Every backend (a local directory, S3-compatible object storage) keeps the same
promises, checked by one conformance suite (``tests/files/test_conformance.py``):

* **Streaming.** :meth:`PendingFile.write` takes the file chunk by chunk and
  :meth:`FileStore.open` hands it back chunk by chunk, from any byte range; no
  backend holds a whole file in memory.
* **Nothing half-written is ever readable.** Bytes begun under a key cannot be
  read under it before :meth:`PendingFile.finish` (which reports the size and
  SHA-256), and :meth:`FileStore.place` returns only once they are durable
  under it. The caller commits the database row that makes a file visible only
  after ``place``, so a crash leaves at worst bytes without a row, never a row
  without bytes.
* **Crashes leave nothing unaccounted for.** :meth:`FileStore.recover` drops
  the unfinished uploads idle since before a time (a restart passes a time in the
  future: every one; a node sharing the store with others passes one a grace
  period ago, so their uploads in progress are spared). A finished but unplaced
  upload either disappears too or shows up in :meth:`FileStore.keys`, so the
  caller's sweep (keys without a row, placed before the same time, are deleted)
  frees it.
* **Aborting frees everything**: :meth:`PendingFile.abort` at any point before
  ``place`` leaves no bytes behind.
* **A store belongs to one deployment**: :meth:`FileStore.claim` marks it, so
  two deployments never sweep each other's files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from pyconvex.errors import PyConvexError

__all__ = [
    "FileReader",
    "FileStore",
    "FileStoreError",
    "FileStoreOwnedError",
    "PendingFile",
    "check_key",
    "iter_chunks",
]

#: Keys are storage ids (and test names): letters, digits, ``-`` and ``_``.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: How much :func:`iter_chunks` reads at a time.
READ_CHUNK_BYTES = 1 << 16


class FileStoreError(PyConvexError):
    """A file store that cannot be used: misconfigured, unreachable, or not ours."""


class FileStoreOwnedError(FileStoreError):
    """The store already holds another deployment's files."""


class PendingFile(Protocol):
    """Bytes being received under a key, not yet placed."""

    key: str

    def write(self, chunk: bytes | bytearray) -> None:
        """Append bytes (a backend may send a batch out before returning)."""
        ...

    def finish(self) -> tuple[int, bytes]:
        """Make everything written durable; return ``(size, sha256 digest)``."""
        ...

    def abort(self) -> None:
        """Drop the bytes, finished or not (idempotent)."""
        ...


class FileReader(Protocol):
    """A byte range of a placed file, read front to back."""

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end); ``b""`` once exhausted."""
        ...

    def close(self) -> None:
        """Release the file or connection (idempotent)."""
        ...


class FileStore(Protocol):
    """Durable storage of file bytes by key.

    Methods block (disk or network I/O); async callers run them on a thread.
    """

    #: Where the files are, for messages (a path or ``s3://bucket/prefix``).
    location: str

    def claim(self, owner: str) -> None:
        """Mark the store as ``owner``'s, or check that it already is.

        Raises:
            FileStoreOwnedError: another owner claimed it first.
        """
        ...

    def begin(self, key: str) -> PendingFile:
        """Start receiving a new file that will be placed under ``key``.

        Raises:
            ValueError: ``key`` is not a valid key.
        """
        ...

    def place(self, pending: PendingFile) -> None:
        """Durably give finished bytes their key (returns once they survive a crash)."""
        ...

    def recover(self, before: float) -> None:
        """Drop unfinished uploads last written to before ``before`` (seconds since the epoch).

        Uploads written to since are left alone: they may be in progress in
        another process sharing the store.
        """
        ...

    def open(self, key: str, start: int = 0, stop: int | None = None) -> FileReader:
        """Read bytes ``[start, stop)`` of a placed file (``stop`` None: to the end).

        Raises:
            FileNotFoundError: no file is placed under ``key``.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove a placed file (no error if it is already gone)."""
        ...

    def keys(self, placed_before: float | None = None) -> Iterator[str]:
        """Every key holding bytes (for sweeping orphans).

        Args:
            placed_before: only keys whose bytes were last written before this
                time (seconds since the epoch); None: all.
        """
        ...


def check_key(key: str) -> str:
    """``key`` itself if it is a valid file key.

    Raises:
        ValueError: empty, too long, or with characters other than letters,
            digits, ``-`` and ``_`` (so a key never escapes its folder or prefix).
    """
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise ValueError(f"Invalid file key {key!r}")
    return key


def iter_chunks(reader: FileReader, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
    """The reader's bytes in chunks of at most ``chunk_bytes``; closes it at the end."""
    try:
        while chunk := reader.read(chunk_bytes):
            yield chunk
    finally:
        reader.close()
