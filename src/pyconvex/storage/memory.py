"""The in-memory reference backend: :class:`MemoryPersistence`.

It owns nothing durable; it exists so that tests and examples run without a
disk, and so that the conformance suite has a backend simple enough to trust.
Every structure is a sorted map from the natural key to the versions of that
key, which makes the snapshot rule of :mod:`pyconvex.storage.base` ("the
newest version with ``ts <= read_ts``") one bisect.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict, SortedList

from pyconvex.storage.base import DocumentRevision, IndexEntry

__all__ = ["MemoryPersistence"]

# Scans copy this many keys per lock acquisition at first, doubling up to the
# maximum: a caller that takes three rows pays for 64, a full scan pays for
# few lock round trips, and a writer never waits behind a long scan.
_FIRST_BATCH = 64
_MAX_BATCH = 1024


class _Versions:
    """The versions of one index key or one document, in increasing ``ts`` order.

    Parallel lists, so that ``bisect`` works on the ints alone (the payloads,
    ``bytes | None`` or revisions, do not compare).
    """

    __slots__ = ("items", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.items: list[Any] = []

    def add(self, ts: int, item: object) -> None:
        # Writes arrive in ts order except for index backfills, which re-state
        # old timestamps; insort keeps both cases correct.
        position = bisect.bisect_left(self.ts, ts)
        self.ts.insert(position, ts)
        self.items.insert(position, item)

    def has(self, ts: int) -> bool:
        position = bisect.bisect_left(self.ts, ts)
        return position < len(self.ts) and self.ts[position] == ts

    def exact(self, ts: int) -> Any:
        """Return the item stored at exactly ``ts``, or None."""
        position = bisect.bisect_left(self.ts, ts)
        if position < len(self.ts) and self.ts[position] == ts:
            return self.items[position]
        return None

    def at(self, read_ts: int) -> tuple[int, Any] | None:
        """Return ``(ts, item)`` of the newest version with ``ts <= read_ts``."""
        position = bisect.bisect_right(self.ts, read_ts) - 1
        if position < 0:
            return None
        return self.ts[position], self.items[position]


class MemoryPersistence:
    """A :class:`~pyconvex.storage.base.Persistence` that keeps everything in memory.

    Thread-safe: one lock guards all state, and it is never held while a
    scan yields, so a caller may write (from any thread) between two rows
    of its own scan. Scans copy a bounded batch of keys under the lock and
    re-seek strictly after the last key for the next batch; since every read
    is defined by ``read_ts``, writes between batches cannot change what a
    snapshot scan returns (as long as nothing is written at ``ts <= read_ts``
    after the scan starts, which the engine guarantees).

    Invariants (see :meth:`check_invariants`): every version list is sorted
    by strictly increasing ts; the log holds exactly one ``(ts, doc_id)`` per
    stored revision; ``max_ts`` is the greatest ts stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        # doc_id -> _Versions of DocumentRevision
        self._documents: dict[bytes, _Versions] = {}
        # (ts, doc_id) of every revision, for load_revisions
        self._log: Any = SortedList()
        # index_id -> SortedDict(key -> _Versions of doc_id | None)
        self._indexes: dict[int, Any] = {}
        self._globals: dict[str, str] = {}
        self._max_ts = 0

    def write(
        self,
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Atomically store revisions, index entries and global values.

        Raises:
            ValueError: a ``(doc_id, ts)`` or ``(index_id, key, ts)`` is stored
                twice (in this batch or before); nothing of the batch is stored.
            RuntimeError: the persistence is closed.
        """
        with self._lock:
            self._check_open()
            # Validate everything before touching anything: that is what
            # makes the batch atomic without an undo log.
            self._check_new(revisions, entries)
            for revision in revisions:
                versions = self._documents.setdefault(revision.doc_id, _Versions())
                versions.add(revision.ts, revision)
                self._log.add((revision.ts, revision.doc_id))
                self._max_ts = max(self._max_ts, revision.ts)
            for entry in entries:
                keys = self._indexes.get(entry.index_id)
                if keys is None:
                    keys = self._indexes[entry.index_id] = SortedDict()
                versions = keys.get(entry.key)
                if versions is None:
                    versions = keys[entry.key] = _Versions()
                versions.add(entry.ts, entry.doc_id)
                self._max_ts = max(self._max_ts, entry.ts)
            self._globals.update(globals_)

    def _check_new(
        self, revisions: Sequence[DocumentRevision], entries: Sequence[IndexEntry]
    ) -> None:
        seen_documents: set[tuple[bytes, int]] = set()
        for revision in revisions:
            document_key = (revision.doc_id, revision.ts)
            versions = self._documents.get(revision.doc_id)
            if document_key in seen_documents or (versions and versions.has(revision.ts)):
                raise ValueError(
                    f"revision {revision.doc_id.hex()}@{revision.ts} is already stored"
                )
            seen_documents.add(document_key)
        seen_entries: set[tuple[int, bytes, int]] = set()
        for entry in entries:
            entry_key = (entry.index_id, entry.key, entry.ts)
            keys = self._indexes.get(entry.index_id)
            versions = keys.get(entry.key) if keys is not None else None
            if entry_key in seen_entries or (versions and versions.has(entry.ts)):
                raise ValueError(
                    f"index entry {entry.index_id}/{entry.key.hex()}@{entry.ts} is already stored"
                )
            seen_entries.add(entry_key)

    def index_scan(
        self,
        index_id: int,
        start: bytes,
        end: bytes | None,
        read_ts: int,
        *,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, DocumentRevision]]:
        """Yield ``(key, revision)`` for the live keys of an index at ``read_ts``.

        See :meth:`pyconvex.storage.base.Persistence.index_scan`. Lazy: keys
        are copied in small batches.

        Raises:
            RuntimeError: the persistence is closed (raised here, not on the
                first ``next``) or a live entry points at a missing revision.
        """
        with self._lock:
            self._check_open()
        return self._scan(index_id, start, end, read_ts, reverse)

    def _scan(
        self, index_id: int, start: bytes, end: bytes | None, read_ts: int, reverse: bool
    ) -> Iterator[tuple[bytes, DocumentRevision]]:
        if end is not None and start >= end:
            return
        after: bytes | None = None  # the last key examined; the next batch starts past it
        batch = _FIRST_BATCH
        while True:
            with self._lock:
                self._check_open()
                keys = self._indexes.get(index_id)
                if keys is None:
                    return
                if reverse:
                    upper = end if after is None else after
                    candidates = keys.irange(start, upper, (True, False), reverse=True)
                else:
                    lower, inclusive = (start, True) if after is None else (after, False)
                    candidates = keys.irange(lower, end, (inclusive, False))
                examined: list[bytes] = list(islice(candidates, batch))
                rows = [row for key in examined if (row := self._live(key, keys[key], read_ts))]
            yield from rows
            if len(examined) < batch:
                return
            after = examined[-1]
            batch = min(batch * 2, _MAX_BATCH)

    def _live(
        self, key: bytes, versions: _Versions, read_ts: int
    ) -> tuple[bytes, DocumentRevision] | None:
        found = versions.at(read_ts)
        if found is None or found[1] is None:
            return None
        ts, doc_id = found
        document = self._documents.get(doc_id)
        revision: DocumentRevision | None = document.exact(ts) if document is not None else None
        if revision is None:
            raise RuntimeError(f"index entry {key.hex()}@{ts} points at a missing revision")
        return key, revision

    def get_revision(self, doc_id: bytes, read_ts: int) -> DocumentRevision | None:
        """Return the newest revision of a document with ``ts <= read_ts``, if any.

        The returned revision may be a deletion (``value`` None).
        """
        with self._lock:
            self._check_open()
            versions = self._documents.get(doc_id)
            found = versions.at(read_ts) if versions is not None else None
            return found[1] if found is not None else None

    def load_revisions(self, after_ts: int, until_ts: int) -> Iterator[DocumentRevision]:
        """Yield every revision with ``after_ts < ts <= until_ts`` in (ts, doc_id) order.

        Lazy, in batches, like :meth:`index_scan`.
        """
        with self._lock:
            self._check_open()
        return self._load(after_ts, until_ts)

    def _load(self, after_ts: int, until_ts: int) -> Iterator[DocumentRevision]:
        # (ts,) sorts before every (ts, doc_id), so these bounds select whole timestamps.
        lower: tuple[Any, ...] = (after_ts + 1,)
        inclusive = True
        batch = _FIRST_BATCH
        while True:
            with self._lock:
                self._check_open()
                candidates = self._log.irange(lower, (until_ts + 1,), (inclusive, False))
                keys: list[tuple[int, bytes]] = list(islice(candidates, batch))
                rows = [self._documents[doc_id].exact(ts) for ts, doc_id in keys]
            yield from rows
            if len(keys) < batch:
                return
            lower, inclusive = keys[-1], False
            batch = min(batch * 2, _MAX_BATCH)

    def max_ts(self) -> int:
        """Return the greatest ts ever written, or 0 for an empty store."""
        with self._lock:
            self._check_open()
            return self._max_ts

    def get_global(self, key: str) -> str | None:
        """Return a global value stored with :meth:`write`, or None."""
        with self._lock:
            self._check_open()
            return self._globals.get(key)

    def close(self) -> None:
        """Drop all data. Further calls raise RuntimeError; closing twice is allowed."""
        with self._lock:
            self._closed = True
            self._documents.clear()
            self._log.clear()
            self._indexes.clear()
            self._globals.clear()
            self._max_ts = 0

    def check_invariants(self) -> None:
        """Assert the class invariants (for tests; O(size of the store))."""
        with self._lock:
            greatest = 0
            logged = 0
            for doc_id, versions in self._documents.items():
                assert versions.ts == sorted(set(versions.ts)), doc_id
                for ts, revision in zip(versions.ts, versions.items):
                    assert (revision.doc_id, revision.ts) == (doc_id, ts)
                    assert (ts, doc_id) in self._log
                logged += len(versions.ts)
                greatest = max([greatest, *versions.ts])
            assert logged == len(self._log)
            for keys in self._indexes.values():
                for versions in keys.values():
                    assert versions.ts == sorted(set(versions.ts))
                    greatest = max([greatest, *versions.ts])
            assert greatest == self._max_ts

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this MemoryPersistence is closed")

    def __enter__(self) -> MemoryPersistence:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
