"""Files shared by two nodes through one S3 bucket (moto) and one PostgreSQL database.

An upload through one node is served by the other and deleted through it for
both; a node that starts while another receives an upload spares it (its
startup recovery and sweep only drop what is older than a grace period).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pyconvex.database.database import Database
from pyconvex.files.s3 import S3FileStore
from pyconvex.functions.storage import FileService
from pyconvex.storage.postgres import PostgresPersistence
from tests.files.moto_server import S3Bucket
from tests.multinode.cluster import Node, eventually

pytestmark = pytest.mark.postgres

MiB = 1 << 20
PART = 5 * MiB  # S3's smallest part: a few MiB make a multipart upload


def file_node(url: str, bucket: S3Bucket) -> Node:
    env = {**bucket.env, "PYCONVEX_S3_PART_BYTES": str(PART)}
    return Node(
        url, modules={"files": "tests.multinode.files_app"}, files=bucket.url("app"), env=env
    )


@pytest.fixture
def nodes(postgres_url: str, s3_bucket: S3Bucket) -> Iterator[tuple[Node, Node]]:
    a = file_node(postgres_url, s3_bucket)
    try:
        b = file_node(postgres_url, s3_bucket)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_a_file_uploaded_through_one_node_is_served_and_deleted_through_the_other(
    nodes: tuple[Node, Node], s3_bucket: S3Bucket
) -> None:
    a, b = nodes
    data = random.Random(1).randbytes(300_000)
    upload_url = str(a.call("mutation", "files:generate_upload_url"))
    assert upload_url.startswith(f"{a.url}/api/storage/upload?token=")
    uploaded = httpx.post(upload_url, content=data, headers={"Content-Type": "image/png"})
    assert uploaded.status_code == 200
    storage_id = uploaded.json()["storageId"]

    def url_on(node: Node) -> Callable[[], Any]:
        return lambda: node.call("query", "files:get_url", {"storageId": storage_id})

    served_url = eventually(url_on(b), lambda url: url is not None)
    assert served_url == f"{b.url}/api/storage/{storage_id}"
    served = httpx.get(served_url)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/png"
    partial = httpx.get(served_url, headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.content == data[10:20]
    assert f"app/{storage_id}" in s3_bucket.objects("app/")

    b.call("mutation", "files:delete", {"storageId": storage_id})
    eventually(lambda: s3_bucket.objects("app/"), lambda keys: f"app/{storage_id}" not in keys)
    assert eventually(url_on(a), lambda url: url is None) is None
    assert httpx.get(f"{a.url}/api/storage/{storage_id}").status_code == 404
    assert httpx.get(served_url).status_code == 404


def test_a_node_starting_spares_another_nodes_upload_in_progress(
    postgres_url: str, s3_bucket: S3Bucket
) -> None:
    a = file_node(postgres_url, s3_bucket)
    b: Node | None = None
    try:
        upload_url = str(a.call("mutation", "files:generate_upload_url"))
        data = random.Random(2).randbytes(PART + 3 * MiB)
        more = threading.Event()
        result: dict[str, Any] = {}

        def body() -> Iterator[bytes]:
            yield data[: PART + MiB]  # a first part goes up to S3...
            more.wait(60)  # ...then the client pauses while another node starts
            yield data[PART + MiB :]

        def upload() -> None:
            result["response"] = httpx.post(upload_url, content=body(), timeout=120)

        uploader = threading.Thread(target=upload)
        uploader.start()
        eventually(s3_bucket.unfinished_uploads, lambda uploads: len(uploads) == 1, 30)
        b = file_node(postgres_url, s3_bucket)  # its startup recovers the store and sweeps
        more.set()
        uploader.join(60)
        response = result["response"]
        assert response.status_code == 200, response.text
        storage_id = response.json()["storageId"]
        served = httpx.get(f"{b.url}/api/storage/{storage_id}")
        assert served.status_code == 200 and served.content == data
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_the_sweep_spares_bytes_whose_row_another_node_is_about_to_commit(
    postgres_url: str, s3_bucket: S3Bucket
) -> None:
    """The window between placing bytes and committing their row, on two nodes."""
    secret = b"s" * 32
    persistences = [PostgresPersistence(postgres_url) for _ in range(2)]
    databases = [Database(persistence) for persistence in persistences]

    def store() -> S3FileStore:
        bucket, prefix = s3_bucket.name, "app"
        return S3FileStore.from_url(f"s3://{bucket}/{prefix}", s3_bucket.env)

    a = FileService(databases[0], store(), secret, "http://a")
    b = FileService(databases[1], store(), secret, "http://b")
    try:
        assert a.sweep_grace_seconds == b.sweep_grace_seconds > 3600  # a shared database
        a.start()
        pending = a.begin()
        pending.write(b"placed, row not committed yet")
        size, digest = pending.finish()
        a.store.place(pending)
        assert b.start() == 0  # b starts in the window: the bytes are too young to sweep
        storage_id = a.commit_file(pending, size, digest, "text/plain", None)
        assert eventually(lambda: b.read(storage_id), lambda got: got is not None) == (
            b"placed, row not committed yet"
        )
        # Bytes without a row older than the grace period are a crash's: swept.
        orphan = a.begin()
        orphan.write(b"a crash left me")
        orphan.finish()
        a.store.place(orphan)
        assert b.start(now=time.time() + 2 * b.sweep_grace_seconds) == 1
        assert s3_bucket.objects("app/") == sorted(["app/.owner", f"app/{storage_id}"])
    finally:
        for service in (a, b):
            service.close()
        for database in databases:
            database.close()
        for persistence in persistences:
            persistence.close()
