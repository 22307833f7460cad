"""One conformance suite for every file store: the promises of files/base.py.

Each test runs against the local directory store and against the S3 store on a
real S3 API server (moto, on loopback). A store is "reopened" by constructing
it again over the same place and recovering it, as a restart does (a process
sharing the store with others only "opens" it and recovers what is older than
a grace period); ``raw()`` lists everything the
backend physically holds (files and temporary files on disk; objects and
unfinished multipart uploads in the bucket), so a crash test can see leftovers
the store's own API would hide.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyconvex.files.base import FileStore, FileStoreOwnedError, iter_chunks
from pyconvex.files.local import LocalFileStore
from pyconvex.files.s3 import S3FileStore
from tests.files.moto_server import S3Bucket

MiB = 1 << 20
#: The S3 store's part size here: S3's minimum, so a few MiB already take several parts.
PART = 5 * MiB


@dataclass
class Backend:
    """How to open one kind of store, and how to see what it physically holds."""

    name: str
    open: Callable[[], FileStore]
    raw: Callable[[], list[str]]

    def reopen(self) -> FileStore:
        """The store as a restart of its only process sees it: every unfinished upload dropped."""
        store = self.open()
        store.recover(math.inf)
        return store


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "files"

        def local_raw() -> list[str]:
            return sorted(
                str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
            )  # temporary files included

        return Backend("local", lambda: LocalFileStore(root), local_raw)
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    first = S3FileStore.from_url(bucket.url("deployment-1"), bucket.env)

    def s3_store() -> FileStore:
        # A new store on the same client: reopening runs the store's recovery, and
        # the boto3 client (slow to make) is made once per test.
        return S3FileStore(first.bucket, first.prefix, client=first.client, part_bytes=PART)

    def s3_raw() -> list[str]:
        return bucket.objects() + [f"unfinished:{key}" for key in bucket.unfinished_uploads()]

    return Backend("s3", s3_store, s3_raw)


def payload(size: int, seed: int = 1, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``size`` pseudo-random bytes, made chunk by chunk (never all at once)."""
    rng = random.Random(seed)
    while size > 0:
        step = min(chunk, size)
        yield rng.randbytes(step)
        size -= step


def put(store: FileStore, key: str, chunks: Iterator[bytes] | list[bytes]) -> tuple[int, bytes]:
    pending = store.begin(key)
    for chunk in chunks:
        pending.write(chunk)
    result = pending.finish()
    store.place(pending)
    return result


def read(store: FileStore, key: str, start: int = 0, stop: int | None = None) -> bytes:
    return b"".join(iter_chunks(store.open(key, start, stop)))


def sha256_of(chunks: Iterator[bytes]) -> bytes:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.digest()


def test_a_streamed_put_reports_size_and_sha256_and_reads_back(backend: Backend) -> None:
    store = backend.reopen()
    size = 2 * PART + 12_345  # three parts on S3, the last one short
    assert put(store, "big-file", payload(size)) == (size, sha256_of(payload(size)))
    assert sha256_of(iter_chunks(store.open("big-file"), 100_000)) == sha256_of(payload(size))
    assert put(store, "small-file", [b"hello ", b"world"]) == (
        11,
        hashlib.sha256(b"hello world").digest(),
    )
    assert read(store, "small-file") == b"hello world"
    assert sorted(store.keys()) == ["big-file", "small-file"]


def test_ranges_read_exactly_the_bytes_asked_for(backend: Backend) -> None:
    store = backend.reopen()
    data = b"".join(payload(PART + 1000, seed=2))
    put(store, "ranged", [data])
    size = len(data)
    for start, stop in [
        (0, 10),
        (10, 20),
        (PART - 5, PART + 5),  # across S3 parts
        (size - 10, None),
        (size - 5, size + 100),  # past the end: cut at the end
        (size, None),  # at the end: nothing
        (size + 10, None),  # past the end: nothing
        (7, 7),  # empty
        (0, None),
    ]:
        assert read(store, "ranged", start, stop) == data[start:stop], (start, stop)
    reader = store.open("ranged", 100, 200)
    assert reader.read(30) == data[100:130]  # read(n) gives n bytes until the end
    assert reader.read(1000) == data[130:200]
    assert reader.read(10) == b""
    reader.close()
    reader.close()  # idempotent


def test_an_empty_file(backend: Backend) -> None:
    store = backend.reopen()
    assert put(store, "empty", []) == (0, hashlib.sha256(b"").digest())
    assert read(store, "empty") == b""
    assert read(store, "empty", 0, 10) == b""
    assert list(store.keys()) == ["empty"]


def test_missing_keys(backend: Backend) -> None:
    store = backend.reopen()
    for start, stop in [(0, None), (5, 10), (3, 3)]:
        with pytest.raises(FileNotFoundError):
            store.open("missing", start, stop)
    store.delete("missing")  # no error
    assert list(store.keys()) == []


def test_delete_frees_the_bytes(backend: Backend) -> None:
    store = backend.reopen()
    put(store, "doomed", [b"x" * 1000])
    put(store, "kept", [b"y"])
    store.delete("doomed")
    store.delete("doomed")  # already gone: no error
    with pytest.raises(FileNotFoundError):
        store.open("doomed")
    assert list(store.keys()) == ["kept"]
    store.delete("kept")
    assert [name for name in backend.raw() if not name.endswith(".owner")] == []


def test_nothing_is_readable_before_finish_and_abort_frees_everything(backend: Backend) -> None:
    store = backend.reopen()
    pending = store.begin("aborted")
    for chunk in payload(PART + MiB):  # on S3 a first part is already sent
        pending.write(chunk)
    with pytest.raises(FileNotFoundError):
        store.open("aborted")
    assert "aborted" not in list(store.keys())
    pending.abort()
    pending.abort()  # idempotent
    finished = store.begin("finished-then-aborted")
    finished.write(b"abc")
    finished.finish()
    finished.abort()
    with pytest.raises(FileNotFoundError):
        store.open("finished-then-aborted")
    assert backend.raw() == []


def test_abort_after_place_keeps_the_file(backend: Backend) -> None:
    store = backend.reopen()
    pending = store.begin("placed")
    pending.write(b"kept")
    pending.finish()
    store.place(pending)
    pending.abort()  # e.g. a cleanup path that runs after placing: too late to drop
    assert read(store, "placed") == b"kept"


def test_a_crash_mid_upload_leaves_nothing_once_reopened(backend: Backend) -> None:
    store = backend.reopen()
    put(store, "survivor", [b"placed before the crash"])
    pending = store.begin("interrupted")
    for chunk in payload(PART + MiB):
        pending.write(chunk)  # then the process dies: no finish, no abort
    reopened = backend.reopen()
    assert read(reopened, "survivor") == b"placed before the crash"  # placed means durable
    assert [name for name in backend.raw() if "survivor" not in name and "owner" not in name] == []


def test_a_crash_before_place_leaves_only_keys_a_sweep_finds(backend: Backend) -> None:
    store = backend.reopen()
    pending = store.begin("finished-not-placed")
    pending.write(b"the row was never committed")
    pending.finish()  # then the process dies before place (and before the row)
    reopened = backend.reopen()
    for key in list(reopened.keys()):  # what FileService.sweep does for keys without a row
        reopened.delete(key)
    assert [name for name in backend.raw() if "owner" not in name] == []


def test_keys_list_placed_files_only(backend: Backend) -> None:
    store = backend.reopen()
    for key in ("k1", "k2", "kd9FzQ_x-1"):
        put(store, key, [key.encode()])
    store.begin("unfinished").write(b"...")
    store.claim("owner-1")
    assert sorted(store.keys()) == ["k1", "k2", "kd9FzQ_x-1"]
    assert sorted(backend.reopen().keys()) == ["k1", "k2", "kd9FzQ_x-1"]


def test_invalid_keys_are_refused(backend: Backend) -> None:
    store = backend.reopen()
    for bad in ("", "../x", ".owner", ".tmp", "a/b", "a b", "x" * 200):
        with pytest.raises(ValueError):
            store.begin(bad)
        with pytest.raises(ValueError):
            store.open(bad)
        with pytest.raises(ValueError):
            store.delete(bad)


def test_a_store_belongs_to_one_deployment(backend: Backend) -> None:
    store = backend.reopen()
    store.claim("deployment-a")
    store.claim("deployment-a")
    backend.reopen().claim("deployment-a")  # the same deployment after a restart
    with pytest.raises(FileStoreOwnedError, match="another deployment"):
        backend.reopen().claim("deployment-b")
    assert list(store.keys()) == []


def test_files_stream_through_in_bounded_memory(backend: Backend) -> None:
    store = backend.reopen()
    size = 32 * MiB
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        put(store, "streamed", payload(size))
        peak_in = tracemalloc.get_traced_memory()[1] - before
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        digest = sha256_of(iter_chunks(store.open("streamed")))
        peak_out = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert digest == sha256_of(payload(size))
    # At most about two S3 parts (the buffer and the part being sent) on the way
    # in, a few chunks on the way out: never the file.
    assert peak_in < 3 * PART, peak_in
    assert peak_out < 4 * MiB, peak_out


def test_recovery_spares_uploads_begun_after_its_time(backend: Backend) -> None:
    store = backend.reopen()
    pending = store.begin("in-progress")
    for chunk in payload(PART + MiB):  # on S3 a first part is already sent
        pending.write(chunk)
    # Another process sharing the store starts: it drops only what is an hour old.
    backend.open().recover(time.time() - 3600)
    for chunk in payload(MiB, seed=2):
        pending.write(chunk)
    size, _ = pending.finish()
    store.place(pending)
    assert size == PART + 2 * MiB
    assert len(read(store, "in-progress")) == size


def test_keys_can_be_limited_to_files_placed_before_a_time(backend: Backend) -> None:
    store = backend.reopen()
    put(store, "recent", [b"just now"])
    assert list(store.keys(placed_before=time.time() - 3600)) == []
    assert list(store.keys(placed_before=time.time() + 3600)) == ["recent"]
