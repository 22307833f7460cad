"""Serving the app's HTTP actions (``convex/http.py``) over ASGI.

Convex serves HTTP actions on the deployment's site origin and, on the API
origin, under ``/http`` (``POST <url>/http/webhook`` reaches the route
``/webhook``). Here:

* :func:`routes` gives a ``Mount("/http", ...)`` for a Starlette app;
* :class:`HttpActionsMiddleware` serves ``/http/...`` in front of another app,
  so that app's middleware (CORS above all) never touches HTTP actions;
* :func:`site_app` serves them at the root, for a second "site" port as
  Convex self-hosted does on 3211.

HTTP actions do their own CORS, as in Convex (an ``OPTIONS`` route), so nothing
here adds CORS headers.

The request body (at most :data:`~pyconvex.functions.http_router.HTTP_ACTION_BODY_LIMIT`
bytes; ``GET``, ``HEAD`` and ``OPTIONS`` have none, as in Convex) is read before the
handler runs; the handler gets an :class:`HttpActionRequest` whose URL path is the
routed path. The handler runs on an action worker and the response is sent from
that worker too, so a streaming body is produced where the handler ran, within
the action's time limit. A handler that raises before responding gets Convex's
500 ``{"code": "[Request ID: ...] Server Error: ...", "trace", "data"?}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import traceback
from collections.abc import Awaitable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyconvex.application import Backend
from pyconvex.auth.errors import AuthenticationError
from pyconvex.errors import ConvexError, PyConvexError
from pyconvex.functions.context import InvalidIdentity, UserIdentity
from pyconvex.functions.http_router import HTTP_ACTION_BODY_LIMIT, ROUTABLE_HTTP_METHODS
from pyconvex.server.auth import bearer_token
from pyconvex.server.errors import RequestError
from pyconvex.values.json import encode_json

__all__ = [
    "HttpActionRequest",
    "HttpActions",
    "HttpActionsMiddleware",
    "routes",
    "site_app",
    "to_response",
]

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LIMIT_TEXT = f"{HTTP_ACTION_BODY_LIMIT >> 20} MiB"


class HttpActionRequest(Request):
    """The Starlette ``Request`` an HTTP action gets, its body already read.

    ``await request.body()``, ``.json()``, ``.form()`` and ``.stream()`` work as
    usual (on any event loop); sync handlers use :meth:`sync_body` and
    :meth:`sync_json`. ``request.url.path`` is the routed path (``/webhook``,
    without the ``/http`` mount), as Convex presents it.
    """

    def __init__(self, scope: Scope, body: bytes, receive: Receive) -> None:
        super().__init__(scope, receive)
        # Starlette's body(), json(), form() and stream() serve a body stored here
        # instead of reading from the connection.
        self._body = body

    def sync_body(self) -> bytes:
        """The body, for sync handlers (which cannot ``await request.body()``)."""
        return self._body

    def sync_json(self) -> Any:
        """The body parsed as JSON, for sync handlers.

        Raises:
            json.JSONDecodeError: the body is not JSON.
        """
        return json.loads(self._body)


def to_response(result: Any) -> Response:
    """The response an HTTP action's return value stands for.

    A ``Response`` as is; ``str`` as ``text/plain``; ``bytes`` as
    ``application/octet-stream``; ``dict`` or ``list`` as JSON; ``None`` as an
    empty 200.

    Raises:
        PyConvexError: any other value, or a body over the size limit.
    """
    if isinstance(result, Response):
        response = result
    elif result is None:
        response = Response(status_code=200)
    elif isinstance(result, str):
        response = PlainTextResponse(result)
    elif isinstance(result, bytes | bytearray | memoryview):
        response = Response(bytes(result), media_type="application/octet-stream")
    elif isinstance(result, dict | list):
        response = JSONResponse(result)
    else:
        raise PyConvexError(
            "HTTP actions must return a Response (or a str, bytes, dict, list or None), "
            f"got {type(result).__name__}"
        )
    # Streaming and file responses have no body yet; the sender counts those.
    body = getattr(response, "body", None)
    if isinstance(body, bytes | memoryview) and len(body) > HTTP_ACTION_BODY_LIMIT:
        raise _too_large()
    return response


def _too_large() -> PyConvexError:
    return PyConvexError(
        f"HttpResponseTooLarge: HTTP actions support responses up to {_LIMIT_TEXT}"
    )


class HttpActions:
    """An ASGI app serving ``backend``'s HTTP actions at its root path.

    Mounted (``root_path`` set), the routed path is the path below the mount.
    The router is read per request, so ``Backend.reload`` swaps routes atomically.

    Args:
        production: hide error messages and traces (``ConvexError`` data still shows).
    """

    def __init__(self, backend: Backend, *, production: bool = False) -> None:
        self.backend = backend
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"HTTP actions serve HTTP only, not {scope['type']!r}")
        await _Exchange(self, scope, receive, send).serve()


class HttpActionsMiddleware:
    """Serves ``prefix/...`` as HTTP actions and passes everything else to ``app``.

    Put it outside the CORS middleware: HTTP actions answer their own preflights.

    Args:
        app: the app behind it.
        backend: whose HTTP actions to serve.
        prefix: the mount path (Convex: ``/http``).
        production: as for :class:`HttpActions`.
    """

    def __init__(
        self, app: ASGIApp, backend: Backend, *, prefix: str = "/http", production: bool = False
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.actions = HttpActions(backend, production=production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            below = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
            if below.startswith(self.prefix + "/"):
                scope = {**scope, "root_path": root + self.prefix}
                await self.actions(scope, receive, send)
                return
        await self.app(scope, receive, send)


def routes(backend: Backend, *, production: bool = False) -> list[BaseRoute]:
    """``Mount("/http", ...)`` serving ``backend``'s HTTP actions.

    A CORS middleware wrapping the app would answer the actions' preflights
    itself; use :class:`HttpActionsMiddleware` outside it instead when there is one.
    """
    return [Mount("/http", app=HttpActions(backend, production=production))]


def site_app(backend: Backend, *, production: bool = False) -> Starlette:
    """An app serving ``backend``'s HTTP actions at the root (the "site" origin)."""
    return Starlette(routes=[Mount("", app=HttpActions(backend, production=production))])


class _Exchange:
    """One request: route it, read its body, run the action, send its response."""

    def __init__(self, actions: HttpActions, scope: Scope, receive: Receive, send: Send) -> None:
        self.actions = actions
        self.scope = scope
        self.receive = receive
        self.send = send
        self.loop = asyncio.get_running_loop()
        self.method: str = scope["method"]
        self.path = _routed_path(scope)
        self.started = False
        self.finished = False
        self.sent_bytes = 0

    async def serve(self) -> None:
        if self.method not in ROUTABLE_HTTP_METHODS and self.method != "HEAD":
            await Response(status_code=405)(self.scope, self.receive, self.send)
            return
        router = self.actions.backend.http_router
        if router is None:
            message = "This Convex deployment does not have HTTP actions enabled."
            await self._plain(404, message)
            return
        match = router.lookup(self.method, self.path)
        if match is None:
            await self._plain(404, f"No HttpAction routed for {self.path}")
            return
        action, route = match
        try:
            body = await self._read_body()
        except RequestError as error:
            await error.response()(self.scope, self.receive, self.send)
            return
        scope = {**self.scope, "path": self.path, "root_path": "", "app_root_path": ""}
        scope.pop("raw_path", None)  # the routed path is the request's path now
        request = HttpActionRequest(scope, body, self._bridged_receive)

        async def respond(result: Any) -> None:  # runs on the action's worker
            await to_response(result)(scope, self._bridged_receive, self._bridged_send)

        identity = await _identity_of(request, self.actions.backend)
        try:
            await self.actions.backend.executor.run_http_action(
                action, request, identity=identity, route=str(route), respond=respond
            )
        except Exception as error:
            if not self.started:
                response = _error_response(error, self.actions.production)
                await response(self.scope, self.receive, self.send)
            elif not self.finished:
                # Once the head is out the status cannot change: the body just ends
                # (Convex cuts the response too); the failure is in the function logs.
                end: Message = {"type": "http.response.body", "body": b"", "more_body": False}
                with contextlib.suppress(Exception):  # the client may be gone already
                    await self.send(end)

    async def _plain(self, status: int, text: str) -> None:
        await PlainTextResponse(text, status_code=status)(self.scope, self.receive, self.send)

    async def _read_body(self) -> bytes:
        if self.method in _BODYLESS_METHODS:
            return b""
        length = _content_length(self.scope)
        if length is not None and length > HTTP_ACTION_BODY_LIMIT:
            raise _body_too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "ClientDisconnected", "The client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > HTTP_ACTION_BODY_LIMIT:
                raise _body_too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _bridged_receive(self) -> Message:
        # The worker's loop asks the server's loop (only disconnects are left to hear).
        message: Message = await self._on_server_loop(self.receive())
        return message

    async def _bridged_send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body":
            if self.finished:
                return
            if self.method == "HEAD":  # HEAD is GET without the body
                message = {**message, "body": b""}
            self.sent_bytes += len(message.get("body", b""))
            if self.sent_bytes > HTTP_ACTION_BODY_LIMIT:
                self.finished = True
                end: Message = {"type": "http.response.body", "body": b"", "more_body": False}
                await self._on_server_loop(self.send(end))
                raise _too_large()
            self.finished = not message.get("more_body", False)
        await self._on_server_loop(self.send(message))

    async def _on_server_loop(self, call: Awaitable[Any]) -> Any:
        if asyncio.get_running_loop() is self.loop:
            return await call

        async def wrapped() -> Any:
            return await call

        future = asyncio.run_coroutine_threadsafe(wrapped(), self.loop)
        return await asyncio.wrap_future(future)


async def _identity_of(request: Request, backend: Backend) -> UserIdentity | None:
    # A bad Authorization header does not fail the request (as in Convex): the
    # action runs, and ctx.auth.get_user_identity() raises the refusal.
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None
        return UserIdentity((await backend.auth.verify(token)).identity)
    except RequestError as error:
        return InvalidIdentity(AuthenticationError(error.code, error.message))
    except AuthenticationError as error:
        return InvalidIdentity(error)


def _routed_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _body_too_large() -> RequestError:
    return RequestError(
        413, "PayloadTooLarge", f"HTTP actions support request bodies up to {_LIMIT_TEXT}"
    )


def _error_response(error: Exception, production: bool) -> JSONResponse:
    """Convex's answer to an HTTP action that threw: 500 with code, trace and data."""
    message = _error_message(error)
    code = f"[Request ID: {secrets.token_hex(8)}] Server Error"
    body: dict[str, Any] = {"code": code if production else f"{code}: {message}"}
    if not production:
        body["trace"] = message + _stack(error)
    if isinstance(error, ConvexError):
        try:
            body["data"] = encode_json(error.data)
        except PyConvexError:
            pass  # not a Convex value: the message still shows it
    return JSONResponse(body, status_code=500)


def _error_message(error: Exception) -> str:
    # The same wording as the function API's errors (server/http_api.py).
    if isinstance(error, ConvexError):
        data = error.data
        text = data if isinstance(data, str) else json.dumps(_encodable(data), sort_keys=True)
        return f"Uncaught ConvexError: {text}"
    if isinstance(error, PyConvexError):
        return f"Uncaught Error: {error.message}"
    return f"Uncaught Error: {error}" if str(error) else f"Uncaught {type(error).__name__}"


def _encodable(data: Any) -> Any:
    try:
        return encode_json(data)
    except PyConvexError:
        return repr(data)


def _stack(error: BaseException) -> str:
    # Innermost frame first, as a JavaScript stack reads.
    frames = traceback.extract_tb(error.__traceback__)[-5:][::-1]
    return "".join(f"\n    at {f.name} ({f.filename}:{f.lineno})" for f in frames)
