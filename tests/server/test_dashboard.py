"""The dashboard's files at /dashboard (server/dashboard.py), shipped inside the package."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.server.dashboard import ASSETS_DIR
from pyconvex.storage.memory import MemoryPersistence

_IMPORT = re.compile(r'from\s+"(\.{1,2}/[^"]+)"')


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    backend = Backend(MemoryPersistence(), Registry())
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    backend.close()


async def test_the_page_is_served_with_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    redirect = await client.get("/dashboard")
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/dashboard/")
    page = await client.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    script = await client.get("/dashboard/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert (await client.get("/dashboard/nothing.js")).status_code == 404


async def test_every_module_the_page_imports_is_shipped(client: httpx.AsyncClient) -> None:
    seen: set[str] = set()
    pending = ["app.js"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        source = await client.get(f"/dashboard/{name}")
        assert source.status_code == 200, name
        folder = name.rpartition("/")[0]
        for target in _IMPORT.findall(source.text):
            parts = [*(folder.split("/") if folder else []), *target.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            pending.append("/".join(resolved))
    shipped = {str(p.relative_to(ASSETS_DIR)) for p in ASSETS_DIR.rglob("*.js")}
    assert seen == shipped  # nothing missing, nothing unused
    assert (await client.get("/dashboard/style.css")).status_code == 200


def test_the_built_wheel_ships_every_asset(tmp_path: Path) -> None:
    # Running the dashboard needs no Node: the files are in the package as built for PyPI.
    root = Path(__file__).parents[2]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("pyconvex-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if "/dashboard_static/" in name}
    assets = {
        "pyconvex/server/dashboard_static/" + str(path.relative_to(ASSETS_DIR))
        for path in ASSETS_DIR.rglob("*")
        if path.is_file()
    }
    assert shipped == assets and "pyconvex/server/dashboard_static/index.html" in shipped
