"""The write log: what recent commits wrote, for OCC checks and invalidation.

Each :class:`CommitRecord` lists every index key a commit touched (the old
and the new key of every written document, in every index, plus virtual
catalog keys). A transaction that began at ``begin_ts`` conflicts when a
record with ``ts > begin_ts`` touches a key in its read set. Records are kept
for a bounded time; a transaction older than the oldest record is treated as
conflicting, which is always safe (it just retries).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyconvex.database.readset import ReadSet

__all__ = ["CommitRecord", "Conflict", "TouchedKey", "WriteLog"]


@dataclass(frozen=True, slots=True)
class TouchedKey:
    """One index key a commit wrote, and the document it belongs to."""

    index_id: int
    key: bytes
    table: str
    document_id: str


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """Everything one commit touched, at its commit timestamp."""

    ts: int
    touched: Sequence[TouchedKey]
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why a transaction cannot commit: a later commit wrote what it read."""

    ts: int
    table: str
    document_id: str
    origin: str | None


class WriteLog:
    """A bounded, time-ordered log of :class:`CommitRecord`.

    Invariant: records are in strictly increasing ``ts`` order, and
    ``floor_ts`` is at most the ts of the oldest retained record minus one:
    every commit with ``ts > floor_ts`` is in the log.
    """

    def __init__(self, floor_ts: int, max_records: int) -> None:
        self._records: deque[CommitRecord] = deque()
        self.floor_ts = floor_ts
        self._max_records = max_records

    def append(self, record: CommitRecord) -> None:
        """Add the newest commit."""
        self._records.append(record)
        while len(self._records) > self._max_records:
            self.floor_ts = self._records.popleft().ts

    def prune_before(self, ts: int) -> None:
        """Forget records with ``ts < ts`` (transactions that old will conflict)."""
        while self._records and self._records[0].ts < ts:
            self.floor_ts = self._records.popleft().ts

    def find_conflict(
        self, read_set: ReadSet, begin_ts: int, pending: Iterable[CommitRecord] = ()
    ) -> Conflict | None:
        """Return the first commit after ``begin_ts`` that overlaps ``read_set``.

        ``pending`` are records accepted into the current group commit but not
        yet appended. A ``begin_ts`` older than the log's floor conflicts.
        """
        if not len(read_set):
            return None
        if begin_ts < self.floor_ts:
            return Conflict(self.floor_ts, "", "", "a commit older than the write log")
        for record in self._after(begin_ts):
            found = _overlap(record, read_set)
            if found is not None:
                return found
        for record in pending:
            found = _overlap(record, read_set)
            if found is not None:
                return found
        return None

    def _after(self, ts: int) -> Iterable[CommitRecord]:
        records = self._records
        # Recent commits are at the right end; walk back to the first one after ts.
        index = len(records)
        while index > 0 and records[index - 1].ts > ts:
            index -= 1
        for position in range(index, len(records)):
            yield records[position]

    def __len__(self) -> int:
        return len(self._records)

    def check_invariants(self) -> None:
        """Assert the class invariant (used by tests)."""
        previous = self.floor_ts
        for record in self._records:
            assert record.ts > previous
            previous = record.ts


def _overlap(record: CommitRecord, read_set: ReadSet) -> Conflict | None:
    for touched in record.touched:
        if read_set.contains(touched.index_id, touched.key):
            return Conflict(record.ts, touched.table, touched.document_id, record.origin)
    return None
