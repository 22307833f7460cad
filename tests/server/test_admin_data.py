"""The snapshot export and import endpoints (server/admin_data.py)."""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import threading
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from pyconvex import Int64, v
from pyconvex.application import Backend
from pyconvex.database.schema import define_schema, define_table
from pyconvex.functions.registry import Registry
from pyconvex.server import admin_data
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.json import dumps

from . import api_app


def app_for(backend: Backend) -> Starlette:
    app = create_app(backend)
    mounted = {getattr(route, "path", None) for route in app.router.routes}
    if "/api/admin/export" not in mounted:  # until server/app.py mounts them
        app.router.routes.extend(admin_data.routes(backend))
    return app


@pytest.fixture
async def backends() -> AsyncIterator[tuple[Backend, Backend]]:
    source = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    target = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    yield source, target
    source.close()
    target.close()


def client(backend: Backend, key: str | None = "right") -> httpx.AsyncClient:
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Convex {backend.admin_key if key == 'right' else key}"
    transport = httpx.ASGITransport(app=app_for(backend))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


def insert(backend: Backend, table: str, *documents: dict[str, Any]) -> list[str]:
    database = backend.database
    transaction = database.begin(writable=True)
    ids = [transaction.insert(table, dict(document)) for document in documents]
    database.commit(transaction).result(timeout=10)
    return ids


def documents(backend: Backend, table: str) -> list[str]:
    from pyconvex.database.query import QueryInitializer

    snapshot = backend.database.begin(writable=False)
    return [dumps(d) for d in QueryInitializer(snapshot, table, sync=True).collect()]


@pytest.mark.parametrize("method", ["GET /api/admin/export", "POST /api/admin/import"])
async def test_the_endpoints_need_the_admin_key(
    backends: tuple[Backend, Backend], method: str
) -> None:
    source, _ = backends
    verb, path = method.split()
    async with client(source, key=None) as anonymous:
        response = await anonymous.request(verb, path, content=b"")
    assert response.status_code == 401
    assert response.json()["code"] == "MissingAdminKey"
    async with client(source, key="pyconvex-admin|wrong") as wrong:
        response = await wrong.request(verb, path, content=b"")
    assert response.status_code == 403
    assert response.json()["code"] == "BadDeployKey"


async def test_export_then_import_keeps_every_value(backends: tuple[Backend, Backend]) -> None:
    source, target = backends
    values = {
        "i": Int64(-(2**63)),
        "z": -0.0,
        "nan": math.nan,
        "b": b"\x00\xff",
        "deep": {"a": [Int64(2**63 - 1), math.inf]},
    }
    (first,) = insert(source, "things", values)
    insert(source, "refs", {"to": first})

    async with client(source) as http:
        response = await http.get("/api/admin/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    ts = response.headers[admin_data.SNAPSHOT_TS_HEADER]
    assert int(ts) == source.database.latest_ts
    assert response.headers["content-disposition"] == f"attachment; filename=snapshot_{ts}.zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "things/documents.jsonl" in archive.namelist()

    async with client(target) as http:
        imported = await http.post("/api/admin/import", content=response.content)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"tables": {"things": 1, "refs": 1}}
    for table in ("things", "refs"):
        assert documents(target, table) == documents(source, table)

    # The clients see the imported data through the function API too.
    async with client(target) as http:
        count = await http.post("/api/query", json={"path": "api:count", "args": {}})
    assert count.json()["value"] == 0  # api:count reads "notes", which was not imported


def export_scope(backend: Backend) -> dict[str, Any]:
    # Raw ASGI (httpx's in-process transport would gather the body into one piece).
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/admin/export",
        "raw_path": b"/api/admin/export",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Convex {backend.admin_key}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }


def insert_incompressible(backend: Backend, count: int) -> None:
    # Random text does not compress, so the ZIP spans several chunks of the stream.
    insert(backend, "big", *({"blob": os.urandom(150).hex()} for _ in range(count)))


async def test_a_big_export_is_streamed_in_chunks(backends: tuple[Backend, Backend]) -> None:
    source, target = backends
    insert_incompressible(source, 3000)
    messages: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # then the client just stays connected
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app_for(source)(export_scope(source), receive, send)

    assert messages[0]["status"] == 200
    chunks = [m["body"] for m in messages[1:] if m.get("body")]
    assert len(chunks) > 2
    async with client(target) as http:
        imported = await http.post("/api/admin/import?format=zip", content=b"".join(chunks))
    assert imported.json() == {"tables": {"big": 3000}}


async def test_a_client_that_goes_away_stops_the_export(
    backends: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = backends
    insert_incompressible(source, 3000)
    # Small chunks and a short queue: the writer is held back by the slow client.
    monkeypatch.setattr(admin_data, "_CHUNK_BYTES", 16 * 1024)
    monkeypatch.setattr(admin_data, "_MAX_CHUNKS", 2)
    first_chunk = asyncio.Event()
    sent: list[bytes] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:
            await first_chunk.wait()
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message.get("body"):
            sent.append(message["body"])
            first_chunk.set()

    await app_for(source)(export_scope(source), receive, send)

    assert 0 < len(sent) < 10  # of some 60 chunks
    deadline = time.monotonic() + 5
    while any(t.name == "pyconvex-export" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the export thread kept running"
        await asyncio.sleep(0.02)


async def test_single_table_formats_and_modes(backends: tuple[Backend, Backend]) -> None:
    _, target = backends
    async with client(target) as http:
        first = await http.post(
            "/api/admin/import?format=jsonLines&table=people",
            content=b'{"name": "ada", "age": 36}\n',
        )
        assert first.json() == {"tables": {"people": 1}}
        again = await http.post(
            "/api/admin/import?format=jsonLines&table=people", content=b'{"name": "bob"}\n'
        )
        assert again.status_code == 400
        assert again.json()["code"] == "TableExists"
        appended = await http.post(
            "/api/admin/import?format=csv&table=people&mode=append", content=b"name\ncy\n"
        )
        assert appended.json() == {"tables": {"people": 1}}
        replaced = await http.post(
            "/api/admin/import?format=jsonArray&table=people&mode=replace",
            content=b'[{"name": "di"}]',
        )
        assert replaced.json() == {"tables": {"people": 1}}
    assert [json.loads(d)["name"] for d in documents(target, "people")] == ["di"]


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        ("table=t", b'{"a": 1}\n', "InvalidFormat"),
        ("format=yaml&table=t", b"a: 1", "InvalidFormat"),
        ("format=jsonLines&table=t&mode=replaceAll", b'{"a": 1}\n', "InvalidMode"),
        ("format=jsonLines", b'{"a": 1}\n', "InvalidImport"),
        ("format=jsonLines&table=t", b'{"a": 1}\n{oops\n', "JsonInvalidRow"),
        ("format=zip", b"PK\x03\x04 but not a zip", "InvalidZip"),
        ("format=jsonLines&table=_system", b'{"a": 1}\n', "InvalidTableName"),
    ],
)
async def test_bad_imports_are_400s_with_convexs_codes(
    backends: tuple[Backend, Backend], query: str, body: bytes, code: str
) -> None:
    _, target = backends
    async with client(target) as http:
        response = await http.post(f"/api/admin/import?{query}", content=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert target.database.state.catalog.table("t") is None


async def test_schema_failures_name_the_document(backends: tuple[Backend, Backend]) -> None:
    _, target = backends
    target.database.apply_schema(define_schema({"people": define_table({"name": v.string()})}))
    async with client(target) as http:
        response = await http.post(
            "/api/admin/import?format=jsonLines&table=people",
            content=b'{"name": "ada"}\n{"name": 5}\n',
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "SchemaValidationError"
    assert body["message"].startswith('Row 2 of table "people"')
    assert documents(target, "people") == []
