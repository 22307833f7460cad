"""HTTP actions over ASGI (server/http_actions.py, Executor.run_http_action)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from pyconvex import ConvexError, Int64, mutation, query
from pyconvex.application import Backend
from pyconvex.errors import PyConvexError
from pyconvex.functions.http_router import HTTP_ACTION_BODY_LIMIT, http_action, http_router
from pyconvex.functions.registry import Registry
from pyconvex.server.http_actions import (
    HttpActionsMiddleware,
    routes,
    site_app,
    to_response,
)
from pyconvex.storage.memory import MemoryPersistence

MiB = 1 << 20


@mutation
async def record(ctx: Any, args: dict[str, Any]) -> str:
    return await ctx.db.insert("events", {"body": args["body"]})


@query
async def count(ctx: Any) -> float:
    return len(await ctx.db.query("events").collect())


@http_action
async def webhook(ctx: Any, request: Request) -> Any:
    body = await request.json()
    await ctx.run_mutation("events:record", {"body": body})
    return {"count": await ctx.run_query("events:count", {})}


@http_action
async def webhook_preflight(ctx: Any, request: Request) -> Response:
    # HTTP actions do their own CORS, as in Convex.
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "https://app.example",
            "Access-Control-Allow-Methods": "POST",
        },
    )


@http_action
async def files(ctx: Any, request: Request) -> str:
    return f"file {request.url.path} q={request.query_params.get('q')}"


@http_action
async def special_file(ctx: Any, request: Request) -> bytes:
    return b"\x00special"


@http_action
def sync_count(ctx: Any, request: Any) -> dict[str, Any]:
    return {
        "count": ctx.run_query("events:count", {}),
        "thread": threading.current_thread().name,
        "echo": request.sync_json() if request.method == "POST" else None,
    }


@http_action
async def request_details(ctx: Any, request: Request) -> dict[str, Any]:
    print("details for", request.method)
    return {
        "method": request.method,
        "url": str(request.url),
        "header": request.headers.get("x-test"),
        "identity": await ctx.auth.get_user_identity(),
        "body": (await request.body()).decode(),
    }


@http_action
async def boom(ctx: Any, request: Request) -> None:
    raise RuntimeError("it broke")


@http_action
async def refuse(ctx: Any, request: Request) -> None:
    raise ConvexError({"code": Int64(7), "why": "no"})


@http_action
async def bad_return(ctx: Any, request: Request) -> int:
    return 42


@http_action
async def stream(ctx: Any, request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@http_action
async def broken_stream(ctx: Any, request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("mid-stream")

    return StreamingResponse(chunks())


@http_action
async def huge(ctx: Any, request: Request) -> bytes:
    return b"x" * (HTTP_ACTION_BODY_LIMIT + 1)


@http_action
async def huge_stream(ctx: Any, request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(HTTP_ACTION_BODY_LIMIT // MiB + 2):
            yield b"y" * MiB

    return StreamingResponse(chunks())


@http_action
async def nothing(ctx: Any, request: Request) -> None:
    return None


def make_router() -> Any:
    http = http_router()
    http.route(path="/webhook", method="POST", handler=webhook)
    http.route(path="/webhook", method="OPTIONS", handler=webhook_preflight)
    http.route(path_prefix="/files/", method="GET", handler=files)
    http.route(path="/files/special", method="GET", handler=special_file)
    http.route(path="/sync", method="GET", handler=sync_count)
    http.route(path="/sync", method="POST", handler=sync_count)
    http.route(path="/details", method="GET", handler=request_details)
    http.route(path="/details", method="PUT", handler=request_details)
    http.route(path="/boom", method="GET", handler=boom)
    http.route(path="/refuse", method="GET", handler=refuse)
    http.route(path="/bad-return", method="GET", handler=bad_return)
    http.route(path="/stream", method="GET", handler=stream)
    http.route(path="/broken-stream", method="GET", handler=broken_stream)
    http.route(path="/huge", method="GET", handler=huge)
    http.route(path="/huge-stream", method="GET", handler=huge_stream)
    http.route(path="/nothing", method="DELETE", handler=nothing)
    http.route(path="/upload", method="POST", handler=nothing)
    return http


@pytest.fixture
def backend() -> Iterator[Backend]:
    registry = Registry({"events:record": record, "events:count": count})
    backend = Backend(MemoryPersistence(), registry, http_router=make_router())
    yield backend
    backend.close()


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(backend))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_json_in_a_mutation_then_a_query_that_sees_it(client: httpx.AsyncClient) -> None:
    first = await client.post("/http/webhook", json={"event": "a"})
    assert first.status_code == 200 and first.json() == {"count": 1}
    assert first.headers["content-type"] == "application/json"
    second = await client.post("/http/webhook", json={"event": "b"})
    assert second.json() == {"count": 2}


async def test_prefix_routes_see_the_routed_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/files/a/b.txt?q=1")
    assert response.status_code == 200
    assert response.text == "file /files/a/b.txt q=1"
    assert response.headers["content-type"].startswith("text/plain")
    exact = await client.get("/http/files/special")
    assert exact.content == b"\x00special"
    assert exact.headers["content-type"] == "application/octet-stream"


async def test_an_unrouted_path_is_a_404_with_convex_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/nowhere")
    assert response.status_code == 404
    assert response.text == "No HttpAction routed for /nowhere"
    wrong_method = await client.get("/http/webhook")
    assert wrong_method.status_code == 404
    assert (await client.request("TRACE", "/http/webhook")).status_code == 405


async def test_the_request_is_a_starlette_request(client: httpx.AsyncClient) -> None:
    response = await client.put("/http/details?x=1", content=b"raw", headers={"x-test": "yes"})
    assert response.json() == {
        "method": "PUT",
        "url": "http://test/details?x=1",  # the routed path, as Convex presents it
        "header": "yes",
        "identity": None,
        "body": "raw",
    }


async def test_get_requests_carry_no_body(client: httpx.AsyncClient) -> None:
    response = await client.request("GET", "/http/details", content=b"ignored")
    assert response.json()["body"] == ""


async def test_a_raising_handler_gets_convex_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"].startswith("[Request ID: ")
    assert body["code"].endswith("] Server Error: Uncaught Error: it broke")
    assert body["trace"].startswith("Uncaught Error: it broke\n    at boom (")
    assert "data" not in body


async def test_convex_error_data_is_delivered(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/refuse")
    assert response.status_code == 500
    body = response.json()
    assert body["data"] == {"code": {"$integer": "BwAAAAAAAAA="}, "why": "no"}
    assert "Uncaught ConvexError: " in body["code"]


async def test_production_hides_messages_but_not_data(backend: Backend) -> None:
    app = Starlette(routes=routes(backend, production=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        crashed = (await http.get("/http/boom")).json()
        refused = (await http.get("/http/refuse")).json()
    assert crashed["code"].endswith("] Server Error") and "trace" not in crashed
    assert refused["code"].endswith("] Server Error") and refused["data"]["why"] == "no"


async def test_returning_something_else_is_an_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/bad-return")
    assert response.status_code == 500
    assert "HTTP actions must return a Response" in response.json()["code"]
    assert "got int" in response.json()["code"]


async def test_none_is_an_empty_200(client: httpx.AsyncClient) -> None:
    response = await client.delete("/http/nothing")
    assert response.status_code == 200 and response.content == b""


async def test_sync_handlers_run_on_an_action_worker(client: httpx.AsyncClient) -> None:
    await client.post("/http/webhook", json={})
    response = await client.get("/http/sync")
    assert response.json()["count"] == 1
    assert response.json()["thread"].startswith("pyconvex-action")
    echoed = await client.post("/http/sync", json={"n": 1})
    assert echoed.json()["echo"] == {"n": 1}


async def test_head_runs_get_without_the_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/http/files/x")
    head = await client.head("/http/files/x")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] != "0"


async def test_streaming_responses_are_sent_from_the_worker(client: httpx.AsyncClient) -> None:
    response = await client.get("/http/stream")
    assert response.status_code == 200
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"


async def test_a_stream_that_fails_midway_ends_early(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    response = await client.get("/http/broken-stream")
    assert response.status_code == 200 and response.content == b"partial"
    run = backend.executor.logs.since(0)[0][-1]
    assert (run.outcome, run.error) == ("failure", "RuntimeError: mid-stream")


async def test_request_bodies_over_20_mib_are_refused(client: httpx.AsyncClient) -> None:
    big = b"z" * (HTTP_ACTION_BODY_LIMIT + 1)
    response = await client.post("/http/upload", content=big)
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"

    async def chunked() -> AsyncIterator[bytes]:  # no content-length: counted while read
        for _ in range(HTTP_ACTION_BODY_LIMIT // MiB + 1):
            yield b"z" * MiB

    streamed = await client.post("/http/upload", content=chunked())
    assert streamed.status_code == 413
    at_limit = await client.post("/http/upload", content=big[:-1])
    assert at_limit.status_code == 200


async def test_response_bodies_over_20_mib_are_refused_or_cut(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    response = await client.get("/http/huge")
    assert response.status_code == 500
    assert "HttpResponseTooLarge" in response.json()["code"]
    streamed = await client.get("/http/huge-stream")
    assert streamed.status_code == 200
    assert len(streamed.content) <= HTTP_ACTION_BODY_LIMIT
    runs, _ = backend.executor.logs.since(0)
    assert runs[-1].path == "GET /huge-stream" and runs[-1].outcome == "failure"
    assert "HttpResponseTooLarge" in (runs[-1].error or "")


async def test_every_run_is_logged(client: httpx.AsyncClient, backend: Backend) -> None:
    await client.get("/http/details")
    await client.get("/http/boom")
    await client.get("/http/files/a")
    runs = [run for run in backend.executor.logs.since(0)[0] if run.kind == "http"]
    assert [(run.path, run.outcome) for run in runs] == [
        ("GET /details", "success"),
        ("GET /boom", "failure"),
        ("GET /files/*", "success"),
    ]
    assert runs[0].log_lines == ("[LOG] details for GET",)
    assert runs[1].error == "RuntimeError: it broke"


async def test_the_site_app_serves_at_the_root(backend: Backend) -> None:
    transport = httpx.ASGITransport(app=site_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://site") as http:
        response = await http.get("/files/a")
        assert response.text == "file /files/a q=None"
        assert (await http.get("/http/files/a")).status_code == 404


async def test_the_middleware_keeps_cors_away_from_http_actions(backend: Backend) -> None:
    async def hello(request: Request) -> Response:
        return Response("api")

    from starlette.routing import Route

    app = Starlette(
        routes=[Route("/api/hello", hello)],
        middleware=[
            Middleware(HttpActionsMiddleware, backend=backend),
            Middleware(CORSMiddleware, allow_origin_regex=".*", allow_methods=["*"]),
        ],
    )
    preflight = {"origin": "https://other.example", "access-control-request-method": "POST"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        action = await http.options("/http/webhook", headers=preflight)
        api = await http.options("/api/hello", headers=preflight)
        assert (await http.get("/api/hello")).text == "api"
    assert action.status_code == 204
    assert action.headers["access-control-allow-origin"] == "https://app.example"
    assert api.headers["access-control-allow-origin"] == "https://other.example"


async def test_a_backend_without_http_py(backend: Backend) -> None:
    backend.http_router = None
    app = Starlette(routes=routes(backend))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/http/anything")
    assert response.status_code == 404
    assert response.text == "This Convex deployment does not have HTTP actions enabled."


def test_to_response_conveniences() -> None:
    assert to_response("hi").body == b"hi"
    assert to_response(b"\x01").media_type == "application/octet-stream"
    assert to_response([1, 2]).body == b"[1,2]"
    assert to_response({"a": 1}).media_type == "application/json"
    empty = to_response(None)
    assert empty.status_code == 200 and empty.body == b""
    original = Response("x", status_code=201)
    assert to_response(original) is original
    with pytest.raises(PyConvexError, match="got float"):
        to_response(1.5)
