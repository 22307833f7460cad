"""Every tunable limit of pyconvex, with Convex's defaults.

Each knob can be overridden with an environment variable ``PYCONVEX_<NAME>``
read once at import. Units are in the names.
"""

from __future__ import annotations

import os

__all__ = [
    "AUTH_ACCESS_TOKEN_SECONDS",
    "AUTH_CODE_MAX_ATTEMPTS",
    "AUTH_CODE_SECONDS",
    "AUTH_LOGIN_CODE_SECONDS",
    "AUTH_PASSWORD_MIN_LENGTH",
    "AUTH_REFRESH_TOKEN_SECONDS",
    "AUTH_CLOCK_SKEW_SECONDS",
    "AUTH_HTTP_TIMEOUT_SECONDS",
    "AUTH_JWKS_CACHE_SECONDS",
    "AUTH_JWKS_MIN_REFETCH_SECONDS",
    "AUTH_TOKEN_MAX_BYTES",
    "ACTION_CONCURRENCY",
    "ACTION_TIMEOUT_SECONDS",
    "ADMIN_COUNT_LIMIT",
    "ARRAY_MAX_ELEMENTS",
    "CATCH_UP_TIMEOUT_SECONDS",
    "COMMIT_BATCH_MAX",
    "DOCUMENT_MAX_NESTING",
    "FILE_SWEEP_GRACE_SECONDS",
    "FILE_UPLOAD_MAX_BYTES",
    "FUNCTION_ARGS_MAX_BYTES",
    "FUNCTION_MAX_NESTING",
    "INDEX_MAX_FIELDS",
    "INLINE_PREEMPT_SECONDS",
    "MUTATION_CONCURRENCY",
    "OBJECT_MAX_FIELDS",
    "OCC_INITIAL_BACKOFF_SECONDS",
    "OCC_MAX_BACKOFF_SECONDS",
    "OCC_MAX_RETRIES",
    "PAGINATION_MAX_ITEMS",
    "POSTGRES_CONNECT_TIMEOUT_SECONDS",
    "POSTGRES_POLL_SECONDS",
    "POSTGRES_POOL_MAX",
    "POSTGRES_POOL_MIN",
    "QUERY_CONCURRENCY",
    "S3_PART_BYTES",
    "SYNC_QUEUED_MUTATIONS_MAX",
    "SYNC_TRANSITION_CHUNK_BYTES",
    "SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES",
    "SCHEDULED_FUNCTIONS_PER_MUTATION_MAX",
    "SCHEDULED_JOB_ARGS_MAX_BYTES",
    "SCHEDULED_JOB_CONCURRENCY",
    "SCHEDULED_JOB_RETENTION_SECONDS",
    "SCHEDULER_LEASE_SECONDS",
    "SQLITE_WAL_AUTOCHECKPOINT_PAGES",
    "TRANSACTION_MAX_READ_BYTES",
    "TRANSACTION_MAX_READ_INTERVALS",
    "TRANSACTION_MAX_READ_ROWS",
    "TRANSACTION_MAX_WRITE_BYTES",
    "TRANSACTION_MAX_WRITE_DOCUMENTS",
    "UDF_USER_TIMEOUT_SECONDS",
    "VALUE_MAX_BYTES",
    "WRITE_LOG_RETENTION_SECONDS",
]


def _int(name: str, default: int) -> int:
    raw = os.environ.get(f"PYCONVEX_{name}")
    return int(raw) if raw is not None else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(f"PYCONVEX_{name}")
    return float(raw) if raw is not None else default


#: Largest document or value, measured as Convex measures it (bytes).
VALUE_MAX_BYTES = _int("VALUE_MAX_BYTES", 1 << 20)
#: Deepest nesting of a stored document.
DOCUMENT_MAX_NESTING = _int("DOCUMENT_MAX_NESTING", 16)
#: Deepest nesting of function arguments and return values.
FUNCTION_MAX_NESTING = _int("FUNCTION_MAX_NESTING", 64)
#: Largest array.
ARRAY_MAX_ELEMENTS = _int("ARRAY_MAX_ELEMENTS", 8192)
#: Most fields in one object.
OBJECT_MAX_FIELDS = _int("OBJECT_MAX_FIELDS", 1024)
#: Largest function argument (bytes).
FUNCTION_ARGS_MAX_BYTES = _int("FUNCTION_ARGS_MAX_BYTES", 16 << 20)
#: Most fields in one index, the implicit ``_creationTime`` included.
INDEX_MAX_FIELDS = _int("INDEX_MAX_FIELDS", 16)

#: Documents a query or mutation may scan (filtered-out rows count).
TRANSACTION_MAX_READ_ROWS = _int("TRANSACTION_MAX_READ_ROWS", 32_000)
#: Bytes a query or mutation may read.
TRANSACTION_MAX_READ_BYTES = _int("TRANSACTION_MAX_READ_BYTES", 16 << 20)
#: Index ranges (``db.get`` and ``db.query`` calls) one transaction may read.
TRANSACTION_MAX_READ_INTERVALS = _int("TRANSACTION_MAX_READ_INTERVALS", 4096)
#: Documents one mutation may write.
TRANSACTION_MAX_WRITE_DOCUMENTS = _int("TRANSACTION_MAX_WRITE_DOCUMENTS", 16_000)
#: Bytes one mutation may write.
TRANSACTION_MAX_WRITE_BYTES = _int("TRANSACTION_MAX_WRITE_BYTES", 16 << 20)
#: Largest ``numItems`` in one page.
PAGINATION_MAX_ITEMS = _int("PAGINATION_MAX_ITEMS", 32_000)

#: OCC retries after the first attempt (Convex: 4, so 5 attempts).
OCC_MAX_RETRIES = _int("OCC_MAX_RETRIES", 4)
#: First backoff after an OCC conflict; doubles each retry, with jitter.
OCC_INITIAL_BACKOFF_SECONDS = _float("OCC_INITIAL_BACKOFF_SECONDS", 0.1)
#: Longest backoff between OCC retries.
OCC_MAX_BACKOFF_SECONDS = _float("OCC_MAX_BACKOFF_SECONDS", 2.0)

#: User-code time limit of one query or mutation execution (database time excluded).
UDF_USER_TIMEOUT_SECONDS = _float("UDF_USER_TIMEOUT_SECONDS", 1.0)
#: Queries that may run at the same time (worker threads).
QUERY_CONCURRENCY = _int("QUERY_CONCURRENCY", 32)
#: Mutations that may run at the same time (worker threads).
MUTATION_CONCURRENCY = _int("MUTATION_CONCURRENCY", 32)

#: Most transactions written to storage in one group commit.
COMMIT_BATCH_MAX = _int("COMMIT_BATCH_MAX", 256)
#: WAL pages (4 KiB each) the SQLite backend appends before copying them into the
#: database file (SQLite's default is 1000). Fewer, larger checkpoints cost less per
#: commit (about 10% of the write time of small inserts, measured); the WAL file may
#: grow to about this size before it is truncated again.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = _int("SQLITE_WAL_AUTOCHECKPOINT_PAGES", 10_000)
#: How long commits stay in the in-memory write log used for OCC checks.
WRITE_LOG_RETENTION_SECONDS = _float("WRITE_LOG_RETENTION_SECONDS", 60.0)
#: Actions that may run at the same time (worker threads).
ACTION_CONCURRENCY = _int("ACTION_CONCURRENCY", 64)
#: Wall-clock limit of one action (Convex runtime: 30 minutes; Node actions: 10).
ACTION_TIMEOUT_SECONDS = _float("ACTION_TIMEOUT_SECONDS", 600.0)
#: How long a query or mutation may hold its caller's event loop before it is moved
#: to a worker thread (it then runs there from the start, with the full time limit).
INLINE_PREEMPT_SECONDS = _float("INLINE_PREEMPT_SECONDS", 0.01)

#: Largest file accepted by an upload URL or ``ctx.storage.store`` (bytes; Convex has no
#: limit, this one guards the disk or bucket). Larger uploads fail with 413 ``FileTooLarge``.
FILE_UPLOAD_MAX_BYTES = _int("FILE_UPLOAD_MAX_BYTES", 10 << 30)
#: Part size of multipart uploads to S3 (at least 5 MiB); an upload buffers about one part.
S3_PART_BYTES = _int("S3_PART_BYTES", 8 << 20)
#: The startup sweep deletes stored bytes without a ``_storage`` row only once they
#: are this old, and aborts only multipart uploads begun this long ago: younger
#: ones may be another node's upload in progress (a shared S3 store). It must
#: exceed the longest upload.
FILE_SWEEP_GRACE_SECONDS = _float("FILE_SWEEP_GRACE_SECONDS", 24 * 3600.0)
#: Largest token (JWT) accepted in an ``Authorization`` header or ``Authenticate`` message.
AUTH_TOKEN_MAX_BYTES = _int("AUTH_TOKEN_MAX_BYTES", 16 << 10)
#: Clock skew allowed when checking a token's ``exp``, ``nbf`` and ``iat`` (Convex: 5 s).
AUTH_CLOCK_SKEW_SECONDS = _float("AUTH_CLOCK_SKEW_SECONDS", 5.0)
#: How long a provider's discovery document and JWKS are trusted before being fetched again.
AUTH_JWKS_CACHE_SECONDS = _float("AUTH_JWKS_CACHE_SECONDS", 3600.0)
#: Least time between two fetches of one JWKS: a token with an unknown ``kid`` (a key
#: rotation) fetches the keys again, but a stream of forged key ids cannot make the
#: server hammer the provider.
AUTH_JWKS_MIN_REFETCH_SECONDS = _float("AUTH_JWKS_MIN_REFETCH_SECONDS", 30.0)
#: Time limit of one request to an identity provider (discovery, JWKS, token exchange).
AUTH_HTTP_TIMEOUT_SECONDS = _float("AUTH_HTTP_TIMEOUT_SECONDS", 10.0)

#: Built-in sign-in: lifetime of an access token (a JWT the clients send with every call).
AUTH_ACCESS_TOKEN_SECONDS = _float("AUTH_ACCESS_TOKEN_SECONDS", 3600.0)
#: Built-in sign-in: how long a session lasts without being refreshed.
AUTH_REFRESH_TOKEN_SECONDS = _float("AUTH_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600.0)
#: Built-in sign-in: lifetime of an email verification or password reset code.
AUTH_CODE_SECONDS = _float("AUTH_CODE_SECONDS", 900.0)
#: Built-in sign-in: wrong guesses of a code before it is void.
AUTH_CODE_MAX_ATTEMPTS = _int("AUTH_CODE_MAX_ATTEMPTS", 5)
#: Built-in sign-in: lifetime of the one-time code an OAuth sign-in hands the client.
AUTH_LOGIN_CODE_SECONDS = _float("AUTH_LOGIN_CODE_SECONDS", 120.0)
#: Built-in sign-in: shortest password accepted.
AUTH_PASSWORD_MIN_LENGTH = _int("AUTH_PASSWORD_MIN_LENGTH", 8)
#: Functions one mutation (or one action call) may schedule.
SCHEDULED_FUNCTIONS_PER_MUTATION_MAX = _int("SCHEDULED_FUNCTIONS_PER_MUTATION_MAX", 1000)
#: Total size of the arguments of the functions one mutation schedules (bytes).
SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES = _int("SCHEDULED_FUNCTIONS_ARGS_MAX_BYTES", 16 << 20)
#: Largest arguments of one scheduled function (bytes). They are stored in the job's
#: row, so the document size limit (``VALUE_MAX_BYTES``) bounds them as well.
SCHEDULED_JOB_ARGS_MAX_BYTES = _int("SCHEDULED_JOB_ARGS_MAX_BYTES", 1 << 20)
#: Scheduled functions and cron runs that may execute at the same time.
SCHEDULED_JOB_CONCURRENCY = _int("SCHEDULED_JOB_CONCURRENCY", 8)
#: How long finished, failed and canceled jobs stay in ``_scheduled_functions``.
SCHEDULED_JOB_RETENTION_SECONDS = _float("SCHEDULED_JOB_RETENTION_SECONDS", 7 * 24 * 3600.0)
#: How long a node's claim on a scheduled job or cron run holds without renewal
#: (several nodes): a node that died is taken over (a mutation re-run, an action
#: failed) this long after its last renewal. Must exceed the clock skew between nodes.
SCHEDULER_LEASE_SECONDS = _float("SCHEDULER_LEASE_SECONDS", 30.0)
#: Documents the dashboard counts in a table before it shows "N+" (counting scans).
ADMIN_COUNT_LIMIT = _int("ADMIN_COUNT_LIMIT", 100_000)

#: Mutations one sync connection may have queued; past it the server stops reading
#: that socket until one finishes (backpressure, so memory stays bounded).
SYNC_QUEUED_MUTATIONS_MAX = _int("SYNC_QUEUED_MUTATIONS_MAX", 1000)
#: Largest message a Transition goes out as to npm clients >= 1.28 (bigger ones are split
#: into ``TransitionChunk`` messages, as Convex does at 5 MB); never to the Python client.
SYNC_TRANSITION_CHUNK_BYTES = _int("SYNC_TRANSITION_CHUNK_BYTES", 5_000_000)
#: PostgreSQL storage: connections each process keeps open in its pool.
POSTGRES_POOL_MIN = _int("POSTGRES_POOL_MIN", 2)
#: PostgreSQL storage: most pooled connections of one process (readers wait beyond it).
POSTGRES_POOL_MAX = _int("POSTGRES_POOL_MAX", 16)
#: PostgreSQL storage: how long opening the store waits for its first connection.
POSTGRES_CONNECT_TIMEOUT_SECONDS = _float("POSTGRES_CONNECT_TIMEOUT_SECONDS", 10.0)
#: PostgreSQL storage: how often a node looks for other nodes' commits without a NOTIFY.
POSTGRES_POLL_SECONDS = _float("POSTGRES_POLL_SECONDS", 1.0)
#: Several nodes: how long a client reconnecting to a node waits for the commits it saw
#: on another node to arrive here before its queries run anyway.
CATCH_UP_TIMEOUT_SECONDS = _float("CATCH_UP_TIMEOUT_SECONDS", 2.0)
