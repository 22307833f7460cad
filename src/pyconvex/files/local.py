"""Files in a local directory: ``<root>/<key[:2]>/<key>``, placed by atomic rename."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pyconvex.files.base import PendingFile

__all__ = ["LocalFileStore"]


class _PendingLocalFile:
    def __init__(self, directory: Path) -> None:
        handle, name = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._hash = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def finish(self) -> tuple[int, bytes]:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._size, self._hash.digest()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class LocalFileStore:
    """A directory of files; temporary files live in ``<root>/.tmp``.

    Args:
        root: the directory (created if missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self._tmp.iterdir():  # uploads interrupted by a crash
            leftover.unlink(missing_ok=True)

    def begin(self) -> _PendingLocalFile:
        """Start receiving a new file."""
        return _PendingLocalFile(self._tmp)

    def place(self, pending: PendingFile, key: str) -> None:
        """Durably move finished bytes to ``key`` (rename, then fsync the directory)."""
        if not isinstance(pending, _PendingLocalFile):
            raise TypeError("place() takes a file begun by this store")
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(pending.path, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def open(self, key: str) -> BinaryIO:
        """Read a placed file."""
        return open(self._target(key), "rb")

    def path(self, key: str) -> str | None:
        """The file's path."""
        target = self._target(key)
        return str(target) if target.exists() else None

    def delete(self, key: str) -> None:
        """Remove a placed file."""
        self._target(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every placed key."""
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name != ".tmp":
                for file in folder.iterdir():
                    yield file.name

    def _target(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"Invalid file key {key!r}")
        return self.root / key[:2] / key
