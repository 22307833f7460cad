"""File storage for functions: ``ctx.storage`` and the upload/serve logic behind it.

A file is bytes in a :class:`~pyconvex.files.base.FileStore` plus a row in the
``_storage`` system table (``sha256`` base64, ``size``, ``contentType``). Its
storage id is chosen before the first byte arrives, and the bytes are written
under that id: they are streamed in (never held whole), finished, *placed*
(durable), and only then is the row committed. There is never a row without
bytes; a crash can only leave bytes without a row, which are invisible (every
read goes through the row) and which :meth:`FileService.start` sweeps at the
next start. On a database several nodes share, the sweep and the store's
recovery spare everything younger than ``knobs.FILE_SWEEP_GRACE_SECONDS``: it
may be another node's upload in progress. Deleting a row (transactionally, in
a mutation) frees its bytes after the commit, on a background thread (S3
deletes are network calls).

Upload URLs carry a signed token valid for an hour; the first *completed*
upload consumes it, in the same transaction as the new row.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import hashlib
import hmac
import struct
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pyconvex import knobs
from pyconvex.database.catalog import BY_CREATION_TIME, SYSTEM_TABLES
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer, deliver
from pyconvex.database.readset import ReadSet
from pyconvex.database.transaction import Transaction
from pyconvex.database.write_log import CommitRecord
from pyconvex.errors import PyConvexError
from pyconvex.files.base import FileReader, FileStore, PendingFile
from pyconvex.functions import determinism
from pyconvex.storage.base import SharedPersistence
from pyconvex.values.ids import decode_id, encode_id, id_to_binary

__all__ = [
    "ActionStorage",
    "Blob",
    "FileService",
    "MutationStorage",
    "QueryStorage",
    "StorageError",
    "StorageTokenError",
]

STORAGE_TABLE = "_storage"
TOKENS_TABLE = "_upload_tokens"
UPLOAD_URL_SECONDS = 3600
_STORAGE_TABLE_NUMBER = SYSTEM_TABLES[STORAGE_TABLE]
_TOKEN = struct.Struct(">16sQ")
#: Chunks arriving from a socket are small; they are handed to the store's
#: thread in batches of this size, so a thread hop is paid per MiB, not per packet.
_WRITE_BATCH_BYTES = 1 << 20
#: Chunk size of ``async for chunk in blob`` and ``bytes()``.
BLOB_CHUNK_BYTES = 1 << 18


class StorageError(PyConvexError):
    """A file-storage failure with Convex's error code (``StorageTokenInvalid``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StorageTokenError(StorageError):
    """An upload token that is garbage, expired or already used."""


class FileService:
    """Stores, finds, serves and frees files of one deployment.

    Args:
        database: where ``_storage`` rows live.
        store: where the bytes live.
        secret: signs upload tokens (kept with the deployment's data).
        base_url: the deployment URL that upload and file URLs start with.
        max_bytes: the largest file accepted (default :data:`knobs.FILE_UPLOAD_MAX_BYTES`).
        sweep_grace_seconds: how old unreferenced bytes and unfinished uploads
            must be before :meth:`start` deletes them (default: 0 on a database
            of one node, ``knobs.FILE_SWEEP_GRACE_SECONDS`` on a shared one).
    """

    def __init__(
        self,
        database: Database,
        store: FileStore,
        secret: bytes,
        base_url: str,
        *,
        max_bytes: int | None = None,
        sweep_grace_seconds: float | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.max_bytes = knobs.FILE_UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
        if sweep_grace_seconds is None:
            shared = isinstance(database.persistence, SharedPersistence)
            sweep_grace_seconds = knobs.FILE_SWEEP_GRACE_SECONDS if shared else 0.0
        self.sweep_grace_seconds = sweep_grace_seconds
        # One thread frees deleted files, in commit order, off the committer thread.
        self._reaper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyconvex-files")
        database.add_commit_listener(self._free_deleted)

    def start(self, now: float | None = None) -> int:
        """Claim the store for this deployment and sweep what a crash left; return how many.

        Only what is older than :attr:`sweep_grace_seconds` (at ``now``, seconds
        since the epoch; default: the real time) is dropped: unfinished uploads
        and bytes without a row.

        Raises:
            FileStoreOwnedError: the store holds another deployment's files.
        """
        owner = hmac.new(self._secret, b"file store owner", hashlib.sha256).hexdigest()[:32]
        self.store.claim(owner)
        if now is None:
            now = determinism._real_time_ns() / 1e9
        cutoff = now - self.sweep_grace_seconds
        self.store.recover(cutoff)
        return self.sweep(cutoff)

    def close(self) -> None:
        """Finish freeing deleted files."""
        self._reaper.shutdown(wait=True)

    def drain(self) -> None:
        """Wait until the bytes of every file deleted so far are freed."""
        self._reaper.submit(lambda: None).result()

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

    def check_unused(self, nonce: bytes) -> None:
        """Refuse a token already used, before its upload is received.

        The commit checks again (two uploads may race on one token); this
        check only spares a client sending a whole file for nothing.

        Raises:
            StorageTokenError: ``StorageTokenInvalid``.
        """
        if _token_used(self.database.begin(writable=False), nonce):
            raise StorageTokenError("StorageTokenInvalid", "Storage upload token already used")

    def url(self, storage_id: str) -> str:
        """Where a stored file is served."""
        return f"{self.base_url}/api/storage/{storage_id}"

    # -- storing --------------------------------------------------------------

    def check_size(self, size: int) -> None:
        """Refuse a file of ``size`` bytes or more than the limit.

        Raises:
            StorageError: ``FileTooLarge``.
        """
        if size > self.max_bytes:
            raise StorageError(
                "FileTooLarge",
                f"The file is larger than the maximum file size of {self.max_bytes} bytes "
                "(PYCONVEX_FILE_UPLOAD_MAX_BYTES).",
            )

    def begin(self) -> PendingFile:
        """Start receiving a file under a new storage id (``pending.key``)."""
        return self.store.begin(encode_id(_STORAGE_TABLE_NUMBER, determinism._real_urandom(16)))

    def store_file(
        self,
        chunks: Iterable[bytes],
        content_type: str | None,
        *,
        sha256: str | None = None,
        nonce: bytes | None = None,
    ) -> str:
        """Store a file from ``chunks``; return its storage id (blocking).

        ``sha256`` (base64) is checked against the bytes. With ``nonce`` (an
        upload token's), the token is consumed in the same transaction; a token
        already used fails with ``StorageTokenInvalid``.

        Raises:
            StorageError: ``FileTooLarge``, ``Sha256Mismatch``, ``StorageTokenInvalid``.
        """
        pending = self.begin()
        try:
            size = 0
            for chunk in chunks:
                size += len(chunk)
                self.check_size(size)
                pending.write(chunk)
            size, digest = pending.finish()
            _check_sha256(digest, sha256)
        except BaseException:
            pending.abort()
            raise
        return self.commit_file(pending, size, digest, content_type, nonce)

    async def store_stream(
        self,
        chunks: AsyncIterable[bytes],
        content_type: str | None,
        *,
        sha256: str | None = None,
        nonce: bytes | None = None,
    ) -> str:
        """Store a file from an async stream of chunks (store I/O on threads); return its id.

        The size limit is enforced as bytes arrive: the upload stops at the
        first byte over it and everything received is dropped.

        Raises:
            StorageError: as :meth:`store_file`.
        """
        pending = await asyncio.to_thread(self.begin)
        try:
            size = 0
            batch = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                self.check_size(size)
                batch += chunk
                if len(batch) >= _WRITE_BATCH_BYTES:
                    full, batch = batch, bytearray()  # handed over whole: no copy
                    await asyncio.to_thread(pending.write, full)
            if batch:
                await asyncio.to_thread(pending.write, batch)
            size, digest = await asyncio.to_thread(pending.finish)
            _check_sha256(digest, sha256)
        except BaseException:
            # Shielded: a cancelled request still drops its bytes.
            await asyncio.shield(asyncio.to_thread(pending.abort))
            raise
        return await asyncio.to_thread(self.commit_file, pending, size, digest, content_type, nonce)

    def commit_file(
        self,
        pending: PendingFile,
        size: int,
        digest: bytes,
        content_type: str | None,
        nonce: bytes | None,
    ) -> str:
        """Record finished bytes as a new file (consuming ``nonce``); return its id.

        The bytes are placed (durable) before the row that makes them visible is
        committed; if anything fails, they are dropped again.
        """
        storage_id = pending.key
        try:
            transaction = self._file_transaction(nonce)
            self.store.place(pending)
        except BaseException:
            pending.abort()
            raise
        row: dict[str, Any] = {"sha256": base64.b64encode(digest).decode(), "size": float(size)}
        if content_type:
            row["contentType"] = content_type
        try:
            transaction.insert(STORAGE_TABLE, row, internal_id=decode_id(storage_id)[1])
            self.database.commit(transaction).result()
        except BaseException as error:
            self.store.delete(storage_id)
            if isinstance(error, CommitConflict) and nonce is not None:
                # Only the token's row is read: another upload used it meanwhile.
                raise StorageTokenError(
                    "StorageTokenInvalid", "Storage upload token already used"
                ) from None
            raise
        return storage_id

    def _file_transaction(self, nonce: bytes | None) -> Transaction:
        # The transaction that records a file, having used up ``nonce`` if given.
        transaction = self.database.begin(writable=True)
        transaction.read_set = ReadSet()  # system rows need no schema check
        transaction.system_writes = True
        if nonce is not None:
            if _token_used(transaction, nonce):
                raise StorageTokenError("StorageTokenInvalid", "Storage upload token already used")
            transaction.insert(TOKENS_TABLE, {"nonce": nonce})
        return transaction

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

    def latest_row(self, storage_id: Any) -> dict[str, Any] | None:
        """The ``_storage`` row of ``storage_id`` at the latest snapshot."""
        return self.row(self.database.begin(writable=False), storage_id)

    def open(self, storage_id: str, start: int = 0, stop: int | None = None) -> FileReader:
        """Bytes ``[start, stop)`` of a stored file (blocking).

        Raises:
            FileNotFoundError: the file's bytes are gone (deleted meanwhile).
        """
        return self.store.open(storage_id, start, stop)

    def read(self, storage_id: str) -> bytes | None:
        """The bytes of a stored file at the latest snapshot, or None (blocking)."""
        if self.latest_row(storage_id) is None:
            return None
        try:
            return _read_all(self.open(storage_id))
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
        # Runs on the committer thread after a durable batch: hand the files
        # whose _storage row is gone to the reaper thread (deleting may be slow).
        ids = {t.document_id for r in records for t in r.touched if t.table == STORAGE_TABLE}
        if ids:
            try:
                self._reaper.submit(self._free, ids)
            except RuntimeError:  # closing: the next start's sweep frees them
                pass

    def _free(self, ids: set[str]) -> None:
        persistence = self.database.persistence
        ts = self.database.latest_ts
        for storage_id in ids:
            revision = persistence.get_revision(id_to_binary(storage_id), ts)
            if revision is None or revision.value is None:
                try:
                    self.store.delete(storage_id)
                except Exception:  # unreachable store: the next start's sweep retries
                    pass

    def sweep(self, placed_before: float | None = None) -> int:
        """Delete bytes that no row refers to (left by a crash); return how many.

        Only keys that are storage ids are considered: nothing else under the
        store's folder or prefix is touched. With ``placed_before`` (seconds
        since the epoch), only bytes written before it: later ones may belong to
        an upload whose row another node is about to commit.
        """
        transaction = self.database.begin(writable=False)
        table = transaction.table(STORAGE_TABLE)
        live: set[str] = set()
        if table is not None:
            index = table.indexes[BY_CREATION_TIME]
            live = {
                str(document["_id"]) for _, document in transaction.scan(table, index, b"", None)
            }
        removed = 0
        for key in list(self.store.keys(placed_before)):
            if key not in live and _is_storage_id(key):
                self.store.delete(key)
                removed += 1
        return removed


def _is_storage_id(key: str) -> bool:
    try:
        number, _ = decode_id(key)
    except (PyConvexError, ValueError):
        return False
    return number == _STORAGE_TABLE_NUMBER


def _check_sha256(digest: bytes, expected: str | None) -> None:
    if expected is None:
        return
    actual = base64.b64encode(digest).decode()
    if expected != actual:
        raise StorageError(
            "Sha256Mismatch", f"Sha256 mismatch. Expected: {expected} Actual: {actual}"
        )


def _token_used(transaction: Transaction, nonce: bytes) -> bool:
    query = QueryInitializer(transaction, TOKENS_TABLE, sync=True).with_index(
        "by_nonce", lambda q: q.eq("nonce", nonce)
    )
    return query.first() is not None


def _read_all(reader: FileReader) -> bytes:
    data = bytearray()
    try:
        while chunk := reader.read(BLOB_CHUNK_BYTES):
            data += chunk
    finally:
        reader.close()
    return builtins.bytes(data)


class Blob:
    """A stored file, as ``ctx.storage.get`` returns it (Convex's ``Blob``).

    Nothing is read until asked for, and every read streams from the store:

    * ``await blob.bytes()`` / ``await blob.text()``: the whole file (in a sync
      action, without ``await``);
    * ``async for chunk in blob`` (or ``for chunk in blob``): the file in chunks,
      never all in memory, so a large file can be hashed, parsed or forwarded;
    * ``blob.slice(start, end)``: a byte range (negative offsets count from the
      end, as in JavaScript), read with a ranged request.

    ``blob.size`` is its size in bytes and ``blob.type`` its content type
    (``""`` when unknown). Each read starts from the beginning; a file deleted
    before it is read raises ``FileNotFoundError``.
    """

    def __init__(
        self,
        service: FileService,
        storage_id: str,
        size: int,
        content_type: str,
        *,
        sync: bool,
        start: int = 0,
    ) -> None:
        self._service = service
        self._storage_id = storage_id
        self._start = start
        self.size = size
        self.type = content_type
        self._sync = sync

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, type={self.type!r})"

    def bytes(self) -> Any:
        """All the bytes (awaitable in async actions)."""
        if self._sync:
            return _read_all(self._open())
        return self._read_all_async()

    def text(self, encoding: str = "utf-8") -> Any:
        """The bytes decoded as text (awaitable in async actions)."""
        if self._sync:
            return _read_all(self._open()).decode(encoding)
        return self._text_async(encoding)

    def slice(self, start: int = 0, end: int | None = None) -> Blob:
        """The bytes ``[start, end)`` as a new Blob (JavaScript's ``Blob.slice``)."""
        first, last = _clamp(start, self.size), _clamp(self.size if end is None else end, self.size)
        return Blob(
            self._service,
            self._storage_id,
            max(0, last - first),
            self.type,
            sync=self._sync,
            start=self._start + first,
        )

    def __iter__(self) -> Iterator[builtins.bytes]:
        reader = self._open()
        try:
            while chunk := reader.read(BLOB_CHUNK_BYTES):
                yield chunk
        finally:
            reader.close()

    def __aiter__(self) -> AsyncIterator[builtins.bytes]:
        return _AsyncChunks(self._open)

    def _open(self) -> FileReader:
        return self._service.open(self._storage_id, self._start, self._start + self.size)

    async def _read_all_async(self) -> builtins.bytes:
        return await asyncio.to_thread(lambda: _read_all(self._open()))

    async def _text_async(self, encoding: str) -> str:
        return (await self._read_all_async()).decode(encoding)


def _clamp(offset: int, size: int) -> int:
    if offset < 0:
        offset += size
    return min(max(offset, 0), size)


class _AsyncChunks:
    """``async for`` over a file: each chunk is read on a thread."""

    def __init__(self, open_reader: Callable[[], FileReader]) -> None:
        self._open = open_reader
        self._reader: FileReader | None = None
        self._done = False

    def __aiter__(self) -> _AsyncChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        if self._reader is None:
            self._reader = await asyncio.to_thread(self._open)
        chunk = await asyncio.to_thread(self._reader.read, BLOB_CHUNK_BYTES)
        if not chunk:
            self._close()
            raise StopAsyncIteration
        return chunk

    def _close(self) -> None:
        self._done = True
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __del__(self) -> None:
        # A loop that stopped early leaves the file or connection open until here.
        self._close()


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
    """``ctx.storage`` in an action: store, get, get_url, delete, generate_upload_url.

    In async actions every method returns an awaitable; in sync actions, the value.
    """

    def __init__(self, service: FileService, sync: bool) -> None:
        self._service = service
        self._sync = sync

    def generate_upload_url(self) -> Any:
        """A URL to ``POST`` one file to, valid for an hour."""
        return deliver(self._service.upload_url(), self._sync)

    def store(
        self, data: Any, content_type: str | None = None, *, sha256: str | None = None
    ) -> Any:
        """Store a file and return its storage id.

        Args:
            data: ``bytes`` (or ``bytearray``, ``memoryview``), a :class:`Blob`
                (copied as it streams; its type is the default content type),
                an async iterator of ``bytes`` chunks (async actions), or an
                iterable of ``bytes`` chunks. Chunks are streamed to the store,
                never collected in memory.
            content_type: the file's ``Content-Type`` (served with it).
            sha256: the expected SHA-256 of the bytes, base64; a mismatch fails
                with ``Sha256Mismatch`` and stores nothing.

        Raises:
            TypeError: ``data`` is none of the above (``str`` included: encode it).
            StorageError: ``FileTooLarge`` or ``Sha256Mismatch``.
        """
        if isinstance(data, Blob) and content_type is None:
            content_type = data.type or None
        service = self._service
        if self._sync:
            return service.store_file(_sync_chunks(data), content_type, sha256=sha256)
        if isinstance(data, AsyncIterable):
            return service.store_stream(_checked_async_chunks(data), content_type, sha256=sha256)
        chunks = _sync_chunks(data)  # type-checked now, iterated on a thread
        return asyncio.to_thread(service.store_file, chunks, content_type, sha256=sha256)

    def get(self, storage_id: str) -> Any:
        """The file as a :class:`Blob`, or None if there is no such file."""
        row = self._service.latest_row(storage_id)
        blob = None
        if row is not None:
            size, content_type = int(row["size"]), str(row.get("contentType") or "")
            blob = Blob(self._service, storage_id, size, content_type, sync=self._sync)
        return deliver(blob, self._sync)

    def get_url(self, storage_id: str) -> Any:
        """The URL serving the file, or None."""
        row = self._service.latest_row(storage_id)
        return deliver(self._service.url(storage_id) if row else None, self._sync)

    def delete(self, storage_id: str) -> Any:
        """Delete the file now (its own transaction)."""
        transaction = self._service.database.begin(writable=True)
        self._service.delete_row(transaction, storage_id)
        self._service.database.commit(transaction).result()
        return deliver(None, self._sync)


def _sync_chunks(data: Any) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        return (
            builtins.bytes(view[i : i + _WRITE_BATCH_BYTES])
            for i in range(0, len(view), _WRITE_BATCH_BYTES)
        )
    if isinstance(data, Blob | Iterable) and not isinstance(data, str):
        return _checked_chunks(data)
    raise TypeError(
        "storage.store() takes bytes, a Blob, or an (async) iterator of bytes chunks, "
        f"not {type(data).__name__}"
    )


def _checked_chunks(chunks: Iterable[Any]) -> Iterator[bytes]:
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"storage.store() chunks must be bytes, not {type(chunk).__name__}")
        yield builtins.bytes(chunk)


async def _checked_async_chunks(chunks: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"storage.store() chunks must be bytes, not {type(chunk).__name__}")
        yield builtins.bytes(chunk)
