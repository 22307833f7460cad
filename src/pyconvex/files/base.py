"""The file-store interface: write bytes under a temporary name, then give them a key.

Bytes are streamed in (never held whole), finished into ``(size, sha256)``, and
only then *placed* under their final key, durably. The database row that makes
a file visible is committed after :meth:`FileStore.place`, so a crash leaves
at worst bytes without a row (invisible, swept later), never a row without bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

__all__ = ["FileStore", "PendingFile"]


class PendingFile(Protocol):
    """Bytes being received, not yet placed under a key."""

    def write(self, chunk: bytes) -> None:
        """Append bytes."""
        ...

    def finish(self) -> tuple[int, bytes]:
        """Flush to disk; return ``(size, sha256 digest)``."""
        ...

    def abort(self) -> None:
        """Drop the bytes (an interrupted upload)."""
        ...


class FileStore(Protocol):
    """Durable storage of file bytes by key."""

    def begin(self) -> PendingFile:
        """Start receiving a new file."""
        ...

    def place(self, pending: PendingFile, key: str) -> None:
        """Durably give finished bytes their key."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Read a placed file. Raises FileNotFoundError."""
        ...

    def path(self, key: str) -> str | None:
        """A local path for the file, when the store has one (for efficient serving)."""
        ...

    def delete(self, key: str) -> None:
        """Remove a placed file (no error if it is already gone)."""
        ...

    def keys(self) -> Iterator[str]:
        """Every placed key (for sweeping orphans)."""
        ...
