"""The WebSocket sync endpoint with raw protocol frames (server/sync.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.protocol.messages import decode_ts
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence

from . import api_app


@pytest.fixture
def server() -> Iterator[tuple[str, Any]]:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    app = create_app(backend)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        time.sleep(0.01)
    yield f"127.0.0.1:{port}", app
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    backend.close()


async def subscribe(host: str, query_id: int = 0) -> Any:
    socket_ = await connect(f"ws://{host}/api/1.48.0/sync")
    await socket_.send(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
    await socket_.send(
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": query_id, "udfPath": "api:count", "args": [{}]}
                ],
            }
        )
    )
    return socket_


async def next_transition(socket_: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        if message["type"] == "Transition":
            return message  # type: ignore[no-any-return]


async def test_many_subscribers_cost_one_execution_per_write(server: tuple[str, Any]) -> None:
    host, app = server
    sockets = [await subscribe(host) for _ in range(25)]
    firsts = [await next_transition(s) for s in sockets]
    assert all(t["modifications"][0]["value"] == 0 for t in firsts)
    cache = app.state.sync_hub.cache
    before = cache.executions
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://{host}/api/mutation", json={"path": "api:add", "args": {"text": "x"}}
        )
    assert response.json()["status"] == "success"
    updates = [await next_transition(s) for s in sockets]
    assert all(u["modifications"][0]["value"] == 1 for u in updates)
    assert cache.executions - before == 1
    # Every transition chains from the one before it.
    for first, update in zip(firsts, updates):
        assert update["startVersion"] == first["endVersion"]
        assert decode_ts(update["endVersion"]["ts"]) > decode_ts(first["endVersion"]["ts"])
    for s in sockets:
        await s.close()


async def test_a_protocol_violation_gets_a_fatal_error(server: tuple[str, Any]) -> None:
    host, _ = server
    async with connect(f"ws://{host}/api/sync") as socket_:
        await socket_.send(
            json.dumps(
                {"type": "ModifyQuerySet", "baseVersion": 5, "newVersion": 6, "modifications": []}
            )
        )
        message = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        assert message["type"] == "FatalError" and "BaseVersionMismatch" in message["error"]


async def test_a_token_is_refused_with_an_auth_error(server: tuple[str, Any]) -> None:
    host, _ = server
    async with connect(f"ws://{host}/api/sync") as socket_:
        await socket_.send(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
        await socket_.send(
            json.dumps(
                {"type": "Authenticate", "baseVersion": 0, "tokenType": "User", "value": "jwt"}
            )
        )
        message = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        assert message == {
            "type": "AuthError",
            "error": message["error"],
            "baseVersion": 0,
            "authUpdateAttempted": True,
        }


async def test_a_replayed_mutation_applies_exactly_once(server: tuple[str, Any]) -> None:
    host, _ = server

    async def send_once() -> dict[str, Any]:
        async with connect(f"ws://{host}/api/1.48.0/sync") as socket_:
            await socket_.send(
                json.dumps({"type": "Connect", "sessionId": "same-session", "connectionCount": 0})
            )
            await socket_.send(
                json.dumps(
                    {
                        "type": "Mutation",
                        "requestId": 7,
                        "udfPath": "api:add",
                        "args": [{"text": "once"}],
                    }
                )
            )
            while True:
                message = json.loads(await asyncio.wait_for(socket_.recv(), 10))
                if message["type"] == "MutationResponse":
                    return message  # type: ignore[no-any-return]

    first = await send_once()
    replay = await send_once()  # a reconnect re-sends the same (sessionId, requestId)
    assert first["success"] and replay["success"], (first, replay)
    assert replay["result"] == first["result"] and replay["ts"] == first["ts"]
    async with httpx.AsyncClient() as http:
        count = await http.post(f"http://{host}/api/query", json={"path": "api:count", "args": {}})
    assert count.json()["value"] == 1
