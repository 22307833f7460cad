"""Code pushes (server/admin_code.py): validated, unpacked safely, swapped atomically."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pyconvex.application import Backend
from pyconvex.server.app import create_app


def bundle(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Backend]]:
    app = tmp_path / "convex"
    app.mkdir()
    (app / "hello.py").write_text(
        "from pyconvex import query\n\n@query\ndef hi(ctx):\n    return 1\n"
    )
    backend = Backend.open(app)
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, backend
    backend.close()


async def push(client: httpx.AsyncClient, backend: Backend, archive: bytes) -> httpx.Response:
    return await client.post(
        "/api/admin/push", content=archive, headers={"Authorization": f"Convex {backend.admin_key}"}
    )


async def test_a_push_swaps_the_code(setup: tuple[httpx.AsyncClient, Backend]) -> None:
    client, backend = setup
    code = "from pyconvex import query\n\n@query\ndef hi(ctx):\n    return 2\n"
    response = await push(client, backend, bundle({"hello.py": code}))
    assert response.status_code == 200, response.text
    assert (await backend.executor.run_query("hello:hi")).value == 2.0


async def test_bad_pushes_are_refused_and_the_old_code_keeps_serving(
    setup: tuple[httpx.AsyncClient, Backend],
) -> None:
    client, backend = setup
    broken = await push(client, backend, bundle({"hello.py": "raise ValueError('typo')\n"}))
    assert broken.status_code == 400 and "typo" in broken.json()["message"]
    escape = await push(client, backend, bundle({"../evil.py": "x = 1\n"}))
    assert escape.status_code == 400
    garbage = await push(client, backend, b"not a zip")
    assert garbage.status_code == 400
    unauthorized = await client.post("/api/admin/push", content=bundle({}))
    assert unauthorized.status_code == 401
    assert (await backend.executor.run_query("hello:hi")).value == 1.0
