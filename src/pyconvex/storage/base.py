"""The persistence interface: a dumb, durable, multi-version store.

A backend stores two things, both append-only and keyed by commit timestamp:

* document revisions: ``(doc_id, ts) -> value bytes | None`` (None: deleted at ts);
* index entries: ``(index_id, key, ts) -> doc_id | None`` (None: the key left the
  index at ts).

Every write of a document writes one entry for every index of its table at the
same ``ts`` (re-stating unchanged keys), so an index entry always points at the
exact revision ``(doc_id, ts)`` it came from. Reads are snapshot reads: for a
``read_ts``, an index key's state is its entry with the greatest ``ts <= read_ts``.

MVCC, OCC, schemas and index definitions live above this interface in
``pyconvex.database``; a backend knows nothing of tables or values. All methods
are blocking and thread-safe; the engine calls them from worker threads.

A store that several processes (nodes) share also implements
:class:`SharedPersistence`: commits go through a store-wide lock and leave an
opaque entry in a commit log, which every node tails to learn what the others
committed (``docs/concepts/multi-node.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = [
    "CommitBatch",
    "DocumentRevision",
    "IndexEntry",
    "LoggedCommit",
    "Persistence",
    "SharedPersistence",
]


class DocumentRevision(NamedTuple):
    """One version of one document.

    A named tuple (cheap to make: the committer makes one per write), in the
    column order of the SQLite ``documents`` table.

    Attributes:
        doc_id: the binary document id (table number varint + 16-byte internal id).
        ts: the commit timestamp of this version (nanoseconds, > 0).
        value: the encoded document, or None if the document was deleted at ``ts``.
        prev_ts: the timestamp of the previous version, or None for an insert.
    """

    doc_id: bytes
    ts: int
    value: bytes | None
    prev_ts: int | None


class IndexEntry(NamedTuple):
    """The state of one index key from ``ts`` on.

    A named tuple (the committer makes one per index per write), in the column
    order of the SQLite ``indexes`` table.

    Attributes:
        index_id: which index (allocated by the database layer).
        key: the encoded index key (``pyconvex.values.ordering``); unique per document.
        ts: the commit timestamp.
        doc_id: the document at this key, or None if the key was removed at ``ts``.
    """

    index_id: int
    key: bytes
    ts: int
    doc_id: bytes | None


class Persistence(Protocol):
    """A durable multi-version store of document revisions and index entries."""

    def write(
        self,
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Durably and atomically store revisions, index entries and global values.

        Used for a whole group commit: when this returns, everything is on disk
        (fsynced); if the process dies during the call, none of it is visible
        after reopening. ``globals_`` are (key, value) pairs that overwrite.
        """
        ...

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

        Keys are in ``[start, end)`` (``end`` None: unbounded), ascending, or
        descending when ``reverse``. A key is live when its newest entry with
        ``ts <= read_ts`` has a doc_id; the revision is that document's
        revision at the entry's ts. Iteration is lazy: a caller that stops
        early must not cause the whole range to be read.
        """
        ...

    def get_revision(self, doc_id: bytes, read_ts: int) -> DocumentRevision | None:
        """Return the newest revision of a document with ``ts <= read_ts``, if any.

        The returned revision may be a deletion (``value`` None).
        """
        ...

    def load_revisions(self, after_ts: int, until_ts: int) -> Iterator[DocumentRevision]:
        """Yield every revision with ``after_ts < ts <= until_ts`` in (ts, doc_id) order."""
        ...

    def max_ts(self) -> int:
        """Return the greatest ts ever written, or 0 for an empty store."""
        ...

    def get_global(self, key: str) -> str | None:
        """Return a global value stored with :meth:`write`, or None."""
        ...

    def close(self) -> None:
        """Release connections and files. Further calls are errors."""
        ...


@dataclass(frozen=True, slots=True)
class LoggedCommit:
    """One commit as the other nodes of a shared store learn of it.

    Attributes:
        ts: its commit timestamp.
        payload: what the database layer needs to know about it (opaque here).
    """

    ts: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class CommitBatch:
    """What one serialized group commit stores: a :meth:`Persistence.write` plus its log entries."""

    revisions: Sequence[DocumentRevision]
    entries: Sequence[IndexEntry]
    globals_: Sequence[tuple[str, str]] = ()
    commits: Sequence[LoggedCommit] = field(default_factory=tuple)


@runtime_checkable
class SharedPersistence(Persistence, Protocol):
    """A store that several processes commit to, one commit batch at a time."""

    def commit_serialized(
        self,
        after_ts: int,
        prepare: Callable[[int, Sequence[LoggedCommit]], CommitBatch | None],
    ) -> None:
        """Commit one batch under the store-wide commit lock.

        Takes the lock, then calls ``prepare(max_ts, commits)`` with the
        greatest ts ever written and every logged commit with ``ts > after_ts``
        (in ts order: what other nodes committed since the caller last
        looked), stores the batch it returns (None: nothing) atomically and
        durably with its log entries, and releases the lock. Timestamps of the
        batch must be above ``max_ts``. If ``prepare`` raises, nothing is stored
        and the error propagates.

        Raises:
            ValueError: a ``(doc_id, ts)`` or ``(index_id, key, ts)`` is stored twice.
        """
        ...

    def load_commits(self, after_ts: int) -> list[LoggedCommit]:
        """Every logged commit with ``ts > after_ts``, in ts order (without the lock)."""
        ...

    def watch_commits(self, on_commit: Callable[[int | None], None]) -> None:
        """Call ``on_commit(ts)`` from another thread whenever a node may have committed.

        ``ts`` is the newest commit announced, or None when nothing was
        announced (a periodic check, or a reconnection after which
        announcements may have been missed). Calls may be spurious or
        coalesced; the callee tails with :meth:`load_commits`. Stops when the
        store is closed.
        """
        ...
