"""The database: begin transactions, commit them, and change the schema.

:class:`Database` wires a :class:`~pyconvex.storage.base.Persistence` to the
:class:`~pyconvex.database.committer.Committer` and hands out
:class:`~pyconvex.database.transaction.Transaction` objects that read at the
latest durable timestamp. It is safe to use from many threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Sequence

import pyconvex.knobs as knobs
from pyconvex.clock import Clock, SystemClock
from pyconvex.database.catalog import (
    BY_CREATION_TIME,
    SYSTEM_TABLES,
    Catalog,
    IndexState,
    TableInfo,
    builtin_indexes,
)
from pyconvex.database.committer import (
    CommitConflict,
    CommitRequest,
    Committer,
    DatabaseState,
)
from pyconvex.database.documents import document_key
from pyconvex.database.readset import ReadSet
from pyconvex.database.schema import Schema
from pyconvex.database.transaction import (
    CreationClock,
    TableAllocator,
    Transaction,
    TransactionLimits,
)
from pyconvex.database.write_log import CommitRecord
from pyconvex.errors import SchemaError, ValidationError
from pyconvex.storage.base import IndexEntry, Persistence
from pyconvex.values.ids import id_from_binary
from pyconvex.values.json import loads_bytes

__all__ = ["Database"]

_BACKFILL_CHUNK = 1000
_SCHEMA_ATTEMPTS = 20


class Database:
    """A transactional, multi-version document database over one persistence.

    Args:
        persistence: the store (memory or SQLite).
        clock: the time source for commit timestamps and creation times.
        limits: per-transaction budgets.
    """

    def __init__(
        self,
        persistence: Persistence,
        *,
        clock: Clock | None = None,
        limits: TransactionLimits | None = None,
    ) -> None:
        self.persistence = persistence
        self.clock = clock or SystemClock()
        self.limits = limits or TransactionLimits()
        saved = persistence.get_global("catalog")
        catalog = Catalog.from_json(saved).with_system_tables() if saved else Catalog.bootstrap()
        self.allocator = TableAllocator(catalog.next_table_number, catalog.next_index_id)
        self.creation_clock = CreationClock()
        state = DatabaseState(persistence.max_ts(), catalog, None)
        self.committer = Committer(
            persistence, self.clock, state, on_catalog=self.allocator.observe
        )
        self._schema_lock = threading.Lock()
        #: Per event loop: commit requests made in its current turn (see commit_async).
        self._pending: dict[asyncio.AbstractEventLoop, list[CommitRequest]] = {}

    @property
    def state(self) -> DatabaseState:
        """The latest durable timestamp, catalog and schema (one consistent snapshot)."""
        return self.committer.state

    @property
    def latest_ts(self) -> int:
        """The newest durable commit timestamp."""
        return self.committer.state.ts

    async def caught_up(self, ts: int) -> bool:
        """Wait until commits up to ``ts`` (made on any node) are visible here.

        For a client that saw ``ts`` on another node of a shared store and
        reconnected here. False if they did not arrive within
        ``knobs.CATCH_UP_TIMEOUT_SECONDS``; on a store no other process
        writes, returns at once.
        """
        if self.latest_ts >= ts:
            return True
        return await asyncio.to_thread(self.committer.wait_for, ts, knobs.CATCH_UP_TIMEOUT_SECONDS)

    def begin(self, *, writable: bool, ts: int | None = None) -> Transaction:
        """Start a transaction at the latest timestamp (or at ``ts`` for reads).

        Args:
            writable: True for mutations; queries get a read-only transaction.
            ts: read at this earlier timestamp instead (read-only only).
        """
        state = self.committer.state
        begin_ts = state.ts if ts is None else min(ts, state.ts)
        wall_ns = max(begin_ts, self.clock.now_ns())
        return Transaction(
            persistence=self.persistence,
            catalog=state.catalog,
            schema=state.schema,
            begin_ts=begin_ts,
            begin_wall_ns=wall_ns,
            writable=writable,
            creation_clock=self.creation_clock,
            allocator=self.allocator,
            limits=self.limits,
        )

    def commit(
        self, transaction: Transaction, *, origin: str | None = None
    ) -> concurrent.futures.Future[int]:
        """Submit a transaction's writes; the future resolves to the commit ts.

        A transaction with no writes commits trivially at its begin timestamp.
        The future fails with :class:`CommitConflict` when the transaction
        must be retried.
        """
        if transaction.is_read_only():
            transaction.finalize_reads()
            done: concurrent.futures.Future[int] = concurrent.futures.Future()
            done.set_result(transaction.begin_ts)
            return done
        return self.committer.submit(self._request(transaction, origin))

    def commit_async(
        self, transaction: Transaction, *, origin: str | None = None
    ) -> asyncio.Future[int]:
        """Like :meth:`commit`, for a caller on an event loop (cheaper to wake up)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        if transaction.is_read_only():
            transaction.finalize_reads()
            waiter.set_result(transaction.begin_ts)
            return waiter
        request = self._request(transaction, origin, loop, waiter)
        # Requests made in one turn of the loop go to the committer together
        # at the next turn: handlers woken by one group commit then share the
        # next one, instead of the first of them taking a group commit alone.
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._submit_pending, loop)
        pending.append(request)
        return waiter

    def _submit_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        self.committer.submit_many(self._pending.pop(loop))

    def _request(
        self,
        transaction: Transaction,
        origin: str | None,
        loop: asyncio.AbstractEventLoop | None = None,
        waiter: asyncio.Future[int] | None = None,
    ) -> CommitRequest:
        return CommitRequest(
            begin_ts=transaction.begin_ts,
            read_set=transaction.finalize_reads(),
            writes=list(transaction.writes.values()),
            created_tables=list(transaction.created_tables.values()),
            origin=origin,
            loop=loop,
            waiter=waiter,
        )

    def commit_with_catalog_change(
        self,
        transaction: Transaction,
        change: Callable[[Catalog], Catalog],
        *,
        origin: str | None = None,
    ) -> concurrent.futures.Future[int]:
        """Submit a transaction's writes together with a change of the catalog.

        ``change`` runs on the committer thread with the catalog the commit
        applies to (including the tables the transaction created) and returns
        the new catalog; it must not raise. Like a schema push, the commit
        touches the schema key, so every writing transaction that began before
        it conflicts and retries under the new catalog (snapshot imports use
        this to renumber tables). The future resolves like :meth:`commit`'s.
        """
        committer = self.committer

        def schema_change(catalog: Catalog) -> tuple[Catalog, Schema | None]:
            changed = change(catalog)
            self.allocator.observe(changed)
            # A schema change earlier in the same batch makes this request
            # conflict (it read the schema key), so the published schema is current.
            return changed, committer.state.schema

        request = self._request(transaction, origin)
        request.schema_change = schema_change
        return committer.submit(request)

    def add_commit_listener(self, listener: Callable[[Sequence[CommitRecord]], None]) -> None:
        """Call ``listener`` with the records of every durable commit batch."""
        self.committer.add_listener(listener)

    def close(self) -> None:
        """Stop the committer (queued commits finish first). Storage stays open."""
        self.committer.close()

    # -- schema -------------------------------------------------------------

    def apply_schema(self, schema: Schema | None) -> None:
        """Make ``schema`` the deployment's schema.

        Existing documents of every schema table are validated first; the
        change is refused with :class:`SchemaError` naming the first document
        that does not match, and nothing changes. Tables are created, new
        indexes are backfilled before they can be queried, and indexes no
        longer in the schema are dropped. Blocks until done.
        """
        with self._schema_lock:
            self._commit_schema(schema)
            self._backfill()

    def _commit_schema(self, schema: Schema | None) -> None:
        for _ in range(_SCHEMA_ATTEMPTS):
            transaction = self.begin(writable=False)
            read_set = ReadSet()
            if schema is not None and schema.schema_validation:
                self._validate_existing(transaction, schema, read_set)
            change = self._schema_change(schema)
            request = CommitRequest(
                begin_ts=transaction.begin_ts, read_set=read_set, writes=(), schema_change=change
            )
            try:
                self.committer.submit(request).result()
                return
            except CommitConflict:
                continue  # documents changed while we validated them: validate again
        raise SchemaError("The schema could not be applied: its tables kept changing.")

    def _validate_existing(
        self, transaction: Transaction, schema: Schema, read_set: ReadSet
    ) -> None:
        for name, definition in schema.tables.items():
            table = transaction.catalog.table(name)
            if table is None:
                continue
            index = table.indexes[BY_CREATION_TIME]
            read_set.add(index.index_id, b"", None)
            scan = self.persistence.index_scan(index.index_id, b"", None, transaction.begin_ts)
            for _, revision in scan:
                assert revision.value is not None
                document = loads_bytes(revision.value)
                fields = {k: v for k, v in document.items() if k not in ("_id", "_creationTime")}
                try:
                    definition.validator.validate(fields, "", transaction)
                except ValidationError as error:
                    raise SchemaError(
                        f'Document with ID "{document["_id"]}" in table "{name}" does not '
                        f"match the schema: {error.message}"
                    ) from None

    def _schema_change(
        self, schema: Schema | None
    ) -> Callable[[Catalog], tuple[Catalog, Schema | None]]:
        allocator = self.allocator

        def change(catalog: Catalog) -> tuple[Catalog, Schema | None]:
            wanted = schema.tables if schema is not None else {}
            for name in wanted:
                if catalog.table(name) is None:
                    number, first_index = allocator.table()
                    catalog = catalog.with_created_table(_new_table(name, number, first_index))
            for table in list(catalog.tables.values()):
                if table.name in SYSTEM_TABLES:
                    continue  # their indexes are pyconvex's own, not the schema's
                definition = wanted.get(table.name)
                declared = {i.name: i.fields for i in definition.indexes} if definition else {}
                for index in list(table.indexes.values()):
                    if index.fields and declared.get(index.name) != index.fields:
                        catalog = catalog.without_index(table.name, index.name)
                current = catalog.tables[table.name].indexes
                for index_name, fields in declared.items():
                    if index_name not in current:
                        catalog = catalog.with_index(
                            table.name,
                            index_name,
                            fields,
                            IndexState.BACKFILLING,
                            allocator.index(),
                        )
            allocator.observe(catalog)
            return catalog, schema

        return change

    def _backfill(self) -> None:
        state = self.committer.state
        pending = [
            (table, index)
            for table in state.catalog.tables.values()
            for index in table.indexes.values()
            if index.state is IndexState.BACKFILLING
        ]
        if not pending:
            return
        # The catalog commit made every later write maintain these indexes, so
        # only documents as of that commit need entries, at their own revisions.
        for table, index in pending:
            source = table.indexes[BY_CREATION_TIME]
            chunk: list[IndexEntry] = []
            for _, revision in self.persistence.index_scan(source.index_id, b"", None, state.ts):
                assert revision.value is not None
                key = document_key(index, loads_bytes(revision.value))
                chunk.append(IndexEntry(index.index_id, key, revision.ts, revision.doc_id))
                if len(chunk) >= _BACKFILL_CHUNK:
                    self.persistence.write((), chunk)
                    chunk = []
            if chunk:
                self.persistence.write((), chunk)

        def enable(catalog: Catalog) -> tuple[Catalog, Schema | None]:
            for table, index in pending:
                if index.name in catalog.tables[table.name].indexes:
                    catalog = catalog.with_index_state(table.name, index.name, IndexState.ENABLED)
            return catalog, self.committer.state.schema

        request = CommitRequest(
            begin_ts=self.latest_ts, read_set=ReadSet(), writes=(), schema_change=enable
        )
        self.committer.submit(request).result()

    def document_id_for(self, doc_bin: bytes) -> str:
        """The string ID of a binary document id (for logs and errors)."""
        return id_from_binary(doc_bin)


def _new_table(name: str, number: int, first_index: int) -> TableInfo:
    return TableInfo(name, number, builtin_indexes(first_index))
