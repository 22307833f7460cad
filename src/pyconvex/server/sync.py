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
import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import pyconvex.knobs as knobs
from pyconvex.application import Backend
from pyconvex.auth.errors import AuthenticationError
from pyconvex.clock import SystemClock
from pyconvex.database.write_log import CommitRecord
from pyconvex.functions.console import log_lines_of
from pyconvex.functions.references import canonical_path
from pyconvex.protocol.messages import (
    Connect,
    ProtocolError,
    accepts_transition_chunks,
    encode_ts,
    parse_client_message,
    split_transition,
)
from pyconvex.protocol.session import (
    QueryOutcome,
    QueryState,
    RunAction,
    RunMutation,
    SyncSession,
    UpdateNeeded,
    VerifyAuth,
)
from pyconvex.server.auth import acting_identity
from pyconvex.server.errors import RequestError, describe_function_error
from pyconvex.server.query_cache import QueryCache
from pyconvex.server.subscriptions import Subscriptions
from pyconvex.values.json import decode_json, encode_json

__all__ = ["SyncHub", "routes"]

PING_AFTER_SECONDS = 15.0
#: Close code for our own failures (protocol.md 3.11): the clients reconnect and replay.
CLOSE_INTERNAL_ERROR = 1011
# serverTs is real time (clients time transit with it), never the injected clock.
_CLOCK = SystemClock()
_log = logging.getLogger("pyconvex.sync")


def routes(hub: SyncHub) -> list[WebSocketRoute]:
    """The sync endpoints of ``hub``."""
    return [
        WebSocketRoute("/api/sync", hub.endpoint),
        WebSocketRoute("/api/{version}/sync", hub.endpoint),
    ]


class SyncHub:
    """Every live sync connection of one backend; fans commits out to them."""

    def __init__(self, backend: Backend, *, production: bool = False) -> None:
        self.backend = backend
        self.production = production
        self.connections: set[_Connection] = set()
        self.cache = QueryCache(write_log=backend.database.committer.write_log)
        self.subscriptions: Subscriptions[_Connection] = Subscriptions()
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
            self.subscriptions.drop_connection(connection)

    def _on_commit_thread(self, records: Sequence[CommitRecord]) -> None:
        # Called on the committer thread: hand over to the event loop.
        loop = self._loop
        if loop is not None and not loop.is_closed() and self.connections:
            loop.call_soon_threadsafe(self._on_commit, records)

    def _on_commit(self, records: Sequence[CommitRecord]) -> None:
        touched = [(t.index_id, t.key) for record in records for t in record.touched]
        if records:
            self.cache.on_commit(records)
        for connection, query_id in self.subscriptions.invalidate(touched):
            connection.session.mark_dirty(query_id)
            connection.request_update()


class _Connection:
    def __init__(self, hub: SyncHub, websocket: WebSocket) -> None:
        self.hub = hub
        self.websocket = websocket
        self._chunks_ok = accepts_transition_chunks(websocket.path_params.get("version"))
        self._transitions_sent = 0
        self.session = SyncSession()
        self.executor = hub.backend.executor
        self.database = hub.backend.database
        self.admin = False
        #: When the user's token expires (seconds since the epoch; None: no user token).
        self.expires_at: float | None = None
        self._update_wanted = asyncio.Event()
        self._mutations: asyncio.Queue[RunMutation] = asyncio.Queue(knobs.SYNC_QUEUED_MUTATIONS_MAX)
        #: While a mutation runs: the newest ts when it began. Its commit is above it,
        #: and no Transition may reach that commit before its MutationResponse is sent.
        self._mutation_floor: int | None = None
        self._mutation_answered = asyncio.Event()
        self._mutation_answered.set()
        self._send_lock = asyncio.Lock()
        self._last_sent = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._keyed_identity: tuple[Any, str] = (None, "null")

    async def serve(self) -> None:
        await self.websocket.accept()
        workers = [
            asyncio.create_task(self._updater()),
            asyncio.create_task(self._mutation_runner()),
            asyncio.create_task(self._pinger()),
        ]
        for worker in workers:
            worker.add_done_callback(self._worker_done)
        try:
            while True:
                text = await self.websocket.receive_text()
                if not await self._handle(text):
                    break
        except WebSocketDisconnect:
            pass
        except Exception:
            # A bug of ours, not the client's: say so with the close code the
            # clients answer by reconnecting (and replaying pending mutations).
            _log.exception("sync connection failed")
            await self._close(CLOSE_INTERNAL_ERROR, "InternalServerError")
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
                # Backpressure: with the queue full, stop reading this socket
                # until a mutation finishes (TCP then slows the client down).
                await self._mutations.put(effect)
            elif isinstance(effect, RunAction):
                self._spawn(self._run_action(effect))
            elif isinstance(effect, VerifyAuth) and not await self._authenticate(effect):
                return False
        return True

    def _worker_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or self._closed:
            return
        error = task.exception()
        if error is None:
            return  # ended on purpose (an expired token closes the connection)
        _log.error("sync connection worker failed", exc_info=error)
        self._spawn(self._close(CLOSE_INTERNAL_ERROR, "InternalServerError"))

    async def _close(self, code: int, reason: str) -> None:
        # Convex closes with the error's short name as the reason (at most 123 bytes).
        self._closed = True
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code, reason[:123])

    def request_update(self) -> None:
        self._update_wanted.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- auth -------------------------------------------------------------

    async def _authenticate(self, effect: VerifyAuth) -> bool:
        backend = self.hub.backend
        expires_at: float | None = None
        identity: dict[str, Any] | None = None
        try:
            if effect.token_type == "User":
                verified = await backend.auth.verify(effect.value or "")
                identity, expires_at = verified.identity, verified.expires_at
            elif effect.token_type == "Admin":
                if not backend.check_admin_key((effect.value or "").partition(":")[0]):
                    raise AuthenticationError(
                        "BadAdminKey", "The provided admin key was invalid for this instance"
                    )
                if effect.acting_as is not None:
                    identity = acting_identity(effect.acting_as)
            elif effect.token_type != "None":
                raise AuthenticationError(
                    "InvalidAuthHeader", f"Unknown token type {effect.token_type!r}"
                )
        except (AuthenticationError, RequestError) as error:
            # Refused, not downgraded: the client fetches a fresh token and reconnects.
            await self._auth_error(error.message, effect.base_version, attempted=True)
            return False
        self.admin = effect.token_type == "Admin"
        self.expires_at = expires_at
        self._apply(self.session.set_identity(identity))
        return True

    def _expired(self) -> bool:
        return self.expires_at is not None and self.hub.backend.auth.now() >= self.expires_at

    async def _expire(self) -> None:
        # Convex checks the session's token before every update and function run.
        await self._auth_error(
            "Convex token identity expired", self.session.sent.identity, attempted=False
        )

    async def _auth_error(self, message: str, base_version: int, *, attempted: bool) -> None:
        await self._send(
            {
                "type": "AuthError",
                "error": message,
                "baseVersion": base_version,
                "authUpdateAttempted": attempted,
            }
        )
        self._closed = True
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close()

    def _apply(self, effects: list[Any]) -> None:
        if any(isinstance(effect, UpdateNeeded) for effect in effects):
            self.request_update()

    # -- mutations and actions --------------------------------------------------

    async def _mutation_runner(self) -> None:
        while True:
            mutation = await self._mutations.get()
            if self._expired():
                await self._expire()
                return
            self._mutation_floor = self.database.latest_ts
            self._mutation_answered.clear()
            try:
                response, commit_ts = await self._run_mutation(mutation)
                await self._send(response)
            finally:
                self._mutation_floor = None
                self._mutation_answered.set()
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
        if self._expired():
            await self._expire()
            return
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
        message, data, has_data = describe_function_error(error, production=self._hide_details())
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
        return [] if self._hide_details() else lines

    def _hide_details(self) -> bool:
        # Production hides log lines and error details from users, not from the admin.
        return self.hub.production and not self.admin

    # -- updates --------------------------------------------------------------

    async def _updater(self) -> None:
        while True:
            await self._update_wanted.wait()
            self._update_wanted.clear()
            if self._expired():
                await self._expire()
                return
            ts = self.database.latest_ts
            if not self.session.needs_update(ts):
                continue
            # A Transition that showed a running mutation's commit before its
            # MutationResponse would make the client count its optimistic update
            # on top of the mutation's effect: stop short of the mutation.
            floor = self._mutation_floor
            capped = floor is not None and floor < ts
            if floor is not None and capped:
                ts = floor
            planned = self.session.plan_update()
            outcomes = await self._outcomes(planned, ts)
            transition = self.session.finish_update(ts, outcomes)
            self._watch(planned)
            if transition is not None:
                transition.server_ts = _CLOCK.now_ns()  # clients time transit with it
                await self._send_transition(transition.encode())
            self._recheck(planned, ts)
            if capped:
                await self._mutation_answered.wait()  # then the update goes all the way

    async def _outcomes(self, planned: list[QueryState], ts: int) -> dict[int, QueryOutcome]:
        # Results other subscribers already computed come straight from the
        # cache; only the rest run (concurrently, at the same snapshot).
        outcomes: dict[int, QueryOutcome] = {}
        missing: list[QueryState] = []
        for query in planned:
            cached = self.hub.cache.peek(self._cache_key(query), ts)
            if cached is None:
                missing.append(query)
            else:
                outcomes[query.query_id] = cached
        if len(missing) == 1:
            outcomes[missing[0].query_id] = await self._run_query(missing[0], ts)
        elif missing:
            ran = await asyncio.gather(*(self._run_query(q, ts) for q in missing))
            outcomes.update(zip([q.query_id for q in missing], ran))
        return outcomes

    def _cache_key(self, query: QueryState) -> tuple[Any, ...]:
        return (query.udf_path, query.args_key, self._identity_key(), self.admin, query.journal)

    def _identity_key(self) -> str:
        # Serialised once per identity change, not once per query run.
        identity = self.session.identity
        if identity is not self._keyed_identity[0]:
            text = json.dumps(identity, sort_keys=True, default=str)
            self._keyed_identity = (identity, text)
        return self._keyed_identity[1]

    async def _run_query(self, query: QueryState, ts: int) -> QueryOutcome:
        return await self.hub.cache.get(
            self._cache_key(query), ts, lambda at: self._execute_query(query, at)
        )

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
            message, data, has_data = describe_function_error(
                error, production=self._hide_details()
            )
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

    def _watch(self, planned: list[QueryState]) -> None:
        subscriptions = self.hub.subscriptions
        live = self.session.queries
        for query in planned:
            if query.query_id in live:
                subscriptions.register(self, query.query_id, query.read_set)
        for query_id in subscriptions.watched(self):
            if query_id not in live:
                subscriptions.unregister(self, query_id)  # removed from the query set

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
        await self._send_text(json.dumps(message, separators=(",", ":"), allow_nan=False))

    async def _send_transition(self, text: str) -> None:
        limit = knobs.SYNC_TRANSITION_CHUNK_BYTES
        # (A character is at most 4 bytes: short texts skip the encoding.)
        if not self._chunks_ok or len(text) <= limit // 4 or len(text.encode()) <= limit:
            await self._send_text(text)
            return
        self._transitions_sent += 1
        transition_id = f"{len(text)}-{self._transitions_sent}"
        await self._send_text(*split_transition(text, limit, transition_id))

    async def _send_text(self, *texts: str) -> None:
        # Several texts go out back to back: a client drops a half-reassembled
        # Transition when any other message comes between its chunks.
        if self._closed:
            return
        async with self._send_lock:
            try:
                for text in texts:
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
            if self._expired():
                self.request_update()  # the updater refuses it, even on an idle connection


def _call(udf_path: str, raw_args: Any) -> tuple[str, dict[str, Any]]:
    path = canonical_path(udf_path)
    if isinstance(raw_args, list):
        raw_args = raw_args[0] if raw_args else {}
    args = decode_json(raw_args) if raw_args is not None else {}
    if not isinstance(args, dict):
        raise ValueError("Function arguments must be an object")
    return path, args
