"""File storage end to end: the guide's upload flow over HTTP, serving, deletion."""

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

APP = Path(__file__).parents[2] / "examples" / "chat" / "convex"


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    backend = Backend.open(APP, data_path=":memory:")
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
    assert served.headers["cache-control"] == "private, max-age=2592000"
    partial = await client.get(url, headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206 and partial.content == data[:4]

    # The _storage system table, as functions see it.
    async def rows(ctx: Any) -> Any:
        return await ctx.db.system.query("_storage").collect()

    from pyconvex.testing import ConvexTest

    view = ConvexTest(_shared=(backend.database, backend.executor, backend.persistence))
    [row] = await view.run(rows)
    assert (
        row["sha256"] == sha256 and row["size"] == len(data) and row["contentType"] == "image/png"
    )

    # The token was used up by the first completed upload.
    reused = await client.post(upload_url, content=b"again")
    assert reused.status_code == 401 and reused.json()["code"] == "StorageTokenInvalid"

    # Deleting frees the bytes and the URL answers FileNotFound.
    [saved] = await call(client, "query", "files:list", {})
    assert saved["url"] == url
    await call(client, "mutation", "files:remove", {"id": saved["_id"]})
    gone = await client.get(url)
    assert gone.status_code == 404 and gone.json()["code"] == "FileNotFound"
    assert backend.files.store.path(storage_id) is None
    assert await call(client, "mutation", "files:getUrl", {"storageId": storage_id}) is None


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
    assert wrong.status_code == 400 and wrong.json()["code"] == "DigestMismatch"
    right = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    ok = await client.post(url, content=b"abc", headers={"Digest": f"sha-256={right}"})
    assert "storageId" in ok.json()  # the failed attempt did not use up the token
    empty = await client.post(backend.files.upload_url(), content=b"")
    assert (await client.get(f"/api/storage/{empty.json()['storageId']}")).content == b""


async def test_actions_store_and_read_files_and_orphans_are_swept(backend: Backend) -> None:
    context = backend.executor.action_context(None, sync=True)
    storage_id = context.storage.store(b"hello", "text/plain")
    assert context.storage.get(storage_id) == b"hello"
    assert context.storage.get_url(storage_id).endswith(storage_id)
    context.storage.delete(storage_id)
    assert context.storage.get(storage_id) is None
    # Bytes without a row (a crash between placing and committing) are swept.
    pending = backend.files.store.begin()
    pending.write(b"orphan")
    pending.finish()
    backend.files.store.place(pending, "orphan-key")
    assert backend.files.sweep() == 1 and backend.files.store.path("orphan-key") is None
