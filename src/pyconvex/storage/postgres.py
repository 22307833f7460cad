"""The PostgreSQL backend: :class:`PostgresPersistence`, for deployments past one machine.

It owns the layout of pyconvex's tables in one PostgreSQL database, their
versioned migrations (the ``schema_migrations`` table) and a connection pool
(``psycopg_pool``). The tables mirror the SQLite backend's:

* ``documents (doc_id bytea, ts bigint, value bytea, prev_ts bigint)``, primary
  key ``(doc_id, ts)``, plus ``(ts, doc_id)`` for the commit log;
* ``indexes (index_id bigint, key bytea, ts bigint, doc_id bytea)``, primary key
  ``(index_id, key, ts)``: a snapshot scan is one range scan of that B-tree
  (``bytea`` compares bytewise, which is our key order);
* ``globals (key, value)`` and ``meta`` (``max_ts``).

Durability: each :meth:`write` is one transaction (PostgreSQL's default
``synchronous_commit=on``: COMMIT returns once the WAL is flushed), sent as one
pipelined round trip. The ``meta`` row holding ``max_ts`` is updated by every
write, so writers are serialized by its row lock, and a reader that sees a
``max_ts`` sees every write at or below it.

Reads run on pooled autocommit connections, one short statement each; every
read names its snapshot timestamp, so no long transaction is ever held. Every
call into psycopg is :func:`~pyconvex.interrupts.shielded`: the executor's
interrupts of runaway handlers wait until the connection is back in the pool.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

import pyconvex.interrupts as interrupts
import pyconvex.knobs as knobs
from pyconvex.storage.base import CommitBatch, DocumentRevision, IndexEntry, LoggedCommit
from pyconvex.storage.scan import FIRST_BATCH, next_batch

__all__ = [
    "COMMIT_CHANNEL",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PostgresPersistence",
    "is_postgres_url",
]

_log = logging.getLogger(__name__)

# Step ``i`` brings a database from version ``i`` to ``i + 1`` (recorded in
# ``schema_migrations``); a new layout appends a step, never edits an old one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE documents (
            doc_id bytea NOT NULL,
            ts bigint NOT NULL,
            value bytea,
            prev_ts bigint,
            PRIMARY KEY (doc_id, ts)
        )""",
        # The log order of load_revisions.
        "CREATE INDEX documents_by_ts ON documents (ts, doc_id)",
        """CREATE TABLE indexes (
            index_id bigint NOT NULL,
            key bytea NOT NULL,
            ts bigint NOT NULL,
            doc_id bytea,
            PRIMARY KEY (index_id, key, ts)
        )""",
        "CREATE TABLE globals (key text PRIMARY KEY, value text NOT NULL)",
        # The backend's own bookkeeping: 'max_ts' (entries may be written
        # without a revision, and MAX(ts) over the indexes would be a scan).
        "CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL)",
        "INSERT INTO meta (key, value) VALUES ('max_ts', 0)",
    ),
    (
        # The commit log of several nodes sharing the database: one row per
        # commit, with what the database layer needs to replay it in its
        # write log (docs/concepts/multi-node.md).
        "CREATE TABLE commits (ts bigint PRIMARY KEY, payload bytea NOT NULL)",
    ),
)

#: The layout version this module writes.
SCHEMA_VERSION = len(MIGRATIONS)

# Any constant shared by every pyconvex: the advisory lock that serializes
# migrations of one database by nodes starting at the same time.
_MIGRATION_LOCK = 0x70_79_63_76_6D_69_67  # "pycvmig"


_INSERT_DOCUMENTS = (
    "INSERT INTO documents (doc_id, ts, value, prev_ts) "
    "SELECT * FROM unnest(%s::bytea[], %s::bigint[], %s::bytea[], %s::bigint[])"
)
_INSERT_ENTRIES = (
    "INSERT INTO indexes (index_id, key, ts, doc_id) "
    "SELECT * FROM unnest(%s::bigint[], %s::bytea[], %s::bigint[], %s::bytea[])"
)
_UPSERT_GLOBALS = (
    "INSERT INTO globals (key, value) SELECT * FROM unnest(%s::text[], %s::text[]) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_RAISE_MAX_TS = "UPDATE meta SET value = greatest(value, %s) WHERE key = 'max_ts'"
# The store-wide commit lock is the row lock on max_ts, which every write
# takes anyway: held from here to COMMIT, it serializes the commits of all nodes.
_LOCK_MAX_TS = "SELECT value FROM meta WHERE key = 'max_ts' FOR UPDATE"
_LOAD_COMMITS = "SELECT ts, payload FROM commits WHERE ts > %s ORDER BY ts"
_INSERT_COMMITS = (
    "INSERT INTO commits (ts, payload) SELECT * FROM unnest(%s::bigint[], %s::bytea[])"
)
#: The LISTEN/NOTIFY channel on which each commit announces its timestamp.
COMMIT_CHANNEL = "pyconvex_commits"
_GET_REVISION = (
    "SELECT ts, value, prev_ts FROM documents WHERE doc_id = %s AND ts <= %s "
    "ORDER BY ts DESC LIMIT 1"
)


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgres://`` or ``postgresql://``)."""
    return url.startswith(("postgres://", "postgresql://"))


def _scan_sql(lower_inclusive: bool, has_upper: bool, reverse: bool, limit: int) -> str:
    # The inner query walks the distinct keys of the range along the primary
    # key (backwards for reverse scans), so LIMIT stops it early either way;
    # for each, the LATERAL probe finds its newest entry with ts <= read_ts
    # (one short backward descent of the same B-tree). Tombstones are kept so
    # the caller can resume after the last key examined; the LEFT JOIN finds
    # the revision each entry names. (DISTINCT ON (key) ... ORDER BY key, ts
    # DESC would need the versions of a key in descending order, which the
    # primary key gives only to reverse scans: PostgreSQL sorts the whole
    # range for forward ones.) LIMIT is a literal so that a cached generic
    # plan still knows how few rows are wanted.
    lower = ">=" if lower_inclusive else ">"
    upper = " AND key < %(end)s" if has_upper else ""
    order = "DESC" if reverse else "ASC"
    return f"""
        SELECT k.key, e.ts, e.doc_id, d.ts, d.value, d.prev_ts
        FROM (
            SELECT DISTINCT key FROM indexes
            WHERE index_id = %(index)s AND key {lower} %(start)s{upper} AND ts <= %(ts)s
            ORDER BY key {order} LIMIT {limit:d}
        ) AS k
        CROSS JOIN LATERAL (
            SELECT ts, doc_id FROM indexes
            WHERE index_id = %(index)s AND key = k.key AND ts <= %(ts)s
            ORDER BY ts DESC LIMIT 1
        ) AS e
        LEFT JOIN documents AS d ON d.doc_id = e.doc_id AND d.ts = e.ts
        ORDER BY k.key {order}"""


def _load_sql(first: bool, limit: int) -> str:
    lower = "ts > %s" if first else "(ts, doc_id) > (%s, %s)"
    return (
        f"SELECT doc_id, ts, value, prev_ts FROM documents WHERE {lower} AND ts <= %s "
        f"ORDER BY ts, doc_id LIMIT {limit:d}"
    )


def migrate(connection: psycopg.Connection[Any], *, target: int = SCHEMA_VERSION) -> int:
    """Bring the database of ``connection`` to layout version ``target``; return the old version.

    One transaction, under an advisory lock, so nodes starting together
    migrate once and a failure leaves the old version with nothing applied.

    Raises:
        RuntimeError: the database is at a version newer than :data:`SCHEMA_VERSION`.
    """
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()
        version = int(row[0]) if row is not None and row[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"this PostgreSQL database has pyconvex schema version {version}; this "
                f"pyconvex understands up to {SCHEMA_VERSION} (upgrade pyconvex to open it)"
            )
        for step in range(version, target):
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (step + 1,))
    return version


class PostgresPersistence:
    """A :class:`~pyconvex.storage.base.Persistence` in one PostgreSQL database.

    Args:
        url: a libpq connection URL (``postgresql://user:password@host:5432/dbname``).
        min_connections: connections the pool keeps open.
        max_connections: most connections at once (readers wait beyond it).

    Raises:
        RuntimeError: the database holds a newer pyconvex layout.
        psycopg.OperationalError: the server cannot be reached.

    Thread-safe. Several processes may open the same database; see
    ``docs/concepts/multi-node.md`` for how their commits are serialized.
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.url = url
        self._closed = False
        self._close_lock = threading.Lock()
        self._stopping = threading.Event()
        self._listeners: list[threading.Thread] = []
        # close() wakes this process's listeners with a NOTIFY on a channel of its own.
        self._stop_channel = f"pyconvex_stop_{secrets.token_hex(8)}"
        minimum = knobs.POSTGRES_POOL_MIN if min_connections is None else min_connections
        maximum = knobs.POSTGRES_POOL_MAX if max_connections is None else max_connections
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=minimum,
            max_size=max(minimum, maximum),
            kwargs={"autocommit": True},
            open=False,
            name="pyconvex",
        )
        try:
            self._pool.open(wait=True, timeout=knobs.POSTGRES_CONNECT_TIMEOUT_SECONDS)
            with self._pool.connection() as connection:
                migrate(connection)
        except BaseException:
            self._pool.close()
            raise

    def write(
        self,
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Durably and atomically store revisions, index entries and global values.

        One PostgreSQL transaction; when this returns, it is committed.

        Raises:
            ValueError: a ``(doc_id, ts)`` or ``(index_id, key, ts)`` is stored
                twice (in this batch or before); nothing of the batch is stored.
            RuntimeError: the persistence is closed.
            psycopg.Error: the server failed; nothing of the batch is stored
                (unless the connection broke during COMMIT, when it is unknown).
        """
        if not (revisions or entries or globals_):
            return
        self._check_open()
        with interrupts.shielded(), self._pool.connection() as connection:
            try:
                # BEGIN, the statements and COMMIT go out together: one round trip.
                with connection.pipeline(), connection.transaction():
                    self._queue_writes(connection, revisions, entries, globals_)
            except pg_errors.UniqueViolation as error:
                raise ValueError(f"write refused, nothing stored: {error}") from error

    @staticmethod
    def _queue_writes(
        connection: psycopg.Connection[Any],
        revisions: Sequence[DocumentRevision],
        entries: Sequence[IndexEntry],
        globals_: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Queue the statements of :meth:`write` in the caller's pipelined transaction."""
        max_ts = max([0, *(r.ts for r in revisions), *(e.ts for e in entries)])
        if revisions:
            connection.execute(
                _INSERT_DOCUMENTS,
                (
                    [r.doc_id for r in revisions],
                    [r.ts for r in revisions],
                    [r.value for r in revisions],
                    [r.prev_ts for r in revisions],
                ),
            )
        if entries:
            connection.execute(
                _INSERT_ENTRIES,
                (
                    [e.index_id for e in entries],
                    [e.key for e in entries],
                    [e.ts for e in entries],
                    [e.doc_id for e in entries],
                ),
            )
        if globals_:
            connection.execute(
                _UPSERT_GLOBALS, ([k for k, _ in globals_], [v for _, v in globals_])
            )
        connection.execute(_RAISE_MAX_TS, (max_ts,))

    def commit_serialized(
        self,
        after_ts: int,
        prepare: Callable[[int, Sequence[LoggedCommit]], CommitBatch | None],
    ) -> None:
        """Commit one batch under the store-wide commit lock (the ``max_ts`` row lock).

        See :meth:`pyconvex.storage.base.SharedPersistence.commit_serialized`.
        Two round trips: the lock with the commits to catch up on, then the
        batch with its log entries, a NOTIFY of its last ts, and COMMIT.

        Raises:
            ValueError: a key is stored twice; nothing of the batch is stored.
            RuntimeError: the persistence is closed.
            psycopg.Error: the server failed; nothing is stored (unless the
                connection broke during COMMIT, when the commit log tells).
        """
        self._check_open()
        with interrupts.shielded(), self._pool.connection() as connection:
            try:
                # One pipeline, two round trips: BEGIN, the lock and the commits
                # to catch up on; then the batch, its log entries, NOTIFY and
                # COMMIT. The lock is held across exactly one round trip.
                with connection.pipeline(), connection.transaction():
                    lock = connection.execute(_LOCK_MAX_TS)
                    with connection.cursor(binary=True) as cursor:
                        cursor.execute(_LOAD_COMMITS, (after_ts,))
                        rows = cursor.fetchall()
                    row = lock.fetchone()
                    max_ts = int(row[0]) if row is not None else 0
                    batch = prepare(max_ts, [LoggedCommit(ts, payload) for ts, payload in rows])
                    if batch is None:
                        return
                    self._queue_writes(connection, batch.revisions, batch.entries, batch.globals_)
                    if batch.commits:
                        connection.execute(
                            _INSERT_COMMITS,
                            ([c.ts for c in batch.commits], [c.payload for c in batch.commits]),
                        )
                        # Delivered to listeners only once the transaction commits.
                        connection.execute(
                            "SELECT pg_notify(%s, %s)",
                            (COMMIT_CHANNEL, str(batch.commits[-1].ts)),
                        )
            except pg_errors.UniqueViolation as error:
                raise ValueError(f"write refused, nothing stored: {error}") from error

    def load_commits(self, after_ts: int) -> list[LoggedCommit]:
        """Every logged commit with ``ts > after_ts``, in ts order.

        Commits are serialized by the lock and each is visible only with its
        log entry, so no commit below the newest one returned can appear later.
        """
        self._check_open()
        return [
            LoggedCommit(ts, payload) for ts, payload in self._fetch(_LOAD_COMMITS, (after_ts,))
        ]

    def watch_commits(self, on_commit: Callable[[int | None], None]) -> None:
        """Call ``on_commit(ts)`` on a listener thread after commits (LISTEN/NOTIFY).

        Also calls it every ``PYCONVEX_POSTGRES_POLL_SECONDS`` and after every
        reconnection, so a notification lost with a broken connection only
        delays, never loses, what the callee learns. Stops on :meth:`close`.
        """
        self._check_open()
        thread = threading.Thread(
            target=self._listen, args=(on_commit,), name="pyconvex-pg-listen", daemon=True
        )
        self._listeners.append(thread)
        thread.start()

    def _listen(self, on_commit: Callable[[int | None], None]) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {COMMIT_CHANNEL}")
                    connection.execute(f"LISTEN {self._stop_channel}")
                    on_commit(None)  # whatever happened while not listening
                    while not self._stopping.is_set():
                        heard: int | None = None  # nothing heard: a poll
                        for notification in connection.notifies(
                            timeout=knobs.POSTGRES_POLL_SECONDS, stop_after=1
                        ):
                            if notification.channel == COMMIT_CHANNEL:
                                heard = int(notification.payload)
                        on_commit(heard)
            except psycopg.Error as error:
                if self._stopping.is_set():
                    return
                _log.warning("commit listener lost its connection (%s); reconnecting", error)
                self._stopping.wait(knobs.POSTGRES_POLL_SECONDS)

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
        batch is one short query on a pooled connection, so the iterator holds
        no connection between rows and may be resumed from another thread.

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
            params: dict[str, Any] = {"index": index_id, "ts": read_ts}
            if reverse:
                upper = end if after is None else after
                sql = _scan_sql(True, upper is not None, reverse, batch)
                params.update(start=start, end=upper)
            else:
                sql = _scan_sql(after is None, end is not None, reverse, batch)
                params.update(start=start if after is None else after, end=end)
            rows = self._fetch(sql, params)
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
        rows = self._fetch(_GET_REVISION, (doc_id, read_ts))
        if not rows:
            return None
        ts, value, prev_ts = rows[0]
        return DocumentRevision(doc_id, ts, value, prev_ts)

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
            sql = _load_sql(len(lower) == 1, batch)
            rows = self._fetch(sql, (*lower, until_ts))
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
        rows = self._fetch("SELECT value FROM meta WHERE key = 'max_ts'", ())
        return int(rows[0][0]) if rows else 0

    def get_global(self, key: str) -> str | None:
        """Return a global value stored with :meth:`write`, or None."""
        self._check_open()
        rows = self._fetch("SELECT value FROM globals WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def schema_version(self) -> int:
        """The layout version recorded in ``schema_migrations`` (for diagnostics)."""
        self._check_open()
        rows = self._fetch("SELECT max(version) FROM schema_migrations", ())
        return int(rows[0][0])

    def _fetch(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
        with interrupts.shielded(), self._pool.connection() as connection:
            # Binary results: bytea arrives as raw bytes, not hex text to decode.
            with connection.cursor(binary=True) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

    def close(self) -> None:
        """Close the pool. Further calls raise RuntimeError; closing twice is allowed.

        Scans still in progress in other threads must have stopped first.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._stopping.set()
            if self._listeners:
                with contextlib.suppress(psycopg.Error), self._pool.connection(timeout=1) as c:
                    c.execute(f"NOTIFY {self._stop_channel}")
            for thread in self._listeners:
                thread.join()
            self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this PostgresPersistence is closed")

    def __enter__(self) -> PostgresPersistence:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
