"""The query-result cache shared by every sync connection of a backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pyconvex.database.write_log import CommitRecord, WriteLog
from pyconvex.protocol.session import QueryOutcome

__all__ = ["QueryCache"]


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

    def __init__(self, max_entries: int = 10_000, write_log: WriteLog | None = None) -> None:
        # With the write log, an entry is also extended on demand to a snapshot
        # whose commits the hub has not been told of yet (they are checked).
        self._write_log = write_log
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._running: dict[tuple[Any, ...], tuple[int, asyncio.Future[QueryOutcome]]] = {}
        self._max_entries = max_entries
        self.executions = 0
        self.hits = 0

    def peek(self, key: tuple[Any, ...], ts: int) -> QueryOutcome | None:
        """The cached outcome of ``key`` valid at ``ts``, if there is one (no waiting)."""
        entry = self._entries.get(key)
        if entry is None or ts < entry.ts:
            return None
        if ts > entry.valid_through:
            # A commit the hub has not announced yet: is the result still valid?
            log = self._write_log
            if log is None or log.find_conflict(entry.outcome.read_set, entry.valid_through):
                return None
            entry.valid_through = ts
        self.hits += 1
        return entry.outcome

    async def get(self, key: tuple[Any, ...], ts: int, run: Any) -> QueryOutcome:
        """The outcome of ``key`` at snapshot ``ts``, running ``run(ts)`` only if needed."""
        cached = self.peek(key, ts)
        if cached is not None:
            return cached
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

    def on_commit(self, records: Sequence[CommitRecord]) -> None:
        """Drop entries a commit batch changed; extend the others through its last ts.

        A commit changes an entry only if it is newer than the entry's snapshot:
        a result computed at or after a commit already shows it.
        """
        batch_ts = records[-1].ts
        for key, entry in list(self._entries.items()):
            read_set = entry.outcome.read_set
            if any(
                record.ts > entry.ts and read_set.contains(t.index_id, t.key)
                for record in records
                for t in record.touched
            ):
                del self._entries[key]
            else:
                entry.valid_through = max(entry.valid_through, batch_ts)


class _Entry:
    __slots__ = ("ts", "valid_through", "outcome")

    def __init__(self, ts: int, valid_through: int, outcome: QueryOutcome) -> None:
        self.ts = ts
        self.valid_through = valid_through
        self.outcome = outcome
