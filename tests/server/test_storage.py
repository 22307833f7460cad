"""File storage end to end over HTTP, on the local store and on S3 (moto on loopback).

The guide's upload flow, serving (ranges, HEAD, caching headers), token rules,
digests, the size limit, interrupted uploads, deletion.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyconvex.application import Backend
from pyconvex.functions import storage as storage_module
from pyconvex.server.app import create_app
from pyconvex.testing import ConvexTest
from tests.files.moto_server import S3Bucket

APP = Path(__file__).parents[2] / "examples" / "chat" / "convex"


@pytest.fixture(params=["local", "s3"])
async def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backend]:
    files = None
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        for name, value in bucket.env.items():
            monkeypatch.setenv(name, value)
        files = bucket.url("chat")
    backend = Backend.open(APP, data_path=":memory:", files=files)
    backend.set_url("http://test")
    yield backend
    backend.close()


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def call(client: httpx.AsyncClient, kind: str, path: str, args: dict[str, Any]) -> Any:
    body = (await client.post(f"/api/{kind}", json={"path": path, "args": args})).json()
    assert body["status"] == "success", body
    return body["value"]


def stored_keys(backend: Backend) -> list[str]:
    return sorted(backend.files.store.keys())


async def test_the_guides_upload_flow(client: httpx.AsyncClient, backend: Backend) -> None:
    data = b"\x89PNG fake image bytes" * 1000
    upload_url = await call(client, "mutation", "files:generateUploadUrl", {})
    assert upload_url.startswith("http://test/api/storage/upload?token=")
    result = await client.post(upload_url, content=data, headers={"Content-Type": "image/png"})
    storage_id = result.json()["storageId"]
    await call(
        client,
        "mutation",
        "files:save",
        {"storageId": storage_id, "name": "a.png", "type": "image/png"},
    )
    url = await call(client, "mutation", "files:getUrl", {"storageId": storage_id})
    assert url == f"http://test/api/storage/{storage_id}"

    served = await client.get(url)
    sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert served.content == data and served.headers["content-type"] == "image/png"
    assert served.headers["content-length"] == str(len(data))
    assert served.headers["etag"] == f'"{sha256}"'
    assert served.headers["digest"] == f"sha-256={sha256}"
    assert served.headers["cache-control"] == "private, max-age=2592000"
    assert served.headers["accept-ranges"] == "bytes"

    # The _storage system table, as functions see it.
    async def rows(ctx: Any) -> Any:
        return await ctx.db.system.query("_storage").collect()

    view = ConvexTest(_shared=(backend.database, backend.executor, backend.persistence))
    [row] = await view.run(rows)
    assert row["_id"] == storage_id and row["sha256"] == sha256
    assert row["size"] == len(data) and row["contentType"] == "image/png"

    # The token was used up by the first completed upload.
    reused = await client.post(upload_url, content=b"again")
    assert reused.status_code == 401 and reused.json()["code"] == "StorageTokenInvalid"

    # Deleting frees the bytes and the URL answers FileNotFound.
    [saved] = await call(client, "query", "files:list", {})
    assert saved["url"] == url
    await call(client, "mutation", "files:remove", {"id": saved["_id"]})
    gone = await client.get(url)
    assert gone.status_code == 404 and gone.json()["code"] == "FileNotFound"
    backend.files.drain()
    assert stored_keys(backend) == []
    assert await call(client, "mutation", "files:getUrl", {"storageId": storage_id}) is None


async def test_ranges_and_head(client: httpx.AsyncClient, backend: Backend) -> None:
    data = bytes(range(256)) * 40
    storage_id = (await client.post(backend.files.upload_url(), content=data)).json()["storageId"]
    url = f"/api/storage/{storage_id}"
    for header, expected in [
        ("bytes=0-3", data[:4]),
        ("bytes=100-", data[100:]),
        ("bytes=-10", data[-10:]),
        ("bytes=10000-99999", data[10000:]),
    ]:
        partial = await client.get(url, headers={"Range": header})
        assert partial.status_code == 206 and partial.content == expected, header
        end = len(data) - 1 if header != "bytes=0-3" else 3
        start = len(data) - len(expected)
        if header == "bytes=0-3":
            start = 0
        assert partial.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        assert partial.headers["content-length"] == str(len(expected))
    for unsatisfiable in ("bytes=0-1,5-6", f"bytes={len(data)}-", "bytes=-0", "items=0-1"):
        refused = await client.get(url, headers={"Range": unsatisfiable})
        assert refused.status_code == 416, unsatisfiable
        assert refused.headers["content-range"] == f"bytes */{len(data)}"
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "application/octet-stream"  # none was given
    empty = (await client.post(backend.files.upload_url(), content=b"")).json()["storageId"]
    whole = await client.get(f"/api/storage/{empty}", headers={"Range": "bytes=0-10"})
    assert whole.status_code == 200 and whole.content == b""  # Convex: ranges ignored


async def test_bad_tokens_and_digests(
    client: httpx.AsyncClient, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = await client.post("/api/storage/upload?token=nonsense", content=b"x")
    assert garbage.status_code == 401 and garbage.json()["code"] == "StorageTokenInvalid"
    monkeypatch.setattr(storage_module, "UPLOAD_URL_SECONDS", -10)
    expired = await client.post(backend.files.upload_url(), content=b"x")
    assert expired.status_code == 401 and expired.json()["code"] == "StorageTokenExpired"
    monkeypatch.setattr(storage_module, "UPLOAD_URL_SECONDS", 3600)
    url = backend.files.upload_url()
    wrong = await client.post(url, content=b"abc", headers={"Digest": "sha-256=AAAA"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "Sha256Mismatch"
    right = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    assert wrong.json()["message"] == f"Sha256 mismatch. Expected: AAAA Actual: {right}"
    ok = await client.post(url, content=b"abc", headers={"Digest": f"sha-256={right}"})
    assert "storageId" in ok.json()  # the failed attempt did not use up the token
    assert stored_keys(backend) == [ok.json()["storageId"]]  # nor left bytes behind

    pulled = 0

    async def large() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * (1 << 20)

    reused = await client.post(url, content=large())
    assert reused.status_code == 401 and reused.json()["code"] == "StorageTokenInvalid"
    assert pulled <= 1  # refused before the body was read


async def test_the_size_limit_is_enforced_while_streaming(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    backend.files.max_bytes = 3 << 20
    url = backend.files.upload_url()

    declared = await client.post(url, content=b"x" * ((3 << 20) + 1))  # Content-Length
    assert declared.status_code == 413
    assert declared.json() == {
        "code": "FileTooLarge",
        "message": "The file is larger than the maximum file size of 3145728 bytes "
        "(PYCONVEX_FILE_UPLOAD_MAX_BYTES).",
    }
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal pulled
        while pulled < 64 << 20:
            pulled += 1 << 16
            yield b"y" * (1 << 16)

    streamed = await client.post(url, content=endless())
    assert streamed.status_code == 413 and streamed.json()["code"] == "FileTooLarge"
    assert pulled < 8 << 20  # refused soon after the limit, not at the end of the body
    assert stored_keys(backend) == []  # the partial upload was dropped
    if backend.files.store.location.startswith("s3://"):
        assert (
            backend.files.store.client.list_multipart_uploads(  # type: ignore[attr-defined]
                Bucket=backend.files.store.bucket  # type: ignore[attr-defined]
            ).get("Uploads", [])
            == []
        )
    else:
        assert not any((Path(backend.files.store.location) / ".tmp").iterdir())
    fits = await client.post(url, content=b"z" * (3 << 20))
    assert fits.status_code == 200  # the refused uploads did not use up the token


async def test_an_interrupted_upload_stores_nothing_and_keeps_its_token(
    backend: Backend,
) -> None:
    app = create_app(backend)
    url = backend.files.upload_url()
    token = url.split("token=")[1]
    messages = [
        {"type": "http.request", "body": b"x" * (6 << 20), "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/api/storage/upload",
        "raw_path": b"/api/storage/upload",
        "root_path": "",
        "scheme": "http",
        "query_string": f"token={token}".encode(),
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400  # nobody reads it, but nothing is stored either
    assert stored_keys(backend) == []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        retried = await http.post(url, content=b"second try")
    assert retried.status_code == 200


async def test_orphaned_bytes_are_swept_at_startup_and_only_they(backend: Backend) -> None:
    store = backend.files.store
    orphan = backend.files.begin()  # bytes placed, row never committed: a crash
    orphan.write(b"orphan")
    orphan.finish()
    store.place(orphan)
    kept = backend.files.store_file([b"kept"], "text/plain")
    assert sorted(store.keys()) == sorted([orphan.key, kept])
    assert backend.files.sweep() == 1
    assert list(store.keys()) == [kept]


HTTP_APP = """
from pyconvex import http_action, http_router
from starlette.responses import JSONResponse, StreamingResponse

http = http_router()


@http_action
async def upload(ctx, request):
    body = await request.body()
    storage_id = await ctx.storage.store(body, request.headers.get("content-type"))
    return JSONResponse({"storageId": storage_id})


@http_action
async def download(ctx, request):
    blob = await ctx.storage.get(request.query_params["id"])
    if blob is None:
        return JSONResponse({"missing": True}, status_code=404)
    return StreamingResponse(blob, media_type=blob.type)


http.route(path="/upload", method="POST", handler=upload)
http.route(path="/download", method="GET", handler=download)
"""


async def test_http_actions_store_and_stream_files(tmp_path: Path) -> None:
    (tmp_path / "convex").mkdir()
    (tmp_path / "convex" / "http.py").write_text(HTTP_APP)
    backend = Backend.open(tmp_path / "convex", data_path=":memory:")
    transport = httpx.ASGITransport(app=create_app(backend))
    data = bytes(range(256)) * 5000  # several Blob chunks
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            stored = await http.post(
                "/http/upload", content=data, headers={"Content-Type": "text/csv"}
            )
            storage_id = stored.json()["storageId"]
            served = await http.get("/http/download", params={"id": storage_id})
            assert served.content == data
            assert served.headers["content-type"].startswith("text/csv")
            assert (await http.get(f"/api/storage/{storage_id}")).content == data
    finally:
        backend.close()
