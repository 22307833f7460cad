"""File storage for functions (functions/storage.py): tokens, ctx.storage in actions, Blob."""

from __future__ import annotations

import base64
import gc
import hashlib
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pyconvex.database.database import Database
from pyconvex.files.base import PendingFile
from pyconvex.files.local import LocalFileStore
from pyconvex.functions import storage as storage_module
from pyconvex.functions.storage import (
    BLOB_CHUNK_BYTES,
    ActionStorage,
    Blob,
    FileService,
    StorageError,
    StorageTokenError,
)
from pyconvex.storage.memory import MemoryPersistence

MiB = 1 << 20


@pytest.fixture
def service(tmp_path: Path) -> Iterator[FileService]:
    database = Database(MemoryPersistence())
    service = FileService(database, LocalFileStore(tmp_path), b"k" * 32, "http://h:1/")
    service.start()
    yield service
    service.close()
    database.close()


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_tokens_are_signed_and_expire(
    service: FileService, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = service.upload_url()
    assert url.startswith("http://h:1/api/storage/upload?token=")
    token = url.split("token=")[1]
    assert len(service.check_token(token)) == 16
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (tampered, "", "!!!"):
        with pytest.raises(StorageTokenError) as caught:
            service.check_token(bad)
        assert caught.value.code == "StorageTokenInvalid"
    other = FileService(service.database, service.store, b"x" * 32, "http://h:1")
    with pytest.raises(StorageTokenError):
        other.check_token(token)  # another deployment's secret
    other.close()
    monkeypatch.setattr(storage_module, "UPLOAD_URL_SECONDS", -1)
    expired = service.upload_url().split("token=")[1]
    with pytest.raises(StorageTokenError) as caught:
        service.check_token(expired)
    assert caught.value.code == "StorageTokenExpired"


def test_a_token_is_used_up_by_its_first_upload(service: FileService) -> None:
    nonce = service.check_token(service.upload_url().split("token=")[1])
    first = service.store_file([b"a"], "text/plain", nonce=nonce)
    assert service.url(first) == f"http://h:1/api/storage/{first}"
    with pytest.raises(StorageTokenError, match="already used"):
        service.store_file([b"b"], None, nonce=nonce)
    assert sorted(service.store.keys()) == [first]  # the refused bytes were dropped


async def test_actions_store_and_get_blobs(service: FileService) -> None:
    storage = ActionStorage(service, sync=False)
    storage_id = await storage.store(b"hello world", "text/plain")
    blob = await storage.get(storage_id)
    assert isinstance(blob, Blob) and blob.size == 11 and blob.type == "text/plain"
    assert await blob.bytes() == b"hello world"
    assert await blob.bytes() == b"hello world"  # every read starts over
    assert await blob.text() == "hello world"
    assert [chunk async for chunk in blob] == [b"hello world"]
    assert await blob.slice(6).text() == "world"
    assert await blob.slice(-5, -1).text() == "worl"
    assert await blob.slice(3, 1).bytes() == b""
    assert await blob.slice(2, 8).slice(1, 3).text() == "lo"
    assert await storage.get_url(storage_id) == f"http://h:1/api/storage/{storage_id}"
    assert await storage.get("kg2bogus00000000000000000000000") is None
    assert await storage.get(12) is None
    untyped = await (await storage.get(await storage.store(b""))).text()
    assert untyped == ""


async def test_store_takes_streams_blobs_and_checks_sha256(service: FileService) -> None:
    storage = ActionStorage(service, sync=False)
    pieces = [bytes([n]) * (MiB + n) for n in range(3)]

    async def chunks() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    whole = b"".join(pieces)
    streamed = await storage.store(chunks(), "application/x-test", sha256=b64sha256(whole))
    row = service.latest_row(streamed)
    assert row is not None and row["size"] == len(whole) and row["sha256"] == b64sha256(whole)
    blob = await storage.get(streamed)
    copy = await storage.store(blob)  # streamed from the store back into it
    copied = await storage.get(copy)
    assert copy != streamed and copied.type == "application/x-test"
    assert hashlib.sha256(await copied.bytes()).digest() == hashlib.sha256(whole).digest()
    assert await storage.store(iter([b"a", bytearray(b"b"), memoryview(b"c")])) is not None

    before = sorted(service.store.keys())
    with pytest.raises(StorageError) as caught:
        await storage.store(b"abc", sha256=b64sha256(b"abd"))
    assert caught.value.code == "Sha256Mismatch"
    with pytest.raises(TypeError, match="takes bytes, a Blob"):
        await storage.store("text is not bytes")

    async def strings() -> AsyncIterator[str]:
        yield "no"

    with pytest.raises(TypeError, match="chunks must be bytes"):
        await storage.store(strings())
    service.max_bytes = 10
    with pytest.raises(StorageError) as caught:
        await storage.store(chunks())
    assert caught.value.code == "FileTooLarge"
    with pytest.raises(StorageError, match="maximum file size of 10 bytes"):
        await storage.store(b"x" * 11)
    assert sorted(service.store.keys()) == before  # refused files left nothing


def test_sync_actions_get_plain_values(service: FileService) -> None:
    storage = ActionStorage(service, sync=True)
    storage_id = storage.store(iter([b"line 1\n", b"line 2\n"]), "text/plain")
    blob = storage.get(storage_id)
    assert blob.bytes() == b"line 1\nline 2\n" and blob.text() == "line 1\nline 2\n"
    assert list(blob) == [b"line 1\nline 2\n"]
    assert storage.get(storage.store(blob)).text() == "line 1\nline 2\n"
    storage.delete(storage_id)
    assert storage.get(storage_id) is None and storage.get_url(storage_id) is None
    with pytest.raises(Exception, match=f"storage id {storage_id} not found"):
        storage.delete(storage_id)


async def test_a_large_blob_streams_in_bounded_memory(service: FileService) -> None:
    storage = ActionStorage(service, sync=False)
    size = 32 * MiB

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(size // (256 * 1024)):
            yield bytes([n % 256]) * (256 * 1024)

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        storage_id = await storage.store(chunks())
        peak_in = tracemalloc.get_traced_memory()[1] - before
        blob = await storage.get(storage_id)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        digest, largest = hashlib.sha256(), 0
        async for chunk in blob:
            digest.update(chunk)
            largest = max(largest, len(chunk))
        peak_out = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256()
    async for chunk in chunks():
        expected.update(chunk)
    assert digest.digest() == expected.digest() and largest == BLOB_CHUNK_BYTES
    # A batch or two on the way in, a chunk or two on the way out: never the file.
    assert peak_in < 8 * MiB and peak_out < 4 * MiB, (peak_in, peak_out)


async def test_stopping_early_and_deleted_files(service: FileService) -> None:
    storage = ActionStorage(service, sync=False)
    storage_id = await storage.store(b"x" * (3 * BLOB_CHUNK_BYTES))
    blob = await storage.get(storage_id)
    async for _chunk in blob:
        break  # the reader is closed when the loop is dropped (warnings are errors here)
    gc.collect()
    await storage.delete(storage_id)
    service.drain()
    assert storage_id not in list(service.store.keys())
    with pytest.raises(FileNotFoundError):
        await blob.bytes()  # a Blob taken before the delete finds its bytes gone


def test_two_uploads_racing_on_one_token_store_one_file(tmp_path: Path) -> None:
    class Rendezvous(LocalFileStore):
        """Holds each upload at ``place`` until both got there: both saw the token unused."""

        barrier = threading.Barrier(2, timeout=10)

        def place(self, pending: PendingFile) -> None:
            self.barrier.wait()
            super().place(pending)

    database = Database(MemoryPersistence())
    service = FileService(database, Rendezvous(tmp_path), b"k" * 32, "http://h")
    nonce = service.check_token(service.upload_url().split("token=")[1])
    outcomes: list[str] = []

    def upload(data: bytes) -> None:
        try:
            outcomes.append(service.store_file([data], None, nonce=nonce))
        except StorageTokenError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=upload, args=(data,)) for data in (b"one", b"two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [stored] = [outcome for outcome in outcomes if outcome != "StorageTokenInvalid"]
    assert sorted(outcomes) == sorted([stored, "StorageTokenInvalid"])
    assert list(service.store.keys()) == [stored]  # the loser's bytes were dropped
    service.close()
    database.close()


def test_the_startup_sweep_spares_what_is_younger_than_its_grace(tmp_path: Path) -> None:
    database = Database(MemoryPersistence())
    store = LocalFileStore(tmp_path / "files")
    first = FileService(database, store, b"k" * 32, "http://h:1/")
    assert first.sweep_grace_seconds == 0  # one node: whatever has no row is a crash's
    graced = FileService(database, store, b"k" * 32, "http://h:1/", sweep_grace_seconds=3600)
    try:
        orphan = first.begin()  # placed, row not committed (yet, or ever)
        orphan.write(b"orphan")
        orphan.finish()
        store.place(orphan)
        unfinished = first.begin()
        unfinished.write(b"still arriving")
        kept = first.store_file([b"kept"], "text/plain")
        now = time.time()
        assert graced.start(now=now) == 0  # both could be another node's uploads in progress
        assert sorted(store.keys()) == sorted([orphan.key, kept])
        unfinished.write(b"...")
        unfinished.finish()  # its temporary file survived
        assert graced.start(now=now + 7200) == 1  # two hours on: a crash's leftovers
        assert list(store.keys()) == [kept]
        assert not any((tmp_path / "files" / ".tmp").iterdir())
    finally:
        first.close()
        graced.close()
        database.close()
