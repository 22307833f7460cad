"""The SQLite backend: :class:`SqlitePersistence`, the embedded durable default.

It owns the on-disk format of a pyconvex database file: the tables, their
schema version (``PRAGMA user_version``) and the migrations between versions.

Durability: WAL journal with ``synchronous=FULL``, so a ``write()`` that
returned has been fsynced, and one ``BEGIN IMMEDIATE`` … ``COMMIT`` per
``write()``, so a process killed mid-write leaves none of it visible. Nothing
is cached above SQLite, so nothing can contradict that after a crash.

Concurrency: one writer connection used under a lock (the engine calls
``write()`` once per group commit, so the lock is rarely contended), and one
read connection per reading thread. In WAL mode readers never block the
writer nor each other.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

import pyconvex.knobs as knobs
from pyconvex.storage.base import DocumentRevision, IndexEntry
from pyconvex.storage.scan import FIRST_BATCH, next_batch

__all__ = ["SCHEMA_VERSION", "SqlitePersistence"]

# Statements that bring a file from version ``i`` to ``i + 1`` are
# ``_MIGRATIONS[i]``; a new format appends a step, never edits an old one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # WITHOUT ROWID: the primary key *is* the table's B-tree, so a lookup
        # by (doc_id, ts) or (index_id, key, ts) is one search and rows are
        # stored once, not once in a rowid table and again in its key index.
        """CREATE TABLE documents (
            doc_id BLOB NOT NULL,
            ts INTEGER NOT NULL,
            value BLOB,
            prev_ts INTEGER,
            PRIMARY KEY (doc_id, ts)
        ) WITHOUT ROWID""",
        # The log order of load_revisions.
        "CREATE INDEX documents_by_ts ON documents (ts, doc_id)",
        """CREATE TABLE indexes (
            index_id INTEGER NOT NULL,
            key BLOB NOT NULL,
            ts INTEGER NOT NULL,
            doc_id BLOB,
            PRIMARY KEY (index_id, key, ts)
        ) WITHOUT ROWID""",
        "CREATE TABLE globals (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        # Bookkeeping of the backend itself, apart from the caller's globals:
        # 'max_ts' (index entries may be written without a revision, and
        # MAX(ts) over the indexes table would be a full scan).
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    ),
)

#: The on-disk format version this module writes (``PRAGMA user_version``).
SCHEMA_VERSION = len(_MIGRATIONS)

# A writer waits this long for the lock of another process (say, a backup)
# before failing, instead of failing at once with "database is locked".
_BUSY_TIMEOUT_SECONDS = 5.0
# Bounds the WAL file left behind after a checkpoint.
_JOURNAL_SIZE_LIMIT_BYTES = 64 << 20

_INSERT_DOCUMENTS = "INSERT INTO documents (doc_id, ts, value, prev_ts) VALUES "
_INSERT_ENTRIES = "INSERT INTO indexes (index_id, key, ts, doc_id) VALUES "
# Rows per multi-row INSERT (4 parameters each, within SQLite's oldest default
# limit of 999 parameters). One statement per chunk rather than one per row:
# each statement releases and retakes the GIL, and a writer thread that must
# win the GIL back from a busy event loop hundreds of times per group commit
# stalls it (and the loop) far longer than the inserts take.
_ROWS_PER_INSERT = 128
_UPSERT_GLOBAL = (
    "INSERT INTO globals (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_RAISE_MAX_TS = (
    "INSERT INTO meta (key, value) VALUES ('max_ts', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)"
)
_GET_REVISION = (
    "SELECT ts, value, prev_ts FROM documents WHERE doc_id = ? AND ts <= ? ORDER BY ts DESC LIMIT 1"
)


def _scan_sql(lower_inclusive: bool, has_upper: bool, reverse: bool) -> str:
    # The inner query keeps, per key, the entry with the greatest ts <= read_ts
    # (SQLite documents that bare columns come from the MAX() row); it walks
    # the primary key in key order, so LIMIT stops it early in both
    # directions. Tombstones are kept so that the caller can resume after the
    # last key examined. The LEFT JOIN finds the revision each entry names.
    lower = ">=" if lower_inclusive else ">"
    upper = " AND key < ?" if has_upper else ""
    order = "DESC" if reverse else "ASC"
    return f"""
        SELECT g.key, g.ts, g.doc_id, d.ts, d.value, d.prev_ts
        FROM (
            SELECT key, MAX(ts) AS ts, doc_id FROM indexes
            WHERE index_id = ? AND key {lower} ?{upper} AND ts <= ?
            GROUP BY key ORDER BY key {order} LIMIT ?
        ) AS g
        LEFT JOIN documents AS d ON d.doc_id = g.doc_id AND d.ts = g.ts"""


def _load_sql(first: bool) -> str:
    lower = "ts > ?" if first else "(ts, doc_id) > (?, ?)"
    return (
        f"SELECT doc_id, ts, value, prev_ts FROM documents WHERE {lower} AND ts <= ? "
        "ORDER BY ts, doc_id LIMIT ?"
    )


def _sorted_rows(rows: Sequence[tuple[Any, Any, Any, Any]]) -> Sequence[tuple[Any, Any, Any, Any]]:
    try:
        return sorted(rows)
    except TypeError:  # a duplicate primary key reached a None column; SQLite refuses it
        return rows


def _insert_rows(
    connection: sqlite3.Connection, insert: str, rows: Sequence[tuple[Any, Any, Any, Any]]
) -> None:
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        connection.execute(_values_sql(insert, len(chunk)), [v for row in chunk for v in row])


@functools.lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _values_sql(insert: str, count: int) -> str:
    return insert + ", ".join(["(?, ?, ?, ?)"] * count)


class _Reader:
    """A read connection owned by one thread.

    The thread's ``threading.local`` holds the only strong reference, so when
    the thread exits the connection is closed; the persistence tracks it
    weakly, to close it on :meth:`SqlitePersistence.close`.
    """

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __del__(self) -> None:
        self.connection.close()


class SqlitePersistence:
    """A :class:`~pyconvex.storage.base.Persistence` in one SQLite file.

    Args:
        path: the database file; created (with its tables) when missing.
            Must be a real file (WAL needs one), not ``":memory:"``.

    Raises:
        RuntimeError: the file was written by a newer pyconvex (its schema
            version is above :data:`SCHEMA_VERSION`).
        ValueError: the file cannot be put in WAL mode.

    Thread-safe. One process should open a file at a time: other processes
    may read it, but ``max_ts`` and snapshot reads assume a single writer.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._closed = False
        self._write_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._local = threading.local()
        self._writer = self._connect()
        try:
            mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise ValueError(f"SQLite cannot use WAL mode for {self._path!r} ({mode})")
            self._writer.execute("PRAGMA synchronous = FULL")
            self._writer.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT_BYTES}")
            pages = knobs.SQLITE_WAL_AUTOCHECKPOINT_PAGES
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
            self._migrate()
        except BaseException:
            self._writer.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the sqlite3 module must not open transactions
        # behind our back; write() issues BEGIN/COMMIT itself, and each read
        # statement is then its own short read transaction.
        # check_same_thread=False only so that close() may close a reader
        # from another thread; each connection is still used by one thread.
        return sqlite3.connect(
            self._path,
            timeout=_BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
            # Room for every multi-row INSERT size next to the read statements.
            cached_statements=4 * _ROWS_PER_INSERT,
        )

    def _migrate(self) -> None:
        writer = self._writer
        writer.execute("BEGIN IMMEDIATE")
        try:
            version = writer.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self._path!r} has schema version {version}; this pyconvex "
                    f"understands up to {SCHEMA_VERSION}"
                )
            for step in _MIGRATIONS[version:]:
                for statement in step:
                    writer.execute(statement)
            # Part of the same transaction: a crash mid-migration leaves the
            # file at the old version with none of the new statements applied.
            writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise

    def write(
        self,
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Durably and atomically store revisions, index entries and global values.

        One SQLite transaction; when this returns, it is fsynced.

        Raises:
            ValueError: a ``(doc_id, ts)`` or ``(index_id, key, ts)`` is stored
                twice (in this batch or before); nothing of the batch is stored.
            RuntimeError: the persistence is closed.
            sqlite3.Error: the disk failed; nothing of the batch is stored.
        """
        if not (revisions or entries or globals_):
            return
        # Records are tuples in column order. Sorted, the inserts walk each
        # B-tree in key order (fewer page visits).
        document_rows = _sorted_rows(revisions)
        entry_rows = _sorted_rows(entries)
        max_ts = max([0, *(r.ts for r in revisions), *(e.ts for e in entries)])
        with self._write_lock:
            self._check_open()
            writer = self._writer
            writer.execute("BEGIN IMMEDIATE")
            try:
                _insert_rows(writer, _INSERT_DOCUMENTS, document_rows)
                _insert_rows(writer, _INSERT_ENTRIES, entry_rows)
                writer.executemany(_UPSERT_GLOBAL, globals_)
                writer.execute(_RAISE_MAX_TS, (max_ts,))
                writer.execute("COMMIT")
            except BaseException as error:
                # A failed COMMIT may already have rolled back.
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                if isinstance(error, sqlite3.IntegrityError):
                    raise ValueError(f"write refused, nothing stored: {error}") from error
                raise

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

        See :meth:`pyconvex.storage.base.Persistence.index_scan`. Lazy: each
        batch is one short query on the current thread's connection, so the
        iterator holds no cursor between rows and may be resumed from
        another thread.

        Raises:
            RuntimeError: the persistence is closed (raised here, not on the
                first ``next``) or a live entry points at a missing revision.
        """
        self._check_open()
        return self._scan(index_id, start, end, read_ts, reverse)

    def _scan(
        self, index_id: int, start: bytes, end: bytes | None, read_ts: int, reverse: bool
    ) -> Iterator[tuple[bytes, DocumentRevision]]:
        if end is not None and start >= end:
            return
        after: bytes | None = None  # the last key examined; the next batch starts past it
        batch = FIRST_BATCH
        while True:
            self._check_open()
            params: list[Any] = [index_id]
            if reverse:
                upper = end if after is None else after
                sql = _scan_sql(True, upper is not None, reverse)
                params += [start, upper] if upper is not None else [start]
            else:
                sql = _scan_sql(after is None, end is not None, reverse)
                params += [start if after is None else after]
                params += [end] if end is not None else []
            params += [read_ts, batch]
            rows = self._reader().execute(sql, params).fetchall()
            # The join's output order is not promised by SQL; sorting an
            # already sorted batch is linear.
            rows.sort(key=itemgetter(0), reverse=reverse)
            payload_bytes = 0
            for key, ts, doc_id, revision_ts, value, prev_ts in rows:
                if doc_id is None:
                    continue
                if revision_ts is None:
                    raise RuntimeError(f"index entry {key.hex()}@{ts} points at a missing revision")
                payload_bytes += len(value) if value is not None else 0
                yield key, DocumentRevision(doc_id, ts, value, prev_ts)
            if len(rows) < batch:
                return
            after = rows[-1][0]
            batch = next_batch(batch, len(rows), payload_bytes)

    def get_revision(self, doc_id: bytes, read_ts: int) -> DocumentRevision | None:
        """Return the newest revision of a document with ``ts <= read_ts``, if any.

        The returned revision may be a deletion (``value`` None).
        """
        self._check_open()
        row = self._reader().execute(_GET_REVISION, (doc_id, read_ts)).fetchone()
        return DocumentRevision(doc_id, row[0], row[1], row[2]) if row is not None else None

    def load_revisions(self, after_ts: int, until_ts: int) -> Iterator[DocumentRevision]:
        """Yield every revision with ``after_ts < ts <= until_ts`` in (ts, doc_id) order.

        Lazy, in batches, like :meth:`index_scan`.
        """
        self._check_open()
        return self._load(after_ts, until_ts)

    def _load(self, after_ts: int, until_ts: int) -> Iterator[DocumentRevision]:
        lower: tuple[Any, ...] = (after_ts,)
        batch = FIRST_BATCH
        while True:
            self._check_open()
            sql = _load_sql(first=len(lower) == 1)
            rows = self._reader().execute(sql, (*lower, until_ts, batch)).fetchall()
            payload_bytes = 0
            for doc_id, ts, value, prev_ts in rows:
                payload_bytes += len(value) if value is not None else 0
                yield DocumentRevision(doc_id, ts, value, prev_ts)
            if len(rows) < batch:
                return
            lower = (rows[-1][1], rows[-1][0])
            batch = next_batch(batch, len(rows), payload_bytes)

    def max_ts(self) -> int:
        """Return the greatest ts ever written, or 0 for an empty store."""
        self._check_open()
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'max_ts'").fetchone()
        return int(row[0]) if row is not None else 0

    def get_global(self, key: str) -> str | None:
        """Return a global value stored with :meth:`write`, or None."""
        self._check_open()
        row = self._reader().execute("SELECT value FROM globals WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row is not None else None

    def settings(self) -> dict[str, int | str]:
        """Return the writer's effective SQLite settings, for diagnostics.

        Returns:
            ``journal_mode``, ``synchronous`` (2 is FULL), ``busy_timeout``
            (milliseconds), ``wal_autocheckpoint`` (pages) and ``user_version``
            (the schema version).
        """
        names = (
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "wal_autocheckpoint",
            "user_version",
        )
        with self._write_lock:
            self._check_open()
            return {name: self._writer.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

    def close(self) -> None:
        """Close every connection. Further calls raise RuntimeError; closing twice is allowed.

        Scans still in progress in other threads must have stopped first.
        """
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            for reader in list(self._readers):
                reader.connection.close()
            self._writer.close()

    def _reader(self) -> sqlite3.Connection:
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is None:
            with self._readers_lock:
                self._check_open()
                connection = self._connect()
                # Readers never write; query_only turns a bug into an error.
                connection.execute("PRAGMA query_only = ON")
                reader = _Reader(connection)
                self._readers.add(reader)
            self._local.reader = reader
        return reader.connection

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this SqlitePersistence is closed")

    def __enter__(self) -> SqlitePersistence:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
