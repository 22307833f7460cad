"""Which tables changed since a timestamp, with long polling: the dashboard's live updates.

The dashboard shows a page of a table read at snapshot ``ts``. It then asks
``GET /api/admin/changes?since=<ts>&tables=<name>&wait=<s>`` (see
:mod:`pyconvex.server.dashboard_api`), which answers as soon as a commit after
``ts`` touches one of those tables, and reads the page again. The feed keeps
the tables of the newest commits; it starts listening on first use, so a
deployment nobody watches pays nothing. When it cannot tell (``since`` is
older than what it remembers) it answers "unknown" and the caller re-reads.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Collection, Sequence

from pyconvex.database.database import Database
from pyconvex.database.write_log import CommitRecord

__all__ = ["ChangeFeed"]


class ChangeFeed:
    """Tables touched by recent commits, and waiters woken by the next commit.

    Args:
        database: the database whose commits are followed.
        history: how many commits are remembered.

    Invariant: every commit with ``floor_ts < ts`` since the feed started is in
    the history (``floor_ts`` rises as old commits are forgotten).
    """

    def __init__(self, database: Database, history: int = 4096) -> None:
        self._database = database
        self._recent: deque[tuple[int, frozenset[str]]] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._started = False
        self.floor_ts = 0

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self.floor_ts = self._database.latest_ts
        self._database.add_commit_listener(self._on_commit)

    def _on_commit(self, records: Sequence[CommitRecord]) -> None:
        # The committer thread: note each commit's tables, wake the waiters.
        with self._lock:
            for record in records:
                if record.ts <= self.floor_ts:
                    continue
                if len(self._recent) == self._recent.maxlen:
                    self.floor_ts = self._recent[0][0]
                self._recent.append((record.ts, frozenset(t.table for t in record.touched)))
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def changed(self, since: int, tables: Collection[str] | None) -> tuple[int, list[str] | None]:
        """Tables among ``tables`` (None: any) that commits after ``since`` touched.

        Returns:
            ``(ts, changed)``: ``ts`` is the newest commit taken into account
            (at least ``since``), ``changed`` the sorted table names, or None
            when the feed cannot tell (``since`` predates what it remembers).
        """
        self._start()
        with self._lock:
            if since < self.floor_ts:
                return max(self.floor_ts, self._newest()), None
            found: set[str] = set()
            for ts, touched in reversed(self._recent):
                if ts <= since:
                    break
                found |= touched if tables is None else touched.intersection(tables)
            return max(since, self._newest()), sorted(found)

    def _newest(self) -> int:
        return self._recent[-1][0] if self._recent else self.floor_ts

    async def wait(
        self, since: int, tables: Collection[str] | None, timeout_seconds: float
    ) -> tuple[int, list[str] | None]:
        """Like :meth:`changed`, but wait up to ``timeout_seconds`` for a change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        while True:
            waiter = (loop, asyncio.Event())
            with self._lock:
                self._waiters.append(waiter)
            ts, changed = self.changed(since, tables)
            remaining = deadline - loop.time()
            if changed is None or changed or remaining <= 0:
                self._forget(waiter)
                return ts, changed
            try:
                await asyncio.wait_for(waiter[1].wait(), remaining)
            except TimeoutError:
                return self.changed(since, tables)
            finally:
                self._forget(waiter)  # also when the client went away

    def _forget(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
