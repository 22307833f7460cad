"""The HTTP function API used by the official HTTP clients (protocol.md section 4).

* ``POST /api/query|mutation|action`` with ``{"path", "args", "format"}``; ``args`` is
  a one-element array (JS) or a bare object (Python). ``GET /api/query`` takes the same
  as query parameters.
* ``POST /api/query_ts`` and ``/api/query_at_ts`` pin a snapshot (``consistentQuery``).
* ``POST /api/function`` runs any public function; ``POST /api/run/<module>/<function>``
  takes ``{"args"}`` and answers in clean JSON by default.

A function that fails is still a 200, with ``status: "error"`` (and ``errorData`` for a
``ConvexError``); a request that is malformed gets a non-2xx ``{"code", "message"}``.

In production, log lines and the details of errors are withheld from callers, except
from the admin (the dashboard, ``pyconvex run``): Convex redacts them only for callers
without admin authorization.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.errors import (
    ConvexError,
    FunctionNotFoundError,
    PyConvexError,
)
from pyconvex.functions.console import log_lines_of
from pyconvex.functions.executor import ActionResult, MutationResult, QueryResult
from pyconvex.functions.references import canonical_path
from pyconvex.functions.registry import FunctionKind
from pyconvex.server.auth import Caller, identify
from pyconvex.server.errors import RequestError, describe_function_error
from pyconvex.values.json import decode_json, encode_clean_json, encode_json

__all__ = ["routes"]

_ENCODED_FORMATS = frozenset({"convex_encoded_json", "convex_json"})
_CLEAN_FORMATS = frozenset({None, "json", "convex_clean_json"})


def routes(backend: Backend, *, production: bool = False) -> list[Route]:
    """The function API's routes for ``backend``."""
    api = _FunctionApi(backend, production)
    return [
        Route("/api/query", api.query, methods=["POST", "GET"]),
        Route("/api/mutation", api.mutation, methods=["POST"]),
        Route("/api/action", api.action, methods=["POST"]),
        Route("/api/function", api.function, methods=["POST"]),
        Route("/api/query_ts", api.query_ts, methods=["POST"]),
        Route("/api/query_at_ts", api.query_at_ts, methods=["POST"]),
        Route("/api/run/{path:path}", api.run, methods=["POST"]),
    ]


class _FunctionApi:
    def __init__(self, backend: Backend, production: bool) -> None:
        self.backend = backend
        self.production = production

    async def query(self, request: Request) -> Response:
        if request.method == "GET":
            try:
                body = _query_string(request)
            except RequestError as error:
                return error.response()
            return await self._handle(request, FunctionKind.QUERY, body)
        return await self._handle(request, FunctionKind.QUERY)

    async def mutation(self, request: Request) -> Response:
        return await self._handle(request, FunctionKind.MUTATION)

    async def action(self, request: Request) -> Response:
        return await self._handle(request, FunctionKind.ACTION)

    async def function(self, request: Request) -> Response:
        return await self._handle(request, None)

    async def query_at_ts(self, request: Request) -> Response:
        return await self._handle(request, FunctionKind.QUERY, at_ts=True)

    async def query_ts(self, request: Request) -> Response:
        ts = self.backend.database.latest_ts
        return JSONResponse({"ts": base64.b64encode(struct.pack("<Q", ts)).decode()})

    async def run(self, request: Request) -> Response:
        segments = [s for s in request.path_params["path"].split("/") if s]
        if len(segments) < 2:
            return RequestError(
                400, "BadConvexFunctionIdentifier", "Expected /api/run/<module>/<function>"
            ).response()
        try:
            body = await _read_json(request, allow_empty=True)
        except RequestError as error:
            return error.response()
        body = {**body, "path": "/".join(segments[:-1]) + ":" + segments[-1]}
        return await self._handle(request, None, body)

    async def _handle(
        self,
        request: Request,
        kind: FunctionKind | None,
        body: dict[str, Any] | None = None,
        *,
        at_ts: bool = False,
    ) -> Response:
        try:
            if body is None:
                body = await _read_json(request)
            call = _Call.parse(body, at_ts=at_ts)
            caller = await identify(request, self.backend)
        except RequestError as error:
            return error.response()
        return await self._execute(call, kind, caller)

    async def _execute(self, call: _Call, kind: FunctionKind | None, caller: Caller) -> Response:
        executor = self.backend.executor
        admin, identity = caller.admin, caller.identity
        try:
            definition = executor.registry.resolve(call.path, allow_internal=admin)
            kind = kind or definition.kind
            result: QueryResult | MutationResult | ActionResult
            if kind is FunctionKind.QUERY:
                result = await executor.run_query(
                    call.path, call.args, identity=identity, ts=call.ts, allow_internal=admin
                )
            elif kind is FunctionKind.MUTATION:
                result = await executor.run_mutation(
                    call.path, call.args, identity=identity, allow_internal=admin
                )
            else:
                result = await executor.run_action(
                    call.path, call.args, identity=identity, allow_internal=admin
                )
        except Exception as error:  # a function error: reported in the body, status 200
            return JSONResponse(self._error_body(error, call, redact=self._redacts(caller)))
        lines = [] if self._redacts(caller) else result.log_lines
        return JSONResponse(
            {"status": "success", "value": call.encode(result.value), "logLines": lines}
        )

    def _redacts(self, caller: Caller) -> bool:
        # Production hides logs and error details, but never from the admin.
        return self.production and not caller.admin

    def _error_body(self, error: Exception, call: _Call, *, redact: bool) -> dict[str, Any]:
        lines = [] if redact else log_lines_of(error)
        body: dict[str, Any] = {"status": "error", "logLines": lines}
        if isinstance(error, FunctionNotFoundError):
            body["errorMessage"] = error.message
            return body
        # The same wording the sync protocol uses, behind the request-id line.
        detail, _, has_data = describe_function_error(error, production=redact)
        if has_data and isinstance(error, ConvexError):
            # Re-encoded in the caller's format (clean JSON unless it asked otherwise).
            body["errorData"] = call.encode(error.data)
        message = f"[Request ID: {secrets.token_hex(8)}] Server Error"
        # Redacted, only ConvexError details stay (their data is the app's message).
        body["errorMessage"] = f"{message}\n{detail}" if has_data or not redact else message
        return body


class _Call:
    """A parsed function call: path, arguments, output format, snapshot."""

    def __init__(self, path: str, args: dict[str, Any], clean: bool, ts: int | None) -> None:
        self.path = path
        self.args = args
        self.clean = clean
        self.ts = ts

    @classmethod
    def parse(cls, body: dict[str, Any], *, at_ts: bool) -> _Call:
        path = body.get("path")
        if not isinstance(path, str):
            raise RequestError(400, "BadConvexFunctionIdentifier", "Missing function path")
        try:
            path = canonical_path(path)
        except ValueError:
            raise RequestError(
                400, "BadConvexFunctionIdentifier", f"Invalid function path: {path!r}"
            ) from None
        output_format = body.get("format")
        if output_format not in _ENCODED_FORMATS and output_format not in _CLEAN_FORMATS:
            raise RequestError(400, "BadRequest", f"Unsupported format: {output_format!r}")
        return cls(
            path,
            _arguments(body.get("args")),
            output_format not in _ENCODED_FORMATS,
            _snapshot(body.get("ts")) if at_ts else None,
        )

    def encode(self, value: Any) -> Any:
        return encode_clean_json(value) if self.clean else encode_json(value)


def _arguments(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        if len(raw) != 1:
            raise RequestError(400, "BadRequest", "args must be an array of one object")
        raw = raw[0]
    try:
        args = decode_json(raw)
    except PyConvexError as error:
        raise RequestError(400, "BadRequest", f"Invalid arguments: {error.message}") from None
    if not isinstance(args, dict):
        raise RequestError(400, "BadRequest", "args must be an object")
    return args


def _snapshot(raw: Any) -> int:
    try:
        value: int = struct.unpack("<Q", base64.b64decode(raw, validate=True))[0]
    except Exception:
        raise RequestError(400, "BadRequest", f"Invalid ts: {raw!r}") from None
    return value


async def _read_json(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, "BadJsonBody", f"Failed to parse JSON body: {error}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "BadJsonBody", "The request body must be a JSON object")
    return body


def _query_string(request: Request) -> dict[str, Any]:
    params = request.query_params
    try:
        args = json.loads(params.get("args", "{}"))
    except json.JSONDecodeError as error:
        raise RequestError(400, "BadRequest", f"Invalid args: {error}") from None
    return {"path": params.get("path"), "args": args, "format": params.get("format")}
