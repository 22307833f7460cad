"""The HTTP function API, in process (server/http_api.py, server/app.py)."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pyconvex.application import Backend
from pyconvex.functions.registry import Registry
from pyconvex.server.app import create_app
from pyconvex.storage.memory import MemoryPersistence

from . import api_app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    transport = httpx.ASGITransport(app=create_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    backend.close()


async def call(client: httpx.AsyncClient, kind: str, path: str, args: Any, **extra: Any) -> Any:
    response = await client.post(f"/api/{kind}", json={"path": path, "args": args, **extra})
    assert response.status_code == 200, response.text
    return response.json()


ENCODED = {"format": "convex_encoded_json"}


async def test_values_round_trip_in_the_encoded_format(client: httpx.AsyncClient) -> None:
    args = {
        "i": {"$integer": "BwAAAAAAAAA="},
        "nan": {"$float": "AAAAAAAA+H8="},
        "negzero": {"$float": "AAAAAAAAAIA="},
        "b": {"$bytes": "AAE="},
        "n": 1.5,
    }
    body = await call(client, "query", "api:echo", [args], **ENCODED)
    assert body == {"status": "success", "value": args, "logLines": []}


async def test_the_clean_format_is_the_default(client: httpx.AsyncClient) -> None:
    body = await call(client, "query", "api:double", {"n": {"$integer": "BwAAAAAAAAA="}})
    assert body["value"] == "14"  # clean JSON writes int64 as a decimal string
    encoded = await call(
        client, "query", "api:double", [{"n": {"$integer": "BwAAAAAAAAA="}}], **ENCODED
    )
    assert encoded["value"] == {"$integer": base64.b64encode(struct.pack("<q", 14)).decode()}


async def test_mutations_actions_and_uncanonical_paths(client: httpx.AsyncClient) -> None:
    first = await call(client, "mutation", "api.js:add", {"text": "a"})
    assert first["status"] == "success" and len(first["value"]) == 32
    assert (await call(client, "action", "api:add_twice", {"text": "b"}))["value"] == 3.0
    assert (await call(client, "function", "api:count", {}))["value"] == 3.0
    run = await client.post("/api/run/api/count", json={"args": {}})
    assert run.json()["value"] == 3.0


async def test_function_errors_are_200_with_convex_shapes(client: httpx.AsyncClient) -> None:
    failed = await call(client, "query", "api:fail", {}, **ENCODED)
    assert failed["status"] == "error"
    assert failed["errorData"] == {"code": {"$integer": "BwAAAAAAAAA="}, "why": "because"}
    assert failed["errorMessage"].startswith("[Request ID: ")
    assert "Uncaught ConvexError:" in failed["errorMessage"]
    crashed = await call(client, "mutation", "api:crash", {})
    assert "Server Error\nUncaught Error: something broke" in crashed["errorMessage"]
    assert "errorData" not in crashed
    invalid = await call(client, "query", "api:double", {"n": "x"})
    assert "ArgumentValidationError" in invalid["errorMessage"]
    for path in ("api:hidden", "api:nothing"):
        missing = await call(client, "query", path, {})
        assert missing["errorMessage"].startswith(f"Could not find public function for '{path}'")
    wrong_kind = await call(client, "query", "api:add", {"text": "x"})
    assert "defined as Mutation" in wrong_kind["errorMessage"]


async def test_request_errors_are_non_2xx_with_code_and_message(client: httpx.AsyncClient) -> None:
    broken = await client.post("/api/query", content=b"{not json")
    assert broken.status_code == 400 and broken.json()["code"] == "BadJsonBody"
    bad_path = await client.post("/api/query", json={"path": "a:b:c", "args": {}})
    assert bad_path.status_code == 400 and bad_path.json()["code"] == "BadConvexFunctionIdentifier"
    token = await client.post(
        "/api/query", json={"path": "api:count", "args": {}}, headers={"Authorization": "Bearer x"}
    )
    assert token.status_code == 401 and token.json()["code"] == "InvalidAuthHeader"


async def test_consistent_queries_read_a_pinned_snapshot(client: httpx.AsyncClient) -> None:
    await call(client, "mutation", "api:add", {"text": "a"})
    ts = (await client.post("/api/query_ts")).json()["ts"]
    await call(client, "mutation", "api:add", {"text": "b"})
    pinned = await call(client, "query_at_ts", "api:count", {}, ts=ts)
    assert pinned["value"] == 1.0
    assert (await call(client, "query", "api:count", {}))["value"] == 2.0


async def test_get_query_cors_and_double_slashes(client: httpx.AsyncClient) -> None:
    got = await client.get("/api/query", params={"path": "api:count", "args": "{}"})
    assert got.json()["value"] == 0.0
    doubled = await client.post("http://test//api/query", json={"path": "api:count", "args": {}})
    assert doubled.status_code == 200 and doubled.json()["value"] == 0.0
    preflight = await client.options(
        "/api/mutation",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "convex-client,content-type,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "convex-client" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-allow-credentials"] == "true"


async def test_print_and_logging_become_log_lines(client: httpx.AsyncClient) -> None:
    body = await call(client, "mutation", "api:chatty", {"text": "hi"})
    assert body["logLines"] == ["[LOG] saving hi 3", "[ERROR] careful"]
    failed = await call(client, "mutation", "api:chatty", {"text": "fail"})
    assert failed["status"] == "error" and failed["logLines"][0] == "[LOG] saving fail 3"


async def test_production_mode_hides_details_but_keeps_convex_error_data() -> None:
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    transport = httpx.ASGITransport(app=create_app(backend, production=True))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            crashed = await call(http, "mutation", "api:crash", {})
            assert "something broke" not in crashed["errorMessage"]
            assert crashed["errorMessage"].startswith("[Request ID: ")
            failed = await call(http, "query", "api:fail", {}, format="convex_encoded_json")
            assert failed["errorData"]["why"] == "because" and failed["logLines"] == []
        [run] = [r for r in backend.executor.logs.since(0)[0] if r.path == "api:crash"]
        assert "something broke" in (run.error or "")  # the logs keep the details
    finally:
        backend.close()


async def test_production_still_tells_the_admin_everything() -> None:
    # The dashboard's Functions page and `pyconvex run` call as the admin: Convex redacts
    # log lines and error details only for callers without admin authorization.
    backend = Backend(MemoryPersistence(), Registry.from_modules({"api": api_app}))
    transport = httpx.ASGITransport(app=create_app(backend, production=True))
    admin = {"Authorization": f"Convex {backend.admin_key}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            chatty = {"path": "api:chatty", "args": {"text": "hi"}}
            public = (await http.post("/api/function", json=chatty)).json()
            assert public["status"] == "success" and public["logLines"] == []
            ran = (await http.post("/api/function", json=chatty, headers=admin)).json()
            assert ran["logLines"] == ["[LOG] saving hi 3", "[ERROR] careful"]
            refused = {"path": "api:chatty", "args": {"text": "fail"}}
            failed = (await http.post("/api/mutation", json=refused, headers=admin)).json()
            assert failed["status"] == "error" and failed["logLines"][0] == "[LOG] saving fail 3"
            crash = {"path": "api:crash", "args": {}}
            crashed = (await http.post("/api/function", json=crash, headers=admin)).json()
            assert "Uncaught Error: something broke" in crashed["errorMessage"]
            hidden = (await http.post("/api/function", json=crash)).json()
            assert "something broke" not in hidden["errorMessage"] and hidden["logLines"] == []
    finally:
        backend.close()
