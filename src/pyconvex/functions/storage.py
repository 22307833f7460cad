"""File storage for functions: ``ctx.storage`` and the upload/serve logic behind it.

A file is bytes in a :class:`~pyconvex.files.base.FileStore` plus a row in the
``_storage`` system table (``sha256`` base64, ``size``, ``contentType``), keyed
by the row's ``_id``. Storing a file writes the bytes first, inserts the row
(which fixes its id), places the bytes under that id, and only then commits:
there is never a row without bytes, and a crash can only leave bytes without a
row, which :meth:`FileService.sweep` removes. Deleting a row (transactionally,
in a mutation) frees its bytes after the commit.

Upload URLs carry a signed token valid for an hour; the first *completed*
upload consumes it, in the same transaction as the new row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from pyconvex.database.catalog import BY_CREATION_TIME
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer, deliver
from pyconvex.database.readset import ReadSet
from pyconvex.database.transaction import Transaction
from pyconvex.database.write_log import CommitRecord
from pyconvex.errors import PyConvexError
from pyconvex.files.base import FileStore, PendingFile
from pyconvex.functions import determinism
from pyconvex.values.ids import decode_id, id_to_binary

__all__ = [
    "ActionStorage",
    "FileService",
    "MutationStorage",
    "QueryStorage",
    "StorageTokenError",
]

STORAGE_TABLE = "_storage"
TOKENS_TABLE = "_upload_tokens"
UPLOAD_URL_SECONDS = 3600
_TOKEN = struct.Struct(">16sQ")


class StorageTokenError(PyConvexError):
    """An upload token that is garbage, expired or already used."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FileService:
    """Stores, finds, serves and frees files of one deployment.

    Args:
        database: where ``_storage`` rows live.
        store: where the bytes live.
        secret: signs upload tokens (kept with the deployment's data).
        base_url: the deployment URL that upload and file URLs start with.
    """

    def __init__(self, database: Database, store: FileStore, secret: bytes, base_url: str) -> None:
        self.database = database
        self.store = store
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        database.add_commit_listener(self._free_deleted)

    # -- URLs and tokens ----------------------------------------------------

    def upload_url(self) -> str:
        """A URL that accepts one ``POST`` of a file within the next hour."""
        nonce = determinism._real_urandom(16)  # real randomness even inside a mutation
        expires_ms = determinism._real_time_ns() // 1_000_000 + UPLOAD_URL_SECONDS * 1000
        body = _TOKEN.pack(nonce, expires_ms)
        signature = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        token = base64.urlsafe_b64encode(body + signature).decode().rstrip("=")
        return f"{self.base_url}/api/storage/upload?token={token}"

    def check_token(self, token: str) -> bytes:
        """The token's nonce if it is genuine and unexpired.

        Raises:
            StorageTokenError: ``StorageTokenInvalid`` or ``StorageTokenExpired``.
        """
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body, signature = raw[: _TOKEN.size], raw[_TOKEN.size :]
            nonce, expires_ms = _TOKEN.unpack(body)
        except Exception:
            raise StorageTokenError("StorageTokenInvalid", "Invalid storage upload token") from None
        expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(signature, expected):
            raise StorageTokenError("StorageTokenInvalid", "Invalid storage upload token")
        if expires_ms < determinism._real_time_ns() // 1_000_000:
            raise StorageTokenError("StorageTokenExpired", "Storage upload token expired")
        return bytes(nonce)

    def url(self, storage_id: str) -> str:
        """Where a stored file is served."""
        return f"{self.base_url}/api/storage/{storage_id}"

    # -- storing --------------------------------------------------------------

    def store_file(
        self, chunks: Iterable[bytes], content_type: str | None, *, nonce: bytes | None = None
    ) -> str:
        """Store a file from ``chunks``; return its storage id (blocking).

        With ``nonce`` (an upload token's), the token is consumed in the same
        transaction; a token already used fails with ``StorageTokenInvalid``.
        """
        pending = self.store.begin()
        try:
            for chunk in chunks:
                pending.write(chunk)
            size, digest = pending.finish()
        except BaseException:
            pending.abort()
            raise
        return self.commit_file(pending, size, digest, content_type, nonce)

    def commit_file(
        self,
        pending: PendingFile,
        size: int,
        digest: bytes,
        content_type: str | None,
        nonce: bytes | None,
    ) -> str:
        """Record finished bytes as a new file (consuming ``nonce``); return its id."""
        transaction = self.database.begin(writable=True)
        transaction.read_set = ReadSet()  # system rows need no schema check
        transaction.system_writes = True
        if nonce is not None:
            if _token_used(transaction, nonce):
                pending.abort()
                raise StorageTokenError("StorageTokenInvalid", "Storage upload token already used")
            transaction.insert(TOKENS_TABLE, {"nonce": nonce})
        row: dict[str, Any] = {"sha256": base64.b64encode(digest).decode(), "size": float(size)}
        if content_type:
            row["contentType"] = content_type
        storage_id = transaction.insert(STORAGE_TABLE, row)
        self.store.place(pending, storage_id)
        try:
            self.database.commit(transaction).result()
        except CommitConflict:
            self.store.delete(storage_id)
            raise StorageTokenError(
                "StorageTokenInvalid", "Storage upload token already used"
            ) from None
        except BaseException:
            self.store.delete(storage_id)
            raise
        return storage_id

    # -- reading and deleting -------------------------------------------------

    def row(self, transaction: Transaction, storage_id: Any) -> dict[str, Any] | None:
        """The ``_storage`` row of ``storage_id`` as ``transaction`` sees it (None if none)."""
        if not isinstance(storage_id, str):
            return None
        try:
            number, _ = decode_id(storage_id)
        except PyConvexError:
            return None
        table = transaction.table(STORAGE_TABLE)
        if table is None or table.number != number:
            return None
        return transaction.get(storage_id, system=True)

    def read(self, storage_id: str) -> bytes | None:
        """The bytes of a stored file at the latest snapshot, or None."""
        if self.row(self.database.begin(writable=False), storage_id) is None:
            return None
        try:
            with self.store.open(storage_id) as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def delete_row(self, transaction: Transaction, storage_id: str) -> None:
        """Delete a file's row in ``transaction`` (its bytes go after the commit)."""
        if self.row(transaction, storage_id) is None:
            raise PyConvexError(f"storage id {storage_id} not found")
        transaction.system_writes = True
        try:
            transaction.delete(storage_id)
        finally:
            transaction.system_writes = False

    def _free_deleted(self, records: Sequence[CommitRecord]) -> None:
        # Runs on the committer thread after a durable batch: unlink the bytes
        # of every _storage row that no longer exists.
        ids = {t.document_id for r in records for t in r.touched if t.table == STORAGE_TABLE}
        if not ids:
            return
        snapshot = self.database.persistence
        ts = self.database.latest_ts
        for storage_id in ids:
            revision = snapshot.get_revision(id_to_binary(storage_id), ts)
            if revision is None or revision.value is None:
                self.store.delete(storage_id)

    def sweep(self) -> int:
        """Delete bytes that no row refers to (left by a crash); return how many."""
        transaction = self.database.begin(writable=False)
        table = transaction.table(STORAGE_TABLE)
        live: set[str] = set()
        if table is not None:
            index = table.indexes[BY_CREATION_TIME]
            live = {
                str(document["_id"]) for _, document in transaction.scan(table, index, b"", None)
            }
        removed = 0
        for key in list(self.store.keys()):
            if key not in live:
                self.store.delete(key)
                removed += 1
        return removed


def _token_used(transaction: Transaction, nonce: bytes) -> bool:
    query = QueryInitializer(transaction, TOKENS_TABLE, sync=True).with_index(
        "by_nonce", lambda q: q.eq("nonce", nonce)
    )
    return query.first() is not None


class QueryStorage:
    """``ctx.storage`` in a query: ``get_url``."""

    def __init__(self, service: FileService, transaction: Transaction, sync: bool) -> None:
        self._service = service
        self._transaction = transaction
        self._sync = sync

    def get_url(self, storage_id: str) -> Any:
        """The URL serving the file, or None if there is no such file (awaitable)."""
        row = self._service.row(self._transaction, storage_id)
        return deliver(self._service.url(storage_id) if row else None, self._sync)


class MutationStorage(QueryStorage):
    """``ctx.storage`` in a mutation: plus ``generate_upload_url`` and ``delete``."""

    def generate_upload_url(self) -> Any:
        """A URL to ``POST`` one file to, valid for an hour (awaitable)."""
        return deliver(self._service.upload_url(), self._sync)

    def delete(self, storage_id: str) -> Any:
        """Delete a file when this mutation commits (awaitable)."""
        self._service.delete_row(self._transaction, storage_id)
        return deliver(None, self._sync)


class ActionStorage:
    """``ctx.storage`` in an action: store, get, get_url, delete, generate_upload_url."""

    def __init__(self, service: FileService, sync: bool) -> None:
        self._service = service
        self._sync = sync

    def generate_upload_url(self) -> Any:
        """A URL to ``POST`` one file to, valid for an hour."""
        return deliver(self._service.upload_url(), self._sync)

    def store(self, data: bytes, content_type: str | None = None) -> Any:
        """Store ``data`` and return its storage id."""
        step = 1 << 20
        chunks = [bytes(data[i : i + step]) for i in range(0, len(data), step)] or [b""]
        return deliver(self._service.store_file(chunks, content_type), self._sync)

    def get(self, storage_id: str) -> Any:
        """The file's bytes, or None."""
        return deliver(self._service.read(storage_id), self._sync)

    def get_url(self, storage_id: str) -> Any:
        """The URL serving the file, or None."""
        row = self._service.row(self._service.database.begin(writable=False), storage_id)
        return deliver(self._service.url(storage_id) if row else None, self._sync)

    def delete(self, storage_id: str) -> Any:
        """Delete the file now (its own transaction)."""
        transaction = self._service.database.begin(writable=True)
        self._service.delete_row(transaction, storage_id)
        self._service.database.commit(transaction).result()
        return deliver(None, self._sync)
