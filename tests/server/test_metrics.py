"""Deployment metrics (server/metrics.py): /metrics, the JSON figures, the separate port."""

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
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from pyconvex import knobs
from pyconvex.application import Backend
from pyconvex.functions.registry import FunctionDefinition, FunctionKind, Registry
from pyconvex.server.app import create_app
from pyconvex.server.metrics import serve_metrics
from pyconvex.storage.memory import MemoryPersistence
from pyconvex.values.model import Int64

from . import api_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[str, Any, Backend]]:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    app = create_app(backend)
    port = free_port()
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        time.sleep(0.01)
    yield f"127.0.0.1:{port}", app, backend
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    backend.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient, host: str, backend: Backend) -> dict[Any, float]:
    headers = {"Authorization": f"Convex {backend.admin_key}"}
    answer = await http.get(f"http://{host}/metrics", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return samples(answer.text)


async def subscribe(host: str) -> Any:
    socket_ = await connect(f"ws://{host}/api/1.48.0/sync")
    await socket_.send(json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0}))
    await socket_.send(
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": 0, "udfPath": "api:count", "args": [{}]}
                ],
            }
        )
    )
    while json.loads(await asyncio.wait_for(socket_.recv(), 10))["type"] != "Transition":
        pass
    return socket_


async def test_metrics_require_the_admin_key(server: tuple[str, Any, Backend]) -> None:
    host, _, _ = server
    async with httpx.AsyncClient() as http:
        for path in ("/metrics", "/api/admin/metrics"):
            missing = await http.get(f"http://{host}{path}")
            assert missing.status_code == 401 and missing.json()["code"] == "MissingAdminKey"
            wrong = await http.get(f"http://{host}{path}", headers={"Authorization": "Convex x"})
            assert wrong.status_code == 403 and wrong.json()["code"] == "BadDeployKey"


async def test_commits_function_runs_connections_and_cache(
    server: tuple[str, Any, Backend],
) -> None:
    host, _, backend = server
    async with httpx.AsyncClient() as http:
        before = await scrape(http, host, backend)
        sockets = [await subscribe(host) for _ in range(2)]
        await http.post(
            f"http://{host}/api/mutation", json={"path": "api:add", "args": {"text": "a"}}
        )
        await http.post(f"http://{host}/api/query", json={"path": "api:fail", "args": {}})
        after = await scrape(http, host, backend)
        figures = (
            await http.get(
                f"http://{host}/api/admin/metrics",
                headers={"Authorization": f"Convex {backend.admin_key}"},
            )
        ).json()
        for socket_ in sockets:
            await socket_.close()

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("pyconvex_commits_total") == 1
    assert delta("pyconvex_function_runs_total", kind="mutation", outcome="success") == 1
    assert delta("pyconvex_function_runs_total", kind="query", outcome="failure") == 1
    assert after[("pyconvex_sync_connections", ())] == 2
    assert after[("pyconvex_sync_subscriptions", ())] == 2
    # Two subscribers of the same query at the same snapshot: one execution, one hit.
    assert after[("pyconvex_query_cache_misses_total", ())] >= 1
    assert after[("pyconvex_query_cache_hits_total", ())] >= 1
    assert delta("pyconvex_function_duration_seconds_count", kind="mutation") == 1
    assert (
        after[("pyconvex_function_duration_seconds_bucket", (("kind", "mutation"), ("le", "+Inf")))]
        >= 1
    )

    assert figures["connections"] == 2 and figures["subscriptions"] == 2
    assert figures["commits"] == after[("pyconvex_commits_total", ())]
    assert figures["functionRuns"]["mutation"]["success"] >= 1
    assert figures["functionRuns"]["query"]["failure"] == 1
    assert figures["functionRuns"]["mutation"]["meanDurationMs"] > 0
    cache = figures["queryCache"]
    assert cache["hits"] + cache["misses"] == cache["lookups"] and cache["hits"] >= 1
    assert isinstance(figures["latestTs"], str)


async def test_occ_conflicts_and_retries_are_counted(
    server: tuple[str, Any, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _, backend = server
    monkeypatch.setattr(knobs, "OCC_INITIAL_BACKOFF_SECONDS", 0.001)
    transaction = backend.database.begin(writable=True)
    counter = transaction.insert("counters", {"value": Int64(0)})
    backend.database.commit(transaction).result()
    conflicts_left = 2

    async def contended(ctx: Any) -> None:
        nonlocal conflicts_left
        current = await ctx.db.get(counter)
        if conflicts_left:  # another writer commits in between, twice
            conflicts_left -= 1
            other = backend.database.begin(writable=True)
            other.patch(counter, {"value": Int64(current["value"] + 1)})
            backend.database.commit(other).result()
        await ctx.db.patch(counter, {"value": Int64(current["value"] + 10)})

    backend.registry.add("api:contended", FunctionDefinition(FunctionKind.MUTATION, contended))
    await backend.executor.run_mutation("api:contended")
    async with httpx.AsyncClient() as http:
        after = await scrape(http, host, backend)
    assert after[("pyconvex_occ_conflicts_total", ())] == 2
    assert after[("pyconvex_occ_retries_total", ())] == 2


async def test_metrics_on_a_port_of_their_own_need_no_key(
    server: tuple[str, Any, Backend],
) -> None:
    _, app, _ = server
    port = free_port()
    metrics_server = serve_metrics(app.state.metrics, "127.0.0.1", port)
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert ("pyconvex_commits_total", ()) in samples(answer.text)
    finally:
        metrics_server.close()
