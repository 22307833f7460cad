"""The WebSocket sync endpoint: pumps frames through :class:`SyncSession` and runs effects.

``/api/sync`` (Python/Rust clients) and ``/api/{version}/sync`` (JS clients).
Per connection:

* mutations run one at a time, in arrival order; each is followed by a
  MutationResponse and then a Transition at or after its commit ts, so
  ``await mutation()`` returns when every subscribed query already shows it;
* actions run concurrently and answer with an ActionResponse;
* an update (coalesced, one at a time) runs the dirty queries at one snapshot,
  the newest durable ts, and sends one Transition moving all results there;
* a ``{"type": "Ping"}`` after 15 s without sending anything.

The hub hears every commit batch from the committer and marks the queries whose
read sets it touched. After each update the fresh read sets are also checked
against commits that landed after their snapshot, so no change is ever missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from pyconvex.application import Backend
from pyconvex.database.write_log import CommitRecord
from pyconvex.functions.console import log_lines_of
from pyconvex.functions.references import canonical_path
from pyconvex.protocol.messages import Connect, ProtocolError, encode_ts, parse_client_message
from pyconvex.protocol.session import (
    QueryOutcome,
    QueryState,
    RunAction,
    RunMutation,
    SyncSession,
    UpdateNeeded,
    VerifyAuth,
)
from pyconvex.server.errors import describe_function_error
from pyconvex.values.json import decode_json, encode_json

__all__ = ["SyncHub", "routes"]

PING_AFTER_SECONDS = 15.0
_MUTATION_QUEUE = 1000


def routes(hub: SyncHub) -> list[WebSocketRoute]:
    """The sync endpoints of ``hub``."""
    return [
        WebSocketRoute("/api/sync", hub.endpoint),
        WebSocketRoute("/api/{version}/sync", hub.endpoint),
    ]


class QueryCache:
    """Query results shared by every connection: one execution per invalidating write.

    An entry is a result computed at snapshot ``ts`` with its read set, and it
    stays valid through ``valid_through``: every commit batch that does not touch
    its read set extends it, one that does drops it. A request for a key at
    snapshot ``T`` is served from an entry valid through ``T``; concurrent
    requests for the same key and snapshot share one run.

    Invariant: an entry's result is exactly what a run at any ts in
    ``[entry.ts, entry.valid_through]`` would return.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._running: dict[tuple[Any, ...], tuple[int, asyncio.Future[QueryOutcome]]] = {}
        self._max_entries = max_entries
        self.executions = 0

    async def get(self, key: tuple[Any, ...], ts: int, run: Any) -> QueryOutcome:
        """The outcome of ``key`` at snapshot ``ts``, running ``run(ts)`` only if needed."""
        entry = self._entries.get(key)
        if entry is not None and entry.ts <= ts <= entry.valid_through:
            return entry.outcome
        running = self._running.get(key)
        if running is not None and running[0] == ts:
            return await asyncio.shield(running[1])
        future: asyncio.Future[QueryOutcome] = asyncio.get_running_loop().create_future()
        self._running[key] = (ts, future)
        try:
            self.executions += 1
            outcome: QueryOutcome = await run(ts)
            future.set_result(outcome)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it
            raise
        finally:
            if self._running.get(key, (None, None))[1] is future:
                del self._running[key]
        if outcome.read_set is not None and outcome.error_message is None:
            if len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = _Entry(ts, ts, outcome)
        return outcome

    def on_commit(self, touched: list[tuple[int, bytes]], batch_ts: int) -> None:
        """Drop entries a commit batch touched; extend the others through ``batch_ts``."""
        for key, entry in list(self._entries.items()):
            read_set = entry.outcome.read_set
            if any(read_set.contains(index_id, k) for index_id, k in touched):
                del self._entries[key]
            else:
                entry.valid_through = max(entry.valid_through, batch_ts)


class _Entry:
    __slots__ = ("ts", "valid_through", "outcome")

    def __init__(self, ts: int, valid_through: int, outcome: QueryOutcome) -> None:
        self.ts = ts
        self.valid_through = valid_through
        self.outcome = outcome


class SyncHub:
    """Every live sync connection of one backend; fans commits out to them."""

    def __init__(self, backend: Backend, *, production: bool = False) -> None:
        self.backend = backend
        self.production = production
        self.connections: set[_Connection] = set()
        self.cache = QueryCache()
        self._loop: asyncio.AbstractEventLoop | None = None
        backend.database.add_commit_listener(self._on_commit_thread)

    async def endpoint(self, websocket: WebSocket) -> None:
        """Serve one WebSocket until it closes."""
        self._loop = asyncio.get_running_loop()
        connection = _Connection(self, websocket)
        self.connections.add(connection)
        try:
            await connection.serve()
        finally:
            self.connections.discard(connection)

    def _on_commit_thread(self, records: Sequence[CommitRecord]) -> None:
        # Called on the committer thread: hand over to the event loop.
        loop = self._loop
        if loop is not None and not loop.is_closed() and self.connections:
            loop.call_soon_threadsafe(self._on_commit, records)

    def _on_commit(self, records: Sequence[CommitRecord]) -> None:
        touched = [(t.index_id, t.key) for record in records for t in record.touched]
        if records:
            self.cache.on_commit(touched, records[-1].ts)
        for connection in list(self.connections):
            if connection.session.invalidate(touched):
                connection.request_update()


class _Connection:
    def __init__(self, hub: SyncHub, websocket: WebSocket) -> None:
        self.hub = hub
        self.websocket = websocket
        self.session = SyncSession()
        self.executor = hub.backend.executor
        self.database = hub.backend.database
        self.admin = False
        self._update_wanted = asyncio.Event()
        self._mutations: asyncio.Queue[RunMutation] = asyncio.Queue(_MUTATION_QUEUE)
        self._send_lock = asyncio.Lock()
        self._last_sent = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    async def serve(self) -> None:
        await self.websocket.accept()
        workers = [
            asyncio.create_task(self._updater()),
            asyncio.create_task(self._mutation_runner()),
            asyncio.create_task(self._pinger()),
        ]
        try:
            while True:
                text = await self.websocket.receive_text()
                if not await self._handle(text):
                    break
        except WebSocketDisconnect:
            pass
        finally:
            self._closed = True
            for task in [*workers, *self._tasks]:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _handle(self, text: str) -> bool:
        try:
            message = parse_client_message(json.loads(text))
            if isinstance(message, Connect) and message.max_observed_ts:
                # Reconnected from another node: never answer from an older snapshot.
                await self.database.caught_up(message.max_observed_ts)
            effects = self.session.receive(message)
        except (ProtocolError, ValueError) as error:
            await self._send({"type": "FatalError", "error": str(error)})
            await self.websocket.close()
            return False
        for effect in effects:
            if isinstance(effect, UpdateNeeded):
                self.request_update()
            elif isinstance(effect, RunMutation):
                if self._mutations.full():
                    await self._send({"type": "FatalError", "error": "Too many queued mutations"})
                    await self.websocket.close()
                    return False
                self._mutations.put_nowait(effect)
            elif isinstance(effect, RunAction):
                self._spawn(self._run_action(effect))
            elif isinstance(effect, VerifyAuth) and not await self._authenticate(effect):
                return False
        return True

    def request_update(self) -> None:
        self._update_wanted.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- auth -------------------------------------------------------------

    async def _authenticate(self, effect: VerifyAuth) -> bool:
        if effect.token_type == "None":
            self.admin = False
            self._apply(self.session.set_identity(None))
            return True
        if effect.token_type == "Admin" and self.hub.backend.check_admin_key(effect.value or ""):
            self.admin = True
            self._apply(self.session.set_identity(None))
            return True
        await self._send(
            {
                "type": "AuthError",
                "error": "No auth provider found matching the given token. Check that your "
                "JWT's issuer and audience match one of your configured providers: []",
                "baseVersion": effect.base_version,
                "authUpdateAttempted": True,
            }
        )
        await self.websocket.close()
        return False

    def _apply(self, effects: list[Any]) -> None:
        if any(isinstance(effect, UpdateNeeded) for effect in effects):
            self.request_update()

    # -- mutations and actions --------------------------------------------------

    async def _mutation_runner(self) -> None:
        while True:
            mutation = await self._mutations.get()
            response, commit_ts = await self._run_mutation(mutation)
            await self._send(response)
            self._apply(self.session.mutation_done(commit_ts))

    async def _run_mutation(self, mutation: RunMutation) -> tuple[dict[str, Any], int | None]:
        try:
            path, args = _call(mutation.udf_path, mutation.args)
            request = (
                (self.session.session_id, mutation.request_id)
                if self.session.session_id is not None
                else None
            )
            result = await self.executor.run_mutation(
                path,
                args,
                identity=self.session.identity,
                allow_internal=self.admin,
                request=request,
            )
        except Exception as error:
            return self._failure("MutationResponse", mutation.request_id, error), None
        response = {
            "type": "MutationResponse",
            "requestId": mutation.request_id,
            "success": True,
            "result": encode_json(result.value),
            "ts": encode_ts(result.ts),
            "logLines": self._lines(result.log_lines),
        }
        return response, result.ts

    async def _run_action(self, action: RunAction) -> None:
        try:
            path, args = _call(action.udf_path, action.args)
            result = await self.executor.run_action(
                path, args, identity=self.session.identity, allow_internal=self.admin
            )
            response: dict[str, Any] = {
                "type": "ActionResponse",
                "requestId": action.request_id,
                "success": True,
                "result": encode_json(result.value),
                "logLines": self._lines(result.log_lines),
            }
        except Exception as error:
            response = self._failure("ActionResponse", action.request_id, error)
        await self._send(response)
        self._apply(self.session.mutation_done(None))  # it may have run mutations

    def _failure(self, kind: str, request_id: int, error: Exception) -> dict[str, Any]:
        message, data, has_data = describe_function_error(error, production=self.hub.production)
        response: dict[str, Any] = {
            "type": kind,
            "requestId": request_id,
            "success": False,
            "result": message,
            "logLines": self._lines(log_lines_of(error)),
        }
        if kind == "MutationResponse":
            response["ts"] = None
        if has_data:
            response["errorData"] = data
        return response

    def _lines(self, lines: list[str]) -> list[str]:
        return [] if self.hub.production else lines

    # -- updates --------------------------------------------------------------

    async def _updater(self) -> None:
        while True:
            await self._update_wanted.wait()
            self._update_wanted.clear()
            ts = self.database.latest_ts
            if not self.session.needs_update(ts):
                continue
            planned = self.session.plan_update()
            outcomes = await asyncio.gather(*(self._run_query(q, ts) for q in planned))
            transition = self.session.finish_update(
                ts, dict(zip([q.query_id for q in planned], outcomes))
            )
            if transition is not None:
                transition["serverTs"] = _real_time_ns()  # clients time transit with it
                await self._send(transition)
            self._recheck(planned, ts)

    async def _run_query(self, query: QueryState, ts: int) -> QueryOutcome:
        key = (
            query.udf_path,
            json.dumps(query.args, sort_keys=True),
            json.dumps(self.session.identity, sort_keys=True, default=str),
            self.admin,
            query.journal,
        )
        return await self.hub.cache.get(key, ts, lambda at: self._execute_query(query, at))

    async def _execute_query(self, query: QueryState, ts: int) -> QueryOutcome:
        try:
            path, args = _call(query.udf_path, query.args)
            result = await self.executor.run_query(
                path,
                args,
                identity=self.session.identity,
                ts=ts,
                allow_internal=self.admin,
                journal=query.journal,
            )
        except Exception as error:
            message, data, has_data = describe_function_error(error, production=self.hub.production)
            return QueryOutcome(
                log_lines=self._lines(log_lines_of(error)),
                journal=query.journal,
                read_set=getattr(error, "__pyconvex_read_set__", None),
                error_message=message,
                error_data=data,
                has_error_data=has_data,
            )
        return QueryOutcome(
            value=encode_json(result.value),
            log_lines=self._lines(result.log_lines),
            journal=result.journal,
            read_set=result.read_set,
        )

    def _recheck(self, planned: list[QueryState], ts: int) -> None:
        # Commits that landed after ``ts`` were announced against the previous
        # read sets; check them against the new ones.
        write_log = self.database.committer.write_log
        for query in planned:
            if query.read_set is not None and write_log.find_conflict(query.read_set, ts):
                self.session.mark_dirty(query.query_id)
                self.request_update()

    # -- sending ----------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closed:
            return
        text = json.dumps(message, separators=(",", ":"), allow_nan=False)
        async with self._send_lock:
            try:
                await self.websocket.send_text(text)
            except Exception:  # the socket is gone; the receive loop will end
                self._closed = True
                return
            self._last_sent = time.monotonic()

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(PING_AFTER_SECONDS / 3)
            if time.monotonic() - self._last_sent >= PING_AFTER_SECONDS:
                await self._send({"type": "Ping"})


def _real_time_ns() -> int:
    # The real clock: this runs outside any function, but stay explicit.
    from pyconvex.clock import SystemClock

    return SystemClock().now_ns()


def _call(udf_path: str, raw_args: Any) -> tuple[str, dict[str, Any]]:
    path = canonical_path(udf_path)
    if isinstance(raw_args, list):
        raw_args = raw_args[0] if raw_args else {}
    args = decode_json(raw_args) if raw_args is not None else {}
    if not isinstance(args, dict):
        raise ValueError("Function arguments must be an object")
    return path, args
