"""Admin authentication and the admin endpoints (server/admin.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from pyconvex.application import Backend
from pyconvex.database.catalog import BY_CREATION_TIME
from pyconvex.database.environment import ENVIRONMENT_TABLE
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence

from . import api_app


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    yield backend
    backend.close()


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def admin(backend: Backend) -> dict[str, str]:
    assert backend.admin_key is not None
    return {"Authorization": f"Convex {backend.admin_key}"}


async def test_admin_endpoints_refuse_missing_and_wrong_keys(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    missing = await client.get("/api/admin/env")
    assert missing.status_code == 401 and missing.json()["code"] == "MissingAdminKey"
    wrong = await client.get("/api/admin/env", headers={"Authorization": "Convex nope"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "BadDeployKey"
    assert (await client.get("/api/admin/env", headers=admin(backend))).json() == {"variables": {}}


async def test_the_admin_key_unlocks_internal_functions(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    body = {"path": "api:hidden", "args": {}}
    public = (await client.post("/api/query", json=body)).json()
    assert public["status"] == "error"
    assert (await client.post("/api/query", json=body, headers=admin(backend))).json()[
        "value"
    ] == "secret"


async def test_environment_variables_are_set_read_and_tracked(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    executor = backend.executor
    before = await executor.run_query("api:greeting")
    assert before.value == "unset"
    # The query read the variables table, so a change to it must invalidate the query.
    env_table = backend.database.state.catalog.tables[ENVIRONMENT_TABLE]
    index_id = env_table.indexes[BY_CREATION_TIME].index_id
    assert any(i == index_id for i, _, _ in before.read_set.intervals())

    changed = await client.post(
        "/api/admin/env",
        json={"changes": [{"name": "GREETING", "value": "hello"}, {"name": "OTHER", "value": "x"}]},
        headers=admin(backend),
    )
    assert changed.json() == {"variables": {"GREETING": "hello", "OTHER": "x"}}
    assert (await executor.run_query("api:greeting")).value == "hello"
    assert (await executor.run_action("api:greeting_in_action")).value == "hello"
    removed = await client.post(
        "/api/admin/env",
        json={"changes": [{"name": "GREETING", "value": None}]},
        headers=admin(backend),
    )
    assert removed.json() == {"variables": {"OTHER": "x"}}
    assert (await executor.run_query("api:greeting")).value == "unset"

    invalid = await client.post(
        "/api/admin/env", json={"changes": [{"name": "1BAD", "value": "x"}]}, headers=admin(backend)
    )
    assert invalid.status_code == 400 and "is invalid" in invalid.json()["message"]
    broken = await client.post("/api/admin/env", content=b"{", headers=admin(backend))
    assert broken.status_code == 400


async def test_function_runs_are_logged_and_streamed(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    await client.post("/api/mutation", json={"path": "api:chatty", "args": {"text": "x"}})
    await client.post("/api/query", json={"path": "api:fail", "args": {}})
    listed = (await client.get("/api/admin/logs?cursor=0", headers=admin(backend))).json()
    chatty, fail = listed["entries"][-2:]
    assert chatty["path"] == "api:chatty" and chatty["kind"] == "mutation"
    assert chatty["outcome"] == "success" and chatty["logLines"][0] == "[LOG] saving x 3"
    assert fail["outcome"] == "failure" and "because" in fail["error"]

    waiting = asyncio.create_task(
        client.get(f"/api/admin/logs?cursor={listed['cursor']}&wait=5", headers=admin(backend))
    )
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await client.post("/api/query", json={"path": "api:count", "args": {}})
    newer = (await asyncio.wait_for(waiting, 5)).json()
    assert [entry["path"] for entry in newer["entries"]] == ["api:count"]
