"""The job runner: runs due scheduled functions and cron jobs, durably.

One :class:`JobRunner` per deployment runs an asyncio task on its own thread.
Each pass reads, at one snapshot, the pending ``_scheduled_functions`` rows
due now (in ``scheduledTime`` order, through the ``by_state_scheduled_time``
index) and the due ``_cron_jobs`` rows, and starts as many as
``knobs.SCHEDULED_JOB_CONCURRENCY`` allows. It sleeps until the earliest
future due time, and is woken sooner by commits touching either table, by a
finished job and by every move of a :class:`~pyconvex.clock.ManualClock`.

Several nodes (processes sharing one PostgreSQL database) each run a job
runner; a job runs on the node that *claims* it, with a lease in the
``_job_leases`` table (:mod:`pyconvex.functions.leases`). A pass claims the
due jobs it has room for in one transaction (two nodes claiming the same job
conflict, and the loser retries and finds it taken), then runs them. A
running action's lease is renewed every third of ``SCHEDULER_LEASE_SECONDS``;
a lease that lapsed belongs to a node that died: its claimed mutations are
claimed again (they never committed), its actions are marked failed. A cron's
run is claimed by the transaction that completes it (a mutation) or by its
``inProgress`` mark (an action), so it fires once per slot across nodes.

Guarantees (Convex's):

* A scheduled **mutation** runs exactly once: its job is marked ``success`` in
  the mutation's own transaction (OCC retries re-run both), and a failure is
  recorded in a separate transaction that discards the mutation's writes. A
  crash before the commit leaves the job pending, so it runs after restart.
* A scheduled **action** runs at most once: the job is set ``inProgress`` and
  committed before the action starts. A job left ``inProgress`` by a node that
  died (its lease lapsed; on a store no other node shares, any lease of an
  earlier process) is marked failed ("Transient error while executing
  action"), never re-run.
* Cron jobs follow the same two rules, and a cron that missed runs while the
  deployment was down runs once, then at its next future time.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import pyconvex.knobs as knobs
from pyconvex.clock import ManualClock
from pyconvex.database.catalog import BY_ID
from pyconvex.database.committer import CommitConflict
from pyconvex.database.database import Database
from pyconvex.database.query import QueryInitializer
from pyconvex.database.transaction import Transaction
from pyconvex.database.write_log import CommitRecord
from pyconvex.errors import (
    ArgumentValidationError,
    ConvexError,
    CronJobError,
    OptimisticConcurrencyControlFailure,
    PyConvexError,
    ReturnsValidationError,
    ValidationError,
)
from pyconvex.functions.cron import CronJob, Crons, next_run
from pyconvex.functions.executor import Executor
from pyconvex.functions.leases import Lease, all_leases, hold, lease_of, new_node_id, release
from pyconvex.functions.logs import triggered_by
from pyconvex.functions.registry import FunctionKind, Registry
from pyconvex.functions.scheduler import (
    BY_COMPLETED_TIME,
    BY_STATE,
    FAILED,
    IN_PROGRESS,
    PENDING,
    SCHEDULED_FUNCTIONS,
    SUCCESS,
    finish_job,
    schedulable_kind,
)
from pyconvex.functions.workers import Worker
from pyconvex.storage.base import SharedPersistence
from pyconvex.values.json import encode_json
from pyconvex.values.limits import check_document
from pyconvex.values.model import Value, normalize_value

__all__ = ["CRON_JOBS", "TRANSIENT_ACTION_ERROR", "JobRunner", "check_crons", "job_error_text"]

CRON_JOBS = "_cron_jobs"
#: Convex's error for an action cut short by a crash (it is not run again).
TRANSIENT_ACTION_ERROR = "Transient error while executing action"
#: Results larger than this are not kept in ``_cron_jobs.lastResult``.
_CRON_RESULT_MAX_BYTES = 8192
#: Longest sleep between passes on the real clock (catches clock jumps).
_MAX_SLEEP_SECONDS = 30.0
_PRUNE_PERIOD_MS = 3600 * 1000
_PRUNE_BATCH = 500
_WRITE_ATTEMPTS = 50

_log = logging.getLogger(__name__)
T = TypeVar("T")


class _JobGone(Exception):
    """The job changed (canceled, deleted, run) since it was picked: do nothing."""


#: Pause after a job's run failed in the scheduler itself (storage trouble), so a
#: job that stays pending is retried calmly rather than in a hot loop.
_FAULT_PAUSE_SECONDS = 1.0


async def _guarded(key: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # ``work`` makes its coroutine only once the task runs: a task cancelled before its
    # first step (the runner stopping) leaves no coroutine that was never awaited.
    try:
        await work()
    except Exception:
        _log.exception("The scheduler failed to run %s; it will try again", key)
        await asyncio.sleep(_FAULT_PAUSE_SECONDS)


def check_crons(crons: Crons | None, registry: Registry) -> None:
    """Check every cron job against the app's functions, before anything is swapped in.

    Raises:
        CronJobError: a target is missing, is a query, or refuses the job's arguments.
    """
    if crons is None:
        return
    for job in crons.crons.values():
        definition = registry.get(job.function)
        if definition is None:
            raise CronJobError(f"Cron job {job.name!r} runs {job.function}, which does not exist.")
        if definition.kind is FunctionKind.QUERY:
            raise CronJobError(
                f"Cron job {job.name!r} runs {job.function}, a query; only mutations and "
                "actions can run as cron jobs."
            )
        if definition.args is not None:
            try:
                definition.args.validate(job.args, "", None)
            except ValidationError as error:
                raise CronJobError(
                    f"Cron job {job.name!r} passes arguments that {job.function} refuses: "
                    f"{error.message}"
                ) from None


class JobRunner:
    """Runs a deployment's scheduled functions and cron jobs (see the module docstring).

    Args:
        executor: runs the functions; its database holds the jobs and its clock tells time.
        concurrency: jobs and cron runs that may execute at once
            (default: ``knobs.SCHEDULED_JOB_CONCURRENCY``).
    """

    def __init__(self, executor: Executor, *, concurrency: int | None = None) -> None:
        self.executor = executor
        self.database = executor.database
        self.clock = self.database.clock
        self.concurrency = max(1, concurrency or knobs.SCHEDULED_JOB_CONCURRENCY)
        #: This runner's ID in the leases it holds (fresh for every process).
        self.node_id = new_node_id()
        self.lease_ms = knobs.SCHEDULER_LEASE_SECONDS * 1000
        # On a store no other node shares, every lease not ours is a dead process's.
        self._exclusive = not isinstance(self.database.persistence, SharedPersistence)
        self._worker: Worker | None = None
        self._main: asyncio.Task[None] | None = None
        self._event: asyncio.Event | None = None
        self._inflight: dict[str, asyncio.Task[None]] = {}
        #: Targets (job or cron IDs) of the running tasks that hold a lease.
        self._held: dict[str, str] = {}
        #: Targets of running actions, whose leases are renewed while they run.
        self._renewing: set[str] = set()
        self._next_renewal_ms = float("inf")
        self._condition = threading.Condition()
        self._requested = 0
        self._settled = -1
        self._stopping = False
        self._last_prune_ms = float("-inf")

    # -- crons ----------------------------------------------------------------

    def set_crons(self, crons: Crons | None) -> None:
        """Make ``crons`` the deployment's cron jobs, reconciling ``_cron_jobs`` with it.

        New jobs are added, changed ones updated (a changed schedule starts
        afresh from now; a changed target or arguments keeps the next run),
        removed ones deleted; unchanged jobs keep their state. Blocks until committed.

        Raises:
            CronJobError: see :func:`check_crons`.
        """
        check_crons(crons, self.executor.registry)
        declared = dict(crons.crons) if crons is not None else {}
        now = self._now_ms()

        def reconcile(transaction: Transaction) -> None:
            rows = {row["name"]: row for row in _cron_rows(transaction)}
            for name, job in declared.items():
                _reconcile_one(transaction, rows.pop(name, None), job, now)
            for row in rows.values():
                transaction.delete(row["_id"])

        _write_blocking(self.database, reconcile)
        self.wake()

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Start running jobs (on a thread of its own): first recover from a crash."""
        if self._worker is not None:
            return
        self._worker = Worker("pyconvex-scheduler")
        ready = threading.Event()

        def begin() -> None:
            self._event = asyncio.Event()
            self._main = asyncio.get_running_loop().create_task(self._run())
            ready.set()

        self.database.add_commit_listener(self._on_commit)
        if isinstance(self.clock, ManualClock):
            self.clock.add_listener(self.wake)
        self._worker.loop.call_soon_threadsafe(begin)
        ready.wait()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Stop: running jobs are abandoned (a mutation's is re-run, an action's fails later)."""
        self._stopping = True
        if isinstance(self.clock, ManualClock):
            self.clock.remove_listener(self.wake)
        worker = self._worker
        if worker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), worker.loop)
        try:
            future.result(timeout_seconds)
        except Exception:  # a job that will not stop: the thread is a daemon
            _log.warning("The scheduler did not stop within %s s", timeout_seconds)
        worker.stop()
        self._worker = None

    def wake(self) -> None:
        """Make the runner look for due jobs now (thread-safe)."""
        with self._condition:
            self._requested += 1
        worker, event = self._worker, self._event
        if worker is not None and event is not None and not self._stopping:
            try:
                worker.loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed: stopping
                pass

    def wait_idle(self, timeout_seconds: float = 10.0) -> bool:
        """Block until nothing is due now and nothing runs; False on timeout.

        For tests on a :class:`~pyconvex.clock.ManualClock`: advance the clock,
        then wait for the jobs that became due (and those they schedule) to finish.
        """
        self.wake()
        with self._condition:
            wanted = self._requested
            return self._condition.wait_for(lambda: self._settled >= wanted, timeout_seconds)

    async def idle(self, timeout_seconds: float = 10.0) -> None:
        """Like :meth:`wait_idle`, for async callers.

        Raises:
            TimeoutError: jobs still run or are due after ``timeout_seconds``.
        """
        if not await asyncio.to_thread(self.wait_idle, timeout_seconds):
            raise TimeoutError("scheduled jobs were still running or due")

    # -- the loop ---------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._recover()
        except Exception:  # storage trouble: the jobs stay as they are for the next start
            _log.exception("The scheduler could not recover interrupted jobs")
        event = self._event
        assert event is not None
        while not self._stopping:
            event.clear()
            with self._condition:
                generation = self._requested
            try:
                idle, next_due_ms = await self._dispatch()
            except Exception:  # storage trouble: try again on the next wake or tick
                _log.exception("The scheduler's pass failed")
                idle, next_due_ms = False, self._now_ms() + 1000
            if idle:
                with self._condition:
                    self._settled = max(self._settled, generation)
                    self._condition.notify_all()
            try:
                await asyncio.wait_for(event.wait(), self._sleep_seconds(next_due_ms))
            except TimeoutError:
                pass

    def _sleep_seconds(self, next_due_ms: float | None) -> float:
        if next_due_ms is None:
            return _MAX_SLEEP_SECONDS
        seconds = (next_due_ms - self._now_ms()) / 1000
        return min(max(seconds, 0.001), _MAX_SLEEP_SECONDS)

    async def _dispatch(self) -> tuple[bool, float | None]:
        """Start what is due; return (nothing due or running, the next due time)."""
        now = self._now_ms()
        await self._prune(now)
        await self._renew(now)
        snapshot = self.database.begin(writable=False)
        leases = all_leases(snapshot)
        next_due: list[float] = []
        for lease in leases.values():
            if self._lapsed(lease, now):
                await self._expire(snapshot, lease, now)
            elif lease.node != self.node_id:
                next_due.append(lease.until_ms)  # its holder may die: look again then
        waiting = await self._claim_due_jobs(snapshot, leases, now)
        upcoming = (
            QueryInitializer(snapshot, SCHEDULED_FUNCTIONS, sync=True)
            .with_index(BY_STATE, lambda q: q.eq("state.kind", PENDING).gt("scheduledTime", now))
            .first()
        )
        if upcoming is not None:
            next_due.append(float(upcoming["scheduledTime"]))
        for row in _cron_rows(snapshot):
            key = f"cron:{row['name']}"
            if key in self._inflight or _kind(row) != PENDING:
                continue
            if float(row["nextRun"]) > now:
                next_due.append(float(row["nextRun"]))
            elif len(self._inflight) < self.concurrency:
                self._start(key, functools.partial(self._run_cron, row), target=row["_id"])
            else:
                waiting = True
        if self._renewing:
            next_due.append(self._next_renewal_ms)
        idle = not waiting and not self._inflight
        return idle, min(next_due) if next_due else None

    async def _claim_due_jobs(
        self, snapshot: Transaction, leases: dict[str, Lease], now: float
    ) -> bool:
        """Claim and start the due jobs there is room for; return whether some must wait.

        Jobs another node holds are skipped: they are that node's to run (or,
        once its lease lapses, this node's to take over, see :meth:`_dispatch`).
        """
        room = self.concurrency - len(self._inflight)
        waiting = False
        candidates: list[dict[str, Any]] = []
        due = QueryInitializer(snapshot, SCHEDULED_FUNCTIONS, sync=True).with_index(
            BY_STATE, lambda q: q.eq("state.kind", PENDING).lte("scheduledTime", now)
        )
        for job in due:
            if f"job:{job['_id']}" in self._inflight:
                continue  # a running mutation's job stays pending until it commits
            lease = leases.get(job["_id"])
            if lease is not None and not self._lapsed(lease, now):
                continue
            if len(candidates) >= room:
                waiting = True
                break
            candidates.append(job)
        if not candidates:
            return waiting
        claimed = await _write(self.database, lambda t: self._claim(t, candidates, now))
        for job, kind in claimed:
            if kind is FunctionKind.ACTION:
                self._begin_renewing(job["_id"], now)
            work = functools.partial(self._run_job, job, kind)
            self._start(f"job:{job['_id']}", work, target=job["_id"])
        if len(claimed) < len(candidates):
            self.wake()  # another node took some: look for the next ones
        return waiting

    def _claim(
        self, transaction: Transaction, candidates: list[dict[str, Any]], now: float
    ) -> list[tuple[dict[str, Any], FunctionKind | str]]:
        """Lease every candidate still pending and free; an action's job turns ``inProgress``."""
        claimed: list[tuple[dict[str, Any], FunctionKind | str]] = []
        for candidate in candidates:
            job_id = candidate["_id"]
            job = transaction.get(job_id, system=True)
            if job is None or _kind(job) != PENDING:
                continue  # canceled, or run by another node
            lease = lease_of(transaction, job_id)
            if lease is not None and not self._lapsed(lease, now):
                continue
            kind = schedulable_kind(self.executor.registry, job["name"])
            if kind is FunctionKind.ACTION:
                # At most once: committed in progress before the action starts.
                transaction.patch(job_id, {"state": {"kind": IN_PROGRESS}})
            hold(transaction, job_id, self.node_id, now + self.lease_ms, lease)
            claimed.append((job, kind))
        return claimed

    def _lapsed(self, lease: Lease, now: float) -> bool:
        """Whether ``lease`` no longer protects a run (its holder died or let go)."""
        if lease.node == self.node_id:
            return lease.target not in self._held.values()  # ours, but nothing runs it
        return self._exclusive or lease.until_ms <= now

    def _start(
        self, key: str, work: Callable[[], Coroutine[Any, Any, None]], target: str | None = None
    ) -> None:
        task = asyncio.get_running_loop().create_task(_guarded(key, work))
        self._inflight[key] = task
        if target is not None:
            self._held[key] = target

        def done(_: asyncio.Task[None]) -> None:
            self._inflight.pop(key, None)
            self._held.pop(key, None)
            self.wake()

        task.add_done_callback(done)

    async def _shutdown(self) -> None:
        tasks = [*self._inflight.values()]
        if self._main is not None:
            tasks.append(self._main)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_commit(self, records: Sequence[CommitRecord]) -> None:
        if self._stopping:
            return
        catalog = self.database.state.catalog
        watched = [
            table.indexes[BY_ID].index_id
            for name in (SCHEDULED_FUNCTIONS, CRON_JOBS)
            if (table := catalog.table(name)) is not None
        ]
        if any(index in record.by_index for record in records for index in watched):
            self.wake()

    def _now_ms(self) -> float:
        return self.clock.now_ns() / 1e6

    # -- recovery and pruning ---------------------------------------------------

    async def _recover(self) -> None:
        """Fail the actions a crash cut short before leases existed; never run twice.

        Runs in progress with a lease are the lease's business (see :meth:`_expire`).
        """
        transaction = self.database.begin(writable=False)
        leased = all_leases(transaction)
        stuck = (
            QueryInitializer(transaction, SCHEDULED_FUNCTIONS, sync=True)
            .with_index(BY_STATE, lambda q: q.eq("state.kind", IN_PROGRESS))
            .collect()
        )
        for job in stuck:
            if job["_id"] in leased:
                continue
            failed = {"kind": FAILED, "error": TRANSIENT_ACTION_ERROR}
            await self._finish_job(job["_id"], failed, leased=False)
            self._record_failure(
                job["name"], FunctionKind.ACTION, TRANSIENT_ACTION_ERROR, "scheduled"
            )
        for row in _cron_rows(transaction):
            if _kind(row) == IN_PROGRESS and row["_id"] not in leased:
                failed = {"kind": FAILED, "error": TRANSIENT_ACTION_ERROR}
                await self._finish_cron(row, failed, expected=None)
                self._record_failure(
                    row["function"], FunctionKind.ACTION, TRANSIENT_ACTION_ERROR, _cron_label(row)
                )

    async def _expire(self, snapshot: Transaction, lease: Lease, now: float) -> None:
        """Deal with a lapsed lease: its holder died, or stopped without letting go.

        A claimed mutation's job is still pending: it is simply claimed again
        (its run never committed). A running action's job or cron run is marked
        failed, never re-run. A lease on anything else is dropped.
        """
        target = snapshot.get(lease.target, system=True)
        is_job = snapshot.table_name_for_id(lease.target) == SCHEDULED_FUNCTIONS
        if is_job and target is not None and _kind(target) == PENDING:
            return

        def expire(transaction: Transaction) -> tuple[str, str] | None:
            if lease_of(transaction, lease.target) != lease:
                return None  # renewed, released or taken over meanwhile
            transaction.delete(lease.id)
            row = transaction.get(lease.target, system=True)
            if row is None or _kind(row) != IN_PROGRESS:
                return None
            failed = {"kind": FAILED, "error": TRANSIENT_ACTION_ERROR}
            if is_job:
                finish_job(transaction, lease.target, failed, now)
                return str(row["name"]), "scheduled"
            _complete_cron(transaction, row, failed, now, None)
            return str(row["function"]), _cron_label(row)

        failed = await _write(self.database, expire)
        if failed is not None:
            path, trigger = failed
            self._record_failure(path, FunctionKind.ACTION, TRANSIENT_ACTION_ERROR, trigger)

    def _begin_renewing(self, target: str, now: float) -> None:
        if not self._renewing:
            self._next_renewal_ms = now + self.lease_ms / 3
        self._renewing.add(target)

    async def _renew(self, now: float) -> None:
        """Extend the leases of this node's running actions (every third of a lease)."""
        if not self._renewing or now < self._next_renewal_ms:
            return
        self._next_renewal_ms = now + self.lease_ms / 3
        targets, until = sorted(self._renewing), now + self.lease_ms

        def renew(transaction: Transaction) -> None:
            for target in targets:
                lease = lease_of(transaction, target)
                if lease is not None and lease.node == self.node_id:
                    hold(transaction, target, self.node_id, until, lease)

        await _write(self.database, renew)

    async def _prune(self, now: float) -> None:
        """Delete finished jobs older than the retention (at most hourly)."""
        if now - self._last_prune_ms < _PRUNE_PERIOD_MS:
            return
        self._last_prune_ms = now
        cutoff = now - knobs.SCHEDULED_JOB_RETENTION_SECONDS * 1000

        def prune(transaction: Transaction) -> int:
            old = (
                QueryInitializer(transaction, SCHEDULED_FUNCTIONS, sync=True)
                .with_index(
                    BY_COMPLETED_TIME,
                    lambda q: q.gte("completedTime", 0).lt("completedTime", cutoff),
                )
                .take(_PRUNE_BATCH)
            )
            for job in old:
                transaction.delete(job["_id"])
            return len(old)

        while await _write(self.database, prune) == _PRUNE_BATCH:
            pass

    # -- scheduled functions ----------------------------------------------------

    async def _run_job(self, job: dict[str, Any], kind: FunctionKind | str) -> None:
        """Run a job this node claimed (``kind``: what it runs, or why it cannot run)."""
        job_id, name = job["_id"], job["name"]
        args = job["args"][0] if job.get("args") else {}
        if isinstance(kind, str):  # the code changed since it was scheduled
            if await self._finish_job(job_id, {"kind": FAILED, "error": kind}):
                self._record_failure(name, FunctionKind.MUTATION, kind, "scheduled")
            return
        with triggered_by("scheduled"):
            if kind is FunctionKind.MUTATION:
                await self._run_mutation_job(job_id, name, args)
            else:
                await self._run_action_job(job_id, name, args)

    async def _run_mutation_job(self, job_id: str, name: str, args: Any) -> None:
        async def fail(error: str) -> None:
            await self._finish_job(job_id, {"kind": FAILED, "error": error})

        hooks = _JobHooks(job_id, self.node_id, self._now_ms)
        await self._run_mutation(name, args, hooks, fail)

    async def _run_action_job(self, job_id: str, name: str, args: Any) -> None:
        # Claimed already: the job was committed in progress with this node's lease.
        async def finish(outcome: dict[str, Any]) -> None:
            # A job's row keeps no result, only whether it succeeded.
            await self._finish_job(
                job_id, {"kind": SUCCESS} if outcome["kind"] == SUCCESS else outcome
            )

        await self._run_action(name, args, None, finish, target=job_id, scheduled_job=job_id)

    # -- cron jobs --------------------------------------------------------------

    async def _run_cron(self, row: dict[str, Any]) -> None:
        kind = schedulable_kind(self.executor.registry, row["function"])
        label = _cron_label(row)
        if isinstance(kind, str):
            await self._finish_cron(row, {"kind": FAILED, "error": kind}, expected=row)
            self._record_failure(row["function"], FunctionKind.MUTATION, kind, label)
            return
        args = row["args"][0] if row.get("args") else {}
        with triggered_by(label):
            if kind is FunctionKind.MUTATION:
                await self._run_mutation_cron(row, args)
            else:
                await self._run_action_cron(row, args)

    async def _run_mutation_cron(self, row: dict[str, Any], args: Any) -> None:
        async def fail(error: str) -> None:
            await self._finish_cron(row, {"kind": FAILED, "error": error}, expected=row)

        await self._run_mutation(row["function"], args, _CronHooks(row, self._now_ms), fail)

    async def _run_action_cron(self, row: dict[str, Any], args: Any) -> None:
        cron_id = row["_id"]
        now = self._now_ms()

        def claim(transaction: Transaction) -> bool:
            # Two nodes claiming one run both write the row: one of them conflicts.
            if not _unchanged(transaction, row):
                return False
            lease = lease_of(transaction, cron_id)
            transaction.patch(cron_id, {"state": {"kind": IN_PROGRESS}})
            hold(transaction, cron_id, self.node_id, now + self.lease_ms, lease)
            return True

        async def finish(outcome: dict[str, Any]) -> None:
            await self._finish_cron(row, outcome, expected=None, leased=True)

        await self._run_action(row["function"], args, claim, finish, target=cron_id)

    # -- running one job or cron run ------------------------------------------------

    async def _run_mutation(
        self,
        name: str,
        args: Any,
        hooks: _JobHooks | _CronHooks,
        fail: Callable[[str], Awaitable[None]],
    ) -> None:
        """Run a mutation whose outcome ``hooks`` record in its own commit; exactly once."""
        if not _still(self.database, hooks.before):
            return  # canceled, run, or changed by a reload since it was picked
        backoff = knobs.OCC_INITIAL_BACKOFF_SECONDS
        while True:
            try:
                await self.executor.run_mutation(name, args, allow_internal=True, hooks=hooks)
                return
            except _JobGone:
                return
            except OptimisticConcurrencyControlFailure:
                # Convex retries a scheduled mutation's conflicts for as long as it takes.
                await asyncio.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, knobs.OCC_MAX_BACKOFF_SECONDS)
            except Exception as error:
                await fail(job_error_text(error))  # the mutation's writes are discarded
                return

    async def _run_action(
        self,
        name: str,
        args: Any,
        claim: Callable[[Transaction], bool] | None,
        finish: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        target: str,
        scheduled_job: str | None = None,
    ) -> None:
        """Claim (committed ``inProgress``, unless ``claim`` is None: claimed already),
        run while renewing the lease, record the outcome: at most once."""
        if claim is not None:
            if not await _write(self.database, claim):
                return  # canceled, run, or changed by a reload since it was picked
            self._begin_renewing(target, self._now_ms())
            self.wake()  # the runner's next wake-up must include the renewal
        try:
            try:
                result = await self.executor.run_action(
                    name, args, allow_internal=True, scheduled_job=scheduled_job
                )
                outcome = _success(result.value)
            except Exception as error:
                outcome = {"kind": FAILED, "error": job_error_text(error)}
            await finish(outcome)
        finally:
            self._renewing.discard(target)

    async def _finish_job(self, job_id: str, state: dict[str, Any], *, leased: bool = True) -> bool:
        """Record a job's outcome and let go of its lease, in a transaction of its own.

        Nothing is recorded if the job was canceled meanwhile, or (``leased``) if
        this node no longer holds it: it was handed over to another node.
        """
        now = self._now_ms()

        def finish(transaction: Transaction) -> bool:
            if leased and not release(transaction, job_id, self.node_id):
                return False
            return finish_job(transaction, job_id, state, now)

        return await _write(self.database, finish)

    async def _finish_cron(
        self,
        row: dict[str, Any],
        outcome: dict[str, Any],
        *,
        expected: dict[str, Any] | None,
        leased: bool = False,
    ) -> None:
        """Record a cron run's outcome and plan its next run, in a transaction of its own.

        With ``leased`` (an action's run), only while this node holds the run's
        lease: once it lapsed, another node recorded the run failed.
        """
        now = self._now_ms()

        def finish(transaction: Transaction) -> None:
            if leased and not release(transaction, row["_id"], self.node_id):
                return
            _complete_cron(transaction, row, outcome, now, expected)

        await _write(self.database, finish)

    def _record_failure(self, path: str, kind: FunctionKind, error: str, trigger: str) -> None:
        # A job that failed without running still shows in the logs (``pyconvex dev``).
        self.executor.logs.record(
            path=path,
            kind=kind.value,
            started_at_ms=self._now_ms(),
            duration_ms=0.0,
            outcome="failure",
            error=error,
            trigger=trigger,
        )


class _JobHooks:
    """A scheduled mutation's job: ``inProgress`` to itself, ``success`` in its commit.

    The run's transaction reads the job's lease: if the lease is handed over to
    another node meanwhile, the run conflicts and, retried, finds it gone.
    """

    def __init__(self, job_id: str, node_id: str, now_ms: Callable[[], float]) -> None:
        self._job_id = job_id
        self._node_id = node_id
        self._now_ms = now_ms

    def before(self, transaction: Transaction) -> None:
        job = transaction.get(self._job_id, system=True)
        if job is None or _kind(job) != PENDING:
            raise _JobGone
        lease = lease_of(transaction, self._job_id)
        if lease is None or lease.node != self._node_id:
            raise _JobGone  # handed over to another node
        _as_system(
            transaction, lambda: transaction.patch(self._job_id, {"state": {"kind": IN_PROGRESS}})
        )

    def after(self, transaction: Transaction, value: Any) -> None:
        # A mutation that canceled its own job ends canceled, not succeeded.
        success = {"kind": SUCCESS}
        release(transaction, self._job_id, self._node_id)
        _as_system(
            transaction, lambda: finish_job(transaction, self._job_id, success, self._now_ms())
        )


class _CronHooks:
    """A mutation cron run: the next run is planned in the run's own commit."""

    def __init__(self, row: dict[str, Any], now_ms: Callable[[], float]) -> None:
        self._row = row
        self._now_ms = now_ms

    def before(self, transaction: Transaction) -> None:
        if not _unchanged(transaction, self._row):
            raise _JobGone

    def after(self, transaction: Transaction, value: Any) -> None:
        now = self._now_ms()
        _as_system(
            transaction,
            lambda: _complete_cron(transaction, self._row, _success(value), now, self._row),
        )


def job_error_text(error: BaseException) -> str:
    """How a failed job's error reads in its row (Convex's ``Uncaught Error: ...``)."""
    if isinstance(error, ConvexError):
        data = error.data
        text = data if isinstance(data, str) else json.dumps(encode_json(data), sort_keys=True)
        return f"Uncaught ConvexError: {text}"
    if isinstance(error, (ArgumentValidationError, ReturnsValidationError)):
        return error.message
    if isinstance(error, PyConvexError):
        return f"Uncaught Error: {error.message}"
    return (
        f"Uncaught {type(error).__name__}: {error}"
        if str(error)
        else f"Uncaught {type(error).__name__}"
    )


# -- cron rows ------------------------------------------------------------------


def _cron_rows(transaction: Transaction) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        QueryInitializer(transaction, CRON_JOBS, sync=True).with_index("by_name").collect()
    )
    return rows


def _reconcile_one(
    transaction: Transaction, row: dict[str, Any] | None, job: CronJob, now: float
) -> None:
    declared: dict[str, Value] = normalize_value(
        {"name": job.name, "function": job.function, "args": [job.args], "spec": job.schedule}
    )
    if row is None:
        first, _ = next_run(job.schedule, None, now, job.name)
        transaction.insert(CRON_JOBS, {**declared, "nextRun": first, "state": {"kind": PENDING}})
        return
    changes = {k: v for k, v in declared.items() if row.get(k) != v}
    if "spec" in changes:
        # A new schedule starts afresh; its state (last run and result) is kept.
        changes["nextRun"], _ = next_run(job.schedule, None, now, job.name)
    if changes:
        transaction.patch(row["_id"], changes)


def _unchanged(transaction: Transaction, row: dict[str, Any]) -> bool:
    """Whether a cron row is still as picked (so this run is still wanted)."""
    current = transaction.get(row["_id"], system=True)
    return (
        current is not None
        and _kind(current) == PENDING
        and current.get("nextRun") == row["nextRun"]
        and current.get("spec") == row["spec"]
    )


def _complete_cron(
    transaction: Transaction,
    row: dict[str, Any],
    outcome: dict[str, Any],
    now: float,
    expected: dict[str, Any] | None,
) -> None:
    """Record a cron run's outcome and plan its next run after ``now``.

    With ``expected`` (a mutation's run) nothing is written if the row changed
    since it was picked; without it (an action's), a row still there is completed.
    """
    current = transaction.get(row["_id"], system=True)
    if current is None or (expected is not None and not _unchanged(transaction, expected)):
        return
    spec = current["spec"]
    previous = float(current["nextRun"])
    if previous > now:
        upcoming, skipped = previous, 0  # rescheduled meanwhile (a new schedule)
    else:
        upcoming, skipped = next_run(spec, previous, now, str(current["name"]))
    if skipped:
        _log.info(
            "Skipping %d run(s) of cron job %r because multiple scheduled runs are in the past",
            skipped,
            current["name"],
        )
    transaction.patch(
        row["_id"],
        {"state": {"kind": PENDING}, "nextRun": upcoming, "lastRun": now, "lastResult": outcome},
    )


def _success(value: Any) -> dict[str, Any]:
    outcome: dict[str, Any] = {"kind": SUCCESS}
    try:
        check_document({"value": value})
    except PyConvexError:
        return outcome
    if len(json.dumps(encode_json(value))) <= _CRON_RESULT_MAX_BYTES:
        outcome["value"] = value
    return outcome


def _cron_label(row: dict[str, Any]) -> str:
    return f'cron "{row["name"]}"'


def _kind(row: dict[str, Any]) -> str:
    state = row.get("state")
    kind = state.get("kind") if isinstance(state, dict) else None
    return kind if isinstance(kind, str) else ""


def _as_system(transaction: Transaction, write: Callable[[], T]) -> T:
    previous = transaction.system_writes
    transaction.system_writes = True
    try:
        return write()
    finally:
        transaction.system_writes = previous


# -- system transactions --------------------------------------------------------


def _still(database: Database, check: Callable[[Transaction], None]) -> bool:
    """Whether ``check`` (a hook's ``before``) passes at the latest snapshot.

    Checked before running a job, so that a job canceled meanwhile does not
    show up as a failed run; the check inside the run's transaction decides.
    """
    transaction = database.begin(writable=True)
    try:
        check(transaction)
    except _JobGone:
        return False
    return True


async def _write(database: Database, write: Callable[[Transaction], T]) -> T:
    """Run ``write`` in a system transaction and commit it, retrying conflicts."""
    backoff = 0.01
    for _ in range(_WRITE_ATTEMPTS):
        transaction = database.begin(writable=True)
        transaction.system_writes = True
        result = write(transaction)
        try:
            await database.commit_async(transaction, origin="scheduler")
        except CommitConflict:
            await asyncio.sleep(random.uniform(0, backoff))
            backoff = min(backoff * 2, 1.0)
            continue
        return result
    raise OptimisticConcurrencyControlFailure("The scheduler's system write kept conflicting.")


def _write_blocking(database: Database, write: Callable[[Transaction], T]) -> T:
    for _ in range(_WRITE_ATTEMPTS):
        transaction = database.begin(writable=True)
        transaction.system_writes = True
        result = write(transaction)
        try:
            database.commit(transaction, origin="scheduler").result()
        except CommitConflict:
            continue
        return result
    raise OptimisticConcurrencyControlFailure("The scheduler's system write kept conflicting.")
