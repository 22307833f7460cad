"""``ctx.scheduler``: schedule mutations and actions to run later, and cancel them.

Each scheduled function is a row of the ``_scheduled_functions`` system table,
shaped as in Convex::

    {"_id", "_creationTime", "name": "messages:send", "args": [{...}],
     "scheduledTime": ms, "completedTime": ms?, "state": {"kind": ..., "error"?: str}}

with ``state.kind`` one of ``pending``, ``inProgress`` (a running action),
``success``, ``failed`` and ``canceled``. From a mutation the row is written in
the mutation's own transaction, so a mutation that fails or rolls back
schedules nothing and a job runs only after its scheduler committed. From an
action each call commits its own small transaction at once. The job runner
(:mod:`pyconvex.functions.job_runner`) runs the rows.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pyconvex.knobs as knobs
from pyconvex.database.catalog import SYSTEM_TABLES
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import deliver
from pyconvex.database.transaction import Transaction
from pyconvex.errors import InvalidIdError, InvalidValueError, SchedulerError
from pyconvex.functions.references import canonical_path, function_path
from pyconvex.functions.registry import FunctionKind, Registry
from pyconvex.values.ids import decode_id
from pyconvex.values.limits import check_function_value
from pyconvex.values.model import Value, normalize_value

__all__ = [
    "BY_COMPLETED_TIME",
    "BY_STATE",
    "CANCELED",
    "FAILED",
    "IN_PROGRESS",
    "PENDING",
    "SCHEDULED_FUNCTIONS",
    "SUCCESS",
    "ActionScheduler",
    "MutationScheduler",
    "ScheduleBudget",
    "cancel_job",
    "finish_job",
    "schedulable_kind",
]

SCHEDULED_FUNCTIONS = "_scheduled_functions"
#: ``("state.kind", "scheduledTime")``: the runner's queue of due jobs.
BY_STATE = "by_state_scheduled_time"
#: ``("completedTime",)``: finished jobs by age, for pruning.
BY_COMPLETED_TIME = "by_completed_time"

PENDING = "pending"
IN_PROGRESS = "inProgress"
SUCCESS = "success"
FAILED = "failed"
CANCELED = "canceled"

_FIVE_YEARS_MS = 5 * 366 * 24 * 3600 * 1000
#: Attempts of an action's scheduling transaction (it conflicts only with a
#: concurrent cancel of the action's own job).
_ACTION_ATTEMPTS = 10
T = TypeVar("T")


class ScheduleBudget:
    """What one transaction has scheduled, against the scheduling limits."""

    def __init__(self) -> None:
        self.jobs = 0
        self.args_bytes = 0

    def charge(self, args_size: int) -> None:
        """Count one more job with arguments of ``args_size`` bytes.

        Raises:
            SchedulerError: a limit is exceeded (Convex's messages).
        """
        if self.jobs >= knobs.SCHEDULED_FUNCTIONS_PER_MUTATION_MAX:
            raise SchedulerError(
                "Too many functions scheduled by this mutation (limit: "
                f"{knobs.SCHEDULED_FUNCTIONS_PER_MUTATION_MAX})"
            )
        if args_size > knobs.SCHEDULED_JOB_ARGS_MAX_BYTES:
            raise SchedulerError(
                f"Too large arguments for a scheduled function ({args_size} bytes, limit: "
                f"{knobs.SCHEDULED_JOB_ARGS_MAX_BYTES} bytes)"
            )
        if self.args_bytes + args_size > knobs.SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES:
            raise SchedulerError(
                "Too large total size of the arguments of scheduled functions from this "
                f"mutation (limit: {knobs.SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES} bytes)"
            )
        self.jobs += 1
        self.args_bytes += args_size


class _Request:
    """One checked ``run_after``/``run_at`` call: target, arguments and time."""

    def __init__(self, registry: Registry, reference: Any, args: Any, scheduled_ms: float) -> None:
        self.name = resolve_target(registry, reference)
        self.args = _parse_args(args)
        self.size = check_function_value([self.args])
        self.scheduled_ms = scheduled_ms

    def document(self, canceled_at_ms: float | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "name": self.name,
            "args": [self.args],
            "scheduledTime": self.scheduled_ms,
            "state": {"kind": PENDING},
        }
        if canceled_at_ms is not None:
            row["state"] = {"kind": CANCELED}
            row["completedTime"] = canceled_at_ms
        return row


class MutationScheduler:
    """``ctx.scheduler`` in a mutation: jobs are written in the mutation's transaction.

    Args:
        transaction: the mutation's transaction.
        registry: the app's functions (targets must exist when scheduled).
        budget: what this transaction scheduled so far (shared by nested calls).
        sync: return plain values (a sync handler) instead of awaitables.
    """

    def __init__(
        self, transaction: Transaction, registry: Registry, budget: ScheduleBudget, *, sync: bool
    ) -> None:
        self._transaction = transaction
        self._registry = registry
        self._budget = budget
        self._sync = sync

    def _now_ms(self) -> float:
        # The mutation's frozen Date.now(): whole milliseconds, as in JavaScript.
        return float(self._transaction.begin_wall_ns // 1_000_000)

    def run_after(self, delay_ms: float, reference: Any, args: dict[str, Any] | None = None) -> Any:
        """Run ``reference`` with ``args`` ``delay_ms`` after this mutation's start.

        Returns the job's ``_scheduled_functions`` ID (awaitable in async handlers).
        """
        now = self._now_ms()
        return self._schedule(now + _checked_delay(delay_ms), now, reference, args)

    def run_at(
        self, when: float | datetime, reference: Any, args: dict[str, Any] | None = None
    ) -> Any:
        """Run ``reference`` at ``when`` (milliseconds since the epoch, or a datetime)."""
        return self._schedule(_checked_time(when), self._now_ms(), reference, args)

    def _schedule(self, at_ms: float, now_ms: float, reference: Any, args: Any) -> Any:
        _check_horizon(at_ms, now_ms)
        request = _Request(self._registry, reference, args, at_ms)
        self._budget.charge(request.size)
        job_id = _as_system(
            self._transaction, self._transaction.insert, SCHEDULED_FUNCTIONS, request.document()
        )
        return deliver(job_id, self._sync)

    def cancel(self, job_id: str) -> Any:
        """Cancel a job: a pending one will not run (no-op once it finished)."""
        cancel_job(self._transaction, job_id, self._now_ms())
        return deliver(None, self._sync)


class ActionScheduler:
    """``ctx.scheduler`` in an action: every call commits its own transaction at once.

    Args:
        database: where the jobs are written.
        registry: the app's functions.
        parent_job: the ``_scheduled_functions`` ID of the action itself when it
            runs as a scheduled job: once that job is canceled, what the action
            schedules is created canceled, as in Convex.
        sync: block and return plain values (a sync handler) instead of awaitables.
    """

    def __init__(
        self, database: Database, registry: Registry, *, parent_job: str | None, sync: bool
    ) -> None:
        self._database = database
        self._registry = registry
        self._parent_job = parent_job
        self._sync = sync

    def _now_ms(self) -> float:
        return float(self._database.clock.now_ns() // 1_000_000)

    def run_after(self, delay_ms: float, reference: Any, args: dict[str, Any] | None = None) -> Any:
        """Run ``reference`` with ``args`` ``delay_ms`` from now; returns the job's ID."""
        now = self._now_ms()
        return self._schedule(now + _checked_delay(delay_ms), now, reference, args)

    def run_at(
        self, when: float | datetime, reference: Any, args: dict[str, Any] | None = None
    ) -> Any:
        """Run ``reference`` at ``when`` (milliseconds since the epoch, or a datetime)."""
        return self._schedule(_checked_time(when), self._now_ms(), reference, args)

    def cancel(self, job_id: str) -> Any:
        """Cancel a job: a pending one will not run; a running action finishes its run."""
        _check_job_id(job_id)
        now = self._now_ms()
        return self._commit(lambda transaction: cancel_job(transaction, job_id, now))

    def _schedule(self, at_ms: float, now_ms: float, reference: Any, args: Any) -> Any:
        _check_horizon(at_ms, now_ms)
        request = _Request(self._registry, reference, args, at_ms)
        ScheduleBudget().charge(request.size)

        def write(transaction: Transaction) -> str:
            canceled = self._parent_canceled(transaction)
            document = request.document(canceled_at_ms=now_ms if canceled else None)
            job_id: str = _as_system(transaction, transaction.insert, SCHEDULED_FUNCTIONS, document)
            return job_id

        return self._commit(write)

    def _parent_canceled(self, transaction: Transaction) -> bool:
        if self._parent_job is None:
            return False
        parent = transaction.get(self._parent_job, system=True)
        return parent is not None and _kind(parent) == CANCELED

    def _commit(self, write: Callable[[Transaction], T]) -> Any:
        if self._sync:
            return self._commit_blocking(write)
        # Started at once (like a JavaScript promise), so an un-awaited call still schedules.
        return asyncio.ensure_future(self._commit_async(write))

    def _commit_blocking(self, write: Callable[[Transaction], T]) -> T:
        for _ in range(_ACTION_ATTEMPTS):
            transaction = self._database.begin(writable=True)
            result = write(transaction)
            try:
                self._database.commit(transaction, origin="scheduler").result()
            except CommitConflict:
                continue
            return result
        raise SchedulerError("The scheduler's write kept conflicting; try again.")

    async def _commit_async(self, write: Callable[[Transaction], T]) -> T:
        for _ in range(_ACTION_ATTEMPTS):
            transaction = self._database.begin(writable=True)
            result = write(transaction)
            try:
                await self._database.commit_async(transaction, origin="scheduler")
            except CommitConflict:
                continue
            return result
        raise SchedulerError("The scheduler's write kept conflicting; try again.")


def cancel_job(transaction: Transaction, job_id: str, now_ms: float) -> None:
    """Mark a pending or running job canceled in ``transaction`` (finished ones stay so)."""
    _check_job_id(job_id)
    job = transaction.get(job_id, system=True)
    if job is None:
        return
    if _kind(job) in (PENDING, IN_PROGRESS):
        _as_system(
            transaction,
            transaction.patch,
            job_id,
            {"state": {"kind": CANCELED}, "completedTime": now_ms},
        )


def finish_job(transaction: Transaction, job_id: str, state: dict[str, Any], now_ms: float) -> bool:
    """Record a job's outcome in ``transaction`` unless it was canceled meanwhile.

    Returns whether the job was still waiting for this outcome (pending or in progress).
    """
    job = transaction.get(job_id, system=True)
    if job is None or _kind(job) not in (PENDING, IN_PROGRESS):
        return False
    _as_system(transaction, transaction.patch, job_id, {"state": state, "completedTime": now_ms})
    return True


def schedulable_kind(registry: Registry, name: str) -> FunctionKind | str:
    """The kind of the function a job names, or why it cannot run (Convex's messages).

    The target existed when the job was scheduled, but the code may have changed since.
    """
    module, _, function = canonical_path(name).partition(":")
    definition = registry.get(name)
    if definition is None:
        if any(other.startswith(module + ":") for other, _ in registry.items()):
            return f'Couldn\'t find "{function}" in module "{module}".'
        return f"Couldn't find module '{module}'."
    if definition.kind is FunctionKind.QUERY:
        return (
            f'Unsupported function type. "{function}" in module "{module}" is defined as a '
            "query. Only mutations and actions can be scheduled."
        )
    return definition.kind


def resolve_target(registry: Registry, reference: Any) -> str:
    """The canonical path of a schedulable target; it must exist now (Convex checks too).

    Raises:
        SchedulerError: no such module, or no such function in it.
    """
    try:
        path = function_path(reference)
    except (TypeError, ValueError) as error:
        raise SchedulerError(str(error)) from None
    if registry.get(path) is not None:
        return path
    module, _, name = path.partition(":")
    if any(other.startswith(module + ":") for other, _ in registry.items()):
        raise SchedulerError(
            f"Attempted to schedule function, but no exported function {name} found in the "
            f"file: {module}. Did you forget to export it?"
        )
    raise SchedulerError(f"Attempted to schedule function at nonexistent path: {module}")


def _kind(job: dict[str, Value]) -> str:
    state = job.get("state")
    kind = state.get("kind") if isinstance(state, dict) else None
    return kind if isinstance(kind, str) else ""


def _as_system(transaction: Transaction, write: Callable[..., T], *args: Any) -> T:
    # App code cannot write system tables; the scheduler writes them on its behalf.
    previous = transaction.system_writes
    transaction.system_writes = True
    try:
        return write(*args)
    finally:
        transaction.system_writes = previous


def _checked_delay(delay_ms: Any) -> float:
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, (int, float)):
        raise SchedulerError("`delay_ms` must be a number")
    if not math.isfinite(delay_ms):
        raise SchedulerError("`delay_ms` must be a finite number")
    if delay_ms < 0:
        raise SchedulerError("`delay_ms` must be non-negative")
    return float(delay_ms)


def _checked_time(when: Any) -> float:
    if isinstance(when, datetime):
        return when.timestamp() * 1000
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
        raise SchedulerError(
            "The time passed to run_at must be a datetime or a timestamp in milliseconds"
        )
    return float(when)


def _check_horizon(at_ms: float, now_ms: float) -> None:
    if at_ms - now_ms > _FIVE_YEARS_MS:
        raise SchedulerError(f"{_iso(at_ms)} is more than 5 years in the future")
    if now_ms - at_ms > _FIVE_YEARS_MS:
        raise SchedulerError(f"{_iso(at_ms)} is more than 5 years in the past")


def _iso(ms: float) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return f"{ms:g} ms"


def _check_job_id(job_id: Any) -> None:
    try:
        number, _ = decode_id(job_id) if isinstance(job_id, str) else (None, None)
    except InvalidIdError:
        number = None
    if number != SYSTEM_TABLES[SCHEDULED_FUNCTIONS]:
        raise SchedulerError(
            "Invalid scheduled function ID. The ID must be an ID on the '_scheduled_functions' "
            "table."
        )


def _parse_args(args: Any) -> dict[str, Value]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise SchedulerError(
            f"The arguments to a Convex function must be an object. Received: {args!r}"
        )
    try:
        checked: dict[str, Value] = normalize_value(args)
    except InvalidValueError as error:
        raise SchedulerError(
            f"Invalid arguments for a scheduled function: {error.message}"
        ) from None
    return checked
