"""The admin API the dashboard uses (also usable by scripts): data, functions, files, scheduler.

Every endpoint requires the deployment's admin key (``Authorization: Convex
<admin key>``; 401 ``MissingAdminKey`` without one, 403 ``BadDeployKey`` with a
wrong one) and speaks JSON. Values are ``convex_encoded_json`` (int64 as
``{"$integer": base64}``, bytes as ``{"$bytes": base64}``). Timestamps are
decimal strings (nanoseconds do not fit a JavaScript number). A refused request
is a 4xx ``{"code", "message"}``: a document that does not match the schema is
400 ``SchemaValidationError`` with Convex's message, so the UI shows it inline.

Data
    ``GET /api/admin/tables[?system=1]``
        ``{"tables": [{"name", "system", "count", "countIsExact", "indexes":
        [{"name", "fields", "state"}], "documentType"}], "schema": <schema JSON
        or null>}``; system tables only with ``system=1``.
    ``GET /api/admin/tables/{table}/documents?index=&order=&cursor=&numItems=&filters=``
        One page in ``index`` order (default ``by_creation_time``, ``desc``);
        ``filters`` is a JSON list of ``{"field", "op", "value"}`` (``op``:
        eq, neq, lt, lte, gt, gte); those the index can answer (``eq`` on a
        prefix of its fields, then bounds on the next one) become its range,
        so only matching rows are read. Answers ``{"page", "isDone",
        "continueCursor", "ts"}``. System tables are readable; their secrets
        (sign-in password and token hashes, OAuth verifiers) read
        ``"[redacted]"``; they cannot be filtered on, nor pages read in the
        order of an index on them (a cursor holds its last row's index key).
    ``POST /api/admin/tables/{table}/documents`` ``{"value": {...}}``
        Inserts a document (creating the table); answers ``{"id"}``.
    ``GET|PATCH|PUT|DELETE /api/admin/documents/{id}``
        Read (``{"document"}``, null if none), patch (shallow merge of
        ``{"value"}``), replace (``{"value"}``) or delete a document of a user
        table; writes answer ``{"document"}`` as it is after the write.
    ``GET /api/admin/changes?since=<ts>&tables=a,b&wait=<seconds>``
        Long poll (at most 60 s): ``{"ts", "tables"}`` once a commit after
        ``since`` touches one of ``tables`` (any table if omitted), or at the
        timeout with ``tables: []``; ``tables: null`` means "could not tell,
        read again". Continue with ``since=ts``.

Functions
    ``GET /api/admin/functions``
        ``{"functions": [{"path", "kind", "visibility", "args", "returns"}],
        "httpRoutes": [{"method", "path"}]}``; validators in Convex's JSON form
        (null: none declared). Running any function, internal ones included,
        is ``POST /api/function`` with the admin key (``format:
        "convex_encoded_json"``), which answers the value and the log lines.

Files
    ``GET /api/admin/storage?cursor=&numItems=``
        A page of ``_storage`` rows, newest first, each with its ``url``.
    ``POST /api/admin/storage``
        The body is the file (``Content-Type`` is kept); answers ``{"storageId"}``.
    ``DELETE /api/admin/storage/{id}``
        Deletes the file (row and bytes).

Scheduler
    ``POST /api/admin/scheduled_functions/{id}/cancel``
        Cancels the job as ``ctx.scheduler.cancel`` does (in a transaction of
        its own, like an action): a pending job will not run; a running
        action finishes, but what it schedules from then on is created
        canceled; finished jobs are left as they are. Answers ``{"job"}``
        (404 ``ScheduledFunctionNotFound`` for a job that does not exist).
        Jobs are read with the documents endpoint on ``_scheduled_functions``
        (the index ``by_state_scheduled_time`` with a ``state.kind`` filter
        lists one state in time order).
    ``GET /api/admin/cron_jobs``
        ``{"cronJobs": [row + {"schedule"}], "ts"}``: the ``_cron_jobs`` rows
        by name (``spec``, ``nextRun``, ``state``, ``lastRun``,
        ``lastResult``), each with its schedule in words.

Environment variables (``/api/admin/env``) and the function-run log
(``/api/admin/logs``) are served by :mod:`pyconvex.server.admin`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.database import admin as data
from pyconvex.database.catalog import BY_CREATION_TIME
from pyconvex.errors import PyConvexError
from pyconvex.functions.cron import describe_schedule
from pyconvex.functions.job_runner import CRON_JOBS
from pyconvex.functions.scheduler import SCHEDULED_FUNCTIONS, ActionScheduler
from pyconvex.functions.storage import STORAGE_TABLE, StorageError
from pyconvex.server.admin import require_admin
from pyconvex.server.changes import ChangeFeed
from pyconvex.server.errors import RequestError
from pyconvex.signin.store import SECRET_FIELDS
from pyconvex.values.ids import decode_id
from pyconvex.values.json import decode_json, encode_json

__all__ = ["REDACTED", "routes"]

#: What a secret field of a system table reads as.
REDACTED = "[redacted]"

_Handler = Callable[[Request], Awaitable[Any]]
_MAX_WAIT_SECONDS = 60.0
_MAX_PAGE = 1000


def routes(backend: Backend, feed: ChangeFeed | None = None) -> list[Route]:
    """The dashboard's admin routes for ``backend`` (``feed``: the change feed to use)."""
    api = _DashboardApi(backend, feed or ChangeFeed(backend.database))
    guard = api.guard
    return [
        Route("/api/admin/tables", guard(api.tables), methods=["GET"]),
        Route(
            "/api/admin/tables/{table}/documents",
            guard(api.table_documents),
            methods=["GET", "POST"],
        ),
        Route(
            "/api/admin/documents/{id}",
            guard(api.document),
            methods=["GET", "PATCH", "PUT", "DELETE"],
        ),
        Route("/api/admin/changes", guard(api.changes), methods=["GET"]),
        Route("/api/admin/functions", guard(api.functions), methods=["GET"]),
        Route("/api/admin/storage", guard(api.storage), methods=["GET", "POST"]),
        Route("/api/admin/storage/{id}", guard(api.delete_file), methods=["DELETE"]),
        Route(
            "/api/admin/scheduled_functions/{id}/cancel",
            guard(api.cancel_job),
            methods=["POST"],
        ),
        Route("/api/admin/cron_jobs", guard(api.cron_jobs), methods=["GET"]),
    ]


class _DashboardApi:
    def __init__(self, backend: Backend, feed: ChangeFeed) -> None:
        self.backend = backend
        self.feed = feed

    @property
    def database(self) -> Any:
        return self.backend.database

    def guard(self, handler: _Handler) -> Callable[[Request], Awaitable[Response]]:
        """Check the admin key, answer JSON, and turn refusals into ``{"code", "message"}``."""

        async def endpoint(request: Request) -> Response:
            try:
                require_admin(request, self.backend)
                result = await handler(request)
            except RequestError as error:
                return error.response()
            except PyConvexError as error:
                return JSONResponse({"code": error.short, "message": error.message}, 400)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    # -- data ---------------------------------------------------------------

    async def tables(self, request: Request) -> Any:
        include_system = request.query_params.get("system") in ("1", "true")
        tables = await asyncio.to_thread(
            data.list_tables, self.database, include_system=include_system
        )
        schema = self.database.state.schema
        return {"tables": tables, "schema": schema.to_json() if schema else None}

    async def table_documents(self, request: Request) -> Any:
        table = request.path_params["table"]
        if request.method == "POST":
            value = _document_value(await _json_body(request))
            document_id = await asyncio.to_thread(data.insert_document, self.database, table, value)
            return {"id": document_id}
        return await self._page(table, request)

    async def _page(self, table: str, request: Request) -> Any:
        params = request.query_params
        order = params.get("order") or "desc"
        if order not in ("asc", "desc"):
            raise RequestError(400, "BadRequest", 'order must be "asc" or "desc"')
        index = params.get("index") or BY_CREATION_TIME
        filters = _filters(params.get("filters"))
        self._refuse_secrets(table, index, filters)
        page = await asyncio.to_thread(
            data.page_documents,
            self.database,
            table,
            index=index,
            order=order,
            cursor=params.get("cursor") or None,
            num_items=_whole(params.get("numItems"), "numItems", 50, 1, _MAX_PAGE),
            filters=filters,
        )
        rows = [encode_json(_redacted(table, d)) for d in page["page"]]
        return {**page, "page": rows, "ts": str(page["ts"])}

    def _refuse_secrets(self, table: str, index: str, filters: list[data.FieldFilter]) -> None:
        """Refuse reads that would reveal a secret field of a system table.

        Filters on it would let one guess it; paging an index on it would hand
        it out in the cursor (which holds the index key of the page's last row).
        """
        secret = SECRET_FIELDS.get(table)
        if not secret:
            return
        info = self.database.state.catalog.table(table)
        indexed = info.indexes[index].fields if info is not None and index in info.indexes else ()
        for field, use in [
            *((f.field, "filtered on") for f in filters),
            *((f, "sorted by") for f in indexed),
        ]:
            if field.partition(".")[0] in secret:
                raise RequestError(
                    400, "BadRequest", f"{table}.{field} is secret: it cannot be {use}"
                )

    async def document(self, request: Request) -> Any:
        document_id = request.path_params["id"]
        if request.method != "GET":
            if request.method == "DELETE":
                await asyncio.to_thread(data.delete_document, self.database, document_id)
                return {"document": None}
            value = _document_value(await _json_body(request))
            write = data.patch_document if request.method == "PATCH" else data.replace_document
            await asyncio.to_thread(write, self.database, document_id, value)
        transaction = self.database.begin(writable=False)
        table = _table_of(transaction, document_id)
        try:
            found = transaction.get(document_id, system=table.startswith("_"))
        except PyConvexError:
            found = None
        return {"document": encode_json(_redacted(table, found)) if found is not None else None}

    async def changes(self, request: Request) -> Any:
        params = request.query_params
        since = _whole(params.get("since"), "since", 0, 0, None)
        wait = min(_number(params.get("wait"), "wait", 0.0), _MAX_WAIT_SECONDS)
        raw_tables = params.get("tables")
        tables = {t for t in raw_tables.split(",") if t} if raw_tables else None
        if wait > 0:
            ts, changed = await self.feed.wait(since, tables, wait)
        else:
            ts, changed = self.feed.changed(since, tables)
        return {"ts": str(ts), "tables": changed}

    # -- functions ----------------------------------------------------------

    async def functions(self, request: Request) -> Any:
        functions = [
            {
                "path": path,
                "kind": definition.kind.value,
                "visibility": "internal" if definition.internal else "public",
                "args": definition.args.to_json() if definition.args is not None else None,
                "returns": definition.returns.to_json() if definition.returns is not None else None,
            }
            for path, definition in self.backend.registry.items()
        ]
        router = self.backend.http_router
        http_routes = [
            {"method": route.method, "path": route.pattern}
            for route in (router.routes() if router is not None else [])
        ]
        return {"functions": functions, "httpRoutes": http_routes}

    # -- files ----------------------------------------------------------------

    async def storage(self, request: Request) -> Any:
        files = self.backend.files
        if request.method == "POST":
            content_type = request.headers.get("content-type") or None
            try:
                declared = request.headers.get("content-length", "")
                if declared.isdigit():
                    files.check_size(int(declared))  # refuse before reading a byte
                storage_id = await files.store_stream(request.stream(), content_type)
            except StorageError as error:
                status = 413 if error.code == "FileTooLarge" else 400
                raise RequestError(status, error.code, error.message) from None
            return {"storageId": storage_id}
        params = request.query_params
        page = await asyncio.to_thread(
            data.page_documents,
            self.database,
            STORAGE_TABLE,
            cursor=params.get("cursor") or None,
            num_items=_whole(params.get("numItems"), "numItems", 50, 1, _MAX_PAGE),
        )
        rows = [{**encode_json(row), "url": files.url(str(row["_id"]))} for row in page["page"]]
        return {**page, "page": rows, "ts": str(page["ts"])}

    async def delete_file(self, request: Request) -> Any:
        storage_id = request.path_params["id"]
        files = self.backend.files

        def delete(transaction: Any) -> None:
            if files.row(transaction, storage_id) is None:
                raise RequestError(404, "FileNotFound", f"File {storage_id} not found")
            files.delete_row(transaction, storage_id)

        await asyncio.to_thread(data.write_with_retries, self.database, delete)
        return {"deleted": storage_id}

    # -- scheduler --------------------------------------------------------------

    async def cancel_job(self, request: Request) -> Any:
        job_id = request.path_params["id"]
        if _job(self.database, job_id) is None:
            raise RequestError(
                404, "ScheduledFunctionNotFound", f'Scheduled function "{job_id}" not found'
            )
        # The scheduler's own cancel, in a transaction of its own (as from an action).
        scheduler = ActionScheduler(
            self.database, self.backend.registry, parent_job=None, sync=True
        )
        await asyncio.to_thread(scheduler.cancel, job_id)
        return {"job": encode_json(_job(self.database, job_id))}

    async def cron_jobs(self, request: Request) -> Any:
        page = await asyncio.to_thread(
            data.page_documents,
            self.database,
            CRON_JOBS,
            index="by_name",
            order="asc",
            num_items=_MAX_PAGE,
        )
        rows = [
            {**encode_json(row), "schedule": describe_schedule(row["spec"], str(row["name"]))}
            for row in page["page"]
        ]
        return {"cronJobs": rows, "ts": str(page["ts"])}


def _table_of(transaction: Any, document_id: str) -> str:
    name = transaction.table_name_for_id(document_id)
    return str(name) if name else ""


def _redacted(table: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its secret fields (if any in ``table``) replaced by :data:`REDACTED`."""
    secret = SECRET_FIELDS.get(table)
    if not secret:
        return document
    return {name: REDACTED if name in secret else value for name, value in document.items()}


def _job(database: Any, job_id: str) -> dict[str, Any] | None:
    """A ``_scheduled_functions`` row (None: none with this ID, or not a job's ID)."""
    transaction = database.begin(writable=False)
    table = transaction.table(SCHEDULED_FUNCTIONS)
    try:
        number, _ = decode_id(job_id)
    except PyConvexError:
        return None
    if table is None or number != table.number:
        return None
    row: dict[str, Any] | None = transaction.get(job_id, system=True)
    return row


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, "BadJsonBody", f"Failed to parse JSON body: {error}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "BadJsonBody", "The request body must be a JSON object")
    return body


def _document_value(body: dict[str, Any]) -> dict[str, Any]:
    value = decode_json(body.get("value"))
    if not isinstance(value, dict):
        raise RequestError(400, "BadJsonBody", 'Expected {"value": {...}}: a document object')
    return value


def _filters(raw: str | None) -> list[data.FieldFilter]:
    if not raw:
        return []
    try:
        items = json.loads(raw)
        return [
            data.FieldFilter(str(item["field"]), str(item["op"]), decode_json(item.get("value")))
            for item in items
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise RequestError(
            400,
            "BadRequest",
            'filters must be a JSON list of {"field", "op", "value"}: ' + str(error),
        ) from None


def _whole(raw: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(400, "BadRequest", f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RequestError(400, "BadRequest", f"{name} must be {bounds}")
    return value


def _number(raw: str | None, name: str, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise RequestError(400, "BadRequest", f"{name} must be a number") from None
