"""The write log: what recent commits wrote, for OCC checks and invalidation.

Each :class:`CommitRecord` lists every index key a commit touched (the old
and the new key of every written document, in every index, plus virtual
catalog keys). A transaction that began at ``begin_ts`` conflicts when a
record with ``ts > begin_ts`` touches a key in its read set. Records are kept
for a bounded time; a transaction older than the oldest record is treated as
conflicting, which is always safe (it just retries).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pyconvex.database.readset import ReadSet

__all__ = ["CommitRecord", "Conflict", "TouchedKey", "WriteLog", "decode_commit", "encode_commit"]


class TouchedKey(NamedTuple):
    """One index key a commit wrote, and the document it belongs to.

    A named tuple: the committer makes one per index per write.
    """

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
    by_index: dict[int, list[TouchedKey]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_index: dict[int, list[TouchedKey]] = {}
        for touched in self.touched:
            by_index.setdefault(touched.index_id, []).append(touched)
        object.__setattr__(self, "by_index", by_index)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why a transaction cannot commit: a later commit wrote what it read."""

    ts: int
    table: str
    document_id: str
    origin: str | None


class WriteLog:
    """A bounded, time-ordered log of :class:`CommitRecord`.

    Invariants: records are in strictly increasing ``ts`` order; every commit
    with ``ts > floor_ts`` is in the log; ``last_write[i]`` is at least the ts of
    every logged record that touched index ``i`` (so an index whose last write
    is not after a transaction's begin needs no scan at all).
    """

    def __init__(self, floor_ts: int, max_records: int) -> None:
        self._records: deque[CommitRecord] = deque()
        self.floor_ts = floor_ts
        self._max_records = max_records
        self._last_write: dict[int, int] = {}

    def append(self, record: CommitRecord) -> None:
        """Add the newest commit."""
        self._records.append(record)
        last_write = self._last_write
        for index_id in record.by_index:
            last_write[index_id] = record.ts
        while len(self._records) > self._max_records:
            self.floor_ts = self._records.popleft().ts

    def remove_newest(self, count: int) -> None:
        """Drop the ``count`` newest records (commits whose storage write failed).

        ``last_write`` may stay ahead; that only causes harmless extra scans.
        """
        for _ in range(count):
            self._records.pop()

    def prune_before(self, ts: int) -> None:
        """Forget records with ``ts < ts`` (transactions that old will conflict)."""
        while self._records and self._records[0].ts < ts:
            self.floor_ts = self._records.popleft().ts

    def find_conflict(self, read_set: ReadSet, begin_ts: int) -> Conflict | None:
        """Return the first commit after ``begin_ts`` that overlaps ``read_set``.

        A ``begin_ts`` older than the log's floor conflicts.
        """
        if not len(read_set):
            return None
        if begin_ts < self.floor_ts:
            return Conflict(self.floor_ts, "", "", "a commit older than the write log")
        last_write = self._last_write
        candidates = [i for i in read_set.index_ids() if last_write.get(i, 0) > begin_ts]
        if not candidates:
            return None
        for record in self._after(begin_ts):
            for index_id in candidates:
                for touched in record.by_index.get(index_id, ()):
                    if read_set.contains(index_id, touched.key):
                        return Conflict(
                            record.ts, touched.table, touched.document_id, record.origin
                        )
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
            for index_id in record.by_index:
                assert self._last_write[index_id] >= record.ts


def encode_commit(record: CommitRecord, catalog_json: str | None = None) -> bytes:
    """The commit-log payload other nodes rebuild ``record`` from (:func:`decode_commit`).

    ``catalog_json`` is the catalog after the commit, when the commit changed it.
    """
    touched = [[t.index_id, t.key.hex(), t.table, t.document_id] for t in record.touched]
    body: dict[str, object] = {"touched": touched}
    if record.origin is not None:
        body["origin"] = record.origin
    if catalog_json is not None:
        body["catalog"] = catalog_json
    return json.dumps(body, separators=(",", ":")).encode()


def decode_commit(ts: int, payload: bytes) -> tuple[CommitRecord, str | None]:
    """The record and the new catalog (or None) of a payload made by :func:`encode_commit`."""
    body = json.loads(payload)
    touched = [
        TouchedKey(index_id, bytes.fromhex(key), table, document_id)
        for index_id, key, table, document_id in body["touched"]
    ]
    return CommitRecord(ts, touched, body.get("origin")), body.get("catalog")
