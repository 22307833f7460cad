"""The executor: runs queries, mutations and actions with Convex's guarantees.

* A query runs in a read-only transaction at one snapshot and returns its
  value together with its read set (for caching and subscriptions).
* A mutation runs in a read-write transaction that commits atomically; on an
  OCC conflict it is re-run from scratch with jittered exponential backoff, and
  after the last retry fails with ``OptimisticConcurrencyControlFailure``.
* ``ctx.run_query``/``ctx.run_mutation`` inside a query or mutation run on the
  same transaction; a nested mutation is a sub-transaction whose writes roll
  back alone if it raises.
* An action runs outside any transaction; each of its calls is its own.

Handlers run on worker threads (:mod:`pyconvex.functions.workers`), inside the
determinism guard for queries and mutations, with the user-code time limit
enforced by a watchdog.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any, Protocol, TypeVar

import pyconvex.knobs as knobs
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.readset import ReadSet
from pyconvex.database.transaction import Transaction
from pyconvex.database.write_log import Conflict
from pyconvex.entropy import token_bytes
from pyconvex.errors import (
    ArgumentValidationError,
    ExecutionTimeoutError,
    OptimisticConcurrencyControlFailure,
    PyConvexError,
    ReturnsValidationError,
    ValidationError,
)
from pyconvex.functions import console, determinism, env as environment
from pyconvex.functions.context import (
    ActionCtx,
    Auth,
    DatabaseReader,
    DatabaseWriter,
    MutationCtx,
    QueryCtx,
    UserIdentity,
)
from pyconvex.functions.http_router import HttpActionDefinition
from pyconvex.functions.logs import FunctionLogs, claim_trigger
from pyconvex.functions.references import function_path
from pyconvex.functions.registry import FunctionDefinition, FunctionKind, Registry
from pyconvex.functions.scheduler import ActionScheduler, MutationScheduler, ScheduleBudget
from pyconvex.functions.storage import ActionStorage, FileService, MutationStorage, QueryStorage
from pyconvex.functions.workers import (
    ExecutionInterrupted,
    InlineMonitor,
    Preempted,
    Watchdog,
    Worker,
    WorkerPool,
)
from pyconvex.tally import Tally
from pyconvex.values.ids import id_to_binary
from pyconvex.values.limits import check_function_value
from pyconvex.values.model import Undefined, normalize_value

__all__ = ["ActionResult", "Executor", "MutationResult", "QueryResult", "TransactionHooks"]

_monotonic = __import__("time").monotonic


def _wall_ms() -> float:
    # The real clock even inside a query's frozen time.
    return determinism._real_time_ns() / 1e6


T = TypeVar("T")
_system_random = random.SystemRandom()
MAX_CALL_DEPTH = 8


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A query's value, the snapshot it read and what it read there.

    Attributes:
        journal: the page end cursor of a paginated query (Convex's query journal).
    """

    value: Any
    ts: int
    read_set: ReadSet
    journal: str | None = None
    log_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MutationResult:
    """A committed mutation's value and commit timestamp."""

    value: Any
    ts: int
    log_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """An action's value."""

    value: Any
    log_lines: list[str] = field(default_factory=list)


class TransactionHooks(Protocol):
    """System writes made in a mutation's own transaction, around the handler.

    The job runner records a scheduled mutation's outcome with them, so the
    outcome commits (or retries) together with the mutation's writes.
    """

    def before(self, transaction: Transaction) -> None:
        """Called before the handler runs (each attempt)."""

    def after(self, transaction: Transaction, value: Any) -> None:
        """Called after the handler returned ``value``, before the commit."""


class _Budget:
    """User-code time of one execution: database time does not count.

    Without a watchdog (inline executions, which the inline monitor moves to a
    worker long before the limit) the limit is checked at database calls only.
    """

    def __init__(self, watchdog: Watchdog | None, limit_seconds: float) -> None:
        self._watchdog = watchdog
        self._limit = limit_seconds
        self._start = _monotonic()
        self._database_seconds = 0.0
        self._entered = 0.0
        self._token = watchdog.watch(self._start + limit_seconds) if watchdog else 0

    def enter_database(self) -> None:
        now = _monotonic()
        if now - self._start - self._database_seconds > self._limit:
            raise _timeout(self._limit)
        self._entered = now

    def leave_database(self) -> None:
        spent = _monotonic() - self._entered
        self._database_seconds += spent
        if self._watchdog is not None:
            self._watchdog.extend(self._token, spent)

    def finish(self) -> bool:
        """Stop the clock; True if the execution overran its limit."""
        return self._watchdog.unwatch(self._token) if self._watchdog is not None else False


def _timeout(limit_seconds: float) -> ExecutionTimeoutError:
    return ExecutionTimeoutError(
        f"Function execution timed out (maximum duration: {limit_seconds:g}s)"
    )


class Executor:
    """Runs an app's functions against a database.

    Args:
        database: the database the functions read and write.
        registry: the app's functions.
        user_timeout_seconds: the user-code time limit of queries and mutations.
    """

    def __init__(
        self,
        database: Database,
        registry: Registry,
        *,
        user_timeout_seconds: float = knobs.UDF_USER_TIMEOUT_SECONDS,
        action_timeout_seconds: float = knobs.ACTION_TIMEOUT_SECONDS,
    ) -> None:
        determinism.install()
        console.install()
        environment.use_database(database)
        self.logs = FunctionLogs()
        self.database = database
        self.registry = registry
        self.user_timeout_seconds = user_timeout_seconds
        self.action_timeout_seconds = action_timeout_seconds
        self._queries = WorkerPool("query", knobs.QUERY_CONCURRENCY)
        self._mutations = WorkerPool("mutation", knobs.MUTATION_CONCURRENCY)
        self._actions = WorkerPool("action", knobs.ACTION_CONCURRENCY)
        self.watchdog = Watchdog()
        self.inline_monitor = InlineMonitor(knobs.INLINE_PREEMPT_SECONDS)
        #: File storage for ``ctx.storage`` (set by the backend; None: not configured).
        self.files: FileService | None = None
        #: Commits refused by OCC, and how many of them were retried (for metrics).
        self.occ_conflicts = Tally()
        self.occ_retries = Tally()
        self._home: Worker | None = None

    def swap_registry(self, registry: Registry) -> None:
        """Serve ``registry`` from now on; executions already running finish on the old one."""
        self.registry = registry

    def close(self) -> None:
        """Stop the worker threads (the database stays open)."""
        for pool in (self._queries, self._mutations, self._actions):
            pool.close()
        if self._home is not None:
            self._home.stop()
        self.watchdog.close()
        self.inline_monitor.close()

    async def _inline(self, execution: Coroutine[Any, Any, T]) -> T:
        """Run an execution on the calling loop; raises Preempted if it hogs the loop."""
        monitor = self.inline_monitor
        token = monitor.enter(sys._getframe())
        try:
            try:
                return await execution
            finally:
                monitor.exit(token)
        except Preempted:
            monitor.exit(token)  # in case the interrupt landed in the finally
            raise

    # -- top-level calls ------------------------------------------------------

    def resolve(
        self, target: Any, kind: FunctionKind, *, allow_internal: bool
    ) -> FunctionDefinition:
        """The definition a reference or path names, checked to be of ``kind``."""
        if isinstance(target, FunctionDefinition) and target.path is None:
            path = self.registry.path_of(target)
            if path is None:
                raise PyConvexError(
                    "This function is not registered with the app; call it by path or api reference"
                )
        else:
            path = function_path(target)
        definition = self.registry.resolve(path, allow_internal=allow_internal)
        if definition.kind is not kind:
            raise PyConvexError(
                f"Trying to execute {definition.path} as {kind.value.capitalize()}, but it is "
                f"defined as {definition.kind.value.capitalize()}."
            )
        return definition

    async def run_query(
        self,
        target: Any,
        args: Any = None,
        *,
        identity: dict[str, Any] | UserIdentity | None = None,
        ts: int | None = None,
        allow_internal: bool = False,
        journal: str | None = None,
    ) -> QueryResult:
        """Run a query at the latest snapshot (or at ``ts``).

        Args:
            journal: the journal of this subscription's previous run (a paginated
                query keeps its page's end boundary through it).

        A failure carries the run's read set as ``__pyconvex_read_set__`` (a
        failed subscription re-runs when what it read changes).
        """
        definition = self.resolve(target, FunctionKind.QUERY, allow_internal=allow_internal)
        who = _identity(identity)
        with _RunRecord(self.logs, definition) as record:
            result = await self._run_query(definition, args, who, ts, journal)
            record.lines = result.log_lines
            return result

    async def _run_query(
        self,
        definition: FunctionDefinition,
        args: Any,
        who: UserIdentity | None,
        ts: int | None,
        journal: str | None = None,
    ) -> QueryResult:
        if definition.is_async:
            try:
                return await self._inline(
                    self._query_in_worker(definition, args, who, ts, journal=journal, watched=False)
                )
            except Preempted:
                pass  # it holds the loop too long: run it where it can block only itself
        return await self._queries.run(
            lambda: self._query_in_worker(definition, args, who, ts, journal=journal)
        )

    async def _query_in_worker(
        self,
        definition: FunctionDefinition,
        args: Any,
        identity: UserIdentity | None,
        ts: int | None,
        *,
        journal: str | None = None,
        watched: bool = True,
    ) -> QueryResult:
        transaction = self.database.begin(writable=False, ts=ts)
        transaction.previous_end_cursor = journal
        execution = _Execution(self, transaction, identity, watched=watched)
        try:
            value = await execution.run_top(definition, args)
        except BaseException as error:
            try:
                error.__pyconvex_read_set__ = transaction.finalize_reads()  # type: ignore[attr-defined]
            except AttributeError:  # pragma: no cover - exceptions with __slots__
                pass
            raise
        read_set = transaction.finalize_reads()
        return QueryResult(
            value, transaction.begin_ts, read_set, transaction.page_end_cursor, execution.lines
        )

    async def run_mutation(
        self,
        target: Any,
        args: Any = None,
        *,
        identity: dict[str, Any] | UserIdentity | None = None,
        allow_internal: bool = False,
        request: tuple[str, int] | None = None,
        hooks: TransactionHooks | None = None,
    ) -> MutationResult:
        """Run a mutation to commit, retrying OCC conflicts.

        Args:
            request: the client's ``(sessionId, requestId)``. The result is
                recorded in the same transaction as the mutation's writes, and a
                repeat of a committed request returns the recorded result and
                commit ts without running the function again (exactly once).
            hooks: system writes to make in the mutation's transaction (the scheduler's).

        Raises:
            OptimisticConcurrencyControlFailure: it conflicted on every attempt.
        """
        definition = self.resolve(target, FunctionKind.MUTATION, allow_internal=allow_internal)
        who = _identity(identity)
        with _RunRecord(self.logs, definition) as record:
            result = await self._run_mutation(definition, args, who, request, hooks)
            record.lines = result.log_lines
            return result

    async def _run_mutation(
        self,
        definition: FunctionDefinition,
        args: Any,
        who: UserIdentity | None,
        request: tuple[str, int] | None = None,
        hooks: TransactionHooks | None = None,
    ) -> MutationResult:
        backoff = knobs.OCC_INITIAL_BACKOFF_SECONDS
        conflict: Conflict | None = None
        for attempt in range(knobs.OCC_MAX_RETRIES + 1):
            replayed = _recorded_request(self.database, request)
            if replayed is not None:
                return replayed
            transaction, value, lines = await self._execute_mutation(
                definition, args, who, request, hooks
            )
            if value is _ALREADY_RECORDED:
                replayed = _recorded_request(self.database, request)
                assert replayed is not None  # it was visible in a snapshot already
                return replayed
            try:
                ts = await self.database.commit_async(transaction, origin=definition.path)
            except CommitConflict as error:
                conflict = error.conflict
                self.occ_conflicts.add()
                if attempt < knobs.OCC_MAX_RETRIES:
                    self.occ_retries.add()
                    # Full jitter spreads the retries of many conflicting callers apart.
                    await asyncio.sleep(_system_random.uniform(0, backoff))
                    backoff = min(backoff * 2, knobs.OCC_MAX_BACKOFF_SECONDS)
                continue
            return MutationResult(value, ts, lines)
        assert conflict is not None
        raise _occ_failure(conflict, definition.path)

    async def _execute_mutation(
        self,
        definition: FunctionDefinition,
        args: Any,
        identity: UserIdentity | None,
        request: tuple[str, int] | None = None,
        hooks: TransactionHooks | None = None,
    ) -> tuple[Transaction, Any, list[str]]:
        if definition.is_async:
            try:
                return await self._inline(
                    self._mutation_in_worker(
                        definition, args, identity, request, hooks, watched=False
                    )
                )
            except Preempted:
                pass  # it holds the loop too long: run it where it can block only itself
        return await self._mutations.run(
            lambda: self._mutation_in_worker(definition, args, identity, request, hooks)
        )

    async def _mutation_in_worker(
        self,
        definition: FunctionDefinition,
        args: Any,
        identity: UserIdentity | None,
        request: tuple[str, int] | None = None,
        hooks: TransactionHooks | None = None,
        *,
        watched: bool = True,
    ) -> tuple[Transaction, Any, list[str]]:
        transaction = self.database.begin(writable=True)
        if request is not None and _find_request(transaction, request) is not None:
            # Committed by a concurrent replay since we looked: answer from its record.
            return transaction, _ALREADY_RECORDED, []
        if hooks is not None:
            hooks.before(transaction)
        execution = _Execution(self, transaction, identity, watched=watched)
        value = await execution.run_top(definition, args)
        if hooks is not None:
            hooks.after(transaction, value)
        if request is not None:
            transaction.system_writes = True
            transaction.insert(
                SESSION_REQUESTS,
                {"sessionId": request[0], "requestId": float(request[1]), "result": [value]},
            )
            transaction.system_writes = False
        return transaction, value, execution.lines

    async def run_action(
        self,
        target: Any,
        args: Any = None,
        *,
        identity: dict[str, Any] | UserIdentity | None = None,
        allow_internal: bool = False,
        scheduled_job: str | None = None,
    ) -> ActionResult:
        """Run an action.

        Args:
            scheduled_job: the ``_scheduled_functions`` ID it runs for, if any.
        """
        definition = self.resolve(target, FunctionKind.ACTION, allow_internal=allow_internal)
        who = _identity(identity)
        with _RunRecord(self.logs, definition) as record:
            result = await self._actions.run(
                lambda: self._action_in_worker(definition, args, who, scheduled_job)
            )
            record.lines = result.log_lines
            return result

    async def _action_in_worker(
        self,
        definition: FunctionDefinition,
        args: Any,
        identity: UserIdentity | None,
        scheduled_job: str | None = None,
    ) -> ActionResult:
        async def body() -> Any:
            checked = _validated_args(definition, args, None)
            ctx = self.action_context(
                identity, sync=not definition.is_async, scheduled_job=scheduled_job
            )
            result = await _invoke(definition, ctx, checked)
            return _validated_return(definition, result, None)

        value, lines = await self._as_action(body)
        return ActionResult(value, lines)

    async def _as_action(self, body: Callable[[], Awaitable[T]]) -> tuple[T, list[str]]:
        """Run ``body`` on this worker under the action time limit, capturing its log lines.

        A failure carries its log lines (see ``console.log_lines_of``).
        """
        token = self.watchdog.watch(_monotonic() + self.action_timeout_seconds)
        capture = console.capture()
        try:
            try:
                value = await body()
            except ExecutionInterrupted:
                raise _timeout(self.action_timeout_seconds) from None
            finally:
                lines = console.release(capture)
                if self.watchdog.unwatch(token):
                    raise _timeout(self.action_timeout_seconds)
        except BaseException as error:
            _attach_lines(error, lines)
            raise
        return value, lines

    async def run_http_action(
        self,
        action: HttpActionDefinition,
        request: Any,
        *,
        identity: dict[str, Any] | UserIdentity | None = None,
        route: str = "",
        respond: Callable[[Any], Awaitable[None]] | None = None,
    ) -> Any:
        """Run an HTTP action's handler on an action worker; return what it returned.

        The handler gets ``(ctx, request)`` with an action's ctx. ``respond``, if
        given, is awaited with the handler's result on the same worker, within the
        time limit and the logged run: the server sends the response from there, so
        a streaming body is produced where the handler ran. The run is recorded in
        :attr:`logs` as kind ``"http"`` at ``route`` (such as ``"GET /files/*"``).
        """
        who = _identity(identity)

        async def handle() -> Any:
            ctx = self.action_context(who, sync=not action.is_async)
            result = action.handler(ctx, request)
            if inspect.isawaitable(result):
                result = await result
            if respond is not None:
                await respond(result)
            return result

        async def in_worker() -> tuple[Any, list[str]]:
            return await self._as_action(handle)

        start, wall = _monotonic(), _wall_ms()
        error: BaseException | None = None
        lines: list[str] = []
        try:
            result, lines = await self._actions.run(in_worker)
            return result
        except BaseException as failure:
            error, lines = failure, console.log_lines_of(failure)
            raise
        finally:
            self.logs.record(
                path=route or action.name,
                kind="http",
                started_at_ms=wall,
                duration_ms=(_monotonic() - start) * 1000,
                outcome="success" if error is None else "failure",
                error=None if error is None else _error_text(error),
                log_lines=tuple(lines),
            )

    def action_context(
        self,
        identity: UserIdentity | None,
        *,
        sync: bool = False,
        scheduled_job: str | None = None,
    ) -> ActionCtx:
        """An action's ``ctx`` (also used by HTTP actions): each call its own transaction."""

        async def query(reference: Any, args: Any) -> Any:
            result = await self.run_query(reference, args, identity=identity, allow_internal=True)
            return result.value

        async def mutation(reference: Any, args: Any) -> Any:
            result = await self.run_mutation(
                reference, args, identity=identity, allow_internal=True
            )
            return result.value

        async def action(reference: Any, args: Any) -> Any:
            result = await self.run_action(reference, args, identity=identity, allow_internal=True)
            return result.value

        if sync:
            ctx = ActionCtx(
                Auth(identity, True),
                self._blocking(query),
                self._blocking(mutation),
                self._blocking(action),
            )
        else:
            ctx = ActionCtx(Auth(identity, False), query, mutation, action)
        if self.files is not None:
            ctx.storage = ActionStorage(self.files, sync)
        ctx.scheduler = ActionScheduler(
            self.database, self.registry, parent_job=scheduled_job, sync=sync
        )
        return ctx

    def _blocking(
        self, call: Callable[[Any, Any], Coroutine[Any, Any, Any]]
    ) -> Callable[[Any, Any], Any]:
        # A sync action blocks its own worker thread; the call runs on a home loop.
        def blocking(reference: Any, args: Any) -> Any:
            if self._home is None:
                self._home = Worker("pyconvex-home")
            future = asyncio.run_coroutine_threadsafe(call(reference, args), self._home.loop)
            return future.result()

        return blocking


class _Execution:
    """One top-level query or mutation execution and its nested calls."""

    def __init__(
        self,
        executor: Executor,
        transaction: Transaction,
        identity: UserIdentity | None,
        *,
        watched: bool = True,
    ) -> None:
        self.executor = executor
        self.transaction = transaction
        self.identity = identity
        self.depth = 0
        self.budget: _Budget | None = None
        self.watched = watched
        self.lines: list[str] = []
        #: What this transaction scheduled (nested mutations share it).
        self.scheduled = ScheduleBudget()

    async def run_top(self, definition: FunctionDefinition, args: Any) -> Any:
        limit = self.executor.user_timeout_seconds
        self.budget = _Budget(self.executor.watchdog if self.watched else None, limit)
        seed = int.from_bytes(token_bytes(16), "big")
        token = determinism.enter(self.transaction.begin_wall_ns, seed)
        logging_token = console.capture()
        env_token = environment.use_transaction(self.transaction)
        try:
            try:
                return await self.call(definition, args, sync_caller=False)
            except ExecutionInterrupted:
                raise _timeout(limit) from None
            finally:
                environment._transaction.reset(env_token)
                determinism.leave(token)
                self.lines = console.release(logging_token)
                if self.budget.finish():
                    raise _timeout(limit)
        except BaseException as error:
            _attach_lines(error, self.lines)
            raise

    def call(self, definition: FunctionDefinition, args: Any, *, sync_caller: bool) -> Any:
        """Run ``definition`` on this execution's transaction (awaitable unless sync)."""
        if sync_caller:
            return self._call_sync(definition, args)
        return self._call_async(definition, args)

    async def _call_async(self, definition: FunctionDefinition, args: Any) -> Any:
        savepoint = self._enter(definition)
        try:
            checked = _validated_args(definition, args, self.transaction)
            ctx = self._ctx(definition)
            result = _call(definition, ctx, checked)
            if type(result) is CoroutineType or inspect.isawaitable(result):
                result = await result
            return _validated_return(definition, result, self.transaction)
        except BaseException:
            if savepoint is not None:
                self.transaction.rollback_to(savepoint)
            raise
        finally:
            self.depth -= 1

    def _call_sync(self, definition: FunctionDefinition, args: Any) -> Any:
        savepoint = self._enter(definition)
        try:
            checked = _validated_args(definition, args, self.transaction)
            ctx = self._ctx(definition)
            result = _drive(_call(definition, ctx, checked))
            return _validated_return(definition, result, self.transaction)
        except BaseException:
            if savepoint is not None:
                self.transaction.rollback_to(savepoint)
            raise
        finally:
            self.depth -= 1

    def _enter(self, definition: FunctionDefinition) -> Any:
        if self.depth >= MAX_CALL_DEPTH:
            raise PyConvexError(
                f"Too many nested function calls (limit: {MAX_CALL_DEPTH}); {definition.path} "
                "was called from a chain of runQuery/runMutation calls that is too deep."
            )
        self.depth += 1
        if definition.kind is FunctionKind.MUTATION and self.depth > 1:
            return self.transaction.savepoint()
        return None

    def _ctx(self, definition: FunctionDefinition) -> QueryCtx | MutationCtx:
        sync = not definition.is_async
        assert self.budget is not None
        auth = Auth(self.identity, sync)
        run_query = self._nested(FunctionKind.QUERY, sync)
        files = self.executor.files
        if definition.kind is FunctionKind.QUERY:
            reader = DatabaseReader(self.transaction, self.budget, sync=sync)
            query_ctx = QueryCtx(reader, auth, run_query)
            if files is not None:
                query_ctx.storage = QueryStorage(files, self.transaction, sync)
            return query_ctx
        if not self.transaction.writable:
            raise PyConvexError(f"Can't run the mutation {definition.path} from a query.")
        writer = DatabaseWriter(self.transaction, self.budget, sync=sync)
        ctx = MutationCtx(writer, auth, run_query, self._nested(FunctionKind.MUTATION, sync))
        if files is not None:
            ctx.storage = MutationStorage(files, self.transaction, sync)
        ctx.scheduler = MutationScheduler(
            self.transaction, self.executor.registry, self.scheduled, sync=sync
        )
        return ctx

    def _nested(self, kind: FunctionKind, sync: bool) -> Callable[[Any, Any], Any]:
        def call(reference: Any, args: Any) -> Any:
            definition = self.executor.resolve(reference, kind, allow_internal=True)
            return self.call(definition, args, sync_caller=sync)

        return call


SESSION_REQUESTS = "_session_requests"
_ALREADY_RECORDED = object()


def _find_request(transaction: Transaction, request: tuple[str, int]) -> dict[str, Any] | None:
    query = QueryInitializer(transaction, SESSION_REQUESTS, sync=True).with_index(
        "by_session_request",
        lambda q: q.eq("sessionId", request[0]).eq("requestId", float(request[1])),
    )
    found: dict[str, Any] | None = query.first()
    return found


def _recorded_request(database: Database, request: tuple[str, int] | None) -> MutationResult | None:
    """The stored outcome of an already committed ``(sessionId, requestId)``."""
    if request is None:
        return None
    transaction = database.begin(writable=False)
    record = _find_request(transaction, request)
    if record is None:
        return None
    revision = database.persistence.get_revision(id_to_binary(record["_id"]), transaction.begin_ts)
    assert revision is not None
    return MutationResult(record["result"][0], revision.ts, [])


def _attach_lines(error: BaseException, lines: list[str]) -> None:
    # The caller (HTTP API, sync protocol) returns a failed execution's log lines too.
    try:
        error.__pyconvex_log_lines__ = lines  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass


class _RunRecord:
    """Records one top-level run in the function logs, however it ends."""

    __slots__ = ("_logs", "_definition", "lines", "_start", "_wall", "_trigger", "_trigger_token")

    def __init__(self, logs: FunctionLogs, definition: FunctionDefinition) -> None:
        self._logs = logs
        self._definition = definition
        self.lines: list[str] = []

    def __enter__(self) -> _RunRecord:
        self._start = _monotonic()
        self._wall = _wall_ms()
        self._trigger, self._trigger_token = claim_trigger()
        return self

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        self._trigger_token.var.reset(self._trigger_token)
        definition = self._definition
        if error is None:
            lines, outcome, text = self.lines, "success", None
        else:
            lines, outcome, text = console.log_lines_of(error), "failure", _error_text(error)
        self._logs.record_run(
            definition.path or "?",
            definition.kind.value,
            self._wall,
            (_monotonic() - self._start) * 1000,
            outcome,
            text,
            tuple(lines),
            self._trigger,
        )


def _error_text(error: BaseException) -> str:
    if isinstance(error, PyConvexError):
        return error.message
    return f"{type(error).__name__}: {error}"


def _identity(identity: dict[str, Any] | UserIdentity | None) -> UserIdentity | None:
    if identity is None or isinstance(identity, UserIdentity):
        return identity
    return UserIdentity(identity)


def _call(definition: FunctionDefinition, ctx: Any, args: dict[str, Any]) -> Any:
    if definition.takes_args:
        return definition.handler(ctx, args)
    return definition.handler(ctx)


async def _invoke(definition: FunctionDefinition, ctx: Any, args: dict[str, Any]) -> Any:
    result = _call(definition, ctx, args)
    if type(result) is CoroutineType or inspect.isawaitable(result):
        result = await result
    return result


def _drive(result: Any) -> Any:
    """Finish a coroutine synchronously (a sync caller of an async function)."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as stop:
        return stop.value
    result.close()
    raise PyConvexError(
        "An async function called from a sync function awaited something other than a "
        "database call; make the calling function async to await it."
    )


def _validated_args(
    definition: FunctionDefinition, args: Any, transaction: Transaction | None
) -> dict[str, Any]:
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ArgumentValidationError(
            f"ArgumentValidationError: Function arguments must be an object, got {args!r}"
        )
    check_function_value(args)
    if definition.args is None:
        checked: dict[str, Any] = normalize_value(args)
        return checked
    try:
        validated: dict[str, Any] = definition.args.validate(args, "", transaction)
    except ValidationError as error:
        raise ArgumentValidationError(f"ArgumentValidationError: {error.message}") from None
    return validated


def _validated_return(
    definition: FunctionDefinition, value: Any, transaction: Transaction | None
) -> Any:
    if isinstance(value, Undefined):
        value = None
    if definition.returns is not None:
        try:
            value = definition.returns.validate(value, "", transaction)
        except ValidationError as error:
            raise ReturnsValidationError(f"ReturnsValidationError: {error.message}") from None
    else:
        value = normalize_value(value)
    check_function_value(value)
    return value


def _occ_failure(conflict: Conflict, path: str | None) -> OptimisticConcurrencyControlFailure:
    table = f'the "{conflict.table}" table' if conflict.table else "some table"
    if conflict.document_id:
        who = (
            "Another call to this mutation"
            if conflict.origin == path
            else f'A call to "{conflict.origin}"'
            if conflict.origin
            else "Another write"
        )
        source = f'{who} changed the document with ID "{conflict.document_id}". '
    else:
        source = ""
    return OptimisticConcurrencyControlFailure(
        f"Documents read from or written to {table} changed while this mutation was being "
        f"run and on every subsequent retry. {source}See https://docs.convex.dev/error#1"
    )


def prune_session_requests(database: Database, older_than_seconds: float, batch: int = 500) -> int:
    """Delete mutation records (see ``run_mutation(request=...)``) older than a cutoff.

    Clients re-send a mutation only after a reconnect, within seconds or minutes;
    records are kept far longer than that, then removed so they do not pile up.
    Returns how many were deleted.
    """
    cutoff_ms = (determinism._real_time_ns() / 1e9 - older_than_seconds) * 1000
    deleted = 0
    while True:
        transaction = database.begin(writable=True)
        transaction.system_writes = True
        old = (
            QueryInitializer(transaction, SESSION_REQUESTS, sync=True)
            .with_index("by_creation_time", lambda q: q.lt("_creationTime", cutoff_ms))
            .take(batch)
        )
        for record in old:
            transaction.delete(record["_id"])
        if not old:
            return deleted
        try:
            database.commit(transaction).result()
        except CommitConflict:
            continue
        deleted += len(old)
