"""The committer: the single writer of a deployment, with group commit.

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
from pyconvex.database.readset import CATALOG_INDEX_ID, SCHEMA_KEY, ReadSet
from pyconvex.database.schema import Schema
from pyconvex.database.transaction import PendingWrite
from pyconvex.database.write_log import CommitRecord, Conflict, TouchedKey, WriteLog
from pyconvex.storage.base import DocumentRevision, IndexEntry, Persistence
from pyconvex.values.json import dumps_bytes
from pyconvex.values.ordering import encode_value

__all__ = ["CommitConflict", "CommitRequest", "Committer", "DatabaseState"]

_STOP = object()


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


class Committer:
    """Owns the commit timestamp, the write log and the published state.

    Invariants: published ``state.ts`` only grows; every commit with
    ``ts <= state.ts`` is durable in storage and in the write log.
    """

    def __init__(
        self,
        persistence: Persistence,
        clock: Clock,
        state: DatabaseState,
        *,
        write_log_records: int = 200_000,
    ) -> None:
        self._persistence = persistence
        self._clock = clock
        self.state = state
        self._last_ts = state.ts
        self.write_log = WriteLog(floor_ts=state.ts, max_records=write_log_records)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._listeners: list[Callable[[Sequence[CommitRecord]], None]] = []
        self._thread = threading.Thread(target=self._run, name="pyconvex-committer", daemon=True)
        self._thread.start()

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
        """Call ``listener(records)`` on the committer thread after each durable batch."""
        self._listeners.append(listener)

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
            if not waiting:
                if stopping:
                    return
                first = self._queue.get()
                if first is _STOP:
                    return
                _add(waiting, first)
            while not stopping and len(waiting) < limit:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                else:
                    _add(waiting, item)
            self._commit_batch(waiting[:limit])
            del waiting[:limit]

    def _commit_batch(self, requests: list[CommitRequest]) -> None:
        batch = _Batch()
        outcomes: list[tuple[CommitRequest, int | BaseException]] = []
        state = self.state
        catalog, schema = state.catalog, state.schema
        catalog_changed = False
        for request in requests:
            conflict = self.write_log.find_conflict(request.read_set, request.begin_ts)
            if conflict is not None:
                outcomes.append((request, CommitConflict(conflict)))
                continue
            ts = self._next_ts()
            touched: list[TouchedKey] = []
            for table in request.created_tables:
                catalog = catalog.with_created_table(table)
                catalog_changed = True
                touched.append(
                    TouchedKey(CATALOG_INDEX_ID, encode_value(table.name), table.name, "")
                )
            if request.schema_change is not None:
                catalog, schema = request.schema_change(catalog)
                catalog_changed = True
                touched.append(TouchedKey(CATALOG_INDEX_ID, SCHEMA_KEY, "", ""))
            for write in request.writes:
                self._add_write(batch, catalog, write, ts, touched)
            record = CommitRecord(ts, touched, request.origin)
            # Logged at once so later transactions of this batch are checked
            # against it; removed again if the storage write fails.
            self.write_log.append(record)
            batch.records.append(record)
            batch.accepted.append((request, ts))
        if not batch.accepted:
            _deliver(outcomes)
            return
        globals_ = [("catalog", catalog.to_json())] if catalog_changed else []
        try:
            self._persistence.write(batch.revisions, batch.entries, globals_)
        except BaseException as error:  # storage failed: nothing of this batch exists
            self.write_log.remove_newest(len(batch.records))
            outcomes += [(request, error) for request, _ in batch.accepted]
            _deliver(outcomes)
            return
        self.state = DatabaseState(batch.accepted[-1][1], catalog, schema)
        outcomes += batch.accepted
        _deliver(outcomes)
        for listener in self._listeners:
            listener(batch.records)

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
