"""The committer: the single writer of a node, with group commit.

Transactions hand their read set and buffered writes to the committer's
queue. Its thread takes everything queued (up to ``knobs.COMMIT_BATCH_MAX``),
and for each transaction in order:

1. checks the read set against every commit after the transaction's
   ``begin_ts`` (the write log, plus commits accepted earlier in this batch);
   a hit fails that transaction with :class:`CommitConflict`;
2. assigns the next commit timestamp (strictly increasing, and at least the
   wall clock, so timestamps survive restarts);
3. turns its writes into document revisions and index entries.

Then one :meth:`Persistence.write` stores the whole batch (one fsync), and
only then are the new timestamp and catalog published and the callers'
futures resolved. So a commit is acknowledged only once it is durable, and a
transaction can only begin at a timestamp whose commits are all stored.

On a store several nodes share (PostgreSQL), the same steps run inside
:meth:`SharedPersistence.commit_serialized`, under the deployment-wide commit
lock, after the other nodes' commits since ``state.ts`` have joined the write
log; idle nodes take those in when the store announces them
(``docs/concepts/multi-node.md``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyconvex.knobs as knobs
from pyconvex.clock import Clock
from pyconvex.database.catalog import Catalog, TableInfo
from pyconvex.database.documents import document_keys
from pyconvex.database.readset import ALLOCATION_KEY, CATALOG_INDEX_ID, SCHEMA_KEY, ReadSet
from pyconvex.database.schema import Schema
from pyconvex.database.transaction import PendingWrite
from pyconvex.database.write_log import (
    CommitRecord,
    Conflict,
    TouchedKey,
    WriteLog,
    decode_commit,
    encode_commit,
)
from pyconvex.storage.base import (
    CommitBatch,
    DocumentRevision,
    IndexEntry,
    LoggedCommit,
    Persistence,
    SharedPersistence,
)
from pyconvex.values.json import dumps_bytes
from pyconvex.values.ordering import encode_value

__all__ = ["CommitConflict", "CommitRequest", "Committer", "DatabaseState"]

_STOP = object()
_CATCH_UP = object()
_UNKNOWN = 1 << 63  # a catch-up target above every timestamp


class CommitConflict(Exception):
    """A transaction read something that a later commit changed (retry it)."""

    def __init__(self, conflict: Conflict) -> None:
        self.conflict = conflict
        super().__init__(f"conflict with commit at ts {conflict.ts}")


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """What a new transaction begins with; published atomically as one object."""

    ts: int
    catalog: Catalog
    schema: Schema | None


@dataclass(slots=True)
class CommitRequest:
    """A transaction ready to commit.

    Attributes:
        begin_ts: the transaction's snapshot timestamp.
        read_set: what it read.
        writes: its buffered document writes.
        created_tables: tables it created.
        schema_change: for schema pushes: the new catalog and schema to publish.
        origin: the function that ran it, for conflict messages.
    """

    begin_ts: int
    read_set: ReadSet
    writes: Sequence[PendingWrite]
    created_tables: Sequence[TableInfo] = ()
    schema_change: Callable[[Catalog], tuple[Catalog, Schema | None]] | None = None
    origin: str | None = None
    #: For async callers: the outcome is set on ``waiter`` in ``loop``, with one
    #: wake-up of the loop per group commit rather than per request.
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[int] | None = None
    #: For other callers: made by :meth:`Committer.submit`.
    future: concurrent.futures.Future[int] | None = None


@dataclass(slots=True)
class _Batch:
    revisions: list[DocumentRevision] = field(default_factory=list)
    entries: list[IndexEntry] = field(default_factory=list)
    records: list[CommitRecord] = field(default_factory=list)
    accepted: list[tuple[CommitRequest, int]] = field(default_factory=list)
    #: Requests that failed validation, with their conflicts.
    refused: list[tuple[CommitRequest, int | BaseException]] = field(default_factory=list)
    globals_: list[tuple[str, str]] = field(default_factory=list)
    #: Per record: the catalog after it, if it changed it (for other nodes).
    catalogs: list[str | None] = field(default_factory=list)
    state: DatabaseState | None = None


class Committer:
    """Owns the commit timestamp, the write log and the published state.

    Invariants: published ``state.ts`` only grows; every commit with
    ``ts <= state.ts`` is durable in storage and in the write log.

    On a :class:`~pyconvex.storage.base.SharedPersistence` (several nodes),
    each batch commits under the store-wide lock after taking in what other
    nodes committed since ``state.ts`` (their records join the write log and
    reach the listeners like local ones), and the thread also takes them in
    when the store announces a commit (``docs/concepts/multi-node.md``).
    """

    def __init__(
        self,
        persistence: Persistence,
        clock: Clock,
        state: DatabaseState,
        *,
        write_log_records: int = 200_000,
        on_catalog: Callable[[Catalog], None] | None = None,
    ) -> None:
        self._persistence = persistence
        self._shared = persistence if isinstance(persistence, SharedPersistence) else None
        self._clock = clock
        self.state = state
        self._last_ts = state.ts
        self.write_log = WriteLog(floor_ts=state.ts, max_records=write_log_records)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._listeners: list[Callable[[Sequence[CommitRecord]], None]] = []
        self._on_catalog = on_catalog
        self._catch_up_queued = False
        # The newest commit a catch-up must reach (_UNKNOWN: check anyway).
        self._catch_up_target = 0
        self._published = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pyconvex-committer", daemon=True)
        self._thread.start()
        if self._shared is not None:
            self._shared.watch_commits(self._queue_catch_up)

    def submit(self, request: CommitRequest) -> concurrent.futures.Future[int]:
        """Queue a transaction; the future resolves to its commit ts once durable.

        The future fails with :class:`CommitConflict` on an OCC conflict, or
        with the storage error if the write failed (nothing was committed).
        """
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        request.future = future
        self._queue.put(request)
        return future

    def submit_many(self, requests: list[CommitRequest]) -> None:
        """Queue requests of async callers (each with ``loop`` and ``waiter``) at once.

        They reach the committer thread together, so they share a group commit.
        """
        self._queue.put(requests)

    def add_listener(self, listener: Callable[[Sequence[CommitRecord]], None]) -> None:
        """Call ``listener(records)`` on the committer thread after each durable batch.

        On a shared store, also with the records of other nodes' commits.
        """
        self._listeners.append(listener)

    def wait_for(self, ts: int, timeout: float) -> bool:
        """Block until ``state.ts >= ts`` (taking in other nodes' commits); False on timeout.

        On a store no other process writes, nothing can arrive: returns at once.
        """
        if self.state.ts >= ts:
            return True
        if self._shared is None:
            return False
        self._queue_catch_up(ts)
        with self._published:
            return self._published.wait_for(lambda: self.state.ts >= ts, timeout)

    def close(self) -> None:
        """Finish queued commits and stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    # -- the committer thread ----------------------------------------------

    def _run(self) -> None:
        waiting: list[CommitRequest] = []  # taken from the queue, not yet committed
        stopping = False
        limit = knobs.COMMIT_BATCH_MAX
        while True:
            catch_up = False
            if not waiting:
                if stopping:
                    return
                first = self._queue.get()
                if first is _STOP:
                    return
                if first is _CATCH_UP:
                    catch_up = True
                else:
                    _add(waiting, first)
            while not stopping and len(waiting) < limit:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                elif item is _CATCH_UP:
                    catch_up = True
                else:
                    _add(waiting, item)
            if catch_up:
                self._catch_up_queued = False
            if waiting:
                self._commit_batch(waiting[:limit])  # catches up on the way, when shared
                del waiting[:limit]
            elif catch_up:
                self._catch_up()

    def _commit_batch(self, requests: list[CommitRequest]) -> None:
        if self._shared is not None:
            self._commit_shared(self._shared, requests)
            return
        batch = self._prepare(requests)
        if batch.accepted:
            try:
                self._persistence.write(batch.revisions, batch.entries, batch.globals_)
            except BaseException as error:  # storage failed: nothing of this batch exists
                self._fail(batch, error)
                return
        self._publish(batch)

    def _commit_shared(self, shared: SharedPersistence, requests: list[CommitRequest]) -> None:
        prepared: _Batch | None = None

        def prepare(max_ts: int, commits: Sequence[LoggedCommit]) -> CommitBatch | None:
            # Under the store-wide lock: nobody else commits until we are done.
            nonlocal prepared
            self._absorb(commits)
            self._last_ts = max(self._last_ts, max_ts)
            prepared = batch = self._prepare(requests)
            if not batch.accepted:
                return None
            logged = [
                LoggedCommit(record.ts, encode_commit(record, catalog))
                for record, catalog in zip(batch.records, batch.catalogs)
            ]
            return CommitBatch(batch.revisions, batch.entries, batch.globals_, logged)

        try:
            shared.commit_serialized(self.state.ts, prepare)
        except BaseException as error:
            if prepared is None:  # failed before validation: nothing was decided
                _deliver([(request, error) for request in requests])
            else:
                self._fail(prepared, error)
            return
        assert prepared is not None
        self._publish(prepared)

    def _catch_up(self) -> None:
        """Take in the commits other nodes made since ``state.ts`` (shared stores only)."""
        target, self._catch_up_target = self._catch_up_target, 0
        if self._shared is None or self.state.ts >= target:
            return  # a commit batch took them in meanwhile
        try:
            commits = self._shared.load_commits(self.state.ts)
        except Exception:  # the store is unreachable or closing; the next call retries
            return
        self._absorb(commits)

    def _queue_catch_up(self, ts: int | None = None) -> None:
        # Called by the store's listener thread with the commit it heard of (None: a
        # periodic check); our own commits come back too. One queued catch-up is enough.
        if ts is not None and ts <= self.state.ts:
            return
        self._catch_up_target = max(self._catch_up_target, _UNKNOWN if ts is None else ts)
        if not self._catch_up_queued:
            self._catch_up_queued = True
            self._queue.put(_CATCH_UP)

    def _absorb(self, commits: Sequence[LoggedCommit]) -> None:
        """Log and publish other nodes' commits, exactly as if they had been made here."""
        state = self.state
        catalog = state.catalog
        records: list[CommitRecord] = []
        for commit in commits:
            if commit.ts <= state.ts:
                continue  # known already (our own, or taken in before)
            record, catalog_json = decode_commit(commit.ts, commit.payload)
            if catalog_json is not None:
                catalog = Catalog.from_json(catalog_json).with_system_tables()
                if self._on_catalog is not None:
                    self._on_catalog(catalog)
            self.write_log.append(record)
            records.append(record)
        if not records:
            return
        self._last_ts = max(self._last_ts, records[-1].ts)
        self._set_state(DatabaseState(records[-1].ts, catalog, state.schema))
        for listener in self._listeners:
            listener(records)

    def _set_state(self, state: DatabaseState) -> None:
        self.state = state
        if self._shared is not None:
            with self._published:
                self._published.notify_all()

    def _prepare(self, requests: list[CommitRequest]) -> _Batch:
        """Validate each request and turn the accepted ones into one batch of writes.

        Accepted records join the write log at once, so later requests of the
        batch are checked against them (:meth:`_fail` removes them again).
        """
        batch = _Batch()
        state = self.state
        catalog, schema = state.catalog, state.schema
        catalog_changed = False
        shared = self._shared is not None
        for request in requests:
            conflict = self.write_log.find_conflict(request.read_set, request.begin_ts)
            if conflict is None and shared and request.created_tables:
                # Its table numbers came from this node's allocator: another
                # node may have handed out the same ones since it began.
                conflict = self.write_log.find_conflict(_ALLOCATION_READ, request.begin_ts)
            if conflict is not None:
                batch.refused.append((request, CommitConflict(conflict)))
                continue
            ts = self._next_ts()
            touched: list[TouchedKey] = []
            changed_here = False
            for table in request.created_tables:
                catalog = catalog.with_created_table(table)
                changed_here = True
                touched.append(
                    TouchedKey(CATALOG_INDEX_ID, encode_value(table.name), table.name, "")
                )
            if request.schema_change is not None:
                catalog, schema = request.schema_change(catalog)
                changed_here = True
                touched.append(TouchedKey(CATALOG_INDEX_ID, SCHEMA_KEY, "", ""))
            if changed_here and shared:
                touched.append(TouchedKey(CATALOG_INDEX_ID, ALLOCATION_KEY, "", ""))
            catalog_changed = catalog_changed or changed_here
            for write in request.writes:
                self._add_write(batch, catalog, write, ts, touched)
            record = CommitRecord(ts, touched, request.origin)
            self.write_log.append(record)
            batch.records.append(record)
            batch.catalogs.append(catalog.to_json() if changed_here and shared else None)
            batch.accepted.append((request, ts))
        if batch.accepted:
            batch.globals_ = [("catalog", catalog.to_json())] if catalog_changed else []
            batch.state = DatabaseState(batch.accepted[-1][1], catalog, schema)
        return batch

    def _fail(self, batch: _Batch, error: BaseException) -> None:
        """The storage write failed: nothing of the batch exists; fail its requests."""
        self.write_log.remove_newest(len(batch.records))
        _deliver(batch.refused + [(request, error) for request, _ in batch.accepted])

    def _publish(self, batch: _Batch) -> None:
        """The batch is durable: publish its state, resolve its futures, tell the listeners."""
        if batch.state is not None:
            self._set_state(batch.state)
        outcomes: list[tuple[CommitRequest, int | BaseException]] = [*batch.refused]
        outcomes += batch.accepted
        # Listeners first: what they hand to an event loop then runs there before
        # the callers resume, so no caller sees its commit before, for example,
        # the subscriptions it invalidates have been marked.
        if batch.records:
            for listener in self._listeners:
                listener(batch.records)
        _deliver(outcomes)

    def _next_ts(self) -> int:
        ts = max(self._last_ts + 1, self._clock.now_ns())
        self._last_ts = ts
        return ts

    def _add_write(
        self,
        batch: _Batch,
        catalog: Catalog,
        write: PendingWrite,
        ts: int,
        touched: list[TouchedKey],
    ) -> None:
        if write.old is None and write.new is None:
            return  # inserted and deleted by the same transaction
        table = catalog.table(write.table.name) or write.table
        new, old, doc_bin = write.new, write.old, write.doc_bin
        value = None
        if new is not None:
            value = write.encoded if write.encoded is not None else dumps_bytes(new)
        batch.revisions.append(DocumentRevision(doc_bin, ts, value, write.old_ts))
        indexes = table.indexes.values()
        entries, name, document_id = batch.entries, table.name, write.document_id
        if old is None:  # an insert: only new keys
            assert new is not None
            for index, key in zip(indexes, document_keys(indexes, new)):
                entries.append(IndexEntry(index.index_id, key, ts, doc_bin))
                touched.append(TouchedKey(index.index_id, key, name, document_id))
            return
        old_keys = document_keys(indexes, old)
        new_keys = document_keys(indexes, new) if new is not None else [None] * len(old_keys)
        for index, new_key, old_key in zip(indexes, new_keys, old_keys):
            if new_key is not None:
                entries.append(IndexEntry(index.index_id, new_key, ts, doc_bin))
                touched.append(TouchedKey(index.index_id, new_key, name, document_id))
            if old_key != new_key:
                entries.append(IndexEntry(index.index_id, old_key, ts, None))
                touched.append(TouchedKey(index.index_id, old_key, name, document_id))


def _add(requests: list[CommitRequest], item: object) -> None:
    if type(item) is list:
        requests.extend(item)
    else:
        requests.append(item)  # type: ignore[arg-type]


_ALLOCATION_READ = ReadSet()
_ALLOCATION_READ.add_point(CATALOG_INDEX_ID, ALLOCATION_KEY)


def _deliver(outcomes: list[tuple[CommitRequest, int | BaseException]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], Any]]] = {}
    for request, outcome in outcomes:
        if request.loop is not None and request.waiter is not None:
            by_loop.setdefault(request.loop, []).append((request.waiter, outcome))
        elif request.future is None:
            pass  # nobody asked for the outcome
        elif isinstance(outcome, BaseException):
            request.future.set_exception(outcome)
        else:
            request.future.set_result(outcome)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, items)
        except RuntimeError:  # the caller's loop is closed; nobody is waiting
            pass


def _resolve_all(items: list[tuple[asyncio.Future[int], Any]]) -> None:
    for waiter, outcome in items:
        if waiter.done():
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)
