"""Files in a local directory: ``<root>/<key[:2]>/<key>``, placed by atomic rename.

An upload is written to ``<root>/.tmp/`` and fsynced; placing renames it to its
key and fsyncs the folder, so after ``place`` the file survives a crash and
before it nothing exists under the key. :meth:`LocalFileStore.recover`
deletes what a crash left in ``.tmp/``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pyconvex.files.base import FileStoreOwnedError, PendingFile, check_key

__all__ = ["LocalFileStore"]

_OWNER_FILE = ".owner"


class _PendingLocalFile:
    def __init__(self, directory: Path, key: str) -> None:
        handle, name = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.key = key
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self.finished = False

    def write(self, chunk: bytes | bytearray) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def finish(self) -> tuple[int, bytes]:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self.finished = True
        return self._size, self._hash.digest()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def __del__(self) -> None:
        # Dropped without finish or abort (as by a crash): close the descriptor;
        # the temporary file stays until the store is reopened.
        if not self._file.closed:
            self._file.close()


class _RangeReader:
    """Reads ``[start, stop)`` of an open file."""

    def __init__(self, file: BinaryIO, start: int, stop: int | None) -> None:
        self._file = file
        file.seek(start)
        self._left = None if stop is None else max(0, stop - start)

    def read(self, size: int) -> bytes:
        if self._left is not None:
            size = min(size, self._left)
            if size <= 0:
                return b""
        data = self._file.read(size)
        if self._left is not None:
            self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


class LocalFileStore:
    """A directory of files; temporary files live in ``<root>/.tmp``.

    Args:
        root: the directory (created if missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def claim(self, owner: str) -> None:
        """Mark the directory as ``owner``'s (``.owner``), or check that it is."""
        marker = self.root / _OWNER_FILE
        try:
            current = marker.read_text().strip()
        except FileNotFoundError:
            marker.write_text(owner + "\n")
            _fsync_directory(self.root)
            return
        if current != owner:
            raise FileStoreOwnedError(
                f"{self.root} holds the files of another deployment; give this deployment "
                "its own files directory"
            )

    def begin(self, key: str) -> _PendingLocalFile:
        """Start receiving a new file for ``key``."""
        return _PendingLocalFile(self._tmp, check_key(key))

    def place(self, pending: PendingFile) -> None:
        """Durably move finished bytes to their key (rename, then fsync the folder)."""
        if not isinstance(pending, _PendingLocalFile) or not pending.finished:
            raise TypeError("place() takes a finished file begun by this store")
        target = self._target(pending.key)
        if not target.parent.is_dir():
            target.parent.mkdir(exist_ok=True)
            _fsync_directory(self.root)  # the new folder's entry must survive a crash too
        os.replace(pending.path, target)
        _fsync_directory(target.parent)

    def recover(self, before: float) -> None:
        """Delete the temporary files of uploads last written to before ``before``."""
        for leftover in self._tmp.iterdir():
            try:
                if leftover.stat().st_mtime < before:
                    leftover.unlink(missing_ok=True)
            except FileNotFoundError:  # finished and placed meanwhile
                pass

    def open(self, key: str, start: int = 0, stop: int | None = None) -> _RangeReader:
        """Read ``[start, stop)`` of a placed file."""
        return _RangeReader(open(self._target(key), "rb"), start, stop)

    def path(self, key: str) -> str | None:
        """The file's path, if it is placed."""
        target = self._target(key)
        return str(target) if target.exists() else None

    def delete(self, key: str) -> None:
        """Remove a placed file."""
        self._target(key).unlink(missing_ok=True)

    def keys(self, placed_before: float | None = None) -> Iterator[str]:
        """Every placed key (written before ``placed_before``, if given)."""
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.name.startswith("."):
                for file in folder.iterdir():
                    if placed_before is None or _written_before(file, placed_before):
                        yield file.name

    def _target(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key


def _written_before(file: Path, moment: float) -> bool:
    try:
        return file.stat().st_mtime < moment
    except FileNotFoundError:  # deleted meanwhile
        return False


def _fsync_directory(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
